"""The history's keyword search is served by the trigram index on PostgreSQL.

Django's ``icontains`` there is ``UPPER(column) LIKE UPPER(text)``, which no index
serves: a search for letters read all of a client's calls (150 ms at 100,000).
"""

import datetime as dt
import importlib

import pytest
from django.db import connection

from answering.models import Call
from portal.selectors import HistoryFilters, filtered_calls
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
    with connection.cursor() as cursor:
        # The calls' foreign keys are checked at commit; an index needs them done.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(TRIGRAM_INDEX)
        cursor.execute("ANALYZE answering_call")
    return client


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
