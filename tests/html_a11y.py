"""What a screen reader finds in a rendered page: column headers and headings."""

from html.parser import HTMLParser


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.table_headers: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self._open: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th" or (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456"):
            self._open = (tag, [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or self._open[0] != tag:
            return
        text = "".join(self._open[1]).strip()
        if tag == "th":
            self.table_headers.append(text)
        else:
            self.headings.append((int(tag[1]), text))
        self._open = None


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    return reader


def table_headers(html: str) -> list[str]:
    """The text of every <th>, hidden-but-spoken text included."""
    return read(html).table_headers


def headings(html: str) -> list[tuple[int, str]]:
    """(level, text) of every <h1>–<h6>, in page order."""
    return read(html).headings
