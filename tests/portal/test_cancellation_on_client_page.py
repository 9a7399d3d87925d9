"""A client's 解約日 set on its own admin page, rather than with the request
list's 「解約日を設定する」: the day the client asked for answers its request
(対応済み, as the button would); another day leaves it waiting and says so.
The client's page shows the open request under 解約日."""

import html
import re

import pytest
from django.urls import reverse

from clients.months import japan_today, month_end, next_month
from portal.models import CancellationRequest, RequestStatus
from tests.factories import ClientFactory, ClientPlanFactory
from tests.html_forms import form_values
from tests.portal.factories import CancellationRequestFactory

pytestmark = pytest.mark.django_db


def _next_month_end():
    return month_end(next_month(japan_today()))


def _day_text(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _page_url(client) -> str:
    return reverse("admin:clients_client_change", args=[client.pk])


def _save_cancellation(admin_client, client, last_day) -> str:
    """The admin sets 解約日 on the client's page and saves and continues: the
    page it comes back to."""
    url = _page_url(client)
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(cancelled_on=last_day.isoformat(), _continue="1")
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def asking(plans):
    """A client on the Small plan whose request to end next month is open."""
    client = ClientFactory(name="株式会社申込中")
    ClientPlanFactory(client=client, plan=plans["small"])
    return CancellationRequestFactory(client=client, last_day=_next_month_end())


def test_the_client_page_shows_the_open_request_under_the_cancellation_day(
    admin_client, asking
):
    page = html.unescape(admin_client.get(_page_url(asking.client)).content.decode())

    assert "解約のお申し込み" in page
    assert f"受付中: {_day_text(asking.last_day)}での解約のご希望" in page
    link = reverse("admin:portal_cancellationrequest_change", args=[asking.pk])
    assert f'<a href="{link}">お申し込みを開く</a>' in page
    # Under 解約日, where the day is set.
    assert page.index('name="cancelled_on"') < page.index("お申し込みを開く")


def test_a_client_with_no_open_request_reads_none(admin_client, asking):
    asking.status = RequestStatus.REJECTED
    asking.save()

    page = admin_client.get(_page_url(asking.client)).content.decode()

    assert re.search(
        r"<label>解約のお申し込み:</label>\s*<div class=\"readonly\">なし</div>", page
    )
    assert "受付中:" not in page
    assert "お申し込みを開く" not in page


def test_the_day_asked_for_set_on_the_page_marks_the_request_done(
    admin_client, asking, admin_user
):
    page = _save_cancellation(admin_client, asking.client, asking.last_day)

    assert (
        f"お客様の解約のお申し込み（{_day_text(asking.last_day)}で終了）を、"
        "解約日がお申し込みの日になったため「対応済み」にしました" in page
    )
    asking.refresh_from_db()
    assert asking.status == RequestStatus.DONE
    assert asking.processed_by == admin_user
    assert asking.processed_at is not None
    asking.client.refresh_from_db()
    assert asking.client.cancelled_on == asking.last_day
    # The page no longer says a request waits.
    assert "受付中:" not in page
    assert "受付中のまま" not in page


def test_another_day_keeps_the_request_open_and_warns_with_a_link(admin_client, asking):
    this_month_end = month_end(japan_today())

    page = _save_cancellation(admin_client, asking.client, this_month_end)

    link = reverse("admin:portal_cancellationrequest_change", args=[asking.pk])
    assert (
        f"お客様の解約のお申し込み（{_day_text(asking.last_day)}で終了）は、"
        f"保存した解約日（{_day_text(this_month_end)}）と日付が違うため"
        "受付中のままです。" in page
    )
    assert f'<a href="{link}">お申し込みの画面</a>' in page
    asking.refresh_from_db()
    assert asking.status == RequestStatus.OPEN
    assert "「対応済み」にしました" not in page


def test_a_save_without_a_cancellation_day_leaves_the_request_alone(
    admin_client, asking
):
    url = _page_url(asking.client)
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(operator_notes="折り返しは午後に", _continue="1")
    page = admin_client.post(url, data, follow=True).content.decode()

    assert "受付中のまま" not in page
    assert CancellationRequest.objects.get(pk=asking.pk).status == RequestStatus.OPEN
