"""Reads about billing for the admin pages and the client portal.

What the portal calls (all read-only):
- ``invoices_for_client(client=...)``: issued, paid and void invoices, never
  drafts (same as ``Invoice.objects.filter(client=...).visible_to_client()``).
- ``month_to_date_usage(client=..., today=None) -> MonthToDateUsage``.
- ``counted_calls_by_month(client=..., months=12, today=None)``: one grouped
  query; pair it with ``billing.pricing.usage_charges(price=..., ...)``
  (``price`` = a ``PlanPrice`` or anything with monthly_fee_yen,
  included_calls, per_call_yen) for plan advice.
- ``price_history_by_plan()``: each plan's prices as billing reads them, for
  ``billing.pricing.price_on``.
- ``counted_calls_for_invoice(invoice)``: the calls an invoice counted.
- Documents: ``billing.pdf.render_invoice_pdf(invoice) -> bytes``,
  ``billing.exports.render_invoice_lines_csv(invoice) -> str`` and
  ``billing.exports.render_counted_calls_csv(invoice) -> str``.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from answering.models import Call, CallRevision, Category
from billing.models import (
    PAID_BY_CLIENT,
    REFUNDED_TO_CLIENT,
    Adjustment,
    BillingRun,
    CountedCall,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    invoice_number_display,
    later_invoices_to_come,
)
from billing.pricing import (
    LineDraft,
    PriceSnapshot,
    build_lines,
    months_not_billed,
    over_calls,
    price_on,
    totals,
    usage_charges,
)
from clients.models import (
    Client,
    ClientPlan,
    NumberAssignment,
    PlanPrice,
    ReportRecipient,
    billable_from,
    billing_start,
)
from clients.months import (
    JST,
    japan_today,
    month_bounds,
    month_end,
    month_start,
    next_month,
    previous_month,
)
from clients.selectors import monthly_extras, plan_in_force


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=JST)


def _trial_window(client: Client) -> Q | None:
    """Calls inside the free trial (never billed), or None without a trial."""
    if client.trial_started_on is None or client.trial_ends_on is None:
        return None
    return Q(
        received_at__gte=_day_start(client.trial_started_on),
        received_at__lt=_day_start(client.trial_ends_on + dt.timedelta(days=1)),
    )


def price_history_by_plan() -> dict[int, list[PriceSnapshot]]:
    """Every plan's prices, oldest first, by plan id (a plan without one: an
    empty list), as ``billing.pricing.price_on`` reads them: the monthly bill
    and the portal's plan advice price a month alike."""
    history: dict[int, list[PriceSnapshot]] = defaultdict(list)
    for price in PlanPrice.objects.order_by("plan_id", "valid_from"):
        history[price.plan_id].append(
            PriceSnapshot(
                monthly_fee_yen=price.monthly_fee_yen,
                included_calls=price.included_calls,
                per_call_yen=price.per_call_yen,
                valid_from=price.valid_from,
            )
        )
    return history


def counted_calls_for_invoice(invoice: Invoice) -> QuerySet[Call]:
    """The calls an invoice counted, as recorded when it was built: a call
    reclassified or logged late after the invoice was issued does not change
    its list. Invoices built before calls were recorded list the non-sales calls
    of the client from the first billed day to the month's end, as they are now.
    """
    if invoice.calls_recorded:
        calls = Call.objects.filter(
            pk__in=CountedCall.objects.filter(invoice=invoice).values("call_id")
        )
    else:
        _start, end = month_bounds(invoice.billing_month)
        calls = Call.objects.counted().filter(
            client_id=invoice.client_id,
            received_at__gte=_day_start(invoice.period_start),
            received_at__lt=end,
        )
    return calls.order_by("received_at", "id")


@dataclass(frozen=True)
class MonthToDateUsage:
    """A client's usage so far this month (Japan time), for the portal and admins.

    ``projected_total_yen`` = plan fee + extras (numbers, recipients) +
    surcharges so far + call-over at the current pace: the counted calls so far
    scaled from the billed days elapsed to all billed days of the month (rounded
    down), minus the included calls, times the per-call price. It leaves out the
    deposit and credits. When the month is not billed (trial, no plan), every
    amount is 0 and ``billed`` is False.
    """

    month: dt.date
    today: dt.date
    billed: bool
    plan_name: str
    billable_from: dt.date | None
    counted_calls: int
    included_calls: int
    over_calls: int
    call_over_yen: int
    plan_fee_yen: int
    extras_yen: int
    surcharges_yen: int
    sales_calls_count: int
    projected_calls: int
    projected_call_over_yen: int
    projected_total_yen: int

    @property
    def awaiting_plan(self) -> bool:
        """Billed from a day already passed, but with no plan, or no price of
        it, for that day: unlike the free trial, the month will be charged once
        an admin registers one."""
        return (
            not self.billed
            and self.billable_from is not None
            and self.billable_from <= self.today
        )

    @property
    def total_so_far_yen(self) -> int:
        return (
            self.plan_fee_yen
            + self.extras_yen
            + self.surcharges_yen
            + (self.call_over_yen)
        )


def month_to_date_usage(
    *, client: Client, today: dt.date | None = None
) -> MonthToDateUsage:
    today = today or japan_today()
    month = month_start(today)
    month_first, month_next = month_bounds(month)
    until = _day_start(today + dt.timedelta(days=1))
    calls = Call.objects.filter(
        client=client, received_at__gte=month_first, received_at__lt=until
    )
    start = client.first_billed_day(month)
    client_plan = plan_in_force(client=client, month=month)
    price = None
    if start is not None and client_plan is not None and start <= today:
        try:
            price = client_plan.plan.price_on(start)
        except PlanPrice.DoesNotExist:
            price = None
    sales = Count("id", filter=Q(category=Category.SALES))
    if price is None or start is None or client_plan is None:
        figures = calls.aggregate(sales=sales)
        return MonthToDateUsage(
            month=month,
            today=today,
            billed=False,
            plan_name=client_plan.plan.name if client_plan else "",
            billable_from=start,
            counted_calls=0,
            included_calls=0,
            over_calls=0,
            call_over_yen=0,
            plan_fee_yen=0,
            extras_yen=0,
            surcharges_yen=0,
            sales_calls_count=figures["sales"],
            projected_calls=0,
            projected_call_over_yen=0,
            projected_total_yen=0,
        )
    counted = ~Q(category=Category.SALES) & Q(received_at__gte=_day_start(start))
    figures = calls.aggregate(
        counted=Count("id", filter=counted),
        surcharges=Sum("surcharge_yen", filter=counted, default=0),
        sales=sales,
    )
    usage = usage_charges(
        price=price, billable_from=start, month=month, counted_calls=figures["counted"]
    )
    elapsed_days = (today - start).days + 1
    projected_calls = figures["counted"] * usage.days_billed // elapsed_days
    projected_over = max(projected_calls - usage.included_calls, 0)
    projected_call_over_yen = projected_over * price.per_call_yen
    extras = monthly_extras(client=client, month=month, first_day=start).total_yen
    return MonthToDateUsage(
        month=month,
        today=today,
        billed=True,
        plan_name=client_plan.plan.name,
        billable_from=start,
        counted_calls=figures["counted"],
        included_calls=usage.included_calls,
        over_calls=usage.over_calls,
        call_over_yen=usage.call_over_yen,
        plan_fee_yen=usage.plan_fee_yen,
        extras_yen=extras,
        surcharges_yen=figures["surcharges"],
        sales_calls_count=figures["sales"],
        projected_calls=projected_calls,
        projected_call_over_yen=projected_call_over_yen,
        projected_total_yen=usage.plan_fee_yen
        + extras
        + figures["surcharges"]
        + projected_call_over_yen,
    )


