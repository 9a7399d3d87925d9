import datetime as dt

import pytest

from answering.models import Category
from answering.selectors import (
    CallerHistory,
    DialedState,
    caller_history,
    calls_on_day,
    lookup_dialed,
)
from clients.months import JST
from tests.factories import (
    CallFactory,
    ClientFactory,
    LentNumberFactory,
    NumberAssignmentFactory,
)

TODAY = dt.date(2026, 3, 10)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("dialed", ["03-1234-5678", "0312345678", "+81312345678"])
def test_the_current_holder_of_the_dialed_number_is_found_in_any_format(dialed):
    assignment = NumberAssignmentFactory(number__number="+81312345678")
    lookup = lookup_dialed(dialed=dialed, today=TODAY)
    assert lookup.state is DialedState.ASSIGNED
    assert lookup.client == assignment.client


def test_a_reassigned_number_reaches_the_new_client_never_the_old_one():
    number = LentNumberFactory(number="+81312345678")
    NumberAssignmentFactory(
        number=number, assigned_on=dt.date(2024, 1, 1), released_on=dt.date(2025, 1, 1)
    )
    new = NumberAssignmentFactory(number=number, assigned_on=dt.date(2025, 6, 1))
    assert lookup_dialed(dialed="0312345678", today=TODAY).client == new.client


@pytest.mark.parametrize(
    ("dialed", "state"),
    [("hello", DialedState.UNREADABLE), ("0399998888", DialedState.UNKNOWN)],
)
def test_numbers_that_are_not_ours_reach_nobody(dialed, state):
    lookup = lookup_dialed(dialed=dialed, today=TODAY)
    assert lookup.state is state
    assert lookup.client is None
    assert lookup.warning


@pytest.mark.parametrize("dialed", ["029-876-5432", "0298765432", "+81298765432"])
def test_a_clients_own_forwarded_number_reaches_that_client(dialed):
    client = ClientFactory(own_number="+81298765432")
    ClientFactory(own_number="+81298765433")
    lookup = lookup_dialed(dialed=dialed, today=TODAY)
    assert lookup.state is DialedState.OWN_NUMBER
    assert lookup.client == client
    assert lookup.e164 == "+81298765432"


def test_an_own_number_given_by_two_clients_reaches_neither():
    ClientFactory.create_batch(2, own_number="+81298765432")
    lookup = lookup_dialed(dialed="0298765432", today=TODAY)
    assert lookup.state is DialedState.SHARED_OWN_NUMBER
    assert lookup.client is None
    assert lookup.warning


def test_a_number_lent_to_nobody_is_unassigned():
    LentNumberFactory(number="+81312345678")
    lookup = lookup_dialed(dialed="03-1234-5678", today=TODAY)
    assert lookup.state is DialedState.UNASSIGNED
    assert lookup.client is None


def test_a_recently_released_number_is_quarantined_then_unassigned(settings):
    settings.NUMBER_QUARANTINE_DAYS = 90
    released_on = TODAY - dt.timedelta(days=10)
    NumberAssignmentFactory(number__number="+81312345678", released_on=released_on)
    lookup = lookup_dialed(dialed="0312345678", today=TODAY)
    assert lookup.state is DialedState.QUARANTINED
    assert lookup.client is None
    assert lookup.available_on == released_on + dt.timedelta(days=91)
    later = released_on + dt.timedelta(days=91)
    assert lookup_dialed(dialed="0312345678", today=later).state is (
        DialedState.UNASSIGNED
    )


def test_the_warnings_differ_for_each_state():
    warnings = {
        lookup_dialed(dialed=d, today=TODAY).warning for d in ["x", "0399998888"]
    }
    LentNumberFactory(number="+81312345678")
    warnings.add(lookup_dialed(dialed="0312345678", today=TODAY).warning)
    NumberAssignmentFactory(
        number__number="+81311112222", released_on=TODAY - dt.timedelta(days=1)
    )
    warnings.add(lookup_dialed(dialed="0311112222", today=TODAY).warning)
    ClientFactory.create_batch(2, own_number="+81298765432")
    warnings.add(lookup_dialed(dialed="0298765432", today=TODAY).warning)
    assert len(warnings) == 5


def test_repeat_caller_history_is_the_last_five_calls_of_that_number_to_that_client():
    client = ClientFactory()
    base = dt.datetime(2026, 3, 1, 10, tzinfo=JST)
    number = "+819011112222"
    # The oldest two are nuisance calls: past the last five, still counted.
    calls = [
        CallFactory(
            client=client,
            caller_number=number,
            received_at=base + dt.timedelta(days=i),
            category=Category.NUISANCE if i < 2 else Category.NORMAL,
        )
        for i in range(7)
    ]
    # Nuisance calls from another number, or to another client, do not count.
    CallFactory(
        client=client,
        caller_number="+819099999999",
        received_at=base,
        category=Category.NUISANCE,
    )
    CallFactory(
        caller_number=number,
        received_at=base + dt.timedelta(days=9),
        category=Category.NUISANCE,
    )
    history = caller_history(client=client, caller_number=number)
    assert history.calls == list(reversed(calls))[:5]
    assert history.nuisance_count == 2
    assert caller_history(client=client, caller_number="") == CallerHistory([], 0)


def test_a_caller_with_no_nuisance_call_has_a_count_of_zero():
    client = ClientFactory()
    CallFactory(client=client, caller_number="+819011112222")
    history = caller_history(client=client, caller_number="+819011112222")
    assert (len(history.calls), history.nuisance_count) == (1, 0)
    history = caller_history(client=client, caller_number="+819033334444")
    assert (history.calls, history.nuisance_count) == ([], 0)


def test_calls_on_day_use_japan_time_and_filters():
    client, other = ClientFactory(), ClientFactory()
    # 00:30 JST today is still yesterday in UTC: it belongs to today.
    early = CallFactory(
        client=client, received_at=dt.datetime(2026, 3, 10, 0, 30, tzinfo=JST)
    )
    nuisance = CallFactory(
        client=other,
        category=Category.NUISANCE,
        received_at=dt.datetime(2026, 3, 10, 12, tzinfo=JST),
    )
    CallFactory(client=client, received_at=dt.datetime(2026, 3, 9, 23, 59, tzinfo=JST))
    assert calls_on_day(day=TODAY) == [nuisance, early]
    assert calls_on_day(day=TODAY, client_id=client.pk) == [early]
    assert calls_on_day(day=TODAY, category="nuisance") == [nuisance]
