"""Monthly billing: build drafts in bulk, issue them, mark paid or refunded, void
and reissue.

``bill_month`` is the one service behind the beat task, ``manage.py bill_month``
and the admin page. It loads everything for all billable clients in a fixed
number of grouped queries (never a query per client), computes the lines with
the pure functions in ``billing.pricing``, and writes them in bulk.

Decisions:
- ``bill_month`` creates or refreshes DRAFTS; issued, paid and void invoices are
  never touched by a rerun. Issuing is a separate step (``issue_invoices``):
  the admin page's button, ``bill_month --issue``, or the beat task when
  ``BILLING_AUTO_ISSUE`` is on. Admins expect to preview before anything is
  numbered and sent. A draft is only a preview: ``issue_invoices`` compares
  each one with what current data builds, issues those that match, and builds
  again and holds back the others, so a stale draft is never issued.
- Concurrent runs, of the same month or not, queue behind one lock
  (``_lock_billing``): runs of different months would otherwise both apply
  the same credit or bill the same deposit. The partial unique constraint on
  (client, month) backs it in the database. A correction of a call of a month
  that has ended, or a call logged late into one, waits for that lock too
  (``clients.locks``): what a run compares and issues is what is committed
  when it commits.
- Month-end close: ``bill_month`` and ``issue_invoices`` refuse a month that has
  not ended in Japan time (the current month and later).
- On a server, everything that issues (``issue_invoices``, ``bill_month`` with
  ``issue=True``, ``void_and_reissue``) refuses while the company settings are
  still the demo ones (billing/company.py), before changing anything.
"""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from answering.models import Call
from billing.company import demo_company_settings
from billing.due_dates import due_date_for
from billing.models import (
    ADJUSTMENT_INVOICE_NOT_ISSUED,
    Adjustment,
    BillingRun,
    CountedCall,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    LineKind,
    invoice_number_display,
)
from billing.notices import NoticeError, send_notice
from billing.pricing import (
    ClientMonth,
    Credit,
    HeldNumber,
    Surcharge,
    Totals,
    build_lines,
    months_not_billed,
    price_on,
    totals,
)
from billing.selectors import (
    credits_refusing_reissue,
    invoice_notice_addresses,
    price_history_by_plan,
)
from clients.locks import hold_billing_lock
from clients.models import (
    Client,
    ClientPlan,
    NumberAssignment,
    User,
    billable_from,
)
from clients.months import (
    JST,
    japan_today,
    month_end,
    month_start,
    next_month,
)
from clients.selectors import fee_recipients

logger = logging.getLogger(__name__)

# Rows per INSERT statement: None = all rows in one statement per table. On
# PostgreSQL, Django sends a bulk INSERT as one array per column (UNNEST), so the
# statement stays under the 65,535 server-side parameters whatever the number of
# rows; SQLite splits further by its own 999-parameter limit. Everything else
# here selects a month's clients or drafts with a subquery, never a list of ids
# (tests/billing/test_lifecycle.py checks that no statement grows with clients).
WRITE_BATCH_SIZE: int | None = None
# Invoices numbered per UPDATE (about three parameters each).
ISSUE_BATCH_SIZE = 1000
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


def billable_clients(*, month: dt.date) -> QuerySet[Client]:
    """Clients whose contract overlaps ``month`` (trial-only months drop out later)."""
    first, last = month_start(month), month_end(month)
    return Client.objects.filter(
        contract_started_on__isnull=False, contract_started_on__lte=last
    ).exclude(cancelled_on__lt=first)


def counted_calls_filter(*, late_starts: dict[int, dt.date]) -> Q:
    """Leave out calls before a client's first billed day (trial, pre-contract).

    ``late_starts`` maps client id -> first billed day for the few clients whose
    billing starts after the 1st. One OR term per distinct start day (at most
    31), so the grouped query stays one query whatever the number of clients.
    """
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for client_id, day in late_starts.items():
        by_day[day].append(client_id)
    condition = Q()
    for day, client_ids in sorted(by_day.items()):
        starts_at = dt.datetime.combine(day, dt.time.min, tzinfo=JST)
        condition &= ~Q(client_id__in=client_ids, received_at__lt=starts_at)
    return condition


def _drafts(month: dt.date, clients: QuerySet[Client]) -> QuerySet[Invoice]:
    """The month's drafts of ``clients``, as a query rather than a list of ids."""
    return Invoice.objects.for_month(month).filter(
        status=InvoiceStatus.DRAFT, client__in=clients.values("id")
    )


def _is_final_month(cancelled_on: dt.date | None, month: dt.date) -> bool:
    """Whether ``month`` is the last of a contract ending on ``cancelled_on``
    (a cancellation takes effect at the end of its month)."""
    return cancelled_on is not None and month_start(cancelled_on) == month


