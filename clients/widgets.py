"""Admin widgets of the client's pages."""

from typing import Any

from django import forms
from django.contrib.admin import widgets


class TitledTextInput(widgets.AdminTextInputWidget):
    """A text box whose tooltip is its whole value.

    In a table row of the client's page (a person's note, a recipient's name)
    the boxes share the page's width, and a long value is cut at the box's
    edge; pointing at the box reads all of it.
    """

    def get_context(
        self, name: str, value: Any, attrs: dict[str, Any] | None
    ) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        shown = context["widget"]["value"]
        if shown:
            context["widget"]["attrs"]["title"] = shown
        return context


class AddressBox(forms.Textarea):
    """An e-mail address in a table row, read whole: a box of one line that
    wraps a long address over more lines and grows with them.

    A text box cut a 60-character address at its edge, readable only in its
    tooltip. The box grows by CSS (``field-sizing: content``,
    static/css/admin_pages.css); a browser without it shows two lines and
    scrolls. The address stays one line: address_box.js refuses Enter and
    turns pasted line breaks into spaces, and the form's field checks the
    address as it did in a text box.
    """

    class Media:
        js = ["clients/address_box.js"]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={
                "class": "address-box",
                "rows": 2,
                "inputmode": "email",
                "autocomplete": "off",
                "spellcheck": "false",
                **(attrs or {}),
            }
        )
