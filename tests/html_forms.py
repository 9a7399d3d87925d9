"""What a browser would submit from a form of a rendered page."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._textarea_started = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.values[name] = a.get("value", "")
        elif tag == "select":
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self.values.setdefault(self._select, value)
            if "selected" in a:
                self.values[self._select] = value
        elif tag == "textarea":
            self._textarea, self._textarea_started = name, False
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            if not self._textarea_started:
                # A browser drops the one newline that follows <textarea>.
                data, self._textarea_started = data.removeprefix("\n"), True
            self.values[self._textarea] += data


def form_values(html: str, form_id: str) -> dict[str, str]:
    """The fields of ``<form id=form_id>`` as the browser would post them unchanged."""
    reader = _FormReader(form_id)
    reader.feed(html)
    if not reader.values:
        raise AssertionError(f"no form #{form_id} with fields on the page")
    return reader.values