def counted_calls_by_month(
    *, client: Client, months: int = 12, today: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """Counted calls (no sales calls, none in the trial or before the contract)
    for each of the last ``months`` complete months, oldest first, in one
    grouped query.

    For plan advice: feed each count to ``billing.pricing.usage_charges``.
    """
    last_month = previous_month(month_start(today or japan_today()))
    first_month = last_month
    for _step in range(months - 1):
        first_month = previous_month(first_month)
    start, _end = month_bounds(first_month)
    _start, end = month_bounds(last_month)
    calls = Call.objects.counted().filter(
        client=client, received_at__gte=start, received_at__lt=end
    )
    trial = _trial_window(client)
    if trial is not None:
        calls = calls.exclude(trial)
    if client.contract_started_on is not None:
        # As billing counts a first month: from its first billed day.
        calls = calls.filter(received_at__gte=_day_start(client.contract_started_on))
    counts = {
        row["month"].date()
        if isinstance(row["month"], dt.datetime)
        else row["month"]: row["n"]
        for row in calls.annotate(month=TruncMonth("received_at", tzinfo=JST))
        .order_by()
        .values("month")
        .annotate(n=Count("id"))
    }
    result = []
    month = first_month
    while month <= last_month:
        result.append((month, counts.get(month, 0)))
        month = next_month(month)
    return result


def invoices_for_month(*, month: dt.date) -> QuerySet[Invoice]:
    return (
        Invoice.objects.for_month(month)
        .select_related("client")
        .order_by("client__name_kana", "client__name", "id")
    )


@dataclass(frozen=True)
class GoneDraft:
    """A draft no longer there: its month, and the client's invoice of that
    month now (None when there is none: no longer billed that month)."""

    billing_month: dt.date
    now: Invoice | None


def gone_draft(*, invoice_id: int) -> GoneDraft | None:
    """What became of a draft no longer there; None for an id that was never
    an invoice.

    Every run, and every issue that holds a draft back, deletes the month's
    drafts and writes them anew under new ids, so a draft's page left open (or
    a link to it) outlives it. Its history row still says whose and which
    month it was (void invoices aside: the client's live one)."""
    was = (
        Invoice.history.filter(id=invoice_id)
        .order_by("-history_date")
        .values("client_id", "billing_month")
        .first()
    )
    if was is None:
        return None
    now = (
        Invoice.objects.for_month(was["billing_month"])
        .filter(client_id=was["client_id"])
        .exclude(status=InvoiceStatus.VOID)
        .first()
    )
    return GoneDraft(billing_month=was["billing_month"], now=now)


def invoices_for_client(*, client: Client) -> QuerySet[Invoice]:
    """What the portal lists: issued, paid and void invoices, never drafts."""
    return (
        Invoice.objects.filter(client=client)
        .visible_to_client()
        .order_by("-billing_month", "-number")
    )


@dataclass(frozen=True)
class MonthOverview:
    drafts: int
    issued: int
    paid: int
    refunded: int  # refund invoices (below zero) whose refund was paid out
    void: int
    draft_total_yen: int
    issued_total_yen: int

    @property
    def all_issued(self) -> bool:
        """No draft is left to issue and some invoice was issued."""
        return not self.drafts and bool(self.issued + self.paid + self.refunded)


def month_overview(*, month: dt.date) -> MonthOverview:
    figures = Invoice.objects.for_month(month).aggregate(
        drafts=Count("id", filter=Q(status=InvoiceStatus.DRAFT)),
        issued=Count("id", filter=Q(status=InvoiceStatus.ISSUED)),
        paid=Count("id", filter=PAID_BY_CLIENT),
        refunded=Count("id", filter=REFUNDED_TO_CLIENT),
        void=Count("id", filter=Q(status=InvoiceStatus.VOID)),
        draft_total=Sum("total_yen", filter=Q(status=InvoiceStatus.DRAFT), default=0),
        issued_total=Sum(
            "total_yen",
            filter=Q(status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID]),
            default=0,
        ),
    )
    return MonthOverview(
        drafts=figures["drafts"],
        issued=figures["issued"],
        paid=figures["paid"],
        refunded=figures["refunded"],
        void=figures["void"],
        draft_total_yen=figures["draft_total"],
        issued_total_yen=figures["issued_total"],
    )


@dataclass(frozen=True)
class UnbilledContract:
    """A client under contract in a month that has no invoice for it: no plan
    in force, no price for its plan on the month's first billed day, or (once
    the month was billed for others) a plan, a contract's start or a trial
    entered after its run. The run only counts such a client among those not
    billed (as it does one in its free trial all month), and a month already
    issued is not run again by itself, so nothing else would tell the admin."""

    client_id: int
    client_name: str
    billed_from: dt.date
    plan_name: str  # "" without a plan
    billing_month: dt.date
    priced: bool = False  # a plan and its price: a run now bills it

    @property
    def reason(self) -> str:
        if self.priced:
            return _(
                "この月の下書きの作成後に、プランや契約開始日・お試し開始日が"
                "登録されたため、この月の基本料金などがまだ請求されていません。"
                "この月の請求の一覧で「下書きを作成・更新」を押して下書きを作り、"
                "内容を確認してから発行してください"
                "（発行済みのほかの請求書は変わりません）。"
            )
        if not self.plan_name:
            return _(
                "この月のプランが登録されていません。顧客の一覧の"
                "「プラン変更を登録する」で最初のプランを登録してから、"
                "下書きを作成してください。"
            )
        return _(
            "%(plan)sプランに %(day)s 時点の料金が登録されていません。"
            "プランの料金を登録してから、下書きを作成してください。"
        ) % {"plan": self.plan_name, "day": date_format(self.billed_from)}


