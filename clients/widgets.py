"""Admin widgets of the client's pages."""

from typing import Any

from django.contrib.admin import widgets


class TitledByValue:
    """A text box whose tooltip is its whole value.

    In a table row of the client's page (a person's note, a recipient's
    addresses) the boxes share the page's width, and a long value is cut at
    the box's edge; pointing at the box reads all of it.
    """

    def get_context(
        self, name: str, value: Any, attrs: dict[str, Any] | None
    ) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(name, value, attrs)  # type: ignore[misc]
        shown = context["widget"]["value"]
        if shown:
            context["widget"]["attrs"]["title"] = shown
        return context


class TitledTextInput(TitledByValue, widgets.AdminTextInputWidget):
    pass


class TitledEmailInput(TitledByValue, widgets.AdminEmailInputWidget):
    pass
