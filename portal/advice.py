"""Plan advice: counted calls per month for the last 12 months and what each
plan would have cost in each of them.

The prices come from the plans' effective-dated prices of each month and the
charge from ``billing.pricing.usage_charges``, as on the invoice (a first month
that starts after the 1st is pro rata): the portal never repeats the pricing
rule.
"""

import datetime as dt
from dataclasses import dataclass
from itertools import dropwhile

from django.utils.formats import date_format
from django.utils.translation import gettext

from billing.pricing import (
    billed_days,
    price_on,
    pro_rata_note,
    usage_charges,
)
from billing.selectors import (
    counted_calls_by_month,
    month_to_date_usage,
    price_history_by_plan,
)
from clients.models import Client, Plan

MONTHS = 12

# Chart geometry (SVG user units); the SVG scales to the page width.
CHART_WIDTH = 600
CHART_HEIGHT = 220
CHART_TOP = 16
CHART_BOTTOM = 28
CHART_LEFT = 96  # room for the plans' labels on the left


@dataclass(frozen=True)
class Cell:
    yen: int | None  # None: the plan had no price that month
    cheapest: bool


@dataclass(frozen=True)
class MonthRow:
    month: dt.date
    counted_calls: int
    cells: list[Cell]
    billed: bool = True
    days_billed: int = 0  # fewer than month_days: a first month billed pro rata
    month_days: int = 0

    @property
    def pro_rata_note(self) -> str:
        """Empty unless the month was billed pro rata."""
        if not self.billed or self.days_billed >= self.month_days:
            return ""
        return pro_rata_note(self.days_billed, self.month_days)


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label_x: int
    month: dt.date
    counted_calls: int


@dataclass(frozen=True)
class Guide:
    """A dashed line at a plan's included calls."""

    y: int
    label: str


@dataclass(frozen=True)
class ExceededPlan:
    """A plan the advice recommends whose included calls this month's calls
    so far already passed."""

    name: str
    included_calls: int


@dataclass(frozen=True)
class PlanAdvice:
    plans: list[Plan]
    rows: list[MonthRow]
    totals: list[Cell]
    bars: list[Bar]
    guides: list[Guide]
    chart_width: int
    chart_height: int
    baseline_y: int
    billed_months: int
    # This month, not in the table (it is not over): its counted calls so far,
    # and the recommended plans whose included calls they already passed.
    this_month: dt.date | None = None
    this_month_counted_calls: int = 0
    exceeded_this_month: tuple[ExceededPlan, ...] = ()
    chart_left: int = CHART_LEFT

    @property
    def cheapest_in_total(self) -> list[Plan]:
        return [p for p, c in zip(self.plans, self.totals, strict=True) if c.cheapest]

    @property
    def compared_from(self) -> dt.date | None:
        """The first month the totals add up (None when none was billed)."""
        return next((row.month for row in self.rows if row.billed), None)

    @property
    def compared_until(self) -> dt.date | None:
        return next((row.month for row in reversed(self.rows) if row.billed), None)

    @property
    def compared_every_month(self) -> bool:
        """Every one of the 12 months was billed (else the note says how many
        were: a newer client has fewer rows)."""
        return self.billed_months == MONTHS

    @property
    def compared_period(self) -> str:
        """「2026年8月〜2026年10月」, or one month alone: what the totals add up."""
        if self.compared_from is None or self.compared_until is None:
            return ""
        start = date_format(self.compared_from, "YEAR_MONTH_FORMAT")
        if self.compared_from == self.compared_until:
            return start
        end = date_format(self.compared_until, "YEAR_MONTH_FORMAT")
        return gettext("%(start)s〜%(end)s") % {"start": start, "end": end}


def _mark_cheapest(amounts: list[int | None]) -> list[Cell]:
    known = [a for a in amounts if a is not None]
    best = min(known) if known else None
    return [Cell(yen=a, cheapest=a is not None and a == best) for a in amounts]


