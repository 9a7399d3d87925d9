"""The admin's call list searches as the portal does: names in any width, a
client's name, part of a number; and on PostgreSQL without reading every call
(UPPER(column) LIKE, which no index serves)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CallFactory, ClientFactory

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:answering_call_changelist")


def _listed(admin_client, params) -> set[str]:
    response = admin_client.get(CALLS, params)
    assert response.status_code == 200
    return {call.caller_name for call in response.context["cl"].result_list}


def test_a_name_typed_in_full_width_finds_it_stored_in_half_width(admin_client):
    CallFactory(caller_name="佐藤", caller_company="ABC商事")
    CallFactory(caller_name="鈴木", caller_company="XYZ物産")
    assert _listed(admin_client, {"q": "ａｂｃ"}) == {"佐藤"}
    assert _listed(admin_client, {"q": "abc商事"}) == {"佐藤"}


def test_a_client_name_finds_its_calls_and_each_word_must_match(admin_client):
    acme = ClientFactory(name="アクメ株式会社")
    CallFactory(client=acme, caller_name="山田")
    CallFactory(client=acme, caller_name="田中")
    CallFactory(caller_name="山田商店の山田")
    assert _listed(admin_client, {"q": "アクメ"}) == {"山田", "田中"}
    assert _listed(admin_client, {"q": "アクメ 山田"}) == {"山田"}
    assert _listed(admin_client, {"q": "該当なし"}) == set()


def test_part_of_a_number_finds_the_calls_from_and_to_call_back(admin_client):
    CallFactory(
        caller_name="発信",
        caller_number="+81312345678",
        callback_number="",
        callback_number_missing_reason="refused",
    )
    CallFactory(
        caller_name="折り返し", caller_number="", callback_number="+81312345678"
    )
    CallFactory(
        caller_name="別", caller_number="+819011112222", callback_number="+819011112222"
    )
    assert _listed(admin_client, {"q": "03-1234"}) == {"発信", "折り返し"}
    assert _listed(admin_client, {"q": "5678"}) == {"発信", "折り返し"}


@pytest.mark.postgres
def test_the_search_uses_no_unindexable_upper_like(admin_client):
    CallFactory(caller_name="山田", caller_company="ABC商事")
    with CaptureQueriesContext(connection) as queries:
        assert _listed(admin_client, {"q": "abc 9999"}) == set()
        assert _listed(admin_client, {"q": "ABC"}) == {"山田"}
    calls_queries = [q["sql"] for q in queries if "answering_call" in q["sql"]]
    assert calls_queries
    assert not [sql for sql in calls_queries if "UPPER(" in sql]
