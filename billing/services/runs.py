"""Building a month's drafts (``bill_month``), and what everything that writes
invoices shares: the month-end close and the billing lock."""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from answering.models import Call
from billing.company import refuse_demo_company
from billing.models import (
    Adjustment,
    BillingRun,
    CountedCall,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billing.pricing import build_lines, totals
from billing.services import numbering
from billing.services.loading import billable_clients, load_month, month_drafts
from clients.locks import hold_billing_lock
from clients.models import Client
from clients.months import japan_today, month_end, month_start, next_month

# Rows per INSERT statement: None = all rows in one statement per table. On
# PostgreSQL, Django sends a bulk INSERT as one array per column (UNNEST), so the
# statement stays under the 65,535 server-side parameters whatever the number of
# rows; SQLite splits further by its own 999-parameter limit. Everything else
# here selects a month's clients or drafts with a subquery, never a list of ids
# (tests/billing/test_lifecycle.py checks that no statement grows with clients).
WRITE_BATCH_SIZE: int | None = None


# How many times a run builds again the invoices of clients whose calls changed
# while it ran (each time only those clients, in a fraction of a second). Saves
# of an ended month's calls wait for the run (answering.services); one that
# began in the month's last second, before its month ended, does not.
RECOUNT_ATTEMPTS = 3


Progress = Callable[[str], None]


@dataclass(frozen=True)
class BillingSummary:
    month: dt.date
    clients_billed: int
    clients_skipped: int
    total_yen: int
    drafts_created: int
    already_issued: int
    issued: int = 0


def _no_progress(message: str) -> None:
    return None


def _record_counted_calls(month: dt.date, calls: QuerySet[Call]) -> None:
    """Link each counted call to its client's new draft, in one INSERT ... SELECT
    joining the month's counted calls to its drafts (no call id passes through
    Python, whatever the month's volume)."""
    counted, params = (
        calls.order_by().values_list("id", "client_id").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CountedCall._meta.db_table} (call_id, invoice_id) "
            f"SELECT counted.id, invoice.id FROM ({counted}) counted "
            f"JOIN {Invoice._meta.db_table} invoice "
            "ON invoice.client_id = counted.client_id "
            "AND invoice.billing_month = %s AND invoice.status = %s",
            [*params, connection.ops.adapt_datefield_value(month), InvoiceStatus.DRAFT],
        )


def month_has_ended(month: dt.date, *, today: dt.date | None = None) -> bool:
    """Month-end close (月末締め): a month is billed once it is over in Japan
    time, from the 1st of the next month. Billing it earlier would use up
    invoice numbers and show the client an invoice for calls not yet taken."""
    return next_month(month) <= (today or japan_today())


def refuse_unless_ended(month: dt.date, today: dt.date | None) -> None:
    if not month_has_ended(month, today=today):
        raise ValidationError(
            _(
                "%(month)sはまだ終わっていないため、請求できません。"
                "下書きの作成と発行は翌月1日からです。"
            ),
            params={"month": date_format(month, "YEAR_MONTH_FORMAT")},
        )


def lock_billing(month: dt.date) -> BillingRun:
    """Serialize everything that writes invoices (building drafts, issuing
    them), whatever the month: a second caller waits here until the first one
    commits. Runs of different months share the client's state too (a credit
    not yet applied, a deposit not yet billed), so a lock per month would let
    an October and a November run both take them. Returns ``month``'s run row.
    """
    hold_billing_lock()
    run, _created = BillingRun.objects.get_or_create(billing_month=month)
    return run


