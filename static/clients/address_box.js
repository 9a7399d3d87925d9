// An e-mail address box of the client's page (clients.widgets.AddressBox): a
// text area, so that a long address wraps and is read whole, but holding one
// line. Enter adds no line; a line break pasted or dropped into the box
// becomes a space, which the server trims at either end and refuses inside an
// address (two addresses pasted together are not run into one).
// Listened for on the document: the script loads in the page's head, and the
// rows 追加 adds are copies made later.
(function () {
  "use strict";

  var isAddressBox = function (element) {
    return element instanceof HTMLTextAreaElement && element.classList.contains("address-box");
  };

  document.addEventListener("keydown", function (event) {
    // An Enter that ends a Japanese input method's conversion adds no line.
    if (event.key === "Enter" && !event.isComposing && isAddressBox(event.target)) {
      event.preventDefault();
    }
  });

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!isAddressBox(box) || !/[\r\n]/.test(box.value)) return;
    // One character for one: the caret stays where it was.
    var start = box.selectionStart, end = box.selectionEnd;
    box.value = box.value.replace(/[\r\n]/g, " ");
    box.setSelectionRange(start, end);
  });
})();