def _unbilled(
    row: dict, *, month: dt.date, month_billed: bool, prices: dict
) -> UnbilledContract | None:
    """``row`` (a client's dates, and its plan in force in ``month``) as a
    contract ``month`` leaves unbilled, or None (nothing to bill)."""
    start = billable_from(
        month=month,
        trial_started_on=row["trial_started_on"],
        contract_started_on=row["contract_started_on"],
        cancelled_on=row["cancelled_on"],
    )
    if start is None:  # in its free trial all month
        return None
    priced = (
        row["plan_id"] is not None
        and price_on(prices[row["plan_id"]], start) is not None
    )
    # Priced and the month not run yet: its run will bill it.
    if priced and not month_billed:
        return None
    return UnbilledContract(
        client_id=row["id"],
        client_name=row["name"],
        billed_from=start,
        plan_name=row["plan_name"] or "",
        billing_month=month,
        priced=priced,
    )


def _with_plan_in_force(clients: QuerySet[Client], month: dt.date) -> QuerySet:
    plan_in_force = ClientPlan.objects.filter(
        client_id=OuterRef("pk"), effective_month__lte=month
    ).order_by("-effective_month")
    return clients.annotate(
        plan_id=Subquery(plan_in_force.values("plan_id")[:1]),
        plan_name=Subquery(plan_in_force.values("plan__name")[:1]),
    ).values(
        "id",
        "name",
        "trial_started_on",
        "contract_started_on",
        "cancelled_on",
        "plan_id",
        "plan_name",
    )


def unbilled_contracts(*, month: dt.date) -> list[UnbilledContract]:
    """Clients with billed days in ``month`` and no invoice for it that billing
    cannot bill (no plan, or no price), or, once the month was run or billed
    for others, that a run would bill now (its data entered after the run),
    in five queries."""
    first, last = month_start(month), month_end(month)
    live = Invoice.objects.for_month(first).exclude(status=InvoiceStatus.VOID)
    candidates = _with_plan_in_force(
        Client.objects.filter(
            contract_started_on__isnull=False, contract_started_on__lte=last
        )
        .exclude(cancelled_on__lt=first)
        .exclude(pk__in=live.values("client_id"))
        .order_by("name_kana", "name", "id"),
        first,
    )
    month_billed = (
        live.exists()
        or BillingRun.objects.filter(
            billing_month=first, last_finished_at__isnull=False
        ).exists()
    )
    prices = price_history_by_plan()
    return [
        unbilled
        for row in candidates
        if (
            unbilled := _unbilled(
                row, month=first, month_billed=month_billed, prices=prices
            )
        )
        is not None
    ]


def unbilled_months(
    *, client: Client, today: dt.date | None = None
) -> list[UnbilledContract]:
    """The ended months in which ``client`` has billed days and no invoice,
    oldest first: those run as a whole month or billed for other clients (any
    other month the system did not bill yet, or was from before it billed
    anyone), and whose invoice a run builds now or cannot build
    (``UnbilledContract``).

    What the client's page says after saving, and the plan action after
    setting a first plan: a plan or a date entered after the month's run."""
    starts = billing_start(
        trial_started_on=client.trial_started_on,
        contract_started_on=client.contract_started_on,
    )
    if starts is None:
        return []
    this_month = month_start(today or japan_today())
    months = set(
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(billing_month__gte=month_start(starts), billing_month__lt=this_month)
        .exclude(client=client)
        .values_list("billing_month", flat=True)
        .distinct()
    ) | set(
        BillingRun.objects.filter(
            billing_month__gte=month_start(starts),
            billing_month__lt=this_month,
            last_finished_at__isnull=False,
        ).values_list("billing_month", flat=True)
    )
    months -= set(
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(client=client)
        .values_list("billing_month", flat=True)
    )
    if not months:
        return []
    prices = price_history_by_plan()
    # The client's row and its plans read once for all the months (a client
    # with us for years has as many), each month's plan in force picked here.
    row = (
        Client.objects.filter(pk=client.pk)
        .values("id", "name", "trial_started_on", "contract_started_on", "cancelled_on")
        .get()
    )
    plans = list(
        ClientPlan.objects.filter(client=client, effective_month__lte=max(months))
        .order_by("effective_month")
        .values_list("effective_month", "plan_id", "plan__name")
    )
    unbilled = []
    for month in sorted(months):
        in_force = [(plan_id, name) for m, plan_id, name in plans if m <= month]
        plan_id, plan_name = in_force[-1] if in_force else (None, None)
        found = _unbilled(
            {**row, "plan_id": plan_id, "plan_name": plan_name},
            month=month,
            month_billed=True,
            prices=prices,
        )
        if found is not None:
            unbilled.append(found)
    return unbilled


@dataclass(frozen=True)
class MidMonthPrice:
    """A plan price that starts after the 1st of a month.

    A month is billed at the price in force on its first billed day
    (``billing.pricing.price_on``): the clients billed from the 1st pay the
    earlier price for the whole month, and the new one from the next month;
    a client whose billing starts on that day or later (a new contract, the
    end of a free trial) pays the new one already.
    """

    plan_name: str
    valid_from: dt.date
    monthly_fee_yen: int
    per_call_yen: int

    @property
    def note(self) -> str:
        return _(
            "%(plan)sプランの料金（月額 %(fee)s 円・超過1件 %(per_call)s 円）は "
            "%(day)s からです。この月は、それより前から請求しているお客様には"
            "月初の料金で1か月分を請求し（新しい料金は翌月分から）、%(day)s 以降に"
            "請求が始まるお客様には新しい料金で請求します。"
        ) % {
            "plan": self.plan_name,
            "fee": f"{self.monthly_fee_yen:,}",
            "per_call": f"{self.per_call_yen:,}",
            "day": date_format(self.valid_from),
        }


