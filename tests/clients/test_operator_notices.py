"""A client's notices to the operators: the days they may cover, the contract,
how many may be open, and ending one early."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from clients.models import NOTICE_MAX_OPEN, OperatorNotice
from clients.months import JST
from clients.services import post_operator_notice, withdraw_operator_notice
from tests.factories import ClientFactory, ClientUserFactory, OperatorNoticeFactory

pytestmark = pytest.mark.django_db

# 00:30 on 1 December in Tokyo is still 30 November in UTC.
NOW = dt.datetime(2026, 12, 1, 0, 30, tzinfo=JST)
TODAY = dt.date(2026, 12, 1)


def _post(client, first_day, last_day, text="年末年始は休業です", **kwargs):
    return post_operator_notice(
        client=client,
        text=text,
        first_day=first_day,
        last_day=last_day,
        written_by=kwargs.get("written_by"),
        now=kwargs.get("now", NOW),
    )


def test_a_notice_keeps_its_words_days_and_writer():
    client = ClientFactory()
    user = ClientUserFactory(client=client)
    notice = _post(client, dt.date(2026, 12, 29), dt.date(2027, 1, 3), written_by=user)
    notice.refresh_from_db()
    assert notice.text == "年末年始は休業です"
    assert (notice.first_day, notice.last_day) == (
        dt.date(2026, 12, 29),
        dt.date(2027, 1, 3),
    )
    assert notice.written_by == user and notice.written_at == NOW
    assert notice.withdrawn_at is None


def test_today_is_the_japanese_day():
    # A notice for today only (Tokyo's 1 December) is not "in the past" though
    # UTC still reads 30 November, and one ending on 30 November is.
    client = ClientFactory()
    _post(client, TODAY, TODAY)
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=1))
    assert "終了日が過ぎています" in raised.value.message_dict["last_day"][0]


def test_a_notice_may_have_begun_but_not_ended():
    client = ClientFactory()
    notice = _post(client, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=1))
    assert notice.in_force_on(TODAY)


def test_the_last_day_comes_after_the_first():
    with pytest.raises(ValidationError) as raised:
        _post(ClientFactory(), dt.date(2026, 12, 10), dt.date(2026, 12, 9))
    assert raised.value.message_dict["last_day"] == [
        "終了日は開始日以降にしてください。"
    ]


def test_the_database_refuses_a_last_day_before_the_first_too():
    with pytest.raises(IntegrityError):
        OperatorNoticeFactory(
            first_day=dt.date(2026, 12, 10), last_day=dt.date(2026, 12, 9)
        )


def test_at_most_a_year_ahead():
    client = ClientFactory()
    _post(client, TODAY, TODAY + dt.timedelta(days=365))
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY, TODAY + dt.timedelta(days=366))
    assert "1年先（2027年12月1日）まで" in raised.value.message_dict["last_day"][0]


def test_the_text_is_required_and_short():
    client = ClientFactory()
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY, TODAY, text="")
    assert "text" in raised.value.message_dict
    _post(client, TODAY, TODAY, text="あ" * 300)
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY, TODAY, text="あ" * 301)
    assert "text" in raised.value.message_dict


def test_no_notice_after_the_contract_has_ended():
    client = ClientFactory(status="cancelled", cancelled_on=dt.date(2026, 11, 30))
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY, TODAY)
    assert "ご契約が終了している" in raised.value.messages[0]
    assert not OperatorNotice.objects.exists()


def test_a_cancelled_client_tells_about_days_up_to_its_last_day():
    client = ClientFactory(status="cancelled", cancelled_on=dt.date(2026, 12, 31))
    _post(client, TODAY, dt.date(2026, 12, 31))
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY, dt.date(2027, 1, 3))
    assert "2026年12月31日 まで" in raised.value.message_dict["last_day"][0]


def test_at_most_so_many_open_notices_and_ended_ones_do_not_count():
    client = ClientFactory()
    OperatorNoticeFactory.create_batch(
        NOTICE_MAX_OPEN - 1, client=client, first_day=TODAY, last_day=TODAY
    )
    # Over, withdrawn, or another client's: not open for this client today.
    OperatorNoticeFactory(
        client=client, first_day=dt.date(2026, 11, 1), last_day=dt.date(2026, 11, 30)
    )
    OperatorNoticeFactory(client=client, first_day=TODAY, withdrawn_at=NOW)
    OperatorNoticeFactory(first_day=TODAY)
    _post(client, TODAY, TODAY)
    with pytest.raises(ValidationError) as raised:
        _post(client, TODAY, TODAY)
    assert f"同時に {NOTICE_MAX_OPEN} 件まで" in raised.value.messages[0]


def test_ending_a_notice_early_takes_effect_at_once_and_once():
    client = ClientFactory()
    user = ClientUserFactory(client=client)
    notice = _post(client, TODAY, TODAY + dt.timedelta(days=5))
    later = NOW + dt.timedelta(hours=2)
    assert withdraw_operator_notice(notice=notice, withdrawn_by=user, now=later)
    assert not withdraw_operator_notice(notice=notice, withdrawn_by=user, now=later)
    notice.refresh_from_db()
    assert notice.withdrawn_at == later and notice.withdrawn_by == user
    assert not notice.in_force_on(TODAY)
    assert not OperatorNotice.objects.open_on(TODAY).exists()


def test_a_notice_already_over_is_not_ended_again():
    notice = OperatorNoticeFactory(
        first_day=dt.date(2026, 11, 1), last_day=dt.date(2026, 11, 30)
    )
    assert not withdraw_operator_notice(notice=notice, withdrawn_by=None, now=NOW)
    notice.refresh_from_db()
    assert notice.withdrawn_at is None


def test_the_office_reads_the_notices_on_the_clients_admin_page(admin_client):
    client = ClientFactory()
    OperatorNoticeFactory(client=client, text="年末年始は休業です<b>")
    OperatorNoticeFactory(client=client, text="取り下げたお知らせ", withdrawn_at=NOW)
    OperatorNoticeFactory(text="他社のお知らせ")
    page = admin_client.get(
        reverse("admin:clients_client_change", args=[client.pk])
    ).content.decode()
    assert "オペレーターへのお知らせ" in page
    assert "年末年始は休業です&lt;b&gt;" in page
    # Ended early: still listed, with when it was ended.
    assert "取り下げたお知らせ" in page
    assert "他社のお知らせ" not in page
    # Read-only: the client writes them in the portal.
    assert 'name="operator_notices-0-text"' not in page
