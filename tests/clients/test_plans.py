import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from clients import services
from clients.models import ClientPlan
from clients.selectors import plan_in_force
from clients.services import schedule_plan_change, start_plan
from tests import concurrency
from tests.factories import ClientFactory, PlanPriceFactory

pytestmark = pytest.mark.django_db
JST = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC


@pytest.fixture
def client_on_small(plans):
    client = ClientFactory()
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2026, 1, 1))
    return client


def test_a_change_asked_for_in_a_month_applies_from_the_first_of_the_next(
    client_on_small, plans
):
    result = schedule_plan_change(
        client=client_on_small,
        plan=plans["half"],
        now=dt.datetime(2026, 10, 15, 12, 0, tzinfo=JST),
    )
    assert result.effective_month == dt.date(2026, 11, 1)
    assert (
        plan_in_force(client=client_on_small, month=dt.date(2026, 10, 1)).plan
        == plans["small"]
    )
    assert (
        plan_in_force(client=client_on_small, month=dt.date(2026, 11, 1)).plan
        == plans["half"]
    )


@pytest.mark.parametrize(
    ("requested_at", "effective"),
    [
        # The last second of October in Japan time is still October...
        (dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=JST), dt.date(2026, 11, 1)),
        # ...one second later it is November, although it is still October 31 in UTC.
        (dt.datetime(2026, 11, 1, 0, 0, 0, tzinfo=JST), dt.date(2026, 12, 1)),
        (dt.datetime(2026, 10, 31, 15, 0, 0, tzinfo=UTC), dt.date(2026, 12, 1)),
        (dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=JST), dt.date(2027, 1, 1)),
    ],
)
def test_the_effective_month_follows_japan_time(
    client_on_small, plans, requested_at, effective
):
    result = schedule_plan_change(
        client=client_on_small, plan=plans["standard"], now=requested_at
    )
    assert result.effective_month == effective


def test_the_last_request_in_a_month_wins(client_on_small, plans):
    october = dt.datetime(2026, 10, 3, 10, 0, tzinfo=JST)
    schedule_plan_change(client=client_on_small, plan=plans["half"], now=october)
    schedule_plan_change(
        client=client_on_small,
        plan=plans["standard"],
        now=october + dt.timedelta(days=20),
    )
    assert (
        plan_in_force(client=client_on_small, month=dt.date(2026, 11, 1)).plan
        == plans["standard"]
    )
    assert (
        client_on_small.plan_history.filter(
            effective_month=dt.date(2026, 11, 1)
        ).count()
        == 1
    )


def test_more_than_two_changes_in_twelve_months_is_flagged(client_on_small, plans):
    moments = [dt.datetime(2026, m, 10, 10, 0, tzinfo=JST) for m in (3, 6, 9)]
    results = [
        schedule_plan_change(client=client_on_small, plan=plan, now=moment)
        for plan, moment in zip(
            [plans["half"], plans["small"], plans["half"]], moments, strict=True
        )
    ]
    assert [r.too_frequent for r in results] == [False, False, True]
    # A year later the old changes no longer count.
    later = schedule_plan_change(
        client=client_on_small,
        plan=plans["small"],
        now=dt.datetime(2027, 9, 20, 10, 0, tzinfo=JST),
    )
    assert not later.too_frequent


def test_a_request_that_keeps_the_plan_is_no_change(client_on_small, plans):
    """The warning fired after two real changes when a request kept the plan."""
    plan_for = [plans["small"], plans["half"], plans["half"], plans["small"]]
    results = [
        schedule_plan_change(
            client=client_on_small,
            plan=plan,
            now=dt.datetime(2026, month, 10, 10, 0, tzinfo=JST),
        )
        for plan, month in zip(plan_for, (2, 4, 6, 8), strict=True)
    ]
    # small (kept) -> half -> half (kept) -> small: two changes.
    assert [r.changes_in_last_12_months for r in results] == [0, 1, 1, 2]
    assert not results[-1].too_frequent


def test_the_database_keeps_one_plan_per_client_and_month(client_on_small, plans):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientPlan.objects.create(
            client=client_on_small,
            plan=plans["half"],
            effective_month=dt.date(2026, 1, 1),
            requested_at=dt.datetime(2026, 1, 1, tzinfo=JST),
        )


def test_plan_must_start_on_the_first_of_a_month(client_on_small, plans):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientPlan.objects.create(
            client=client_on_small,
            plan=plans["half"],
            effective_month=dt.date(2026, 5, 2),
            requested_at=dt.datetime(2026, 5, 2, tzinfo=JST),
        )


def test_prices_are_effective_dated(plans):
    small = plans["small"]
    PlanPriceFactory(
        plan=small,
        valid_from=dt.date(2020, 1, 1),
        monthly_fee_yen=2900,
        per_call_yen=145,
    )
    assert small.price_on(dt.date(2023, 12, 31)).monthly_fee_yen == 2900
    assert small.price_on(dt.date(2024, 4, 1)).monthly_fee_yen == 2960


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_setting_a_new_clients_first_plan_at_once_get_no_error(
    plans, monkeypatch
):
    """A double click on the admin action: both found no plan yet and both
    inserted the first one, and the second answered 500."""
    client = ClientFactory()
    checked, go_on = threading.Event(), threading.Event()
    first_month = services.first_plan_month

    def after_the_check(**kwargs):
        if not checked.is_set():  # only the first admin waits here
            checked.set()
            go_on.wait(timeout=10)
        return first_month(**kwargs)

    monkeypatch.setattr(services, "first_plan_month", after_the_check)

    def set_small():
        services.set_plan(client=client, plan=plans["small"])

    first = concurrency.start(set_small)
    assert checked.wait(timeout=10)
    second = concurrency.start(set_small)
    second.wait_until_blocked()
    go_on.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert (first.error, second.error) == (None, None)
    assert (
        plan_in_force(client=client, month=dt.date(2025, 1, 1)).plan == plans["small"]
    )