def prices_starting_mid_month(*, month: dt.date) -> list[MidMonthPrice]:
    first = month_start(month)
    return [
        MidMonthPrice(
            plan_name=price.plan.name,
            valid_from=price.valid_from,
            monthly_fee_yen=price.monthly_fee_yen,
            per_call_yen=price.per_call_yen,
        )
        for price in PlanPrice.objects.filter(
            valid_from__gt=first, valid_from__lte=month_end(first)
        )
        .select_related("plan")
        .order_by("valid_from", "plan__display_order")
    ]


# A run builds its drafts in one transaction that may last minutes: a call
# saved while it ran may be missing from it although saved before the invoice
# row's ``created_at``. Calls changed this long before that are looked at too.
CHANGE_MARGIN = dt.timedelta(hours=1)


@dataclass(frozen=True)
class CallChange:
    """One call an invoice counts differently from what it would count now."""

    call: Call
    reason: str
    # Added (+1) to the count, removed from it (-1), or only its surcharge
    # changed (0).
    count_change: int
    billed_surcharge_yen: int
    surcharge_yen_now: int


@dataclass(frozen=True)
class ChangedCalls:
    """How an invoice's counted calls differ from what it would count now, and
    what it would bill more (positive) or less (negative) if built again now."""

    invoice: Invoice
    changes: list[CallChange]
    difference_yen: int
    # Credits recorded against the invoice since its first change.
    credited_yen: int

    @property
    def difference_abs_yen(self) -> int:
        return abs(self.difference_yen)

    @property
    def credit_still_due_yen(self) -> int:
        """What was billed too much and not yet recorded as a credit."""
        return max(-self.difference_yen - self.credited_yen, 0)


def _change_of(call: Call, invoice: Invoice) -> CallChange:
    """How ``call``, one that ``_differing`` found, differs from ``invoice``."""
    counted, on_invoice = call.counted_now, call.on_invoice  # type: ignore[attr-defined]
    billed_surcharge_yen: int = call.billed_surcharge_yen  # type: ignore[attr-defined]
    surcharge_now = call.surcharge_yen if counted else 0
    if counted and not on_invoice:
        reason = (
            _("請求書の作成後に記録")
            if call.created_at >= invoice.created_at - CHANGE_MARGIN
            else _("訂正で請求対象に")
        )
        count_change = 1
    elif on_invoice and not counted:
        reason = (
            _("営業電話に訂正")
            if call.category == Category.SALES
            else _("受電日時を対象期間外に訂正")
        )
        count_change = -1
    else:  # counted and on it, at another surcharge
        reason, count_change = _("割増料金を訂正"), 0
    return CallChange(
        call=call,
        reason=reason,
        count_change=count_change,
        billed_surcharge_yen=billed_surcharge_yen,
        surcharge_yen_now=surcharge_now,
    )


def _difference_yen(changes: list[CallChange], call_over: InvoiceLine | None) -> int:
    """What the invoice would bill more (or less, negative) with ``changes``:
    surcharges, and call-over at the prices the invoice copied."""
    difference = sum(c.surcharge_yen_now - c.billed_surcharge_yen for c in changes)
    if call_over is not None and call_over.counted_calls is not None:
        included = call_over.included_calls or 0
        count_now = call_over.counted_calls + sum(c.count_change for c in changes)
        over_change = over_calls(count_now, included) - over_calls(
            call_over.counted_calls, included
        )
        difference += over_change * call_over.unit_price_yen
    return difference


def _with_invoice_terms(
    calls: QuerySet[Call], invoices: QuerySet[Invoice], month: dt.date
) -> QuerySet[Call]:
    """``calls`` with what their client's invoice says of them (on it, its
    billed surcharge) and whether it would count them now."""
    start, end = month_bounds(month)
    of_client = invoices.filter(client_id=OuterRef("client_id")).order_by()
    return calls.annotate(
        invoice_id=Subquery(of_client.values("id")[:1]),
        period_start=Subquery(of_client.values("period_start")[:1]),
        received_day=TruncDate("received_at", tzinfo=JST),
        on_invoice=Exists(
            CountedCall.objects.filter(
                invoice_id=OuterRef("invoice_id"), call_id=OuterRef("pk")
            )
        ),
        billed_surcharge_yen=Coalesce(
            Subquery(
                InvoiceLine.objects.filter(
                    invoice_id=OuterRef("invoice_id"),
                    kind=LineKind.SURCHARGE,
                    call_id=OuterRef("pk"),
                )
                .order_by()
                .values("amount_yen")[:1]
            ),
            0,
        ),
        counted_now=ExpressionWrapper(
            ~Q(category=Category.SALES)
            & Q(received_at__gte=start, received_at__lt=end)
            & Q(received_day__gte=F("period_start")),
            output_field=BooleanField(),
        ),
    ).filter(invoice_id__isnull=False)


def _differing(calls: QuerySet[Call]) -> QuerySet[Call]:
    """Of annotated ``calls``, those their invoice counts differently now."""
    return calls.filter(
        Q(counted_now=True, on_invoice=False)
        | Q(counted_now=False, on_invoice=True)
        | (Q(counted_now=True) & ~Q(billed_surcharge_yen=F("surcharge_yen")))
    )


