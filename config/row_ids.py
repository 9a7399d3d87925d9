"""Row ids typed into an address bar or posted by hand: parsed, never an error."""

from django.db.models import BigIntegerField

_MAX_DIGITS = len(str(BigIntegerField.MAX_BIGINT))


def parse_row_id(text: str) -> int | None:
    """The row id ``text`` names, or None.

    "²", "-1", a 6,000-digit string (which int() refuses) and a number past
    64 bits name no row.
    """
    if not text.isdecimal() or len(text) > _MAX_DIGITS:
        return None
    row_id = int(text)
    return row_id if row_id <= BigIntegerField.MAX_BIGINT else None
