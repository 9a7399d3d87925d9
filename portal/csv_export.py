"""The call history as a CSV file that Excel opens safely.

- UTF-8 with a BOM, or Excel reads Japanese as mojibake.
- Streamed row by row from a database iterator, so memory stays flat at any size.
- A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR would be read by
  Excel as a formula (CSV injection: a caller could dictate ``=HYPERLINK(...)``
  as a name): it gets a leading ``'`` so it stays text.
- Phone numbers are written hyphenated (03-1234-5678): ``+81312345678`` would
  itself be a formula start, and ``0312345678`` loses its 0 in Excel.
"""

import csv
from collections.abc import Iterable, Iterator
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _

from answering.models import Call, Category, MissingReason
from clients.months import JST
from clients.phones import format_phone

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


# Callers call again and again; parsing a number costs ~20 µs, which adds up
# over 100,000 rows.
_format_phone = lru_cache(maxsize=20_000)(format_phone)


class _Echo:
    """A file-like object whose write() hands the line back to the generator."""

    def write(self, value: str) -> str:
        return value


def header() -> list[str]:
    return [
        _("受電日時"),
        _("分類"),
        _("お名前"),
        _("会社名"),
        _("折り返し先"),
        _("発信者番号"),
        _("宛先"),
        _("用件"),
        _("様子"),
        _("伺えなかった項目と理由"),
        _("割増料金（円）"),
        _("割増の理由"),
    ]


def call_rows(calls: Iterable[Call]) -> Iterator[list[str]]:
    categories = {c.value: str(c.label) for c in Category}
    reasons = {r.value: str(r.label) for r in MissingReason}
    missing_fields = [
        ("caller_name_missing_reason", _("お名前")),
        ("callback_number_missing_reason", _("折り返し先")),
        ("purpose_missing_reason", _("用件")),
    ]
    for call in calls:
        missing = [
            f"{label}: {reasons.get(getattr(call, field), '')}"
            for field, label in missing_fields
            if getattr(call, field)
        ]
        if missing and call.missing_note:
            missing.append(call.missing_note)
        demeanour = call.demeanour_labels
        if call.demeanour_note:
            demeanour.append(call.demeanour_note)
        yield [
            timezone.localtime(call.received_at, JST).strftime("%Y-%m-%d %H:%M"),
            categories.get(call.category, call.category),
            call.caller_name,
            call.caller_company,
            _format_phone(call.callback_number),
            _format_phone(call.caller_number),
            call.addressee,
            call.purpose,
            " / ".join(demeanour),
            " / ".join(missing),
            str(call.surcharge_yen) if call.surcharge_yen else "",
            call.surcharge_reason,
        ]


def stream_csv(
    rows: Iterable[list[str]], *, lines_per_chunk: int = 500
) -> Iterator[str]:
    """The CSV text in chunks of a few hundred lines (one tiny write per row
    would cost more in the server than the rows themselves)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield BOM + writer.writerow(header())
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([neutralise(cell) for cell in row]))
        if len(chunk) >= lines_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