def calls_changed_since_built(
    *, month: dt.date, invoice_ids: Iterable[int] | None = None
) -> list[ChangedCalls]:
    """The month's invoices (drafts, issued, paid) whose counted calls changed
    after they were built, in a fixed number of queries.

    An issued invoice never changes: an admin voids and reissues it, or records
    a credit. Only calls logged or corrected since the invoice was built are
    looked at, so the month's other calls cost next to nothing.
    """
    first = month_start(month)
    invoices = Invoice.objects.for_month(first).filter(
        calls_recorded=True,
        status__in=[InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.PAID],
    )
    if invoice_ids is not None:
        invoices = invoices.filter(pk__in=list(invoice_ids))
    invoices = invoices.only(
        "id",
        "client_id",
        "billing_month",
        "status",
        "client_name",
        "period_start",
        "created_at",
    ).order_by()
    # One live invoice per client and month (a constraint).
    by_client = {invoice.client_id: invoice for invoice in invoices}
    if not by_client:
        return []
    since = min(invoice.created_at for invoice in by_client.values()) - CHANGE_MARGIN
    # What can change a call's billing: logging it, or a correction (every
    # correction writes a revision; the nightly erasure writes none and changes
    # nothing billed). Subqueries, not lists of ids: no statement grows with the
    # month's clients or calls. Only calls that differ from their invoice come
    # back.
    clients = invoices.values("client_id")
    # Calls are numbered as they are logged: those logged since ``since`` have
    # the newest ids, found from the end of the primary key's index instead of
    # reading the whole month.
    logged_before = (
        Call.objects.filter(created_at__lt=since)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    logged = Call.objects.in_month(first).filter(
        client_id__in=clients, pk__gt=logged_before or 0, created_at__gte=since
    )
    corrected = Call.objects.filter(
        pk__in=CallRevision.objects.filter(
            call__client_id__in=clients, changed_at__gte=since
        ).values("call_id")
    )
    changes: dict[int, list[CallChange]] = defaultdict(list)
    seen: set[int] = set()
    for candidates in (logged, corrected):
        for call in _differing(_with_invoice_terms(candidates, invoices, first)):
            if call.pk in seen:
                continue
            seen.add(call.pk)
            invoice = by_client[call.client_id]
            changes[invoice.pk].append(_change_of(call, invoice))
    call_over = {
        line.invoice_id: line
        for line in InvoiceLine.objects.filter(
            invoice_id__in=list(changes), kind=LineKind.CALL_OVER
        )
    }
    # Credits recorded since the first of an invoice's changes: one recorded
    # before for something else does not settle them.
    changed_since = {
        invoice_id: min(change.call.updated_at for change in rows)
        for invoice_id, rows in changes.items()
    }
    credited = _credited_since(changed_since)
    return [
        ChangedCalls(
            invoice=invoice,
            changes=sorted(
                changes[invoice.pk], key=lambda c: (c.call.received_at, c.call.pk)
            ),
            difference_yen=_difference_yen(
                changes[invoice.pk], call_over.get(invoice.pk)
            ),
            credited_yen=credited[invoice.pk],
        )
        for invoice in sorted(
            (i for i in by_client.values() if i.pk in changes),
            key=lambda i: (i.client_name, i.pk),
        )
    ]


def _credited_since(changed_since: dict[int, dt.datetime]) -> dict[int, int]:
    """The credits recorded against each invoice in ``changed_since`` (its id)
    since the time given for it, in one query: one recorded before, for
    something else, does not settle what changed since."""
    credited: dict[int, int] = defaultdict(int)
    for invoice_id, amount_yen, created_at in Adjustment.objects.filter(
        corrects_invoice_id__in=list(changed_since)
    ).values_list("corrects_invoice_id", "amount_yen", "created_at"):
        if created_at >= changed_since[invoice_id]:
            credited[invoice_id] += amount_yen
    return credited


class Difference(Protocol):
    """What an invoice would bill more (positive) or less if built again now."""

    @property
    def difference_yen(self) -> int: ...

    @property
    def credit_still_due_yen(self) -> int: ...


def change_advice(
    invoice: Invoice, changed: "Difference", *, credit_possible: bool
) -> str:
    """What the admin should do about what ``invoice`` would bill otherwise if
    built again now (its calls changed, or its contract, numbers or
    recipients); ``credit_possible``: a later invoice will come to take a
    credit."""
    if invoice.status == InvoiceStatus.DRAFT:
        return _(
            "請求の一覧で「下書きを作成・更新」を押すと反映されます。"
            "発行を押しても古い内容では発行されず、今のデータで作り直されます"
            "（明細が変わる場合は発行せずに下書きのまま残ります）。"
        )
    if changed.difference_yen == 0:
        return _("金額は変わらないため、対応は不要です。")
    if changed.difference_yen < 0 and changed.credit_still_due_yen == 0:
        # A reissue would leave the calls out and the credit would still come
        # off the next invoice: the client refunded twice.
        return _(
            "請求しすぎの分は訂正（減額）として登録済みです。"
            "再発行すると二重に減額されるため、再発行はしないでください。"
        )
    credit_possible = credit_possible and changed.difference_yen < 0
    if invoice.status == InvoiceStatus.ISSUED:
        if credit_possible:
            return _(
                "反映するには、無効にして再発行してください。請求しすぎの分は、"
                "訂正（減額）として次回の請求で差し引くこともできます。"
            )
        return _("反映するには、無効にして再発行してください。")
    settled = {"settled": invoice.settled_label}
    if credit_possible:
        return (
            _(
                "%(settled)sのため、請求しすぎの分を訂正（減額）として登録してください。"
                "次回の請求で差し引かれます。"
            )
            % settled
        )
    if changed.difference_yen < 0:
        return (
            _(
                "%(settled)sで、この顧客への次回の請求はありません。"
                "請求しすぎの分は返金などでご対応ください。"
            )
            % settled
        )
    return (
        _("%(settled)sのため、再発行できません。不足分はこの画面からは請求されません。")
        % settled
    )


# Line kinds whose amount follows the contract's dates, the plan, the numbers
# and the recipients (calls: ``calls_changed_since_built``; the final
# settlement: ``unsettled_cancellations``).
_TERMS_KINDS = (
    LineKind.PLAN_FEE,
    LineKind.EXTRA_NUMBER,
    LineKind.EXTRA_RECIPIENTS,
    LineKind.DEPOSIT,
)


@dataclass(frozen=True)
class StaleInvoice:
    """An issued (or paid) invoice that a reissue would bill otherwise now,
    because what it was built from changed after it was built: the contract's
    start, the free trial, the plan, a number or a recipient dated back into
    its month. The invoice never changes: the admin voids and reissues it, or
    records a credit (``change_advice``)."""

    invoice: Invoice
    total_now_yen: int  # what its reissue bills now (0: nothing)
    taxable_now_yen: int  # of which at 10% (a credit gives back only that)
    changed: tuple[str, ...]  # the lines that differ, as the invoice names them
    # Credits recorded against the invoice since the first of those changes.
    credited_yen: int
    credit_possible: bool  # a later invoice will come to take a credit

    @property
    def difference_yen(self) -> int:
        return self.total_now_yen - self.invoice.total_yen

    @property
    def difference_abs_yen(self) -> int:
        return abs(self.difference_yen)

    @property
    def credit_still_due_yen(self) -> int:
        """What was billed too much at 10% and not yet credited: the deposit
        is no sale, and a credit cannot give it back (``Adjustment.clean``)."""
        overcharged = self.invoice.taxable_10_yen - self.taxable_now_yen
        return max(min(overcharged, -self.difference_yen) - self.credited_yen, 0)

    @property
    def advice(self) -> str:
        return change_advice(self.invoice, self, credit_possible=self.credit_possible)

    @property
    def summary(self) -> str:
        """What differs, with the amounts, for the client's page."""
        return _(
            "%(month)s分の請求書 %(number)s（%(status)s）は、発行後に契約・プラン・"
            "番号・報告先が変わったため、今のデータで作り直すと %(lines)s が変わり、"
            "ご請求金額は %(billed)s 円から %(now)s 円（差額 %(difference)s 円）に"
            "なります（受電の変更があればそれも含みます）。"
        ) % {
            "month": date_format(self.invoice.billing_month, "YEAR_MONTH_FORMAT"),
            "number": self.invoice.number_display,
            "status": self.invoice.status_label,
            "lines": _("、").join(self.changed),
            "billed": f"{self.invoice.total_yen:,}",
            "now": f"{self.total_now_yen:,}",
            "difference": f"{self.difference_yen:+,}",
        }


def _first_change_since_built() -> dict[str, Subquery]:
    """Annotations of an invoice: when its client's row, and those of its
    recipients, numbers and plans that reach into its month, were first
    changed after it was built (None: not since).

    Bounded by the month, so that a long-standing client's recipient edited
    today does not make every month since it began worth building again. (A
    recipient's end, or a number's return, dated back before the month began
    is not seen: a return goes back a week at most.)
    """
    since = OuterRef("created_at") - CHANGE_MARGIN
    first, last = OuterRef("billing_month"), OuterRef("period_end")

    def first_change(history: QuerySet, **reaching: object) -> Subquery:
        return Subquery(
            history.filter(history_date__gte=since, **reaching)
            .order_by("history_date")
            .values("history_date")[:1]
        )

    return {
        "changed_client": first_change(Client.history.filter(id=OuterRef("client_id"))),
        "changed_recipients": first_change(
            ReportRecipient.history.filter(
                Q(active_to__isnull=True) | Q(active_to__gte=first),
                client_id=OuterRef("client_id"),
                active_from__lte=last,
            )
        ),
        "changed_numbers": first_change(
            NumberAssignment.history.filter(
                Q(released_on__isnull=True) | Q(released_on__gte=first),
                client_id=OuterRef("client_id"),
                assigned_on__lte=last,
            )
        ),
        "changed_plans": first_change(
            ClientPlan.history.filter(
                client_id=OuterRef("client_id"), effective_month__lte=first
            )
        ),
    }


def invoices_differing_from_data(
    *,
    month: dt.date | None = None,
    client_ids: Iterable[int] | None = None,
    invoice_ids: Iterable[int] | None = None,
) -> list[StaleInvoice]:
    """The issued and paid invoices (of ``month``, of the clients in
    ``client_ids``, or those in ``invoice_ids``) whose plan fee, numbers, recipients, deposit, or call-over
    terms (included calls, price) a reissue would bill otherwise now.

    Only invoices whose client's dates, recipients, numbers or plans changed
    since they were built are built again (``billing.services.loading``, as a
    reissue reads them), in a fixed number of queries whatever the number of
    months.
    """
    # Imported here: the billing services read this module's price history.
    from billing.services.loading import load_months

    invoices = Invoice.objects.filter(
        status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID]
    )
    if month is not None:
        invoices = invoices.for_month(month_start(month))
    if client_ids is not None:
        invoices = invoices.filter(client_id__in=list(client_ids))
    if invoice_ids is not None:
        invoices = invoices.filter(pk__in=list(invoice_ids))
    candidates = []
    for invoice in (
        invoices.annotate(**_first_change_since_built())
        .select_related("client")
        .order_by("billing_month", "client_name", "id")
    ):
        changes = [
            at
            for at in (
                invoice.changed_recipients,  # type: ignore[attr-defined]
                invoice.changed_numbers,  # type: ignore[attr-defined]
                invoice.changed_plans,  # type: ignore[attr-defined]
            )
            if at is not None
        ]
        # The client's own row: only when its dates now start the month on
        # another day (a save of its notes changes nothing billed). A month
        # the contract no longer reaches is the final settlement's
        # (``unsettled_cancellations``).
        client = invoice.client
        if not client.contract_ended_before(invoice.billing_month):
            starts = client.first_billed_day(invoice.billing_month)
            if starts != invoice.period_start and invoice.changed_client:  # type: ignore[attr-defined]
                changes.append(invoice.changed_client)  # type: ignore[attr-defined]
        if changes:
            candidates.append((invoice, min(changes)))
    if not candidates:
        return []
    stored: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in InvoiceLine.objects.filter(
        invoice_id__in=[invoice.pk for invoice, _at in candidates]
    ):
        stored[line.invoice_id].append(line)
    by_month: dict[dt.date, dict[int, Invoice]] = defaultdict(dict)
    for invoice, _at in candidates:
        by_month[invoice.billing_month][invoice.client_id] = invoice
    built: dict[int, tuple[dt.date, list[LineDraft]]] = {}
    # All the months at once: a client's page compares every month it has
    # been with us.
    loaded = load_months(
        clients=Client.objects.filter(
            pk__in=sorted({invoice.client_id for invoice, _at in candidates})
        ),
        replaces={
            billing_month: {client_id: i.pk for client_id, i in of_month.items()}
            for billing_month, of_month in by_month.items()
        },
    )
    for billing_month, of_month in by_month.items():
        for row, data in loaded[billing_month].billed:
            if row["id"] in of_month:  # another month's client
                built[of_month[row["id"]].pk] = (
                    data.billable_from,
                    build_lines(data),
                )
    differing = []
    changed_since: dict[int, dt.datetime] = {}
    for invoice, changed_at in candidates:
        period_start, lines_now = built.get(invoice.pk, (None, []))
        if _terms(stored[invoice.pk]) == _terms(lines_now) and (
            period_start == invoice.period_start
        ):
            continue
        was, now = _amounts(stored[invoice.pk]), _amounts(lines_now)
        changed = tuple(
            str(label)
            for kind, label in LineKind.choices
            if was.get(kind, 0) != now.get(kind, 0)
        )
        if not changed:  # printed otherwise (the included calls), billed alike
            continue
        differing.append((invoice, changed, totals(lines_now)))
        changed_since[invoice.pk] = changed_at
    credited = _credited_since(changed_since)
    credit_possible = later_invoices_to_come([row[0] for row in differing])
    return [
        StaleInvoice(
            invoice=invoice,
            total_now_yen=sums.total_yen,
            taxable_now_yen=sums.taxable_10_yen,
            changed=changed,
            credited_yen=credited[invoice.pk],
            credit_possible=possible,
        )
        for (invoice, changed, sums), possible in zip(
            differing, credit_possible, strict=True
        )
    ]


