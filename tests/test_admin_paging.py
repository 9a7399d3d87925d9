"""The admin's lists of calls and deliveries at production volume
(config.admin_paging): no COUNT over the whole table, an estimate said as one,
and the date drill-down found through the index."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from answering.models import Call
from tests.factories import CallFactory, ClientFactory

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:answering_call_changelist")


def _at(year: int, month: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, 15, 10))


def _counts_of_calls(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "COUNT(" in q["sql"].upper() and '"answering_call"' in q["sql"]
    ]


def _drilldown_titles(page: str) -> list[str]:
    """The drill-down's links (the way back first, if any) and texts."""
    nav = page[page.index('class="toplinks"') :]
    nav = nav[nav.index(">") + 1 : nav.index("</nav>")]
    return [text.strip() for text in re.findall(r"[^<>]+(?=<|$)", nav) if text.strip()]


def _count_shown(page: str) -> str:
    paginator = re.search(r'<p class="paginator">(.*?)</p>', page, re.S)
    assert paginator is not None
    return re.sub(r"<[^>]+>|\s+", " ", paginator.group(1)).split()[-1]


def _years_and_months_calls():
    acme = ClientFactory()
    for year, month in [(2024, 3), (2024, 11), (2026, 2)]:  # none in 2025
        CallFactory(client=acme, received_at=_at(year, month))
    return acme


def test_a_filtered_list_is_counted_once_and_exactly(admin_client):
    acme = _years_and_months_calls()
    CallFactory()  # another client's
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CALLS, {"client__id__exact": acme.pk})
    assert page.status_code == 200
    # Django counted the whole table a second time ("3 件 (全4件)").
    assert len(_counts_of_calls(queries)) == 1
    assert page.context["cl"].result_count == 3
    assert _count_shown(page.content.decode()) == "受電"  # after "3"


def test_the_drilldown_offers_the_years_and_months_that_have_calls(
    admin_client, monkeypatch
):
    # As for a long list: a short one is read once by Django's DISTINCT.
    monkeypatch.setattr("config.admin_paging.PERIODS_LOOKED_UP_FROM", 0)
    _years_and_months_calls()
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CALLS).content.decode()
    assert _drilldown_titles(page) == ["2024", "2026"]
    # No SELECT DISTINCT over every call (over a second at 1,000,000 calls).
    assert not [q for q in queries if "DISTINCT" in q["sql"].upper()]
    year = admin_client.get(CALLS, {"received_at__year": 2024}).content.decode()
    assert _drilldown_titles(year)[1:] == ["2024年3月", "2024年11月"]


def test_a_month_drilldown_still_offers_its_days(admin_client):
    _years_and_months_calls()
    page = admin_client.get(
        CALLS, {"received_at__year": 2024, "received_at__month": 11}
    ).content.decode()
    assert "11月15日" in _drilldown_titles(page)[-1]


@pytest.mark.postgres(reason="the estimate is PostgreSQL's statistics")
def test_the_unfiltered_list_is_not_counted_and_says_its_count_is_approximate(
    admin_client,
):
    acme = ClientFactory()
    Call.objects.bulk_create(
        Call(
            client=acme,
            received_at=_at(2026, 1) + dt.timedelta(minutes=i),
            caller_name="大量",
            callback_number="+819012345678",
            purpose="用件",
        )
        for i in range(12_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE answering_call")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CALLS)
    assert page.status_code == 200
    assert _counts_of_calls(queries) == []
    assert _count_shown(page.content.decode()) == "約12,000件"
    # Filtered, it is counted exactly, and says so.
    filtered = admin_client.get(CALLS, {"client__id__exact": acme.pk})
    assert "約" not in _count_shown(filtered.content.decode())
    assert filtered.context["cl"].result_count == 12_000


def test_a_far_page_reads_its_keys_first_and_shows_the_rows_in_order(
    admin_client, monkeypatch
):
    monkeypatch.setattr("config.admin_paging.KEYS_FIRST_FROM", 100)
    acme = ClientFactory()
    Call.objects.bulk_create(
        Call(
            client=acme,
            received_at=_at(2026, 1) + dt.timedelta(minutes=i % 75),  # ties too
            caller_name=f"発信者{i}",
            callback_number="+819012345678",
            purpose="用件",
        )
        for i in range(150)
    )
    expected = list(Call.objects.order_by("-received_at", "-id")[100:150])
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CALLS, {"p": 2})
    assert list(page.context["cl"].result_list) == expected
    # OFFSET read (and threw away) every row before the page; here only keys.
    offsets = [q["sql"] for q in queries if "OFFSET" in q["sql"]]
    assert len(offsets) == 1
    assert offsets[0].startswith('SELECT "answering_call"."id" AS "pk" FROM')
