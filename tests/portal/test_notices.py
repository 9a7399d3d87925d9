"""The portal's オペレーターへのお知らせ: a client tells the operators about a
period, sees its current and coming notices, and ends one early."""

import datetime as dt

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from clients.models import OperatorNotice
from clients.months import japan_today
from tests.factories import ClientFactory, ClientUserFactory, OperatorNoticeFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

NOTICES = reverse("portal:notices")


def _days(first: int, last: int) -> dict:
    today = japan_today()
    return {
        "first_day": (today + dt.timedelta(days=first)).isoformat(),
        "last_day": (today + dt.timedelta(days=last)).isoformat(),
    }


def test_home_links_to_the_notices(portal):
    assert f'href="{NOTICES}"' in portal.get(reverse("portal:home")).content.decode()


def test_a_client_adds_a_notice_and_sees_it_in_force(portal, portal_user):
    page = portal.get(NOTICES).content.decode()
    assert "今日表示しているお知らせはありません。" in page
    data = form_values(page, "notice-form")
    data.update(text="来週は社長不在です。\n急ぎは携帯へ", **_days(0, 6))
    response = portal.post(NOTICES, data, follow=True)
    assert response.redirect_chain[-1][0] == NOTICES
    page = response.content.decode()
    assert "お知らせを登録しました" in page
    current = page.split('id="notices-current"')[1].split("</section>")[0]
    assert "来週は社長不在です。<br>急ぎは携帯へ" in current
    notice = OperatorNotice.objects.get()
    assert notice.client == portal_user.client and notice.written_by == portal_user


def test_a_coming_notice_is_listed_apart(portal, portal_user):
    OperatorNoticeFactory(
        client=portal_user.client,
        text="年末年始休業",
        first_day=japan_today() + dt.timedelta(days=10),
        last_day=japan_today() + dt.timedelta(days=15),
    )
    page = portal.get(NOTICES).content.decode()
    coming = page.split('id="notices-coming"')[1].split("</section>")[0]
    assert "年末年始休業" in coming
    assert "取り消す" in coming


def test_the_text_is_shown_escaped(portal, portal_user):
    OperatorNoticeFactory(client=portal_user.client, text="<script>alert(1)</script>")
    page = portal.get(NOTICES).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_form_errors_are_said_and_nothing_is_saved(portal):
    response = portal.post(NOTICES, {"text": "", **_days(3, 1)})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("text") and form.has_error("last_day")
    response = portal.post(NOTICES, {"text": "過去", **_days(-3, -1)})
    assert "終了日が過ぎています" in response.content.decode()
    response = portal.post(NOTICES, {"text": "あ" * 301, **_days(0, 1)})
    assert response.context["form"].has_error("text")
    assert not OperatorNotice.objects.exists()


def test_ended_and_withdrawn_notices_are_not_listed(portal, portal_user):
    client = portal_user.client
    OperatorNoticeFactory(
        client=client,
        text="先月の不在",
        first_day=japan_today() - dt.timedelta(days=20),
        last_day=japan_today() - dt.timedelta(days=1),
    )
    OperatorNoticeFactory(client=client, text="取り下げた", withdrawn_at=timezone.now())
    page = portal.get(NOTICES).content.decode()
    assert "先月の不在" not in page and "取り下げた" not in page


def test_a_client_ends_a_notice_early(portal, portal_user):
    notice = OperatorNoticeFactory(client=portal_user.client, text="不在です")
    end = reverse("portal:notice_end", args=[notice.pk])
    page = portal.get(NOTICES).content.decode()
    assert f'action="{end}"' in page
    # Opened as a link, it asks first.
    assert "すぐ表示されなくなります" in portal.get(end).content.decode()
    response = portal.post(end, follow=True)
    assert "お知らせを終了しました。" in response.content.decode()
    assert "不在です" not in response.content.decode()
    notice.refresh_from_db()
    assert notice.withdrawn_at is not None and notice.withdrawn_by == portal_user
    # A second press (another tab) says so and changes nothing.
    withdrawn_at = notice.withdrawn_at
    response = portal.post(end, follow=True)
    assert "このお知らせはすでに終了しています。" in response.content.decode()
    notice.refresh_from_db()
    assert notice.withdrawn_at == withdrawn_at


def test_another_clients_notice_is_404_and_stays(portal):
    other = OperatorNoticeFactory(client=ClientFactory(), text="他社のお知らせ")
    end = reverse("portal:notice_end", args=[other.pk])
    assert portal.get(end).status_code == 404
    assert portal.post(end).status_code == 404
    other.refresh_from_db()
    assert other.withdrawn_at is None
    assert "他社のお知らせ" not in portal.get(NOTICES).content.decode()


def test_a_notice_is_written_for_the_own_client_whatever_is_posted(portal, portal_user):
    other = ClientFactory()
    portal.post(
        NOTICES,
        {"text": "自社分", "client": other.pk, "client_id": other.pk, **_days(0, 0)},
    )
    assert OperatorNotice.objects.get().client == portal_user.client
    assert not other.operator_notices.exists()


def test_after_the_contract_has_ended_no_new_notice(db):
    ended = ClientFactory(status="cancelled", cancelled_on=dt.date(2025, 12, 31))
    user = ClientUserFactory(client=ended)
    browser = Browser()
    browser.force_login(user)
    page = browser.get(NOTICES).content.decode()
    assert "お知らせは登録できません" in page
    assert 'id="notice-form"' not in page
    response = browser.post(NOTICES, {"text": "まだ書きたい", **_days(0, 1)})
    assert response.status_code == 200
    assert not OperatorNotice.objects.exists()


def test_staff_cannot_open_the_notices(operator_client):
    assert operator_client.get(NOTICES).status_code == 403