def _amounts(lines: Iterable[InvoiceLine | LineDraft]) -> dict[str, int]:
    amounts: dict[str, int] = defaultdict(int)
    for line in lines:
        amounts[line.kind] += line.amount_yen
    return amounts


def _terms(lines: Iterable[InvoiceLine | LineDraft]) -> tuple[object, ...]:
    """What of ``lines`` follows the contract, plan, numbers and recipients:
    the amounts of those kinds, and the call-over line's included calls and
    price (its count follows the calls)."""
    rows = list(lines)
    amounts = _amounts(rows)
    call_over = [
        (line.included_calls, line.unit_price_yen)
        for line in rows
        if line.kind == LineKind.CALL_OVER
    ]
    return (*(amounts.get(kind, 0) for kind in _TERMS_KINDS), *call_over)


def credits_refusing_reissue(*, invoice: Invoice) -> str:
    """Why the credits entered against ``invoice`` refuse its void and reissue
    (empty when none do).

    The reissue is built from current data: a credit recorded for what that
    data now corrects (a call reclassified as a sales call) would come off the
    client's bill a second time. Whether a credit is for such an error or for
    something data never shows (a goodwill discount) only the admin knows, so
    nothing is dropped nor kept for them: a credit still waiting, or deducted
    by a draft, is deleted by the admin first (and entered again against the
    reissue when it is for something else); one already deducted on an issued
    invoice has been given, and its invoice can no longer be reissued.
    """
    credits = list(
        invoice.corrections.select_related("applied_to").order_by("created_at", "id")
    )
    if not credits:
        return ""

    def named(adjustments: list[Adjustment]) -> str:
        return _("、").join(
            _("-%(amount)s円（%(reason)s）")
            % {"amount": f"{adjustment.amount_yen:,}", "reason": adjustment.reason}
            for adjustment in adjustments
        )

    given = [c for c in credits if c.carried_by_issued_invoice]
    if given:
        numbers = sorted(
            {c.applied_to.number_display for c in given if c.applied_to is not None}
        )
        return _(
            "この請求書への訂正（減額）%(credits)s は、請求書 %(numbers)s で"
            "減額済みです。今のデータで作り直すと同じ誤りの分が二重に減額される"
            "おそれがあるため、この請求書は無効にして再発行できません。"
            "さらに直す分は、訂正（減額）として登録してください。"
        ) % {"credits": named(given), "numbers": _("、").join(numbers)}
    return _(
        "この請求書には、次回の請求で減額する訂正 %(credits)s が登録されています。"
        "再発行は今のデータで作り直すため、同じ誤りを直す訂正が残ると二重の減額に"
        "なります。先に訂正を削除してから、無効にして再発行してください"
        "（再発行でも直らない分の訂正は、再発行した請求書に登録し直してください）。"
    ) % {"credits": named(credits)}


