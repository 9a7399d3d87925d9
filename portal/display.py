"""Calls as the portal's list and CSV show them, prepared in Python once.

The history list renders 50 rows per request; building each row's strings here
(instead of a dozen template tags and filters per row) keeps a page fast.
"""

from dataclasses import dataclass

from django.utils import timezone

from answering.models import Call, Category, caller_number_text
from clients.months import JST
from clients.phones import format_phone
from reporting.selectors import FAILED

PURPOSE_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class HistoryRow:
    pk: int
    received: str
    category: str
    category_label: str
    badges: list[str]
    caller_name: str
    caller_company: str
    callback_number: str
    callback_display: str
    addressee: str
    purpose: str
    report_failed: bool = False
    # Its report was corrected (訂正あり): the call's page says what changed.
    corrected: bool = False
    # A nuisance call only: the number it came from (非通知 when withheld, blank
    # once erased), and how many nuisance calls that number made to the client.
    caller_number: str = ""
    caller_display: str = ""
    nuisance_count: int = 0


def history_rows(
    calls: list[Call],
    *,
    report_status: dict[int, str] | None = None,
    nuisance_counts: dict[str, int] | None = None,
) -> list[HistoryRow]:
    """``report_status``: ``reporting.selectors.report_status_by_call`` output;
    ``nuisance_counts``: ``answering.selectors.nuisance_counts`` output."""
    report_status = report_status or {}
    nuisance_counts = nuisance_counts or {}
    labels = {c.value: str(c.label) for c in Category}
    return [
        HistoryRow(
            pk=call.pk,
            received=timezone.localtime(call.received_at, JST).strftime(
                "%Y/%m/%d %H:%M"
            ),
            category=call.category,
            category_label=labels.get(call.category, call.category),
            badges=call.demeanour_labels,
            caller_name=call.caller_name,
            caller_company=call.caller_company,
            callback_number=call.callback_number,
            callback_display=format_phone(call.callback_number),
            addressee=call.addressee,
            purpose=call.purpose_preview(PURPOSE_PREVIEW_CHARS),
            report_failed=report_status.get(call.pk) == FAILED,
            # Annotated by portal.selectors.call_history; other lists of calls
            # (an invoice's) do not read it.
            corrected=getattr(call, "corrected", False),
            **(
                {
                    "caller_number": call.caller_number,
                    "caller_display": caller_number_text(
                        call.caller_number,
                        erased=call.personal_data_erased_at is not None,
                    ),
                    "nuisance_count": nuisance_counts.get(call.caller_number, 0),
                }
                if call.is_nuisance
                else {}
            ),
        )
        for call in calls
    ]
