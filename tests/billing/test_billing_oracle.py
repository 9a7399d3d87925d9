"""The monthly billing against an oracle written from DOMAIN.md alone.

Hypothesis draws a client's history (free trial, a contract starting on the 1st
or mid-month, plan requests at Japan-time month edges, price changes of any
plan on any day, extra lent numbers and FAX, report recipients beyond the free
three, calls of every category around midnight JST, surcharges, a cancellation
at a month end, an invoice left unpaid), then bills it month by month with the
real services (``bill_month`` with ``issue=True``, on the 1st or up to 45 days
late, ``mark_paid``, the hourly ``release_numbers_of_ended_contracts``). Each
invoice is compared, line by line and in its totals, with what
``expected_invoices`` computes in plain Python, and its due date with
``expected_due_on``.

A second property test (``test_invoices_after_issue_match_the_written_rules``)
follows what happens after the issue: months billed in any order, payments,
credits, calls logged or corrected late, void and reissue, the refund of a
final invoice; ``expected_life`` keeps the books in plain Python.

The oracle imports nothing from the project's pricing, tax or month helpers:
its prices, fees and rounding rules are written out again here from DOMAIN.md
and from the decisions recorded in the code ("a month billed at the price of
its first billed day", "numbers returned as of 解約日"). A disagreement means
one of the two misread the rules.
"""

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from answering.models import Call, Category
from answering.services import correct_call
from billing.models import Invoice, InvoiceStatus
from billing.services import (
    add_adjustment,
    bill_month,
    mark_paid,
    mark_refunded,
    void_and_reissue,
)
from clients.models import Client, LentNumber, NumberAssignment, Plan
from clients.services import release_numbers_of_ended_contracts, set_plan
from tests.factories import (
    CallFactory,
    ClientFactory,
    NumberAssignmentFactory,
    PlanFactory,
    PlanPriceFactory,
    ReportRecipientFactory,
    history_since_2025,
    switch_reports,
)

pytestmark = pytest.mark.django_db