def _months(months: Iterable[dt.date]) -> str:
    return _("、").join(date_format(month, "YEAR_MONTH_FORMAT") for month in months)


@dataclass(frozen=True)
class UnsettledCancellation:
    """An invoice of a cancelled client that leaves its final settlement undone.

    The final invoice (the month of the cancellation) takes every credit still
    waiting and returns the deposit when nothing is owed. One built before the
    cancellation was recorded has neither; one built while an earlier invoice
    was unpaid, or an earlier month still a draft, keeps the deposit held, to
    be returned by its reissue (or by building the draft again) once that is
    issued and paid; one of a month after the contract ended should not exist
    at all.
    """

    invoice: Invoice
    cancelled_on: dt.date
    beyond_contract: bool
    # What the final invoice should still settle (0 for a later month's).
    deposit_yen: int
    credits_yen: int
    # The client's earlier invoices still issued and unpaid (numbers as
    # printed), the earlier months still drafts, and those with billed days
    # and no invoice yet (charges still to come): while there is one, the
    # deposit stays held.
    unpaid_numbers: tuple[str, ...] = ()
    draft_months: tuple[dt.date, ...] = ()
    missing_months: tuple[dt.date, ...] = ()

    @property
    def deposit_held_for_unpaid(self) -> bool:
        """The deposit is not returned yet because an earlier month is owed
        (issued and unpaid, or not issued yet)."""
        return bool(
            self.deposit_yen
            and (self.unpaid_numbers or self.draft_months or self.missing_months)
        )

    @property
    def advice(self) -> str:
        """What the admin should do about it."""
        status = self.invoice.status
        if self.beyond_contract:
            day = date_format(self.cancelled_on)
            if status == InvoiceStatus.DRAFT:
                return _(
                    "解約日（%(day)s）より後の月の下書きです。"
                    "「下書きを作成・更新」を押すと削除されます。"
                ) % {"day": day}
            if status == InvoiceStatus.ISSUED:
                return _(
                    "解約日（%(day)s）より後の月の請求書です。無効にしてください"
                    "（この月の請求はないため、再発行はされません）。"
                ) % {"day": day}
            return _(
                "解約日（%(day)s）より後の月の請求書が%(settled)sです。"
                "返金などでご対応ください。"
            ) % {"day": day, "settled": self.invoice.settled_label}
        amounts = {
            "deposit": f"{self.deposit_yen:,}",
            "credits": f"{self.credits_yen:,}",
            "numbers": _("、").join(self.unpaid_numbers),
            "drafts": _months(self.draft_months),
            "missing": _months(self.missing_months),
        }
        if self.deposit_held_for_unpaid:
            if not (self.draft_months or self.missing_months):
                held = (
                    _(
                        "前月までの請求書（請求書番号 %(numbers)s）が未入金のため、"
                        "保証金 %(deposit)s 円はお預かりしたままです。"
                    )
                    % amounts
                )
            else:
                # An earlier month still a draft, or not built at all, is a
                # charge still to come: it must be issued (and paid) before the
                # deposit goes back.
                owed = []
                if self.unpaid_numbers:
                    owed.append(_("請求書番号 %(numbers)s は未入金") % amounts)
                if self.draft_months:
                    owed.append(_("%(drafts)s分は下書きのまま未発行") % amounts)
                if self.missing_months:
                    owed.append(_("%(missing)s分は請求書が未作成") % amounts)
                held = _(
                    "前月までに発行または入金の済んでいない月があるため、"
                    "保証金 %(deposit)s 円はお預かりしたままです（%(owed)s）。"
                    "先にその月の請求の一覧で下書きを作成・確認し、"
                    "発行してください。"
                ) % {**amounts, "owed": _("、").join(owed)}
            if self.credits_yen:
                held += _("未反映の訂正 %(credits)s 円も入っていません。") % amounts
            if status == InvoiceStatus.DRAFT:
                return held + _(
                    "入金を確認してから「下書きを作成・更新」を押すと、"
                    "保証金の返金が入ります。"
                )
            if status == InvoiceStatus.ISSUED:
                return held + _(
                    "入金を確認したら、この請求書を無効にして再発行してください。"
                    "再発行した請求書で保証金が返金されます。"
                )
            return held + _(
                "この請求書は%(settled)sで再発行できないため、入金を確認してから、"
                "保証金の返金はシステムの外（振込など）でご対応ください。"
            ) % {"settled": self.invoice.settled_label}
        items = []
        if self.deposit_yen:
            items.append(_("保証金の返金 %(deposit)s 円") % amounts)
        if self.credits_yen:
            items.append(_("未反映の訂正 %(credits)s 円") % amounts)
        missing = _("解約月の請求書に精算（%(items)s）が入っていません。") % {
            "items": _("、").join(items)
        }
        if self.deposit_yen:
            # Kept while something was owed, or built before the cancellation
            # was recorded: either way it can be returned now.
            missing = _("前月までに未入金の請求書はありません。") + missing
        if status == InvoiceStatus.DRAFT:
            return missing + _("「下書きを作成・更新」を押すと入ります。")
        if status == InvoiceStatus.ISSUED:
            return missing + _(
                "無効にして再発行すると、再発行した請求書で精算されます。"
            )
        return missing + _(
            "%(settled)sのため再発行できません。"
            "返金はシステムの外（振込など）でご対応ください。"
        ) % {"settled": self.invoice.settled_label}