@dataclass(frozen=True)
class _Month:
    """What ``_load_month`` read for a run."""

    billed: list[tuple[dict[str, Any], ClientMonth]]  # (client row, inputs)
    skipped: int
    live_invoices: dict[int, Any]  # by client id
    counted_calls: QuerySet[Call]  # of every client in the run


def _load_month(
    *, month: dt.date, clients: QuerySet[Client], replaces: dict[int, int]
) -> _Month:
    """Everything needed to bill ``clients`` for ``month``, in a fixed number of
    queries. ``replaces`` maps a client to the invoice its new one reissues.
    """
    first, last = month_start(month), month_end(month)
    client_rows: list[Any] = list(
        clients.values(
            "id",
            "name",
            "trial_started_on",
            "contract_started_on",
            "cancelled_on",
        ).order_by("id")
    )
    ids = clients.values("id")  # a subquery: no parameter list, whatever the size

    live_invoices = {
        row["client_id"]: row
        for row in Invoice.objects.for_month(first)
        .exclude(status=InvoiceStatus.VOID)
        .filter(client__in=ids)
        .values("id", "client_id", "status", "replaces_id")
    }
    draft_ids = _drafts(first, clients).values("id")  # rebuilt by this run

    plan_of: dict[int, tuple[int, str]] = {}
    for plan_row in (
        ClientPlan.objects.filter(client__in=ids, effective_month__lte=first)
        .order_by("client_id", "effective_month")
        .values("client_id", "plan_id", "plan__name")
    ):
        plan_of[plan_row["client_id"]] = (plan_row["plan_id"], plan_row["plan__name"])

    prices = price_history_by_plan()

    recipients = fee_recipients(clients=clients, month=first)

    starts: dict[int, dt.date] = {}
    skipped = 0
    for client_row in client_rows:
        start = billable_from(
            month=first,
            trial_started_on=client_row["trial_started_on"],
            contract_started_on=client_row["contract_started_on"],
            cancelled_on=client_row["cancelled_on"],
        )
        if start is not None:
            starts[client_row["id"]] = start

    numbers: dict[int, list[HeldNumber]] = defaultdict(list)
    for number_row in (
        NumberAssignment.objects.filter(client__in=ids)
        .held_during(first, last)
        .order_by("assigned_on", "id")
        .values("client_id", "number_id", "number__number", "use", "released_on")
    ):
        # Nothing is billed in the free trial: a number given back before the
        # first billed day costs nothing that month.
        released_on = number_row["released_on"]
        start = starts.get(number_row["client_id"], first)
        if released_on is not None and released_on < start:
            continue
        held = numbers[number_row["client_id"]]
        if all(h.number_id != number_row["number_id"] for h in held):
            held.append(
                HeldNumber(
                    number_id=number_row["number_id"],
                    number=number_row["number__number"],
                    use=number_row["use"],
                )
            )

    late_starts = {cid: day for cid, day in starts.items() if day > first}
    calls = (
        Call.objects.counted()
        .in_month(first)
        .filter(client__in=ids)
        .filter(counted_calls_filter(late_starts=late_starts))
    )
    counts = {
        row["client_id"]: row["n"]
        for row in calls.order_by().values("client_id").annotate(n=Count("id"))
    }
    surcharges: dict[int, list[Surcharge]] = defaultdict(list)
    for call_row in calls.filter(surcharge_yen__gt=0).values(
        "id", "client_id", "received_at", "surcharge_yen", "surcharge_reason"
    ):
        surcharges[call_row["client_id"]].append(
            Surcharge(
                call_id=call_row["id"],
                received_at=call_row["received_at"],
                amount_yen=call_row["surcharge_yen"],
                reason=call_row["surcharge_reason"],
            )
        )

    # Deposits on other live invoices (this month's drafts are being rebuilt).
    deposit_billed: set[int] = set()
    deposit_held: dict[int, int] = defaultdict(int)
    for line_row in (
        InvoiceLine.objects.filter(
            invoice__client__in=ids,
            kind__in=[LineKind.DEPOSIT, LineKind.DEPOSIT_RETURN],
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .exclude(invoice_id__in=draft_ids)
        .order_by()
        .values("invoice__client_id", "kind")
        .annotate(total=Sum("amount_yen"))
    ):
        client_id = line_row["invoice__client_id"]
        if line_row["kind"] == LineKind.DEPOSIT:
            deposit_billed.add(client_id)
        deposit_held[client_id] += line_row["total"]

    # The final invoice returns the deposit only when nothing is owed: while an
    # earlier invoice is issued and unpaid, or an earlier month is still a
    # draft (a charge still to come: not issued yet, or held back by the issue
    # check), the deposit stays held against it. Once that is issued and paid,
    # the final invoice's reissue returns it (the billing pages say so:
    # ``billing.selectors.unsettled_cancellations``). Earlier months only: a
    # run bills one month, and this month's own draft is the one being built
    # again (or compared, when issuing). An issued invoice of 0 yen or less
    # (credits, a refund) asks for no payment: nothing is owed on it.
    owing = set(
        Invoice.objects.owing()
        .filter(client__in=ids, billing_month__lt=first)
        .values_list("client_id", flat=True)
    )
    # So is an earlier month with billed days and no invoice at all (built out
    # of order: months are billed one run each, in any order an admin runs
    # them). Only for the clients whose final month this is.
    earlier_months: dict[int, set[dt.date]] = defaultdict(set)
    for client_id, billing_month in (
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(
            client__in=clients.filter(
                cancelled_on__gte=first, cancelled_on__lte=last
            ).values("id"),
            billing_month__lt=first,
        )
        .values_list("client_id", "billing_month")
    ):
        earlier_months[client_id].add(billing_month)
    for client_row in client_rows:
        if months_not_billed(
            billed=earlier_months.get(client_row["id"], set()),
            before=first,
            trial_started_on=client_row["trial_started_on"],
            contract_started_on=client_row["contract_started_on"],
            cancelled_on=client_row["cancelled_on"],
        ):
            owing.add(client_row["id"])

    # A credit goes on a later month's invoice than the one it corrects, and a
    # reissue carries exactly the credits of the invoice it replaces: one made
    # to fix a name must not pick up a credit meant for a later invoice. The
    # reissue of a final month is the exception: no later invoice will come, so
    # it settles every credit still waiting too (a cancellation recorded after
    # the month was issued left them with nowhere to go).
    credits_due = (
        Q(applied_to__isnull=True) & Q(corrects_invoice__billing_month__lt=first)
    ) | Q(applied_to_id__in=draft_ids)
    if replaces:
        final_reissues = [
            row["id"]
            for row in client_rows
            if row["id"] in replaces and _is_final_month(row["cancelled_on"], first)
        ]
        credits_due = (
            (credits_due & ~Q(client_id__in=list(replaces)))
            | Q(applied_to_id__in=list(replaces.values()))
            | Q(
                client_id__in=final_reissues,
                applied_to__isnull=True,
                corrects_invoice__billing_month__lte=first,
            )
        )
    credits: dict[int, list[Credit]] = defaultdict(list)
    for adjustment_row in (
        Adjustment.objects.filter(client__in=ids)
        .filter(credits_due)
        .order_by("created_at", "id")
        .values(
            "id",
            "client_id",
            "amount_yen",
            "reason",
            "corrects_invoice__number",
            "corrects_invoice__billing_month",
        )
    ):
        number = adjustment_row["corrects_invoice__number"]
        credits[adjustment_row["client_id"]].append(
            Credit(
                adjustment_id=adjustment_row["id"],
                amount_yen=adjustment_row["amount_yen"],
                reason=adjustment_row["reason"],
                corrects_number=invoice_number_display(number),
                corrects_month=adjustment_row["corrects_invoice__billing_month"],
            )
        )

    result: list[tuple[dict[str, Any], ClientMonth]] = []
    for client_row in client_rows:
        client_id = client_row["id"]
        start = starts.get(client_id)
        live = live_invoices.get(client_id)
        plan = plan_of.get(client_id)
        snapshot = price_on(prices[plan[0]], start) if plan and start else None
        if (
            start is None
            or snapshot is None
            or (live is not None and live["status"] != InvoiceStatus.DRAFT)
        ):
            skipped += 1
            continue
        assert plan is not None
        is_final = _is_final_month(client_row["cancelled_on"], first)
        result.append(
            (
                client_row,
                ClientMonth(
                    month=first,
                    billable_from=start,
                    plan_name=plan[1],
                    price=snapshot,
                    counted_calls=counts.get(client_id, 0),
                    held_numbers=numbers.get(client_id, []),
                    recipients=recipients.get(client_id, []),
                    surcharges=surcharges.get(client_id, []),
                    bill_deposit=client_id not in deposit_billed,
                    deposit_held_yen=deposit_held.get(client_id, 0),
                    return_deposit=is_final and client_id not in owing,
                    credits=credits.get(client_id, []),
                ),
            )
        )
    return _Month(
        billed=result, skipped=skipped, live_invoices=live_invoices, counted_calls=calls
    )


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


def _refuse_unless_ended(month: dt.date, today: dt.date | None) -> None:
    if not month_has_ended(month, today=today):
        raise ValidationError(
            _(
                "%(month)sはまだ終わっていないため、請求できません。"
                "下書きの作成と発行は翌月1日からです。"
            ),
            params={"month": date_format(month, "YEAR_MONTH_FORMAT")},
        )


def _refuse_demo_company() -> None:
    """On a server, never issue an invoice from the demo company (billing/company.py)."""
    names = demo_company_settings()
    if names:
        raise ValidationError(
            _(
                "請求書に載せる自社の情報がデモ用の値のままのため、発行できません"
                "（何も変更していません）。サーバーの環境変数 %(names)s に"
                "自社の値（会社名、適格請求書発行事業者登録番号、振込先口座）を"
                "設定し、再起動してからやり直してください。"
            ),
            params={"names": "、".join(names)},
        )


def _lock_billing(month: dt.date) -> BillingRun:
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
        _refuse_demo_company()
    first = month_start(month)
    _refuse_unless_ended(first, today)
    run = _lock_billing(first)
    run.last_started_at = timezone.now()

    # The run's clients: every client, or those asked for, billable or not. A
    # draft of one no longer billable (a cancellation or start date corrected
    # after the draft was made) is removed, never left to be issued.
    scope = Client.objects.all()
    if client_ids is not None:
        scope = scope.filter(pk__in=list(client_ids))
    clients = billable_clients(month=first).filter(pk__in=scope.values("id"))
    report(_("%(month)s の請求対象を読み込んでいます…") % {"month": f"{first:%Y-%m}"})
    loaded_month = _load_month(month=first, clients=clients, replaces=replaces or {})
    loaded, skipped = loaded_month.billed, loaded_month.skipped
    live = loaded_month.live_invoices
    already_issued = sum(
        1 for row in live.values() if row["status"] != InvoiceStatus.DRAFT
    )

    report(_("%(count)d 件の請求書を計算しています…") % {"count": len(loaded)})
    old_drafts = {
        cid: row for cid, row in live.items() if row["status"] == InvoiceStatus.DRAFT
    }
    drafts = _drafts(first, scope)
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
                invoice_id__in=_drafts(first, clients).values("id")
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
        issued = _number_drafts(
            month=first,
            drafts=_drafts(first, clients),
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

    ``held``: drafts whose data changed after they were built (a call
    reclassified, a credit entered, a number lent, a plan corrected...). They
    were built again from current data and left as drafts, so that the admin
    sees the new amounts before anything different from the preview goes out.
    ``removed``: drafts of clients no longer billable, deleted. ``added``:
    drafts built for clients who had none (billable since the last run), not
    issued either.
    """

    issued: int = 0
    held: tuple[DraftOutcome, ...] = ()
    removed: tuple[DraftOutcome, ...] = ()
    added: tuple[DraftOutcome, ...] = ()


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
    loaded = _load_month(month=month, clients=clients, replaces={})
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

    _refuse_demo_company()
    issued_on = today or japan_today()
    first = month_start(month)
    _refuse_unless_ended(first, issued_on)
    _lock_billing(first)
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
    for offset in range(0, len(rebuild), ISSUE_BATCH_SIZE):
        batch = rebuild[offset : offset + ISSUE_BATCH_SIZE]
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
    issued = _number_drafts(
        month=first,
        drafts=Invoice.objects.for_month(first).filter(status=InvoiceStatus.DRAFT),
        only={invoice_id for invoice_id in to_issue if invoice_id is not None},
        issued_on=issued_on,
    )

    def by_name(outcomes: list[DraftOutcome]) -> tuple[DraftOutcome, ...]:
        return tuple(sorted(outcomes, key=lambda o: (o.client_name, o.invoice_id or 0)))

    return IssueResult(
        issued=issued,
        held=by_name(held),
        removed=by_name(removed),
        added=by_name(added),
    )


def _number_drafts(
    *,
    month: dt.date,
    drafts: QuerySet[Invoice],
    issued_on: dt.date,
    only: set[int] | None = None,
) -> int:
    """Number and issue ``drafts`` (those in ``only``, if given) as they are:
    for drafts built in the same transaction, or checked against current data
    (``issue_invoices``). Under the billing lock."""
    sequence, _created = InvoiceNumberSequence.objects.get_or_create(name="invoice")
    sequence = InvoiceNumberSequence.objects.select_for_update().get(pk=sequence.pk)
    to_issue = list(
        drafts.select_for_update(of=("self",))
        .order_by("client__name_kana", "client__name", "id")
        .only("id")
    )
    if only is not None:
        to_issue = [invoice for invoice in to_issue if invoice.pk in only]
    if not to_issue:
        return 0
    due_on = due_date_for(month, issued_on=issued_on)
    number = sequence.last_number
    # One UPDATE per batch of invoices: only the number differs from row to row.
    for offset in range(0, len(to_issue), ISSUE_BATCH_SIZE):
        batch = to_issue[offset : offset + ISSUE_BATCH_SIZE]
        whens = [
            When(pk=invoice.pk, then=Value(number + index))
            for index, invoice in enumerate(batch, start=1)
        ]
        number += len(batch)
        batch_ids = [i.pk for i in batch]
        Invoice.objects.filter(pk__in=batch_ids).update(
            number=Case(*whens, output_field=IntegerField()),
            status=InvoiceStatus.ISSUED,
            issued_on=issued_on,
            due_on=due_on,
            company_name=settings.COMPANY_NAME,
            company_registration_number=settings.COMPANY_REGISTRATION_NUMBER,
            # The client's payment method as of the issue; the invoice keeps it.
            payment_method=Subquery(
                Client.objects.filter(pk=OuterRef("client_id")).values(
                    "payment_method"
                )[:1]
            ),
            company_bank_account=settings.COMPANY_BANK_ACCOUNT,
            updated_at=timezone.now(),
        )
        # The audit trail records the issue too (a plain UPDATE bypasses it).
        Invoice.history.bulk_history_create(
            list(Invoice.objects.filter(pk__in=batch_ids)), update=True
        )
    sequence.last_number = number
    sequence.save(update_fields=["last_number"])
    return len(to_issue)


@transaction.atomic
def mark_paid(
    *, invoice: Invoice, paid_on: dt.date, today: dt.date | None = None
) -> Invoice:
    """Record the payment of an issued invoice that asks for one, received
    between its issue date and ``today`` (default: today in Japan)."""
    return _settle(invoice=invoice, on=paid_on, refund=False, today=today)


@transaction.atomic
def mark_refunded(
    *, invoice: Invoice, refunded_on: dt.date, today: dt.date | None = None
) -> Invoice:
    """Record that the refund of an issued invoice whose total is below zero
    was paid out to the client, between its issue date and ``today``.

    A refund settled is stored as a paid invoice (the status the rules about
    what is owed read, with its date in ``paid_on``); its pages say 返金済み.
    """
    return _settle(invoice=invoice, on=refunded_on, refund=True, today=today)


def settlement_refusal(*, invoice: Invoice, refund: bool) -> str | None:
    """Why ``invoice`` cannot be marked paid (``refund``: refunded) whatever the
    date, or None. Read again under the locks by ``_settle``; the invoice page
    also asks it for a form the page does not show (a stale page)."""
    if invoice.status == InvoiceStatus.PAID:  # e.g. a second click on the button
        return _("この請求書はすでに%(settled)sです。") % {
            "settled": invoice.settled_label
        }
    if invoice.status != InvoiceStatus.ISSUED:
        if refund:
            return _("発行済みの請求書だけを返金済みにできます。")
        return _("発行済みの請求書だけを入金済みにできます。")
    if invoice.total_yen == 0:
        return _(
            "この請求書は0円で、お支払いもご返金もないため、"
            "入金・返金の記録は不要です。"
        )
    if refund and not invoice.refund_yen:
        return _(
            "この請求書はご請求（%(yen)s 円）のため、返金済みにはできません。"
            "入金は「入金済みにする」で記録してください。"
        ) % {"yen": f"{invoice.total_yen:,}"}
    if not refund and invoice.refund_yen:
        return _(
            "この請求書はご返金（%(yen)s 円）のため、入金済みにはできません。"
            "返金したら「返金済みにする」で返金日を記録してください。"
        ) % {"yen": f"{invoice.refund_yen:,}"}
    return None


def _settle(
    *, invoice: Invoice, on: dt.date, refund: bool, today: dt.date | None
) -> Invoice:
    """Mark ``invoice`` paid (``refund``: refunded) on ``on``. An invoice of
    0 yen neither asks for a payment nor owes a refund: nothing to record."""
    # The client first, then the invoice (the one lock order, see
    # ClientQuerySet.lock): the client's page refuses a cancellation into a
    # month already paid for under the client's lock, so a payment recorded at
    # the same moment waits for that save, or that save waits for it and sees
    # the invoice paid. Locking only the invoice, both committed.
    Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    refusal = settlement_refusal(invoice=invoice, refund=refund)
    if refusal:
        raise ValidationError(refusal)
    assert invoice.issued_on is not None  # every issued invoice has one
    field = "refunded_on" if refund else "paid_on"
    if on < invoice.issued_on:
        issued_on = {"issued_on": date_format(invoice.issued_on)}
        raise ValidationError(
            {
                field: _("返金日は発行日（%(issued_on)s）より前にはできません。")
                % issued_on
                if refund
                else _("入金日は発行日（%(issued_on)s）より前にはできません。")
                % issued_on
            }
        )
    if on > (today or japan_today()):
        raise ValidationError(
            {
                field: _("返金日に未来の日付は入れられません。")
                if refund
                else _("入金日に未来の日付は入れられません。")
            }
        )
    invoice.status = InvoiceStatus.PAID
    invoice.paid_on = on
    invoice.save(update_fields=["status", "paid_on", "updated_at"])
    return invoice


@transaction.atomic
def void_and_reissue(
    *,
    invoice: Invoice,
    reason: str,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> Invoice | None:
    """Void an issued invoice and issue a new one for the same client and month,
    rebuilt from current data. The voided original is kept, and the new invoice
    points to it (``replaces``). Returns None when current data bills nothing for
    that month (the client turned out not to be billable): the invoice is voided
    without a replacement. The reissue of a cancelled client's final month is
    its final invoice: it takes every credit still waiting (a cancellation
    recorded after that month was issued) and, when no earlier invoice is
    unpaid or still a draft any more, returns the deposit the original kept.
    Refused while credits are entered against the invoice
    (``billing.selectors.credits_refusing_reissue``): the reissue would give
    back again what they give back.
    """
    # The client first, as mark_paid: whether this month is the final one is
    # read from the client's cancellation, which a save of the client's page
    # may be changing now; it waits for that save and bills what it saved.
    # Then the invoice, then the billing lock (bill_month): never the other
    # way, and a billing run holding that lock never waits for a client.
    _refuse_demo_company()  # before voiding: it reissues
    Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        raise ValidationError(
            _("発行済み（%(unsettled)s）の請求書だけを無効にできます。")
            % {"unsettled": invoice.unsettled_label}
        )
    if not reason.strip():
        raise ValidationError(_("無効にする理由を入力してください。"))
    # Under the invoice's lock, as add_adjustment takes it: no credit against
    # it is recorded meanwhile.
    refusal = credits_refusing_reissue(invoice=invoice)
    if refusal:
        raise ValidationError(refusal)
    _refuse_final_reissue_before_later_months(invoice)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now or timezone.now()
    invoice.void_reason = reason.strip()
    invoice.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    # The credits shown on the voided invoice move onto its replacement.
    bill_month(
        month=invoice.billing_month,
        client_ids=[invoice.client_id],
        replaces={invoice.client_id: invoice.pk},
        today=today,
    )
    new = Invoice.objects.filter(
        client_id=invoice.client_id,
        billing_month=invoice.billing_month,
        status=InvoiceStatus.DRAFT,
    ).first()
    if new is None:
        # No replacement: its credits wait for the client's next invoice.
        Adjustment.objects.filter(applied_to=invoice).update(applied_to=None)
        return None
    # Built just now, in this transaction.
    _number_drafts(
        month=invoice.billing_month,
        drafts=Invoice.objects.filter(pk=new.pk),
        issued_on=today or japan_today(),
    )
    new.refresh_from_db()
    return new


def _refuse_final_reissue_before_later_months(invoice: Invoice) -> None:
    """The reissue of a final month settles every credit still waiting (and the
    deposit, once nothing is owed). An invoice of a later month (issued before
    the cancellation was recorded, dated back) must be voided first: the
    credits it carries come back to wait only then, and the reissue would leave
    them behind. One already paid has used its credits, and can no longer be
    voided: it does not hold the reissue up (its page says to refund it)."""
    cancelled_on = (
        Client.objects.filter(pk=invoice.client_id)
        .values_list("cancelled_on", flat=True)
        .get()
    )
    if not _is_final_month(cancelled_on, invoice.billing_month):
        return
    later = list(
        Invoice.objects.filter(
            client_id=invoice.client_id,
            billing_month__gt=invoice.billing_month,
            status=InvoiceStatus.ISSUED,
        ).order_by("billing_month", "number")
    )
    if later:
        assert cancelled_on is not None
        raise ValidationError(
            _(
                "解約日（%(day)s）より後の月の請求書 %(numbers)s が有効なままです。"
                "先にそちらを無効にしてから、この請求書を無効にして再発行してください"
                "（保証金と未反映の訂正は、解約月のこの請求書で精算します）。"
            )
            % {
                "day": date_format(cancelled_on),
                "numbers": "、".join(
                    later_invoice.number_display for later_invoice in later
                ),
            }
        )


def refuse_cancellation_into_paid_months(
    *, client_id: int, cancelled_on: dt.date
) -> None:
    """Refuse a cancellation dated back into a month already paid for.

    A cancellation takes effect at the end of its month, whose invoice (the
    final one) returns the deposit and takes the credits still waiting. An
    issued invoice of that month can still be voided and reissued to do so; a
    paid one, or a paid invoice of a later month, can be neither changed nor
    reissued, and no invoice would be left to settle them. The client admin's
    form asks this before saving a new cancellation date (it only reads).
    """
    paid = (
        Invoice.objects.filter(
            client_id=client_id,
            status=InvoiceStatus.PAID,
            billing_month__gte=month_start(cancelled_on),
        )
        .order_by("-billing_month")
        .first()
    )
    if paid is None:
        return
    earliest = month_end(next_month(paid.billing_month))
    raise ValidationError(
        _(
            "%(month)s分の請求書（請求書番号 %(number)s）は%(settled)sのため、"
            "解約日をそれより前にすると、保証金の返金と未反映の訂正を精算する"
            "最終の請求書を発行できません。解約日は %(earliest)s 以降の月末に"
            "してください。"
        )
        % {
            "month": date_format(paid.billing_month, "YEAR_MONTH_FORMAT"),
            "number": paid.number_display,
            "settled": paid.settled_label,
            "earliest": date_format(earliest),
        }
    )


@transaction.atomic
def add_adjustment(
    *,
    invoice: Invoice,
    amount_yen: int,
    reason: str,
    created_by: User | None = None,
    submission_id: uuid.UUID | None = None,
) -> Adjustment:
    """Record a credit for an issued invoice; the client's next invoice applies it.

    Credits against one invoice queue behind a lock on it, so two entered at
    once cannot together exceed what it billed (``Adjustment.clean``). The same
    form sent twice (same ``submission_id``) records the credit once: the second
    time returns the credit the first one recorded.
    """
    # The client's row first (the one lock order, clients.locks): a
    # cancellation being saved holds it, and the credit must see its date
    # (a later invoice to carry it, Adjustment.clean).
    client = Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice.client = client
    if submission_id is not None:
        # Under the invoice's lock, so a first sending still running has
        # committed by now. Before validating: the credit counted twice could
        # exceed what the invoice billed and refuse the resend.
        recorded = Adjustment.objects.filter(submission_id=submission_id).first()
        if recorded is not None:
            if (
                recorded.corrects_invoice_id == invoice.pk
                and recorded.amount_yen == amount_yen
                and recorded.reason == reason.strip()
            ):
                return recorded
            # The same form with other values (the browser's Back button kept
            # its hidden id): another credit, not a resend.
            submission_id = None
    adjustment = Adjustment(
        client_id=invoice.client_id,
        corrects_invoice=invoice,
        amount_yen=amount_yen,
        reason=reason.strip(),
        created_by=created_by,
        submission_id=submission_id,
    )
    adjustment.full_clean()
    adjustment.save()
    return adjustment


@transaction.atomic
def change_adjustment(*, adjustment: Adjustment) -> None:
    """Save an admin's edit of a credit that no issued invoice carries yet.

    A draft that already deducts it is built again, so that it is issued with the
    credit as it now is, not as it was when the draft was made. Refuses
    (ValidationError, as ``Adjustment.clean``) what the admin's form could not
    see before the locks: the invoice voided, the credit issued, or other
    credits that leave less to give back.
    """
    # The client's row first, as add_adjustment: the cancellation date the
    # checks below read stays as it is until the credit is saved. The client
    # typed on the form: the checks refuse an invoice of another client.
    Client.objects.lock(adjustment.client_id)
    # Then the invoice it corrects, then the billing lock (the one lock
    # order, clients.locks): saving the credit has the database check that
    # invoice's row, which a void and reissue of it holds while it waits for
    # the billing lock. Taken the other way round, each waited for the other.
    # Issued or paid only (what a credit corrects): runs holding the billing
    # lock delete and number drafts.
    corrected = (
        Invoice.objects.select_for_update(no_key=True)
        .filter(
            pk=adjustment.corrects_invoice_id,
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
        )
        .first()
    )
    if corrected is None:
        # Voided since the admin's form checked it: a credit saved against a
        # void invoice escapes the refusal of its reissue (which no longer
        # sees it) and gives the money back twice.
        raise ValidationError({"corrects_invoice": ADJUSTMENT_INVOICE_NOT_ISSUED})
    hold_billing_lock()  # a run building drafts may be reading the credit
    draft = _draft_carrying(adjustment)
    # The form's checks again, under the locks, with the rows as they are now:
    # credits entered against the invoice meanwhile count towards what it can
    # still give back (add_adjustment and this edit queue on its row).
    adjustment.corrects_invoice = corrected
    adjustment.applied_to = draft
    adjustment.clean()
    # What the admin edits: where the credit sits was read before the lock.
    adjustment.save(
        update_fields=["client", "corrects_invoice", "amount_yen", "reason"]
    )
    if draft is not None:
        _rebuild(draft)


@transaction.atomic
def delete_adjustment(*, adjustment: Adjustment) -> None:
    """Delete a credit that no issued invoice carries; a draft deducting it is
    built again without it."""
    hold_billing_lock()
    draft = _draft_carrying(adjustment)
    adjustment.delete()
    if draft is not None:
        _rebuild(draft)


def _draft_carrying(adjustment: Adjustment) -> Invoice | None:
    """The draft that deducts the credit, if any; refuses once it is issued.

    Read under the billing lock: issuing it meanwhile waits, or has already
    made the credit part of an invoice that never changes.
    """
    applied_to = (
        Adjustment.objects.filter(pk=adjustment.pk)
        .values_list("applied_to_id", flat=True)
        .first()
    )
    if applied_to is None:
        return None
    invoice = Invoice.objects.get(pk=applied_to)
    if not invoice.is_draft:
        raise ValidationError(
            _("この訂正は発行済みの請求書に反映されたため、変更も削除もできません。")
        )
    return invoice


def _rebuild(draft: Invoice) -> None:
    bill_month(month=draft.billing_month, client_ids=[draft.client_id])


# A notice claimed longer ago than this was left by a run that died before
# marking it: another run may take it (every step of a send waits at most
# EMAIL_TIMEOUT, so a live run is long done).
NOTICE_CLAIM_TIMEOUT = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NoticeSummary:
    """What ``send_invoice_notices`` did, invoice by invoice ("client name
    (invoice number)"): ``failed`` with the error, retried by the next run;
    ``no_address``: clients with no active recipient PC address, not sent."""

    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    no_address: tuple[str, ...] = ()


def send_invoice_notices(
    *,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> NoticeSummary:
    """E-mail each issued invoice whose notice is due and not yet sent
    (``InvoiceQuerySet.notice_due``: from INVOICE_NOTICE_DAY of the month it
    was issued in) to its client's active report recipients (PC addresses):
    the month, number, total, due date, how to pay, and a link to it in the
    portal; record ``notified_at``. Run daily.

    Not one transaction, on purpose: each invoice is claimed with a conditional
    UPDATE (so two runs never send the same one), sent outside any transaction
    (SMTP may be slow), then marked. A failed send releases the claim and is
    logged: the next run (the next day) tries again.
    """
    now = now or timezone.now()
    today = japan_today(now)
    report = progress or (lambda message: None)
    sent: list[str] = []
    failed: list[str] = []
    no_address: list[str] = []
    waiting = (
        Invoice.objects.notice_due(today)
        .order_by("client__name_kana", "client__name", "number")
        .values_list("pk", flat=True)
    )
    for invoice_id in list(waiting):
        claimed = (
            Invoice.objects.filter(
                pk=invoice_id, status=InvoiceStatus.ISSUED, notified_at__isnull=True
            )
            .filter(
                Q(notice_claimed_at__isnull=True)
                | Q(notice_claimed_at__lt=now - NOTICE_CLAIM_TIMEOUT)
            )
            .update(notice_claimed_at=now)
        )
        if not claimed:  # another run has it, or it was paid or voided meanwhile
            continue
        invoice = Invoice.objects.select_related("client", "replaces").get(
            pk=invoice_id
        )
        label = f"{invoice.client_name} ({invoice.number_display})"
        to = invoice_notice_addresses(client=invoice.client, today=today)
        if not to:
            _release_notice_claim(invoice_id, claimed_at=now)
            no_address.append(label)
            continue
        try:
            send_notice(invoice=invoice, to=to)
        except NoticeError as exc:
            logger.warning("Invoice notice %s not sent: %s", invoice_id, exc)
            _release_notice_claim(invoice_id, claimed_at=now)
            failed.append(f"{label}: {exc}")
            continue
        Invoice.objects.filter(pk=invoice_id, notice_claimed_at=now).update(
            notified_at=timezone.now()
        )
        sent.append(label)
        report(f"{label} → {', '.join(to)}")
    return NoticeSummary(
        sent=tuple(sent), failed=tuple(failed), no_address=tuple(no_address)
    )


def _release_notice_claim(invoice_id: int, *, claimed_at: dt.datetime) -> None:
    Invoice.objects.filter(pk=invoice_id, notice_claimed_at=claimed_at).update(
        notice_claimed_at=None
    )
