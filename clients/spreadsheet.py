"""CSV that Excel opens safely: shared by every download of the system.

- UTF-8 with a BOM, or Excel on Japanese Windows reads Japanese as mojibake.
- A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR would be read by
  Excel as a formula (CSV injection: a caller could dictate ``=HYPERLINK(...)``
  as a name): it gets a leading ``'`` so it stays text. Japanese Excel folds
  full-width ``＝＋－＠`` to these, and an operator's IME types them, so they
  count too, as do the same after leading spaces.
"""

import csv
import io
import unicodedata
from collections.abc import Iterable
from typing import Any

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    first = value.lstrip(" \u3000")[:1]
    if value.startswith(_FORMULA_STARTS) or (
        first and unicodedata.normalize("NFKC", first).startswith(_FORMULA_STARTS)
    ):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Text cells neutralised; numbers stay numbers (a negative credit is not text)."""
    return [neutralise(cell) if isinstance(cell, str) else cell for cell in row]


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerows(safe_row(row) for row in rows)
    return buffer.getvalue()