def unsettled_cancellations(
    *,
    month: dt.date | None = None,
    invoice_ids: Iterable[int] | None = None,
    client_ids: Iterable[int] | None = None,
) -> list[UnsettledCancellation]:
    """Invoices (of ``month``, or those in ``invoice_ids``, or of the clients
    in ``client_ids``, or all; drafts too) that leave a cancelled client's
    final settlement undone, in five queries."""
    invoices = (
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(
            client__cancelled_on__isnull=False,
            billing_month__gte=TruncMonth("client__cancelled_on"),
        )
        .select_related("client")
    )
    if month is not None:
        invoices = invoices.for_month(month)
    if invoice_ids is not None:
        invoices = invoices.filter(pk__in=list(invoice_ids))
    if client_ids is not None:
        invoices = invoices.filter(client_id__in=list(client_ids))
    candidates = list(invoices.order_by("client_name", "billing_month", "id"))
    if not candidates:
        return []
    billed = {invoice.client_id for invoice in candidates}
    # What the final invoice would settle: the deposit its live invoices up to
    # the final month (itself included) leave held, and the credits still
    # waiting (those a draft takes are no longer waiting).
    held = dict(
        InvoiceLine.objects.filter(
            invoice__client_id__in=billed,
            invoice__billing_month__lte=F("invoice__client__cancelled_on"),
            kind__in=[LineKind.DEPOSIT, LineKind.DEPOSIT_RETURN],
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .order_by()
        .values("invoice__client_id")
        .annotate(total=Sum("amount_yen"))
        .values_list("invoice__client_id", "total")
    )
    waiting = dict(
        Adjustment.objects.filter(
            client_id__in=billed,
            applied_to__isnull=True,
            corrects_invoice__billing_month__lte=F("client__cancelled_on"),
        )
        .order_by()
        .values("client_id")
        .annotate(total=Sum("amount_yen"))
        .values_list("client_id", "total")
    )
    # What is owed: the earlier invoices (before the final month) still unpaid
    # or not issued yet, as ``billing.services`` reads it when it builds the
    # final invoice.
    unpaid: dict[int, list[str]] = defaultdict(list)
    drafts: dict[int, list[dt.date]] = defaultdict(list)
    for client_id, status, number, billing_month in (
        Invoice.objects.owing()
        .filter(
            client_id__in=billed,
            billing_month__lt=TruncMonth("client__cancelled_on"),
        )
        .order_by("billing_month", "number")
        .values_list("client_id", "status", "number", "billing_month")
    ):
        if status == InvoiceStatus.DRAFT:
            drafts[client_id].append(billing_month)
        else:
            unpaid[client_id].append(invoice_number_display(number))
    # And the earlier months with billed days and no invoice at all.
    earlier_months: dict[int, set[dt.date]] = defaultdict(set)
    for client_id, billing_month in (
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(
            client_id__in=billed,
            billing_month__lt=TruncMonth("client__cancelled_on"),
        )
        .values_list("client_id", "billing_month")
    ):
        earlier_months[client_id].add(billing_month)
    result = []
    for invoice in candidates:
        cancelled_on = invoice.client.cancelled_on
        assert cancelled_on is not None
        beyond = invoice.billing_month > cancelled_on
        if beyond:
            deposit_yen = credits_yen = 0
        else:
            deposit_yen = held.get(invoice.client_id, 0)
            credits_yen = waiting.get(invoice.client_id, 0)
        if beyond or deposit_yen or credits_yen:
            result.append(
                UnsettledCancellation(
                    invoice=invoice,
                    cancelled_on=cancelled_on,
                    beyond_contract=beyond,
                    deposit_yen=deposit_yen,
                    credits_yen=credits_yen,
                    unpaid_numbers=tuple(unpaid.get(invoice.client_id, ())),
                    draft_months=tuple(drafts.get(invoice.client_id, ())),
                    missing_months=tuple(
                        months_not_billed(
                            billed=earlier_months.get(invoice.client_id, set()),
                            before=month_start(cancelled_on),
                            trial_started_on=invoice.client.trial_started_on,
                            contract_started_on=invoice.client.contract_started_on,
                            cancelled_on=cancelled_on,
                        )
                    ),
                )
            )
    return result


def invoice_notice_addresses(*, client: Client, today: dt.date) -> list[str]:
    """Where a client's invoice notices go: its billing address
    (``Client.billing_email``) only, when it has one (an accounting office,
    not the people who read the call reports); otherwise the PC addresses of
    its report recipients active ``today``, each once (the first spelling
    kept)."""
    if client.billing_email:
        return [client.billing_email]
    addresses: dict[str, str] = {}
    for address in (
        ReportRecipient.objects.filter(client=client)
        .active_on(today)
        .exclude(pc_email="")
        .order_by("active_from", "id")
        .values_list("pc_email", flat=True)
    ):
        addresses.setdefault(address.casefold(), address)
    return list(addresses.values())
