"""The client sees who harasses it: a nuisance call's number in the history,
how many such calls that number made, and the calls from it."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from answering.models import Category, MissingReason
from tests.factories import CallFactory, ClientFactory, silent_calls
from tests.portal.conftest import jst
from tests.portal.test_history import MAX_QUERIES

pytestmark = pytest.mark.django_db

CALLER = "+819011112222"


def _nuisance(client, day, caller_number=CALLER, **kwargs):
    return CallFactory(
        client=client,
        category=Category.NUISANCE,
        received_at=jst(2026, 10, day, 10),
        caller_number=caller_number,
        **kwargs,
    )


def _rows(response) -> dict[str, object]:
    return {row.caller_name: row for row in response.context["rows"]}


def test_a_nuisance_call_shows_its_number_and_how_often_it_called(portal, portal_user):
    client = portal_user.client
    _nuisance(client, 1, caller_name="一回目")
    _nuisance(client, 2, caller_name="二回目")
    _nuisance(client, 3, caller_name="非通知の方", caller_number="")
    CallFactory(
        client=client,
        caller_number=CALLER,
        caller_name="普通の方",
        received_at=jst(2026, 10, 4, 10),
    )
    # Another client's harassment from the same number is none of its business.
    _nuisance(ClientFactory(), 5, caller_name="他社あて")
    response = portal.get(reverse("portal:calls"))
    page = response.content.decode()
    rows = _rows(response)
    assert set(rows) == {"一回目", "二回目", "非通知の方", "普通の方"}
    assert (rows["二回目"].caller_display, rows["二回目"].nuisance_count) == (
        "090-1111-2222",
        2,
    )
    assert page.count("この番号からのいたずら等 2件") == 2
    assert "発信者番号: 非通知" in page
    # A normal call's row is as before: no caller number.
    assert rows["普通の方"].caller_display == ""
    assert page.count(">090-1111-2222</a>") == 2
    link = f"{reverse('portal:calls')}?q=090-1111-2222"
    assert page.count(f'href="{link}"') == 2


def test_an_erased_nuisance_call_does_not_read_as_withheld(portal, portal_user):
    # Past the retention period its number is gone: it was not 非通知.
    _nuisance(
        portal_user.client,
        1,
        caller_number="",
        caller_name="",
        personal_data_erased_at=jst(2026, 11, 1, 0),
    )
    response = portal.get(reverse("portal:calls"))
    assert response.context["rows"][0].caller_display == ""
    assert "非通知" not in response.content.decode()


def test_the_number_link_lists_the_calls_from_that_number_of_this_client_only(
    portal, portal_user
):
    client = portal_user.client
    _nuisance(client, 1, caller_name="一回目")
    _nuisance(client, 2, caller_name="二回目")
    _nuisance(client, 3, caller_name="別の番号", caller_number="+819033334444")
    _nuisance(ClientFactory(), 4, caller_name="他社あて")
    page = portal.get(reverse("portal:calls")).content.decode()
    # The link on the rows of 090-1111-2222.
    (href,) = set(re.findall(r'href="([^"]*\?q=[^"]*1111[^"]*)"', page))
    response = portal.get(html.unescape(href))
    assert response.status_code == 200
    assert [c.caller_name for c in response.context["page"].calls] == [
        "二回目",
        "一回目",
    ]


def _count(portal) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = portal.get(reverse("portal:calls"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_repeat_counts_take_one_query_however_many_numbers_are_on_the_page(
    portal, portal_user
):
    client = portal_user.client
    CallFactory(client=client, received_at=jst(2026, 10, 1, 9))
    without_nuisance = _count(portal)
    _nuisance(client, 2)
    one_number = _count(portal)
    silent_calls(client, count=45, numbers=45, from_=jst(2026, 10, 3, 9))
    many_numbers = _count(portal)
    assert one_number == without_nuisance + 1
    assert many_numbers == one_number <= MAX_QUERIES


@pytest.mark.parametrize(
    ("caller_number", "erased", "shown"),
    [
        ("", False, "非通知"),
        (CALLER, False, "090-1111-2222"),
        # Erased past the retention period: it was not withheld.
        ("", True, "—"),
    ],
)
@pytest.mark.parametrize("silent", [False, True])
def test_the_call_detail_shows_the_caller_number_as_the_list_does(
    portal, portal_user, caller_number, erased, shown, silent
):
    # A silent call (無言) is shown apart from the others: the same number.
    not_obtained = {
        f"{field}_missing_reason": MissingReason.SILENT
        for field in ("caller_name", "callback_number", "purpose")
    }
    call = _nuisance(
        portal_user.client,
        1,
        caller_number=caller_number,
        personal_data_erased_at=jst(2026, 11, 1, 0) if erased else None,
        **(
            {"caller_name": "", "callback_number": "", "purpose": "", **not_obtained}
            if silent
            else {}
        ),
    )
    assert call.is_silent == silent
    page = portal.get(reverse("portal:call", args=[call.pk])).content.decode()
    assert f"<dt>発信者番号</dt><dd>{shown}</dd>" in page
