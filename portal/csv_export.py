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

from django.utils.translation import gettext as _

from answering.models import Category, MissingReason, caller_number_text
from clients.months import JST
from clients.phones import format_phone
from clients.spreadsheet import BOM, neutralise


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
        # Added later: last, so clients' spreadsheets keep their columns.
        _("この番号からのいたずら等の件数"),
    ]


# The columns the export reads, in this order (plain tuples: building 100,000
# model instances would cost more than everything else together).
EXPORT_FIELDS = (
    "received_at",
    "category",
    "caller_name",
    "caller_company",
    "callback_number",
    "caller_number",
    "addressee",
    "purpose",
    "is_urgent",
    "is_angry",
    "is_troubled",
    "demeanour_note",
    "caller_name_missing_reason",
    "callback_number_missing_reason",
    "purpose_missing_reason",
    "missing_note",
    "surcharge_yen",
    "surcharge_reason",
    "personal_data_erased_at",
)


def call_rows(
    values: Iterable[tuple], *, nuisance_counts: dict[str, int]
) -> Iterator[list[str]]:
    """CSV rows from ``values_list(*EXPORT_FIELDS)`` tuples; ``nuisance_counts``:
    ``answering.selectors.nuisance_counts_among`` of the same calls."""
    categories = {c.value: str(c.label) for c in Category}
    reasons = {r.value: str(r.label) for r in MissingReason}
    urgent, angry, troubled = _("お急ぎ"), _("お怒り"), _("お困り")
    name_label, callback_label, purpose_label = _("お名前"), _("折り返し先"), _("用件")
    for (
        received_at,
        category,
        caller_name,
        caller_company,
        callback_number,
        caller_number,
        addressee,
        purpose,
        is_urgent,
        is_angry,
        is_troubled,
        demeanour_note,
        name_missing,
        callback_missing,
        purpose_missing,
        missing_note,
        surcharge_yen,
        surcharge_reason,
        erased_at,
    ) in values:
        missing = []
        if name_missing == callback_missing == purpose_missing == MissingReason.SILENT:
            # A silent call (無言): said once, as the report says it, not after
            # the name, the number and the purpose in turn.
            missing.append(reasons[MissingReason.SILENT])
        else:
            for label, reason in (
                (name_label, name_missing),
                (callback_label, callback_missing),
                (purpose_label, purpose_missing),
            ):
                if reason:
                    missing.append(f"{label}: {reasons.get(reason, '')}")
        if missing and missing_note:
            missing.append(missing_note)
        demeanour = []
        if is_urgent:
            demeanour.append(urgent)
        if is_angry:
            demeanour.append(angry)
        if is_troubled:
            demeanour.append(troubled)
        if demeanour_note:
            demeanour.append(demeanour_note)
        yield [
            received_at.astimezone(JST).strftime("%Y-%m-%d %H:%M"),
            categories.get(category, category),
            caller_name,
            caller_company,
            format_phone(callback_number),
            caller_number_text(caller_number, erased=erased_at is not None),
            addressee,
            purpose,
            " / ".join(demeanour),
            " / ".join(missing),
            str(surcharge_yen) if surcharge_yen else "",
            surcharge_reason,
            str(nuisance_counts.get(caller_number, ""))
            if category == Category.NUISANCE
            else "",
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
