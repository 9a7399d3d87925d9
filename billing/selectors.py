"""Reads about billing for the admin pages and the client portal.

What the portal calls (all read-only):
- ``invoices_for_client(client=...)``: issued, paid and void invoices, never
  drafts (same as ``Invoice.objects.filter(client=...).visible_to_client()``).
- ``month_to_date_usage(client=..., today=None) -> MonthToDateUsage``.
- ``counted_calls_by_month(client=..., months=12, today=None)``: one grouped
  query; pair it with ``billing.pricing.usage_charges(price=..., ...)``
  (``price`` = a ``PlanPrice`` or anything with monthly_fee_yen,
  included_calls, per_call_yen) for plan advice.
- ``counted_calls_for_invoice(invoice)``: the calls an invoice counted.
- Documents: ``billing.pdf.render_invoice_pdf(invoice) -> bytes``,
  ``billing.exports.render_invoice_lines_csv(invoice) -> str`` and
  ``billing.exports.render_counted_calls_csv(invoice) -> str``.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from answering.models import Call, Category
from billing.models import CountedCall, Invoice, InvoiceStatus
from billing.pricing import billable_from, usage_charges
from clients.models import Client, PlanPrice
from clients.months import (
    JST,
    japan_today,
    month_bounds,
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
    start = billable_from(
        month=month,
        trial_started_on=client.trial_started_on,
        contract_started_on=client.contract_started_on,
        cancelled_on=client.cancelled_on,
    )
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
    extras = monthly_extras(client=client, month=month).total_yen
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
    for _ in range(months - 1):
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
    void: int
    draft_total_yen: int
    issued_total_yen: int


def month_overview(*, month: dt.date) -> MonthOverview:
    figures = Invoice.objects.for_month(month).aggregate(
        drafts=Count("id", filter=Q(status=InvoiceStatus.DRAFT)),
        issued=Count("id", filter=Q(status=InvoiceStatus.ISSUED)),
        paid=Count("id", filter=Q(status=InvoiceStatus.PAID)),
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
        void=figures["void"],
        draft_total_yen=figures["draft_total"],
        issued_total_yen=figures["issued_total"],
    )
