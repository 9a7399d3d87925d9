// Client portal. On a phone the menu is a row of tabs that scrolls sideways:
// show the current page's tab (お申し込み状況 is off the right edge at 375 px).
(function () {
  "use strict";
  const nav = document.querySelector(".site-nav");
  const tab = nav && nav.querySelector("[aria-current=page]");
  if (!tab) return;
  const box = nav.getBoundingClientRect();
  const at = tab.getBoundingClientRect();
  nav.scrollLeft += at.left - box.left - (box.width - at.width) / 2;
})();
