"""Issuing a month's drafts, each only as current data builds it."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from billing.company import refuse_demo_company
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.pricing import Totals, build_lines, totals
from billing.services import numbering
from billing.services.loading import billable_clients, load_month
from billing.services.runs import bill_month, lock_billing, refuse_unless_ended
from clients.models import Client
from clients.months import japan_today, month_start


@dataclass(frozen=True)
class DraftOutcome:
    """A draft that issuing did not issue as it was previewed."""

    client_name: str
    was_total_yen: int | None  # None: the client had no draft
    total_yen: int | None  # None: no draft any more (no longer billable)
    invoice_id: int | None  # the draft now waiting, if any


@dataclass(frozen=True)
class IssueResult:
    """What ``issue_invoices`` did.

    ``issued_ids``: the invoices issued (a draft built again because only its
    list of calls changed is issued under its new id).
    ``held``: drafts whose data changed after they were built (a call
    reclassified, a credit entered, a number lent, a plan corrected...). They
    were built again from current data and left as drafts, so that the admin
    sees the new amounts before anything different from the preview goes out.
    ``removed``: drafts of clients no longer billable, deleted. ``added``:
    drafts built for clients who had none (billable since the last run), not
    issued either.
    """

    issued_ids: tuple[int, ...] = ()
    held: tuple[DraftOutcome, ...] = ()
    removed: tuple[DraftOutcome, ...] = ()
    added: tuple[DraftOutcome, ...] = ()

    @property
    def issued(self) -> int:
        return len(self.issued_ids)


# Everything an invoice line prints or points at, as stored and as built.
_LINE_FIELDS = (
    "kind",
    "description",
    "quantity",
    "unit_price_yen",
    "amount_yen",
    "tax_category",
    "counted_calls",
    "included_calls",
    "over_calls",
    "call_id",
    "adjustment_id",
)


@dataclass(frozen=True)
class _Draft:
    """A draft as stored or as it would be built now, to compare the two."""

    invoice_id: int | None
    client_name: str
    total_yen: int
    printed: tuple[Any, ...]


def _printed(
    *, client_name: str, period_start: dt.date, sums: Totals, lines: list[tuple]
) -> tuple[Any, ...]:
    return (
        client_name,
        period_start,
        sums.taxable_10_yen,
        sums.tax_10_yen,
        sums.non_taxable_yen,
        sums.total_yen,
        tuple(lines),
    )


def _stored_drafts(drafts: QuerySet[Invoice]) -> dict[int, _Draft]:
    """The drafts in ``drafts`` by client, with what they print (two queries)."""
    lines: dict[int, list[tuple]] = defaultdict(list)
    for invoice_id, *fields in (
        InvoiceLine.objects.filter(invoice_id__in=drafts.values("id"))
        .order_by("invoice_id", "position", "id")
        .values_list("invoice_id", *_LINE_FIELDS)
    ):
        lines[invoice_id].append(tuple(fields))
    stored = {}
    for row in drafts.order_by().values(
        "id",
        "client_id",
        "client_name",
        "period_start",
        "taxable_10_yen",
        "tax_10_yen",
        "non_taxable_yen",
        "total_yen",
    ):
        sums = Totals(
            taxable_10_yen=row["taxable_10_yen"],
            tax_10_yen=row["tax_10_yen"],
            non_taxable_yen=row["non_taxable_yen"],
            total_yen=row["total_yen"],
        )
        stored[row["client_id"]] = _Draft(
            invoice_id=row["id"],
            client_name=row["client_name"],
            total_yen=row["total_yen"],
            printed=_printed(
                client_name=row["client_name"],
                period_start=row["period_start"],
                sums=sums,
                lines=lines[row["id"]],
            ),
        )
    return stored


def _drafts_as_built_now(
    *, month: dt.date, clients: QuerySet[Client]
) -> dict[int, _Draft]:
    """What ``bill_month`` would build now for ``clients``, by client, without
    writing anything (the same reads and pure functions)."""
    built: dict[int, _Draft] = {}
    loaded = load_month(month=month, clients=clients, replaces={})
    with translation.override(settings.LANGUAGE_CODE):
        for row, data in loaded.billed:
            lines = build_lines(data)
            sums = totals(lines)
            built[row["id"]] = _Draft(
                invoice_id=None,
                client_name=row["name"],
                total_yen=sums.total_yen,
                printed=_printed(
                    client_name=row["name"],
                    period_start=data.billable_from,
                    sums=sums,
                    lines=[
                        tuple(getattr(line, name) for name in _LINE_FIELDS)
                        for line in lines
                    ],
                ),
            )
    return built


@transaction.atomic
def issue_invoices(
    *,
    month: dt.date,
    invoice_ids: Iterable[int] | None = None,
    today: dt.date | None = None,
) -> IssueResult:
    """Number and issue the month's drafts (all, or those in ``invoice_ids``),
    each exactly as it would be built from current data.

    A draft is a preview of data that admins and operators keep correcting
    after it was built. Each one is compared, in this transaction and under
    the billing lock, with what ``bill_month`` would build now: one that still
    matches is issued; one that does not is built again and held back as a
    draft (``IssueResult.held``), so that no invoice goes out stale and none
    goes out different from what the admin could look at. A draft whose
    counted calls changed without changing what it prints is built again and
    issued, so that its list of calls is the month's. Drafts of clients no
    longer billable are deleted; clients billable since the last run get a
    draft (whole-month issue only), not issued either.

    Numbers come from one locked sequence row in the same transaction, so they
    are sequential without gaps even when two admins press the button at once.
    """
    # Imported here: the selectors module reads what this module writes.
    from billing.selectors import calls_changed_since_built

    refuse_demo_company()
    issued_on = today or japan_today()
    first = month_start(month)
    refuse_unless_ended(first, issued_on)
    lock_billing(first)
    drafts = Invoice.objects.for_month(first).filter(status=InvoiceStatus.DRAFT)
    scope = Client.objects.all()
    if invoice_ids is not None:
        drafts = drafts.filter(pk__in=list(invoice_ids))
        scope = scope.filter(pk__in=drafts.values("client_id"))
    previewed = _stored_drafts(drafts)
    if not previewed:
        return IssueResult()
    # Subqueries: read before anything below deletes a draft.
    now = _drafts_as_built_now(
        month=first,
        clients=billable_clients(month=first).filter(pk__in=scope.values("id")),
    )
    previewed_ids = [d.invoice_id for d in previewed.values() if d.invoice_id]
    calls_moved = {
        changed.invoice.client_id
        for changed in calls_changed_since_built(
            month=first, invoice_ids=previewed_ids if invoice_ids is not None else None
        )
        if changed.invoice.status == InvoiceStatus.DRAFT
    }
    differ = {
        client_id
        for client_id, draft in previewed.items()
        if client_id not in now or now[client_id].printed != draft.printed
    }
    added_ids = set(now) - set(previewed) if invoice_ids is None else set()
    rebuild = sorted(differ | calls_moved | added_ids)
    rebuilt: dict[int, _Draft] = {}
    # In batches: a statement never carries every client's id.
    for offset in range(0, len(rebuild), numbering.ISSUE_BATCH_SIZE):
        batch = rebuild[offset : offset + numbering.ISSUE_BATCH_SIZE]
        bill_month(month=first, client_ids=batch, today=issued_on)
        rebuilt.update(
            _stored_drafts(
                Invoice.objects.for_month(first).filter(
                    status=InvoiceStatus.DRAFT, client_id__in=batch
                )
            )
        )

    to_issue = {
        draft.invoice_id
        for client_id, draft in previewed.items()
        if client_id not in rebuild
    }
    held, removed, added = [], [], []
    for client_id in rebuild:
        was, new = previewed.get(client_id), rebuilt.get(client_id)
        if was is not None and new is not None and new.printed == was.printed:
            to_issue.add(new.invoice_id)
            continue
        named = new or was
        if named is None:  # billable a moment ago, and no longer
            continue
        outcome = DraftOutcome(
            client_name=named.client_name,
            was_total_yen=was.total_yen if was else None,
            total_yen=new.total_yen if new else None,
            invoice_id=new.invoice_id if new else None,
        )
        if was is None:
            added.append(outcome)
        elif new is None:
            removed.append(outcome)
        else:
            held.append(outcome)
    # Each one a draft of the month, read or built under the billing lock: all
    # are numbered.
    only = {invoice_id for invoice_id in to_issue if invoice_id is not None}
    numbering.number_drafts(
        month=first,
        drafts=Invoice.objects.for_month(first).filter(status=InvoiceStatus.DRAFT),
        only=only,
        issued_on=issued_on,
    )

    def by_name(outcomes: list[DraftOutcome]) -> tuple[DraftOutcome, ...]:
        return tuple(sorted(outcomes, key=lambda o: (o.client_name, o.invoice_id or 0)))

    return IssueResult(
        issued_ids=tuple(sorted(only)),
        held=by_name(held),
        removed=by_name(removed),
        added=by_name(added),
    )


@transaction.atomic
def issue_draft(*, invoice: Invoice, today: dt.date | None = None) -> IssueResult:
    """Issue one draft from its own page: ``issue_invoices`` for it alone, so
    under the same lock and checks (one that changed since it was built is
    built again and held back, one of a client no longer billable deleted).

    Refuses (ValidationError) when, under the billing lock, it is no draft any
    more: issued from the month's list or another screen meanwhile (and
    perhaps paid or voided since), or built again (a new draft took its place).
    """
    result = issue_invoices(
        month=invoice.billing_month, invoice_ids=[invoice.pk], today=today
    )
    if result.issued or result.held or result.removed:
        return result
    current = Invoice.objects.filter(pk=invoice.pk).first()
    if current is None:
        raise ValidationError(
            _(
                "この下書きは、ほかの画面で作り直されたか削除されたため、"
                "発行していません。月の一覧から開き直してください。"
            )
        )
    raise ValidationError(
        _(
            "この請求書は下書きではなくなった（%(status)s）ため、発行していません。"
            "ほかの画面で発行されたようです。"
        ),
        params={"status": current.status_label},
    )