def plan_advice(*, client: Client, today: dt.date | None = None) -> PlanAdvice:
    # Each month with its first billed day, from the first month billed: the
    # months before it (before the contract, the free trial) have no calls
    # counted and nothing to compare, and a client of three months read nine
    # rows of ご請求のない月 above its own.
    months = [
        (month, counted, client.first_billed_day(month))
        for month, counted in counted_calls_by_month(
            client=client, months=MONTHS, today=today
        )
    ]
    months = list(dropwhile(lambda row: row[2] is None, months))
    counts = [(month, counted) for month, counted, _start in months]
    plans = list(Plan.objects.all())
    snapshots = price_history_by_plan()
    rows = []
    sums: list[int | None] = [0] * len(plans)
    for month, counted, start in months:
        # A month not billed after the first (after cancelling) compares
        # nothing: every plan cost 0 then.
        if start is None:
            rows.append(
                MonthRow(
                    month=month,
                    counted_calls=counted,
                    cells=[Cell(yen=None, cheapest=False) for _ in plans],
                    billed=False,
                )
            )
            continue
        amounts: list[int | None] = []
        for index, plan in enumerate(plans):
            snapshot = price_on(snapshots[plan.pk], start)  # as billing reads it
            amount = (
                None
                if snapshot is None
                else usage_charges(
                    price=snapshot,
                    billable_from=start,
                    month=month,
                    counted_calls=counted,
                ).charge_yen
            )
            amounts.append(amount)
            running = sums[index]
            sums[index] = (
                None if amount is None or running is None else running + amount
            )
        days, month_days = billed_days(billable_from=start, month=month)
        rows.append(
            MonthRow(
                month=month,
                counted_calls=counted,
                cells=_mark_cheapest(amounts),
                days_billed=days,
                month_days=month_days,
            )
        )
    billed_months = sum(1 for row in rows if row.billed)

    # Chart: one bar per month, dashed lines at each plan's included calls today.
    current_included = []
    for plan in plans:
        snapshot = price_on(snapshots[plan.pk], counts[-1][0]) if counts else None
        if snapshot is not None:
            current_included.append((plan.name, snapshot.included_calls))
    top_value = max([c for _m, c in counts] + [n for _p, n in current_included] + [1])
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_HEIGHT - CHART_BOTTOM
    # A month's bar is as wide whatever the months shown (a client of two
    # months has two bars of a year's chart, not two bars the chart's width).
    slot = (CHART_WIDTH - CHART_LEFT) // MONTHS
    bars = []
    for index, (month, counted) in enumerate(counts):
        height = counted * plot_height // top_value
        x = CHART_LEFT + index * slot + slot // 6
        bars.append(
            Bar(
                x=x,
                y=baseline - height,
                width=slot * 2 // 3,
                height=height,
                label_x=x + slot // 3,
                month=month,
                counted_calls=counted,
            )
        )
    guides = [
        Guide(
            y=baseline - included * plot_height // top_value, label=f"{name} {included}"
        )
        for name, included in current_included
    ]
    totals = (
        _mark_cheapest(sums)
        if billed_months
        else [Cell(yen=None, cheapest=False) for _ in plans]
    )
    usage = month_to_date_usage(client=client, today=today)
    exceeded = []
    if usage.billed and usage.billable_from is not None:
        for plan, total in zip(plans, totals, strict=True):
            snapshot = price_on(snapshots[plan.pk], usage.billable_from)
            if not total.cheapest or snapshot is None:
                continue
            # Included calls as this month's invoice would count them (pro rata
            # in a first month).
            included = usage_charges(
                price=snapshot,
                billable_from=usage.billable_from,
                month=usage.month,
                counted_calls=usage.counted_calls,
            ).included_calls
            if usage.counted_calls > included:
                exceeded.append(ExceededPlan(name=plan.name, included_calls=included))
    return PlanAdvice(
        plans=plans,
        rows=rows,
        totals=totals,
        billed_months=billed_months,
        this_month=usage.month,
        this_month_counted_calls=usage.counted_calls,
        exceeded_this_month=tuple(exceeded),
        bars=bars,
        guides=guides,
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        baseline_y=baseline,
    )