# CI (CI=true) replays the same examples on every run, as the security sweeps
# do; elsewhere each run explores new histories (--hypothesis-seed=N replays
# one). ORACLE_EXAMPLES=200 explores further; the default keeps the test well
# under a minute on SQLite.
ORACLE = settings(
    max_examples=int(os.environ.get("ORACLE_EXAMPLES", 60)),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

TOKYO = ZoneInfo("Asia/Tokyo")

# ---------------------------------------------------------------------------
# The rules, written out again from DOMAIN.md (do not import them).

# code -> (monthly fee, calls included, price per call over), tax included.
PRICE_LIST = {
    "small": (2960, 20, 148),
    "half": (5720, 40, 143),
    "standard": (11040, 80, 138),
}
# "Prices change over time (they were once 2,900 / 145)": prices a plan may
# change to, tax included.
OTHER_PRICES = [(2900, 20, 145), (3300, 25, 150), (5500, 40, 140), (12100, 80, 121)]
PLAN_NAMES = {"small": "スモール", "half": "ハーフ", "standard": "スタンダード"}
# As the migration that creates the three plans: in force since 2000-01-01.
PRICES_FROM = dt.date(2000, 1, 1)
NUMBER_FEE = 1100  # every number beyond the first, and every FAX number
RECIPIENT_FEE = 210  # every person beyond the free ones
FREE_PERSONS = 3
TRIAL_DAYS = 10

# The window histories are drawn from: the clients' audit history is dated
# back to 2025-01-01 (``history_since_2025``).
EARLIEST_START = dt.date(2025, 3, 1)
LATEST_START = dt.date(2026, 3, 31)


def first_of(day):
    return day.replace(day=1)


def add_months(month, count):
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def last_of(month):
    return add_months(first_of(month), 1) - dt.timedelta(days=1)


def days_between(first, last):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


# ---------------------------------------------------------------------------
# A drawn history (plain data: dates are Japan-time calendar dates).


@dataclass(frozen=True)
class PlanRequest:
    at: dt.datetime  # naive, Japan time
    code: str


@dataclass(frozen=True)
class PriceChange:
    code: str
    on: dt.date  # in force from this day (the plan's price list before it)
    prices: tuple[int, int, int]  # fee, calls included, per call over


@dataclass(frozen=True)
class Lending:
    fax: bool
    assigned_on: dt.date
    released_on: dt.date | None


@dataclass(frozen=True)
class Person:
    active_from: dt.date
    active_to: dt.date | None


@dataclass(frozen=True)
class CallBatch:
    at: dt.datetime  # naive, Japan time
    category: str
    surcharge_yen: int
    count: int


@dataclass(frozen=True)
class Switch:
    at: dt.datetime  # naive, Japan time
    by_email: bool  # reports by e-mail from then on, else by Chatwork


@dataclass
class History:
    trial_started_on: dt.date | None
    contract_started_on: dt.date
    cancelled_on: dt.date | None
    first_plan: str
    requests: list[PlanRequest]
    price_changes: list[PriceChange]  # at most one per plan and day
    lendings: list[Lending]
    persons: list[Person]
    switches: list[Switch]  # oldest first; reports by e-mail before the first
    batches: list[CallBatch]
    months: list[dt.date]  # billed in this order, each once it has ended
    unpaid_month: dt.date | None  # the invoice of this month is never paid
    # Days after the month's end each month is billed and issued (0: on the
    # 1st), in the order of ``months``; missing ones are 0.
    issued_late_by: list[int] = field(default_factory=list)

    @property
    def first_day(self):
        return self.trial_started_on or self.contract_started_on


EDGE_TIMES = [
    dt.time(0, 0),
    dt.time(0, 0, 1),
    dt.time(8, 59, 59),  # still the previous day in UTC
    dt.time(9, 0),  # 00:00 UTC
    dt.time(18, 0),
    dt.time(23, 59),
    dt.time(23, 59, 59),
]


def days(first, last, special=()):
    """A date between ``first`` and ``last``, often a month's first or last
    day or a ``special`` one (the end of the trial, the first billed day)."""
    edge_days = sorted(
        {d for d in days_between(first, last) if d.day == 1 or d == last_of(d)}
        | {d for d in special if first <= d <= last}
    )
    chosen = sorted(d for d in special if first <= d <= last)
    return st.one_of(
        st.dates(first, last),
        *(st.sampled_from(some) for some in (edge_days, chosen) if some),
    )


@st.composite
def moments(draw, first, last, special=()):
    """A Japan-time moment between ``first`` and ``last`` (dates), often at
    midnight or another edge of an edge day."""
    day = draw(days(first, last, special))
    time = draw(
        st.one_of(
            st.sampled_from(EDGE_TIMES),
            st.times().map(lambda t: t.replace(microsecond=0)),
        )
    )
    return dt.datetime.combine(day, time)


@st.composite
def histories(draw):
    on_the_first = draw(st.booleans())
    contract = draw(st.dates(EARLIEST_START, LATEST_START))
    if on_the_first:
        contract = first_of(contract)
    trial = draw(
        st.one_of(
            st.none(),
            st.integers(0, 25).map(lambda n: contract - dt.timedelta(days=n)),
        )
    )
    first_month = first_of(trial or contract)
    last_month = add_months(first_of(contract), draw(st.integers(0, 4)))
    months = [first_month]
    while months[-1] < last_month:
        months.append(add_months(months[-1], 1))
    # A cancellation takes effect at a month end, on or after the contract's start.
    cancelled = draw(
        st.one_of(
            st.none(),
            st.sampled_from([last_of(m) for m in months if last_of(m) >= contract]),
        )
    )
    if cancelled is not None:
        months = [m for m in months if m <= cancelled]
    first_day = trial or contract
    last_day = cancelled or last_of(months[-1])
    # The contract's start, the trial's last day and the day after it.
    special = {contract}
    if trial is not None:
        special |= {trial + dt.timedelta(days=9), trial + dt.timedelta(days=10)}
        special |= {contract - dt.timedelta(days=1)}

    requests = draw(
        st.lists(
            st.builds(
                PlanRequest,
                at=moments(first_day, last_day, special),
                code=st.sampled_from(sorted(PRICE_LIST)),
            ),
            max_size=4,
        )
    )
    lendings = [Lending(fax=False, assigned_on=first_day, released_on=None)]
    for _ in range(draw(st.integers(0, 3))):
        assigned = draw(days(first_day, last_day, special))
        released = draw(st.one_of(st.none(), days(assigned, last_day, special)))
        lendings.append(Lending(draw(st.booleans()), assigned, released))
    if draw(st.booleans()):
        # The first number given back, maybe before the contract was billed.
        released = draw(days(first_day, last_day, special))
        lendings[0] = Lending(fax=False, assigned_on=first_day, released_on=released)
    if trial is not None and draw(st.booleans()):
        # A number tried in the free trial and given back before it ended.
        trial_last = min(trial + dt.timedelta(days=9), last_day)
        released = draw(days(trial, trial_last, special))
        lendings.append(Lending(draw(st.booleans()), trial, released))
    persons = []
    for _ in range(draw(st.integers(0, 6))):
        active_from = draw(days(first_day - dt.timedelta(days=20), last_day, special))
        active_to = draw(st.one_of(st.none(), days(active_from, last_day, special)))
        persons.append(Person(active_from, active_to))
    switches = []
    by_email = True
    for at in sorted(draw(st.lists(moments(first_day, last_day, special), max_size=3))):
        by_email = not by_email
        switches.append(Switch(at, by_email))
    batches = draw(
        st.lists(
            st.builds(
                CallBatch,
                at=moments(first_day, last_day, special),
                category=st.sampled_from(["normal", "sales", "grey", "nuisance"]),
                surcharge_yen=st.sampled_from([0, 0, 0, 200, 250, 300]),
                count=st.one_of(st.just(1), st.integers(1, 25)),
            ),
            max_size=12,
        )
    )
    unpaid = draw(st.one_of(st.none(), st.sampled_from(months)))
    late = st.one_of(st.just(0), st.integers(0, 45), st.sampled_from([13, 14, 16, 17]))
    return History(
        trial_started_on=trial,
        contract_started_on=contract,
        cancelled_on=cancelled,
        first_plan=draw(st.sampled_from(sorted(PRICE_LIST))),
        requests=sorted(requests, key=lambda r: r.at),
        price_changes=list(
            {
                (change.code, change.on): change
                for change in draw(
                    st.lists(
                        st.builds(
                            PriceChange,
                            code=st.sampled_from(sorted(PRICE_LIST)),
                            on=days(first_day, last_day, special),
                            prices=st.sampled_from(OTHER_PRICES),
                        ),
                        max_size=3,
                    )
                )
            }.values()
        ),
        lendings=lendings,
        persons=persons,
        switches=switches,
        batches=batches,
        months=months,
        unpaid_month=unpaid,
        issued_late_by=draw(st.lists(late, min_size=len(months), max_size=len(months))),
    )


# ---------------------------------------------------------------------------
# The oracle.


@dataclass
class Expected:
    period_start: dt.date
    lines: list[tuple[str, int, int, int]] = field(default_factory=list)
    call_over: tuple[int, int, int] = (0, 0, 0)  # counted, included, over
    # What the plan fee line prints: the plan's name, and (days, days in the
    # month) when it is billed pro rata.
    plan_name: str = ""
    pro_rata: tuple[int, int] | None = None

    @property
    def taxable(self):
        return sum(a for kind, _q, _u, a in self.lines if not kind.startswith("dep"))

    @property
    def non_taxable(self):
        return sum(a for kind, _q, _u, a in self.lines if kind.startswith("dep"))

    @property
    def tax(self):
        # Consumption tax inside a tax-included total, once per invoice. A
        # negative total (credits beyond the charges): the same on its size,
        # as billing/tax.py decides (DOMAIN.md gives the rule for a charge).
        size = abs(self.taxable) * 10 // 110
        return size if self.taxable >= 0 else -size

    @property
    def total(self):
        return self.taxable + self.non_taxable


def first_billed_day(h: History) -> dt.date:
    """Nothing is billed before the contract, nor in the 10-day free trial
    (the trial's first day is day 1 of 10)."""
    if h.trial_started_on is None:
        return h.contract_started_on
    return max(h.contract_started_on, h.trial_started_on + dt.timedelta(TRIAL_DAYS))


def plan_for(h: History, month: dt.date) -> str:
    """The first plan applies from the month of the trial (or contract); a
    request applies from the 1st of the month after the one it is made in
    (Japan time); the last request in a month wins; none is accepted for a
    month after the contract has ended."""
    by_month = {first_of(h.first_day): h.first_plan}
    for request in h.requests:  # oldest first
        effective = add_months(first_of(request.at.date()), 1)
        if h.cancelled_on is not None and effective > h.cancelled_on:
            continue
        by_month[effective] = request.code
    return by_month[max(m for m in by_month if m <= month)]


def reports_by_email_on(h: History, day: dt.date) -> bool:
    """Recipients cost only on the days reports went by e-mail: at some
    moment of the (Japan-time) day."""
    midnight = dt.datetime.combine(day, dt.time())
    before = [s for s in h.switches if s.at <= midnight]
    if before[-1].by_email if before else True:
        return True
    return any(
        s.by_email
        for s in h.switches
        if midnight < s.at < midnight + dt.timedelta(days=1)
    )


def price_for(h: History, code: str, day: dt.date) -> tuple[int, int, int]:
    """The plan's price in force on ``day``: the last change made by then."""
    changes = sorted((c.on, c.prices) for c in h.price_changes if c.code == code)
    in_force = [prices for on, prices in changes if on <= day]
    return in_force[-1] if in_force else PRICE_LIST[code]


def bank_open(day: dt.date) -> bool:
    """Japanese banks close on weekends, national holidays and 12-31 to 1-3."""
    year_end = (day.month, day.day) in {(12, 31), (1, 1), (1, 2), (1, 3)}
    return day.weekday() < 5 and not year_end and day not in holidays.JP(years=day.year)


def bank_day_from(day: dt.date) -> dt.date:
    while not bank_open(day):
        day += dt.timedelta(days=1)
    return day


def expected_due_on(month: dt.date, issued_on: dt.date) -> dt.date:
    """Due at the end of the month after the billed one, or of the month of
    issue when issued later; never fewer than 14 days after the issue, else at
    the end of the month after the issue; each moved to the next day banks are
    open (billing/due_dates.py, the decision recorded in the code)."""
    due = bank_day_from(max(last_of(add_months(month, 1)), last_of(issued_on)))
    if (due - issued_on).days < 14:
        due = bank_day_from(last_of(add_months(first_of(issued_on), 1)))
    return due


def expected_usage(h: History, month: dt.date) -> Expected | None:
    """The month's lines before credits and deposit lines (None: no billed
    day in it): plan fee, call-over, extra numbers, extra recipients,
    surcharges."""
    starts = first_billed_day(h)
    end = last_of(month)
    if end < starts:
        return None
    start = max(month, starts)
    code = plan_for(h, month)
    # A month is billed at the price in force on its first billed day.
    fee, included, per_call = price_for(h, code, start)
    days, month_days = (end - start).days + 1, end.day
    if days < month_days:
        # Pro rata by days: fee down to the yen, included calls up.
        fee = fee * days // month_days
        included = -(-included * days // month_days)
    billed_calls = [
        (batch.at, index, batch)
        for index, batch in enumerate(h.batches)
        if batch.category != "sales" and start <= batch.at.date() <= end
    ]
    counted = sum(batch.count for _at, _i, batch in billed_calls)
    over = max(counted - included, 0)
    invoice = Expected(
        period_start=start,
        call_over=(counted, included, over),
        plan_name=PLAN_NAMES[code],
        pro_rata=(days, month_days) if days < month_days else None,
    )
    invoice.lines.append(("plan_fee", 1, fee, fee))
    invoice.lines.append(("call_over", over, per_call, over * per_call))
    # A number costs for each month it was held on a billed day; the
    # first phone number is in the plan, a FAX never is.
    held = [
        lending
        for lending in h.lendings
        if lending.assigned_on <= end
        and (lending.released_on is None or lending.released_on >= start)
    ]
    extra = len(held) - (1 if any(not lending.fax for lending in held) else 0)
    invoice.lines += [("extra_number", 1, NUMBER_FEE, NUMBER_FEE)] * extra
    # The highest number of persons on any billed day of the month.
    peak = max(
        sum(
            1
            for p in h.persons
            if p.active_from <= day and (p.active_to is None or day <= p.active_to)
        )
        if reports_by_email_on(h, day)
        else 0
        for day in days_between(start, end)
    )
    if peak > FREE_PERSONS:
        persons = peak - FREE_PERSONS
        invoice.lines.append(
            ("extra_recipients", persons, RECIPIENT_FEE, persons * RECIPIENT_FEE)
        )
    for _at, _index, batch in sorted(billed_calls, key=lambda c: c[:2]):
        if batch.surcharge_yen:
            invoice.lines += [
                ("surcharge", 1, batch.surcharge_yen, batch.surcharge_yen)
            ] * batch.count
    return invoice


def deposit_for(h: History, month: dt.date) -> int:
    """One month's plan fee (the full one) at the price in force on the
    month's first billed day."""
    start = max(month, first_billed_day(h))
    return price_for(h, plan_for(h, month), start)[0]


def expected_invoices(h: History) -> dict[dt.date, Expected]:
    invoices: dict[dt.date, Expected] = {}
    deposit = 0
    unpaid_before = False
    for month in h.months:
        invoice = expected_usage(h, month)
        if invoice is None:
            continue
        if not deposit:
            # One month's plan fee (the full one), held, not a sale.
            deposit = deposit_for(h, month)
            invoice.lines.append(("deposit", 1, deposit, deposit))
        final = h.cancelled_on is not None and month == first_of(h.cancelled_on)
        if final and not unpaid_before:
            invoice.lines.append(("deposit_return", 1, -deposit, -deposit))
        invoices[month] = invoice
        # An issued invoice left unpaid: the deposit stays held against it.
        unpaid_before = unpaid_before or month == h.unpaid_month
    return invoices


# ---------------------------------------------------------------------------
# The history, made with the project's factories and services.


def aware(naive: dt.datetime) -> dt.datetime:
    """A Japan-time wall clock reading as an aware moment, stored in UTC."""
    return naive.replace(tzinfo=TOKYO).astimezone(dt.UTC)


def make_plans(h: History) -> dict[str, Plan]:
    plans = {}
    for code, (fee, included, per_call) in PRICE_LIST.items():
        plan = PlanFactory(code=code)
        PlanPriceFactory(
            plan=plan,
            valid_from=PRICES_FROM,
            monthly_fee_yen=fee,
            included_calls=included,
            per_call_yen=per_call,
        )
        plans[code] = plan
    for change in h.price_changes:
        fee, included, per_call = change.prices
        PlanPriceFactory(
            plan=plans[change.code],
            valid_from=change.on,
            monthly_fee_yen=fee,
            included_calls=included,
            per_call_yen=per_call,
        )
    return plans


def make_client(h: History) -> Client:
    plans = make_plans(h)
    client = ClientFactory(
        trial_started_on=h.trial_started_on,
        contract_started_on=h.contract_started_on,
        cancelled_on=h.cancelled_on,
        status=Client.Status.CANCELLED if h.cancelled_on else Client.Status.ACTIVE,
        report_by_email=True,
    )
    history_since_2025(client)
    for switch in h.switches:
        switch_reports(client, email=switch.by_email, at=aware(switch.at))
    set_plan(
        client=client,
        plan=plans[h.first_plan],
        now=aware(dt.datetime.combine(h.first_day, dt.time(10))),
    )
    for request in h.requests:
        try:
            set_plan(client=client, plan=plans[request.code], now=aware(request.at))
        except ValidationError:  # after the contract's end: the oracle skips it
            assert h.cancelled_on is not None
    for lending in h.lendings:
        NumberAssignmentFactory(
            client=client,
            number__kind=LentNumber.Kind.FAX
            if lending.fax
            else LentNumber.Kind.TOKYO_03,
            use=(
                NumberAssignment.Use.FAX
                if lending.fax
                else NumberAssignment.Use.FORWARDING
            ),
            assigned_on=lending.assigned_on,
            released_on=lending.released_on,
        )
    for person in h.persons:
        ReportRecipientFactory(
            client=client, active_from=person.active_from, active_to=person.active_to
        )
    calls = []
    for batch in h.batches:
        for _ in range(batch.count):
            calls.append(
                CallFactory.build(
                    client=client,
                    received_at=aware(batch.at),
                    category=batch.category,
                    surcharge_yen=batch.surcharge_yen,
                    surcharge_reason="長時間のご対応" if batch.surcharge_yen else "",
                )
            )
    Call.objects.bulk_create(calls)
    return client


def billed(client: Client, month: dt.date) -> Invoice | None:
    return (
        Invoice.objects.filter(client=client, billing_month=month)
        .exclude(status=InvoiceStatus.VOID)
        .first()
    )


def invoice_as_billed(invoice: Invoice) -> Expected:
    lines = list(invoice.lines.order_by("position"))
    seen = Expected(
        period_start=invoice.period_start,
        lines=[
            (line.kind, line.quantity, line.unit_price_yen, line.amount_yen)
            for line in lines
        ],
    )
    over = next(line for line in lines if line.kind == "call_over")
    seen.call_over = (over.counted_calls, over.included_calls, over.over_calls)
    plan_line = next(line.description for line in lines if line.kind == "plan_fee")
    seen.plan_name = next(
        (name for name in PLAN_NAMES.values() if f"{name}プラン" in plan_line),
        plan_line,
    )
    days = re.search(r"（(\d+)日/(\d+)日の日割り）", plan_line)
    seen.pro_rata = (int(days[1]), int(days[2])) if days else None
    return seen


def lines_agreeing_with_totals(invoice: Invoice) -> Expected:
    """The invoice as billed, after checking its stored totals agree with its
    stored lines."""
    stored = invoice_as_billed(invoice)
    assert (
        invoice.taxable_10_yen,
        invoice.tax_10_yen,
        invoice.non_taxable_yen,
        invoice.total_yen,
    ) == (stored.taxable, stored.tax, stored.non_taxable, stored.total)
    return stored


def bill_history(h: History) -> dict[dt.date, Expected]:
    client = make_client(h)
    seen: dict[dt.date, Expected] = {}
    for index, month in enumerate(h.months):
        first_day_after = add_months(month, 1)
        late_by = h.issued_late_by[index] if index < len(h.issued_late_by) else 0
        issued_on = first_day_after + dt.timedelta(days=late_by)
        # The hourly job has returned the numbers of a contract that ended.
        release_numbers_of_ended_contracts(today=first_day_after)
        bill_month(month=month, issue=True, today=issued_on)
        invoice = billed(client, month)
        if invoice is None:
            continue
        assert invoice.status == InvoiceStatus.ISSUED
        assert invoice.issued_on == issued_on
        assert invoice.due_on == expected_due_on(month, issued_on), (
            f"{month:%Y-%m} issued {issued_on}: due {invoice.due_on}"
        )
        stored = lines_agreeing_with_totals(invoice)
        seen[month] = stored
        if month != h.unpaid_month and invoice.total_yen > 0:
            mark_paid(
                invoice=invoice, paid_on=invoice.issued_on, today=invoice.issued_on
            )
    if h.cancelled_on is not None:
        # Numbers given back as of 解約日, none left lent.
        assert not NumberAssignment.objects.filter(
            client=client, released_on__isnull=True
        ).exists()
        assert not NumberAssignment.objects.filter(
            client=client, released_on__gt=h.cancelled_on
        ).exists()
    return seen


def describe(invoices: dict[dt.date, Expected]) -> dict:
    return {
        f"{month:%Y-%m}": {
            "period_start": e.period_start,
            "plan line (name, pro rata days)": (e.plan_name, e.pro_rata),
            "lines": e.lines,
            "calls (counted, included, over)": e.call_over,
            "totals (10%, tax, deposit, total)": (
                e.taxable,
                e.tax,
                e.non_taxable,
                e.total,
            ),
        }
        for month, e in invoices.items()
    }


@ORACLE
@given(h=histories())
def test_monthly_invoices_match_the_written_rules(h):
    with transaction.atomic():
        got = bill_history(h)
        transaction.set_rollback(True)  # each example starts from an empty database
    assert describe(got) == describe(expected_invoices(h))


# ---------------------------------------------------------------------------
# After the issue: credits, calls logged or corrected late, void and reissue,
# refunds of a final invoice, and months billed in any order.
#
# Beyond DOMAIN.md ("an issued invoice never changes; corrections are a credit
# line on a later invoice, or a void-and-reissue that keeps the original"; the
# deposit billed on the first invoice, returned on the final one when nothing
# is owed), the oracle follows what the code records as decided:
# - a credit is taken off the client's next invoice built for a later month
#   than the one it corrects, in the order credits were entered; it gives back
#   at most the corrected invoice's 10% total less the credits already entered
#   against it, and is refused when no later invoice will come (a cancelled
#   client whose later months are all issued) (billing/models.py Adjustment);
# - a reissue is built from current data, carries the credits of the invoice
#   it replaces, and is refused while credits are entered against that one
#   (billing/selectors.py credits_refusing_reissue); the reissue of the final
#   month also takes every credit still waiting;
# - "the first invoice" that bills the deposit is the first one built, in
#   whatever order months are billed; "nothing owed" means no earlier month
#   issued and unpaid (with a total above 0), and no month missing between the
#   client's earliest invoice and the final one (billing/services/loading.py);
# - only an issued invoice asking for money can be marked paid, only one whose
#   total is below 0 refunded (billing/services/settlement.py).

LIFE_EXAMPLES = settings(
    ORACLE, max_examples=int(os.environ.get("ORACLE_EXAMPLES", 80))
)
CALLS_AT = dt.time(12)  # the month's calls: its last day at noon, Japan time


@dataclass(frozen=True)
class Step:
    kind: str  # bill, pay, refund, credit, late_calls, to_sales, reissue
    month: int  # index into the history's months
    days_after: int  # the clock moves on by this many days first
    yen: int = 1  # credit: the amount
    calls: int = 1  # late_calls, to_sales: how many calls


@dataclass
class Life:
    history: History  # no trial, plan requests, numbers nor recipients
    steps: list[Step]


@st.composite
def lives(draw):
    contract = draw(st.dates(EARLIEST_START, LATEST_START))
    if draw(st.booleans()):
        contract = first_of(contract)
    months = [first_of(contract)]
    for _ in range(draw(st.integers(1, 3))):
        months.append(add_months(months[-1], 1))
    cancelled = draw(
        st.one_of(st.none(), st.sampled_from([last_of(m) for m in months]))
    )
    if cancelled is not None:
        months = [m for m in months if m <= cancelled]
    counts = draw(
        st.lists(st.integers(0, 30), min_size=len(months), max_size=len(months))
    )
    first_plan = draw(st.sampled_from(sorted(PRICE_LIST)))
    changes = draw(
        st.lists(
            st.builds(
                PriceChange,
                code=st.just(first_plan),
                on=days(contract, last_of(months[-1]), {contract}),
                prices=st.sampled_from(OTHER_PRICES),
            ),
            max_size=1,
        )
    )
    history = History(
        trial_started_on=None,
        contract_started_on=contract,
        cancelled_on=cancelled,
        first_plan=first_plan,
        requests=[],
        price_changes=changes,
        lendings=[],
        persons=[],
        switches=[],
        batches=[
            CallBatch(dt.datetime.combine(last_of(m), CALLS_AT), "normal", 0, n)
            for m, n in zip(months, counts, strict=True)
            if n
        ],
        months=months,
        unpaid_month=None,
    )
    kinds = ["pay", "pay", "pay", "refund", "refund", "credit", "credit", "credit"]
    kinds += ["late_calls", "to_sales", "reissue", "reissue"]
    steps = []
    billed = []
    # Months billed in any order, each once, with what happens between (to
    # the months billed so far).
    for index in draw(st.permutations(range(len(months)))):
        steps.append(Step("bill", index, draw(st.integers(0, 20))))
        billed.append(index)
        after = st.builds(
            Step,
            kind=st.sampled_from(kinds),
            month=st.one_of(st.just(index), st.sampled_from(billed)),
            days_after=st.integers(0, 20),
            yen=st.sampled_from([1, 500, 2000, 5000, 15000]),
            calls=st.integers(1, 6),
        )
        steps += draw(st.lists(after, max_size=4))
    return Life(history, steps)


def life_clock(h: History, step: Step, clock: dt.date) -> dt.date:
    clock += dt.timedelta(days=step.days_after)
    if step.kind == "bill":  # a month is billed once it has ended
        clock = max(clock, add_months(h.months[step.month], 1))
    return clock


@dataclass(eq=False)
class Booked:
    """An invoice in the oracle's books."""

    month: dt.date
    expected: Expected
    issued_on: dt.date
    replaces: bool
    status: str = "issued"


@dataclass(eq=False)
class Credited:
    corrects: Booked
    yen: int
    applied_to: Booked | None = None


def expected_life(life: Life) -> tuple[list[str], dict]:
    """What each step does ("done", "refused", "no invoice"), and every
    invoice of each month, voided ones included, in the order made."""
    h = life.history
    counts = {b.at.date().replace(day=1): b.count for b in h.batches}
    books: list[Booked] = []
    credits: list[Credited] = []
    final = first_of(h.cancelled_on) if h.cancelled_on else None

    def live(month):
        return next((b for b in books if b.month == month and b.status != "void"), None)

    def build(month, clock, replaces=None):
        now = History(
            **{
                **h.__dict__,
                "batches": [
                    CallBatch(dt.datetime.combine(last_of(m), CALLS_AT), "normal", 0, n)
                    for m, n in counts.items()
                    if n
                ],
            }
        )
        invoice = expected_usage(now, month)
        others = [b for b in books if b.status != "void" and b.month != month]
        if replaces is None:
            due = [
                c for c in credits if c.applied_to is None and c.corrects.month < month
            ]
        else:
            due = [
                c
                for c in credits
                if c.applied_to is replaces
                or (
                    month == final
                    and c.applied_to is None
                    and c.corrects.month <= month
                )
            ]
        for credit in due:
            invoice.lines.append(("adjustment", 1, -credit.yen, -credit.yen))
            credit.applied_to = None
        deposits = [
            line
            for b in others
            for line in b.expected.lines
            if line[0].startswith("dep")
        ]
        held = sum(line[3] for line in deposits)
        if not any(line[0] == "deposit" for line in deposits):
            deposit = deposit_for(now, month)
            invoice.lines.append(("deposit", 1, deposit, deposit))
            held += deposit
        if month == final:
            earlier = {b.month for b in others if b.month < month}
            owing = any(
                b.status == "issued" and b.expected.total > 0
                for b in others
                if b.month < month
            )
            if earlier:  # a month left unbilled in between is a charge to come
                m = min(earlier)
                while m < month:
                    owing = owing or m not in earlier
                    m = add_months(m, 1)
            if not owing and held > 0:
                invoice.lines.append(("deposit_return", 1, -held, -held))
        booked = Booked(month, invoice, clock, replaces is not None)
        for credit in due:
            credit.applied_to = booked
        books.append(booked)

    def step_outcome(step, month, clock):
        if step.kind == "bill":
            build(month, clock)
            return "done"
        if step.kind == "late_calls":
            counts[month] = counts.get(month, 0) + step.calls
            return "done"
        if step.kind == "to_sales":
            counts[month] = max(counts.get(month, 0) - step.calls, 0)
            return "done"
        invoice = live(month)
        if invoice is None:
            return "no invoice"
        total = invoice.expected.total
        if step.kind in ("pay", "refund"):
            asks = total > 0 if step.kind == "pay" else total < 0
            if invoice.status != "issued" or not asks:
                return "refused"
            invoice.status = "paid"
            return "done"
        against = [c for c in credits if c.corrects is invoice]
        if step.kind == "reissue":
            if invoice.status != "issued" or against:
                return "refused"
            invoice.status = "void"
            build(month, clock, replaces=invoice)
            return "done"
        assert step.kind == "credit"
        if final is not None:
            after = [m for m in h.months if month < m <= final]
            issued_after = [m for m in after if live(m) is not None]
            if len(issued_after) >= len(after):
                return "refused"  # no later invoice will carry it
        left = max(invoice.expected.taxable - sum(c.yen for c in against), 0)
        if step.yen > left:
            return "refused"
        credits.append(Credited(invoice, step.yen))
        return "done"

    outcomes = []
    clock = add_months(h.months[0], 1)
    for step in life.steps:
        clock = life_clock(h, step, clock)
        outcomes.append(step_outcome(step, h.months[step.month], clock))
    invoices = {
        f"{month:%Y-%m}": [
            (
                b.status,
                b.issued_on,
                expected_due_on(b.month, b.issued_on),
                b.replaces,
                describe({month: b.expected})[f"{month:%Y-%m}"],
            )
            for b in books
            if b.month == month
        ]
        for month in h.months
    }
    return outcomes, invoices


def live_life(life: Life) -> tuple[list[str], dict]:
    """The same steps, with the project's services."""
    h = life.history
    client = make_client(h)
    outcomes = []
    clock = add_months(h.months[0], 1)
    for step in life.steps:
        clock = life_clock(h, step, clock)
        month = h.months[step.month]
        calls_at = aware(dt.datetime.combine(last_of(month), CALLS_AT))
        invoice = billed(client, month)
        try:
            if step.kind == "bill":
                bill_month(month=month, issue=True, today=clock)
            elif step.kind == "late_calls":  # logged after the month was billed
                CallFactory.create_batch(
                    step.calls, client=client, received_at=calls_at
                )
            elif step.kind == "to_sales":  # corrected after it was billed
                for call in Call.objects.filter(
                    client=client, received_at=calls_at, category=Category.NORMAL
                ).order_by("id")[: step.calls]:
                    correct_call(
                        call=call,
                        corrected_by=None,
                        changes={"category": Category.SALES},
                        now=aware(dt.datetime.combine(clock, CALLS_AT)),
                    )
            elif invoice is None:
                outcomes.append("no invoice")
                continue
            elif step.kind == "pay":
                mark_paid(invoice=invoice, paid_on=clock, today=clock)
            elif step.kind == "refund":
                mark_refunded(invoice=invoice, refunded_on=clock, today=clock)
            elif step.kind == "credit":
                add_adjustment(invoice=invoice, amount_yen=step.yen, reason="訂正")
            elif step.kind == "reissue":
                void_and_reissue(invoice=invoice, reason="宛名の誤り", today=clock)
        except ValidationError:
            outcomes.append("refused")
            continue
        outcomes.append("done")
    invoices = {}
    for month in h.months:
        invoices[f"{month:%Y-%m}"] = seen = []
        for invoice in Invoice.objects.filter(
            client=client, billing_month=month
        ).order_by("id"):
            stored = lines_agreeing_with_totals(invoice)
            seen.append(
                (
                    invoice.status,
                    invoice.issued_on,
                    invoice.due_on,
                    invoice.replaces_id is not None,
                    describe({month: stored})[f"{month:%Y-%m}"],
                )
            )
    return outcomes, invoices


def small_life(steps: list[Step], months: int = 2) -> Life:
    """Small plan from 2025-10-01 for ``months`` months, then cancelled; 25
    calls in October."""
    october = dt.date(2025, 10, 1)
    billed = [add_months(october, n) for n in range(months)]
    return Life(
        History(
            trial_started_on=None,
            contract_started_on=october,
            cancelled_on=last_of(billed[-1]),
            first_plan="small",
            requests=[],
            price_changes=[],
            lendings=[],
            persons=[],
            switches=[],
            batches=[CallBatch(dt.datetime(2025, 10, 31, 12), "normal", 0, 25)],
            months=billed,
            unpaid_month=None,
        ),
        steps,
    )


# The final invoice gives back the deposit and a credit: a refund.
REFUND_LIFE = small_life(
    [
        Step("bill", 0, 0),
        Step("credit", 0, 1, yen=2000),
        Step("reissue", 0, 1),  # refused: a credit is entered against it
        Step("to_sales", 0, 2, calls=3),  # corrected late: October stays
        Step("pay", 0, 3),
        Step("bill", 1, 0),
        Step("pay", 1, 1),  # refused: a refund
        Step("refund", 1, 5),
        Step("refund", 1, 5),  # refused: already refunded
    ]
)
# Billed out of order, the final month first; calls logged late, then the
# month voided and reissued from current data.
OUT_OF_ORDER_LIFE = small_life(
    [
        Step("bill", 1, 0),
        Step("bill", 0, 28),
        Step("late_calls", 0, 1, calls=2),
        Step("reissue", 0, 1),
        Step("credit", 0, 1, yen=1),  # refused: November is issued
    ]
)

# December billed before November: the deposit stays held until the reissue
# of December, once every earlier month is issued and paid; the reissues
# count the calls corrected late and keep the credits of what they replace.
THREE_MONTHS_LIFE = small_life(
    [
        Step("bill", 0, 0),
        Step("credit", 0, 1, yen=3000),
        Step("credit", 0, 0, yen=1000),  # refused: 700 yen left to credit
        Step("pay", 0, 1),
        Step("bill", 2, 0),
        Step("bill", 1, 0),
        Step("late_calls", 1, 1, calls=3),
        Step("to_sales", 1, 0, calls=1),
        Step("reissue", 1, 1),
        Step("pay", 1, 0),
        Step("reissue", 2, 1),
        Step("refund", 2, 2),
    ],
    months=3,
)


@LIFE_EXAMPLES
@given(life=lives())
@example(life=REFUND_LIFE)
@example(life=OUT_OF_ORDER_LIFE)
@example(life=THREE_MONTHS_LIFE)
def test_invoices_after_issue_match_the_written_rules(life):
    with transaction.atomic():
        got = live_life(life)
        transaction.set_rollback(True)  # each example starts from an empty database
    expected = expected_life(life)
    for step, outcome in zip(life.steps, got[0], strict=True):
        event(f"{step.kind}: {outcome}")  # --hypothesis-show-statistics
    assert got[0] == expected[0], "what each step did"
    assert got[1] == expected[1]


# ---------------------------------------------------------------------------
# Fixed examples the oracle is checked by (a wrong oracle fails these too).


def test_oracle_small_plan_worked_example_from_the_seeds():
    """Small, whole month, 25 counted calls: 2,960 + 5 x 148 = 740."""
    h = History(
        trial_started_on=None,
        contract_started_on=dt.date(2025, 9, 1),
        cancelled_on=None,
        first_plan="small",
        requests=[],
        price_changes=[],
        lendings=[Lending(False, dt.date(2025, 9, 1), None)],
        persons=[],
        switches=[],
        batches=[
            CallBatch(dt.datetime(2025, 10, 1, 0, 0), "normal", 0, 24),
            CallBatch(dt.datetime(2025, 10, 31, 23, 59, 59), "grey", 0, 1),
            CallBatch(dt.datetime(2025, 10, 15, 12), "sales", 0, 9),
            CallBatch(dt.datetime(2025, 11, 1, 0, 0), "nuisance", 0, 3),
        ],
        months=[dt.date(2025, 10, 1)],
        unpaid_month=None,
    )
    october = expected_invoices(h)[dt.date(2025, 10, 1)]
    assert october.lines[:2] == [
        ("plan_fee", 1, 2960, 2960),
        ("call_over", 5, 148, 740),
    ]


def test_oracle_pro_rata_trial_deposit_and_tax():
    """Trial from 10-20, contract 10-25: billed from 10-30 (2 of 31 days)."""
    h = History(
        trial_started_on=dt.date(2025, 10, 20),
        contract_started_on=dt.date(2025, 10, 25),
        cancelled_on=dt.date(2025, 11, 30),
        first_plan="half",
        requests=[],
        price_changes=[],
        lendings=[
            Lending(False, dt.date(2025, 10, 20), None),
            Lending(True, dt.date(2025, 10, 21), dt.date(2025, 10, 29)),
        ],
        persons=[Person(dt.date(2025, 10, 1), None)] * 5,
        switches=[],
        batches=[CallBatch(dt.datetime(2025, 10, 29, 23, 59), "normal", 300, 4)],
        months=[dt.date(2025, 10, 1), dt.date(2025, 11, 1)],
        unpaid_month=None,
    )
    invoices = expected_invoices(h)
    october = invoices[dt.date(2025, 10, 1)]
    assert october.period_start == dt.date(2025, 10, 30)
    assert (october.plan_name, october.pro_rata) == ("ハーフ", (2, 31))
    # 5,720 x 2/31 = 369.03 -> 369; 40 x 2/31 = 2.58 -> 3 calls included.
    assert october.lines == [
        ("plan_fee", 1, 369, 369),
        ("call_over", 0, 143, 0),
        ("extra_recipients", 2, 210, 420),
        ("deposit", 1, 5720, 5720),
    ]
    assert (october.taxable, october.tax, october.total) == (789, 71, 6509)
    november = invoices[dt.date(2025, 11, 1)]
    assert november.lines[-1] == ("deposit_return", 1, -5720, -5720)


def test_oracle_due_dates():
    """November 2025's invoice: due 12-31, a bank holiday, so 2026-01-05 (the
    4th is a Sunday); issued on 2026-01-25, the end of January (a Saturday,
    so 02-02) is 8 days away: the end of February (a Saturday), so 03-02."""
    november = dt.date(2025, 11, 1)
    assert expected_due_on(november, dt.date(2025, 12, 1)) == dt.date(2026, 1, 5)
    assert expected_due_on(november, dt.date(2025, 12, 20)) == dt.date(2026, 1, 5)
    assert expected_due_on(november, dt.date(2026, 1, 25)) == dt.date(2026, 3, 2)


def test_oracle_final_invoice_refunds_the_deposit_and_a_credit():
    outcomes, invoices = expected_life(REFUND_LIFE)
    assert outcomes == ["done", "done", "refused", "done", "done"] + [
        "done",
        "refused",
        "done",
        "refused",
    ]
    october, november = invoices["2025-10"], invoices["2025-11"]
    # October as issued: 25 calls, 5 over, whatever was corrected later.
    assert [line[0] for line in october[0][4]["lines"]][-1] == "deposit"
    assert october[0][4]["calls (counted, included, over)"] == (25, 20, 5)
    # November: 2,960 - 2,000 (credit) - 2,960 (deposit) = -2,000, refunded.
    status, issued_on, _due, replaces, seen = november[0]
    assert (status, issued_on, replaces) == ("paid", dt.date(2025, 12, 1), False)
    assert seen["lines"] == [
        ("plan_fee", 1, 2960, 2960),
        ("call_over", 0, 148, 0),
        ("adjustment", 1, -2000, -2000),
        ("deposit_return", 1, -2960, -2960),
    ]
    assert seen["totals (10%, tax, deposit, total)"] == (960, 87, -2960, -2000)


def test_oracle_out_of_order_months_and_a_reissue():
    outcomes, invoices = expected_life(OUT_OF_ORDER_LIFE)
    assert outcomes == ["done", "done", "done", "done", "refused"]
    # The final month, billed first, bills the deposit and returns it: no
    # earlier invoice yet, so nothing is owed (billing/pricing.py
    # months_not_billed looks from the client's first invoice on).
    november = invoices["2025-11"][0][4]["lines"]
    assert november[-2:] == [
        ("deposit", 1, 2960, 2960),
        ("deposit_return", 1, -2960, -2960),
    ]
    # October, issued on 12-29 and reissued on 12-31, due at the end of
    # January (2026-02-02, the 31st is a Saturday); the reissue counts the
    # two calls logged late and bills no deposit.
    voided, reissued = invoices["2025-10"]
    assert voided[:4] == ("void", dt.date(2025, 12, 29), dt.date(2026, 2, 2), False)
    assert reissued[:4] == ("issued", dt.date(2025, 12, 31), dt.date(2026, 2, 2), True)
    assert reissued[4]["calls (counted, included, over)"] == (27, 20, 7)
    assert [line[0] for line in reissued[4]["lines"]] == ["plan_fee", "call_over"]


def test_oracle_deposit_held_until_earlier_months_are_paid():
    outcomes, invoices = expected_life(THREE_MONTHS_LIFE)
    assert outcomes == ["done", "done", "refused"] + ["done"] * 9
    november = invoices["2025-11"][-1][4]
    assert november["calls (counted, included, over)"] == (2, 20, 0)
    held, returned = invoices["2025-12"]
    assert held[0] == "void"
    assert held[4]["lines"][2:] == [("adjustment", 1, -3000, -3000)]
    assert returned[0] == "paid"
    assert returned[4]["lines"][2:] == [
        ("adjustment", 1, -3000, -3000),
        ("deposit_return", 1, -2960, -2960),
    ]