@transaction.atomic
def bill_month(
    *,
    month: dt.date,
    client_ids: Iterable[int] | None = None,
    issue: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    replaces: dict[int, int] | None = None,
    _attempt: int = 0,
) -> BillingSummary:
    """Create or refresh the draft invoices of every billable client for ``month``.

    Safe to run again, or twice at once: drafts are rebuilt from current data,
    issued ones are left alone, and the second of two concurrent runs waits for
    the first and then refreshes its drafts. With ``issue=True`` the drafts are
    then issued (numbered) in the same transaction. Refuses (ValidationError) a
    month that has not ended on ``today`` (default: today in Japan), and issuing
    from the demo company on a server.
    """
    report = progress or _no_progress
    if issue:
        refuse_demo_company()
    first = month_start(month)
    refuse_unless_ended(first, today)
    run = lock_billing(first)
    run.last_started_at = timezone.now()

    # The run's clients: every client, or those asked for, billable or not. A
    # draft of one no longer billable (a cancellation or start date corrected
    # after the draft was made) is removed, never left to be issued.
    scope = Client.objects.all()
    if client_ids is not None:
        scope = scope.filter(pk__in=list(client_ids))
    clients = billable_clients(month=first).filter(pk__in=scope.values("id"))
    report(
        _("%(month)s の請求対象を読み込んでいます…")
        % {"month": date_format(first, "YEAR_MONTH_FORMAT")}
    )
    loaded_month = load_month(month=first, clients=clients, replaces=replaces or {})
    loaded, skipped = loaded_month.billed, loaded_month.skipped
    live = loaded_month.live_invoices
    already_issued = sum(
        1 for row in live.values() if row["status"] != InvoiceStatus.DRAFT
    )

    report(_("%(count)d 件の請求書を計算しています…") % {"count": len(loaded)})
    old_drafts = {
        cid: row for cid, row in live.items() if row["status"] == InvoiceStatus.DRAFT
    }
    drafts = month_drafts(first, scope)
    if old_drafts or drafts.exclude(client__in=clients.values("id")).exists():
        draft_ids = drafts.values("id")
        Adjustment.objects.filter(applied_to_id__in=draft_ids).update(applied_to=None)
        # Fast: no signals, so one DELETE each.
        InvoiceLine.objects.filter(invoice_id__in=draft_ids).delete()
        CountedCall.objects.filter(invoice_id__in=draft_ids).delete()
        # Nothing points at a draft any more (its lines are gone, its credits
        # detached; ``replaces`` only ever points at voided invoices), so one
        # plain DELETE replaces Django's collector, which deletes 100 rows per
        # statement.
        drafts._raw_delete(Invoice.objects.db)

    invoices: list[Invoice] = []
    line_drafts = []
    total_yen = 0
    # The lines' words are the invoice's, a Japanese document, whatever language
    # the admin who runs the month reads the screens in.
    with translation.override(settings.LANGUAGE_CODE):
        for index, (row, data) in enumerate(loaded, start=1):
            lines = build_lines(data)
            sums = totals(lines)
            total_yen += sums.total_yen
            previous = old_drafts.get(row["id"])
            replaced = (replaces or {}).get(row["id"]) or (
                previous["replaces_id"] if previous else None
            )
            invoices.append(
                Invoice(
                    client_id=row["id"],
                    billing_month=first,
                    status=InvoiceStatus.DRAFT,
                    client_name=row["name"],
                    period_start=data.billable_from,
                    period_end=month_end(first),
                    taxable_10_yen=sums.taxable_10_yen,
                    tax_10_yen=sums.tax_10_yen,
                    non_taxable_yen=sums.non_taxable_yen,
                    total_yen=sums.total_yen,
                    replaces_id=replaced,
                    calls_recorded=True,
                )
            )
            line_drafts.append(lines)
            if index % 1000 == 0:
                report(
                    _("%(done)d / %(total)d") % {"done": index, "total": len(loaded)}
                )

    report(_("書き込んでいます…"))
    # With history rows, so the audit trail starts at the draft (simple-history
    # does not see plain bulk writes).
    bulk_create_with_history(invoices, Invoice, batch_size=WRITE_BATCH_SIZE)
    rows: list[InvoiceLine] = []
    applied: list[Adjustment] = []
    for invoice, lines in zip(invoices, line_drafts, strict=True):
        for position, line in enumerate(lines, start=1):
            rows.append(
                InvoiceLine(
                    invoice_id=invoice.pk,
                    position=position,
                    kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price_yen=line.unit_price_yen,
                    amount_yen=line.amount_yen,
                    tax_category=line.tax_category,
                    counted_calls=line.counted_calls,
                    included_calls=line.included_calls,
                    over_calls=line.over_calls,
                    call_id=line.call_id,
                    adjustment_id=line.adjustment_id,
                )
            )
            if line.adjustment_id is not None:
                applied.append(Adjustment(pk=line.adjustment_id, applied_to=invoice))
    InvoiceLine.objects.bulk_create(rows, batch_size=WRITE_BATCH_SIZE)
    if invoices:
        _record_counted_calls(first, loaded_month.counted_calls)
    if applied:
        Adjustment.objects.bulk_update(applied, ["applied_to"])
    if invoices and connection.vendor == "postgresql" and _attempt < RECOUNT_ATTEMPTS:
        # Each statement reads the calls as they are when it starts: a call
        # logged or reclassified between the count and the list is in one of
        # them only (a save begun just before the month ended, which did not
        # wait for the billing lock). The few clients it touched are built
        # again.
        counted = {
            invoice.pk: line.counted_calls or 0
            for invoice, lines in zip(invoices, line_drafts, strict=True)
            for line in lines
            if line.kind == LineKind.CALL_OVER
        }
        listed = dict(
            CountedCall.objects.filter(
                invoice_id__in=month_drafts(first, clients).values("id")
            )
            .order_by()
            .values("invoice_id")
            .annotate(n=Count("call_id"))
            .values_list("invoice_id", "n")
        )
        drifted = {
            invoice.client_id: invoice.total_yen
            for invoice in invoices
            if counted.get(invoice.pk, 0) != listed.get(invoice.pk, 0)
        }
        if drifted:
            report(
                _("実行中に受電が変わった %(count)d 件を作り直しています…")
                % {"count": len(drifted)}
            )
            again = bill_month(
                month=first,
                client_ids=list(drifted),
                today=today,
                progress=progress,
                replaces=replaces,
                _attempt=_attempt + 1,
            )
            total_yen += again.total_yen - sum(drifted.values())

    issued = 0
    if issue:
        # The drafts just written, from current data: those of ``clients`` (a
        # subquery, not the ids).
        issued = numbering.number_drafts(
            month=first,
            drafts=month_drafts(first, clients),
            issued_on=today or japan_today(),
        )

    if client_ids is None:  # a whole-month run; a single reissue is not one
        run.last_finished_at = timezone.now()
        run.clients_billed = len(invoices)
        run.clients_skipped = skipped
        run.total_yen = total_yen
        run.save()
    return BillingSummary(
        month=first,
        clients_billed=len(invoices),
        clients_skipped=skipped,
        total_yen=total_yen,
        drafts_created=len(invoices),
        already_issued=already_issued,
        issued=issued,
    )
