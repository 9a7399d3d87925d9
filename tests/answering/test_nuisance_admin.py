"""Admins find a caller's calls by number however it is typed, and see, on a
client's page, the numbers that harass it most."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from answering.models import Call, Category
from tests.factories import CallFactory, ClientFactory

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:answering_call_changelist")
CALLER = "+819012345678"


def _at(day: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 10, day, hour))


def _listed(admin_client, params) -> set[str]:
    response = admin_client.get(CALLS, params)
    assert response.status_code == 200
    return {call.caller_name for call in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "typed",
    ["090-1234-5678", "09012345678", "+819012345678", "０９０（１２３４）５６７８"],
)
def test_the_call_list_is_searched_by_a_number_typed_in_any_format(admin_client, typed):
    acme = ClientFactory()
    CallFactory(client=acme, caller_name="発信者", caller_number=CALLER)
    CallFactory(
        client=acme,
        caller_name="折り返し先",
        caller_number="",
        callback_number=CALLER,
    )
    CallFactory(
        client=acme,
        caller_name="別の番号",
        caller_number="+819011112222",
        callback_number="+819011112222",
    )
    assert _listed(admin_client, {"q": typed}) == {"発信者", "折り返し先"}
    # The list's other filters still hold.
    other = CallFactory(caller_name="他社あて", caller_number=CALLER)
    assert _listed(admin_client, {"q": typed, "client__id__exact": acme.pk}) == {
        "発信者",
        "折り返し先",
    }
    assert "他社あて" in _listed(admin_client, {"q": typed})
    page = admin_client.get(CALLS, {"q": typed}).content.decode()
    assert "090-1234-5678" in page  # the caller's number column, hyphenated
    assert other.client.name in page


def test_a_name_is_still_searched_as_before(admin_client):
    CallFactory(caller_name="山田太郎")
    CallFactory(caller_name="佐藤花子")
    assert _listed(admin_client, {"q": "山田"}) == {"山田太郎"}


def _nuisance(client, number, day):
    return CallFactory(
        client=client,
        category=Category.NUISANCE,
        caller_number=number,
        received_at=_at(day),
        callback_number="",
        callback_number_missing_reason="hung_up",
    )


def _client_page(admin_client, client) -> tuple[str, int]:
    url = reverse("admin:clients_client_change", args=[client.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def _nuisance_section(page: str) -> list[list[str]]:
    table = page[page.index('class="nuisance-callers"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", r)]
        for r in rows
        if "<td>" in r
    ]


def test_the_client_page_lists_the_numbers_that_harass_it_most(admin_client):
    acme = ClientFactory()
    for day in (1, 2, 3):
        _nuisance(acme, CALLER, day)
    _nuisance(acme, "+81312345678", 5)
    _nuisance(acme, "", 6)  # withheld: no one caller
    CallFactory(
        client=acme,
        caller_number="+81312345678",
        callback_number="+81312345678",
        received_at=_at(7),
    )
    for day in (1, 2, 3, 4):  # another client's harasser
        _nuisance(ClientFactory(), "+819099998888", day)
    page, _queries = _client_page(admin_client, acme)
    assert _nuisance_section(page) == [
        ["090-1234-5678", "3", "2026/10/03 10:00"],
        ["03-1234-5678", "1", "2026/10/05 10:00"],
    ]
    (link,) = re.findall(r'<a href="([^"]*q=090[^"]*)"', page)
    response = admin_client.get(html.unescape(link))
    assert {c.pk for c in response.context["cl"].result_list} == set(
        Call.objects.filter(client=acme, caller_number=CALLER).values_list(
            "pk", flat=True
        )
    )


def test_the_client_page_costs_the_same_however_many_harassers(admin_client):
    acme = ClientFactory()
    page, none = _client_page(admin_client, acme)
    assert "いたずら・嫌がらせ・無言" in page
    _nuisance(acme, CALLER, 1)
    _page, one = _client_page(admin_client, acme)
    for i in range(30):
        _nuisance(acme, f"+8190{i:08d}", 2)
    page, many = _client_page(admin_client, acme)
    assert none == one == many
    assert len(_nuisance_section(page)) == 10


def test_the_call_list_shows_the_callback_number_hyphenated(admin_client):
    CallFactory(caller_name="折り返し希望", callback_number="+819087654321")
    page = admin_client.get(CALLS).content.decode()
    assert "090-8765-4321" in page
    assert "+819087654321" not in page
