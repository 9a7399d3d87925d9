"""The history's keyword search is served by the trigram indexes on PostgreSQL.

Django's ``icontains`` there is ``UPPER(column) LIKE UPPER(text)``, which no index
serves: a search for letters read all of a client's calls (150 ms at 100,000).
Part of a number ("1234") is LIKE '%1234%' on the callback and caller numbers,
which read all of them too (46–113 ms at 30,000 calls) before call_number_trgm.
"""

import datetime as dt
import importlib
import random
from unittest.mock import ANY

import pytest
from django.db import connection

from answering.models import Call
from portal.selectors import HistoryFilters, filtered_calls
from tests.factories import ClientFactory
from tests.portal.conftest import jst

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's"
    ),
]

# Tests run without migrations: the index is made from the migration's own SQL.
TRIGRAM_INDEX = importlib.import_module(
    "answering.migrations.0003_callback_and_text_search_indexes"
).TRIGRAM_INDEX
NUMBER_TRIGRAM_INDEX = importlib.import_module(
    "answering.migrations.0010_phone_number_search_index"
).NUMBER_TRIGRAM_INDEX

CALLS = 5000


@pytest.fixture
def history_with_trigram_index(portal_user):
    client = portal_user.client
    start = jst(2026, 1, 5, 9)
    calls = [
        Call(
            client=client,
            received_at=start + dt.timedelta(minutes=20 * i),
            caller_name=f"山田{i % 997}",
            caller_company=f"株式会社取引先{i % 1500}",
            callback_number=f"+8190{i:08d}",
            caller_number=f"+8190{i:08d}",
            purpose="見積書の件で折り返しをお願いしたい",
        )
        for i in range(CALLS)
    ]
    calls[10].caller_company = "ａｂｃ商事"  # full-width small letters
    calls[20].caller_name = "ｻﾄｳ様"  # half-width kana
    Call.objects.bulk_create(calls)
    _create_indexes(TRIGRAM_INDEX)
    return client


def _create_indexes(*indexes: str) -> None:
    with connection.cursor() as cursor:
        # The calls' foreign keys are checked at commit; an index needs them done.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for index in indexes:
            cursor.execute(index)
        cursor.execute("ANALYZE answering_call")


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("ABC", ["ａｂｃ商事"]),
        ("サトウ", ["株式会社取引先20"]),
        ("取引先1499", ["株式会社取引先1499"] * 3),
    ],
)
def test_the_keyword_search_reads_the_trigram_index(
    history_with_trigram_index, typed, found
):
    calls = filtered_calls(
        client=history_with_trigram_index, filters=HistoryFilters(text=typed)
    ).order_by("-received_at", "-id")[:51]
    plan = calls.explain()
    assert "call_search_trgm" in plan, plan
    assert [call.caller_company for call in calls] == found


def _tokyo_numbers(rng: random.Random, count: int) -> list[str]:
    """03 numbers whose last eight digits are 5 to 9 only: none holds the parts
    searched below ("1234", "2345", "1415", "03-1234")."""
    return ["+813" + "".join(rng.choices("56789", k=8)) for _ in range(count)]


@pytest.fixture
def calls_among_other_clients(portal_user):
    """The portal user's client with 5,000 calls, among two other clients with
    as many. 03-1234-5678 and +1 415-555-2671 called everyone."""
    rng = random.Random(0)
    ours = portal_user.client
    clients = [ours, *ClientFactory.create_batch(2)]
    start = jst(2026, 1, 5, 9)
    calls = []
    for client in clients:
        callbacks = _tokyo_numbers(rng, CALLS)
        callers = _tokyo_numbers(rng, CALLS)
        callbacks[100] = "+81312345678"  # 03-1234-5678
        callers[200] = "+14155552671"  # +1 415-555-2671
        calls += [
            Call(
                client=client,
                received_at=start + dt.timedelta(minutes=20 * i),
                caller_name="山田",  # no digits: only numbers are found
                caller_company="株式会社取引先",
                callback_number=callbacks[i],
                caller_number=callers[i],
                purpose="見積書の件で折り返しをお願いしたい",
            )
            for i in range(CALLS)
        ]
    Call.objects.bulk_create(calls)
    _create_indexes(TRIGRAM_INDEX, NUMBER_TRIGRAM_INDEX)
    return ours


@pytest.mark.parametrize(
    ("typed", "numbers"),
    [
        # (callback, caller) of the one call found, the client's own
        ("1234", ("+81312345678", ANY)),  # after +81 only: a regular expression
        ("2345", ("+81312345678", ANY)),  # anywhere
        ("03-1234", ("+81312345678", ANY)),  # the trunk 0 is +81
        ("1415", (ANY, "+14155552671")),  # a number abroad, as it is written
    ],
)
def test_part_of_a_number_is_found_through_the_number_trigram_index(
    calls_among_other_clients, typed, numbers
):
    calls = filtered_calls(
        client=calls_among_other_clients, filters=HistoryFilters(text=typed)
    ).order_by("-received_at", "-id")[:51]
    plan = calls.explain()
    assert "call_number_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert [
        (call.client, call.callback_number, call.caller_number) for call in calls
    ] == [(calls_among_other_clients, *numbers)]
