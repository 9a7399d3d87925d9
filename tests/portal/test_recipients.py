import datetime as dt
import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from clients.models import Client
from clients.months import japan_today, month_bounds, month_end, month_start
from portal import services
from portal.models import RecipientChangeRequest, RequestStatus, SystemNote
from tests.dates import ja_day
from tests.factories import (
    ClientFactory,
    ReportRecipientFactory,
    history_since_2025,
    switch_reports,
)
from tests.html_forms import form_values
from tests.portal.conftest import (
    cancel_on_the_client_page,
    post_while_a_cancellation_is_saved,
)
from tests.portal.factories import RecipientChangeRequestFactory

pytestmark = pytest.mark.django_db


def test_the_page_lists_current_recipients_and_the_fee_over_three(portal, portal_user):
    client = portal_user.client
    for i in range(4):
        ReportRecipientFactory(client=client, name=f"受信者{i}")
    ReportRecipientFactory(
        client=client, name="終了した人", active_to=dt.date(2025, 3, 31)
    )
    body = portal.get(reverse("portal:recipients")).content.decode()
    for i in range(4):
        assert f"受信者{i}" in body
    assert "終了した人" not in body
    assert "3名まで無料" in body
    assert "月210円" in body
    assert "今月の最大人数: 4名（追加料金の対象 1名、210円）" in body


def test_the_recipient_to_change_starts_as_not_chosen_not_dashes(portal, portal_user):
    """The list of recipients to change or stop began with Django's
    「---------」, which a client reads as something broken."""
    ReportRecipientFactory(client=portal_user.client, name="白浜 花子")
    body = portal.get(reverse("portal:recipients")).content.decode()
    select = body[body.index('name="recipient"') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>選ばない</option>' in select
    assert "白浜 花子" in select
    assert "---" not in select


def test_the_fee_shown_counts_the_days_reported_by_email_as_the_invoice_does(
    portal, portal_user
):
    """By e-mail to five persons this month until the client moved to
    Chatwork: the invoice bills two of them, the page said none."""
    client = portal_user.client
    for _ in range(5):
        ReportRecipientFactory(client=client, active_from=dt.date(2025, 1, 1))
    history_since_2025(client)
    # Early on the 1st: the 1st went by e-mail.
    month_starts_at = month_bounds(month_start(japan_today()))[0]
    switch_reports(client, email=False, at=month_starts_at + dt.timedelta(minutes=1))
    body = portal.get(reverse("portal:recipients")).content.decode()
    assert "今月の最大人数: 5名（追加料金の対象 2名、420円）" in body


def test_the_fee_shown_counts_from_the_first_billed_day_as_the_invoice_does(
    portal, portal_user
):
    """A recipient of the free-trial days only was shown as 210 yen this month,
    while the invoice (from the first billed day) charges nothing for it."""
    client = portal_user.client
    today = japan_today()
    first = month_start(today)
    for _ in range(3):
        ReportRecipientFactory(client=client, active_from=first)
    client.report_by_email = True
    client.save()
    url = reverse("portal:recipients")
    # A trial from the 1st: a 4th person who left on the trial's last day is
    # not billed.
    client.trial_started_on = client.contract_started_on = first
    client.save()
    ReportRecipientFactory(
        client=client, active_from=first, active_to=first + dt.timedelta(days=9)
    )
    body = portal.get(url).content.decode()
    assert "今月の最大人数: 3名（追加料金の対象 0名、0円）" in body
    # A trial starting later this month (or next) bills nothing this month.
    client.trial_started_on = client.contract_started_on = month_end(today)
    client.save()
    body = portal.get(url).content.decode()
    assert "今月はご請求の対象外" in body and "追加料金の対象" not in body


def test_a_client_asks_to_add_a_recipient(portal, portal_user):
    response = portal.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "新人", "pc_email": "new@example.jp"},
    )
    assert response.status_code == 302
    request = RecipientChangeRequest.objects.get()
    assert request.client == portal_user.client
    assert request.name == "新人"
    assert request.status == RequestStatus.OPEN


def test_the_same_request_sent_twice_is_recorded_once(portal, portal_user):
    typed = {"kind": "add", "name": "新人", "pc_email": "new@example.jp"}
    for _ in range(2):  # a double click, or a resend after a dropped answer
        assert portal.post(reverse("portal:recipients"), typed).status_code == 302
    assert RecipientChangeRequest.objects.count() == 1
    # Another request is another request.
    portal.post(reverse("portal:recipients"), {**typed, "name": "新人2"})
    assert RecipientChangeRequest.objects.count() == 2


def test_a_request_needs_an_address_and_keeps_what_was_typed(portal):
    response = portal.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "名前だけ", "message": "よろしく"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "少なくとも1つ" in body
    assert "名前だけ" in body and "よろしく" in body
    assert not RecipientChangeRequest.objects.exists()


def test_stopping_needs_one_of_the_clients_own_recipients(portal, portal_user):
    other = ReportRecipientFactory(name="他社の人")
    own = ReportRecipientFactory(client=portal_user.client)
    response = portal.post(
        reverse("portal:recipients"), {"kind": "remove", "recipient": other.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("recipient")
    assert not RecipientChangeRequest.objects.exists()
    response = portal.post(
        reverse("portal:recipients"), {"kind": "remove", "recipient": own.pk}
    )
    assert response.status_code == 302
    assert RecipientChangeRequest.objects.get().recipient == own


def _chatwork_only(client) -> None:
    client.report_by_email, client.report_by_chatwork = False, True
    client.chatwork_room_id = "12345"
    client.save()


@pytest.mark.parametrize("kind", ["add", "change"])
def test_a_client_reporting_by_chatwork_only_is_told_an_email_recipient_gets_nothing(
    portal, portal_user, settings, kind
):
    """The request was taken, and the admin could never mark it 対応済み (the
    reports go to Chatwork only): the client is told at once, and how to
    switch."""
    settings.COMPANY_NAME, settings.COMPANY_PHONE = (
        "株式会社東京電話秘書",
        "03-1234-5678",
    )
    client = portal_user.client
    yamada = ReportRecipientFactory(client=client, name="山田")
    _chatwork_only(client)
    url = reverse("portal:recipients")
    said = (
        "ご契約の報告はチャットワークでお送りしているため、メールの報告先を"
        "追加・変更しても報告は届きません。"
    )
    how = "報告方法の変更を株式会社東京電話秘書（03-1234-5678）までお電話で"

    page = portal.get(url).content.decode()
    assert said in page and how in page

    typed = {"kind": kind, "name": "新人", "pc_email": "new@example.jp"}
    if kind == "change":
        typed["recipient"] = yamada.pk
    response = portal.post(url, {**typed, "message": "よろしく"})

    assert response.status_code == 200
    assert said in response.context["form"].non_field_errors()[0]
    body = response.content.decode()
    assert "new@example.jp" in body and "よろしく" in body
    assert not RecipientChangeRequest.objects.exists()


def test_a_client_reporting_by_chatwork_only_may_still_stop_a_recipient(
    portal, portal_user
):
    yamada = ReportRecipientFactory(client=portal_user.client, name="山田")
    _chatwork_only(portal_user.client)
    response = portal.post(
        reverse("portal:recipients"), {"kind": "remove", "recipient": yamada.pk}
    )
    assert response.status_code == 302
    assert RecipientChangeRequest.objects.get().recipient == yamada


def test_a_client_reporting_by_email_and_chatwork_is_not_told_so(portal, portal_user):
    client = portal_user.client
    client.report_by_chatwork, client.chatwork_room_id = True, "12345"
    client.save()
    url = reverse("portal:recipients")
    assert "チャットワークでお送りしているため" not in portal.get(url).content.decode()
    typed = {"kind": "add", "name": "新人", "pc_email": "new@example.jp"}
    assert portal.post(url, typed).status_code == 302


def test_admin_marks_a_request_done_and_the_client_sees_it(admin_client, portal_user):
    client = Browser()
    client.force_login(portal_user)
    client.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "新人", "mobile_email": "m@example.jp"},
    )
    request = RecipientChangeRequest.objects.get()
    # Added on the client's page first: only then can it be marked done.
    ReportRecipientFactory(
        client=portal_user.client, name="新人", pc_email="", mobile_email="m@example.jp"
    )
    admin_client.post(
        reverse("admin:portal_recipientchangerequest_changelist"),
        {"action": "mark_done", ACTION_CHECKBOX_NAME: [request.pk]},
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE
    body = client.get(reverse("portal:recipient_request", args=[request.pk])).content
    assert "対応済み" in body.decode()


def test_admin_pages_for_requests_render(admin_client, portal_user):
    client = Browser()
    client.force_login(portal_user)
    client.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "管理画面で見る人", "pc_email": "see@example.jp"},
    )
    request = RecipientChangeRequest.objects.get()
    changelist = admin_client.get(
        reverse("admin:portal_recipientchangerequest_changelist")
    )
    assert "管理画面で見る人" in changelist.content.decode()
    change = admin_client.get(
        reverse("admin:portal_recipientchangerequest_change", args=[request.pk])
    )
    assert change.status_code == 200
    assert "see@example.jp" in change.content.decode()


def test_the_request_list_shows_each_wish_in_one_column(admin_client):
    """The name and both addresses read as one column, a line each, and the
    dates are short: as three columns and 2026年11月28日 the list ran past the
    edge of the office's 1366 px laptops."""
    RecipientChangeRequestFactory(
        name="田村 美紀",
        pc_email="tamura@sakura-fudosan.example.jp",
        mobile_email="",
        desired_on=dt.date(2026, 12, 1),
        requested_at=dt.datetime(2026, 11, 28, 4, 10, tzinfo=dt.UTC),
    )
    page = admin_client.get(
        reverse("admin:portal_recipientchangerequest_changelist")
    ).content.decode()
    assert "田村 美紀<br>PC: tamura@sakura-fudosan.example.jp<br>携帯: —" in page
    assert ">2026/11/28 13:10<" in page
    assert '<td class="field-desired">2026/12/01</td>' in page


def test_a_too_long_name_shows_only_the_length_error(portal):
    name = "長" * 10_000
    response = portal.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": name, "pc_email": "long@example.jp"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["name"] and len(errors["name"]) == 1
    body = response.content.decode()
    assert "100 文字以下" in body
    assert "氏名を入力してください" not in body
    assert name in body  # what was typed stays
    assert not RecipientChangeRequest.objects.exists()


@pytest.mark.parametrize(
    "typed",
    [
        "taro@\u200b.example.jp",
        "taro@\ufffd.example.jp",
        # Nested comments, within the field's length: the header parser recursed.
        "(" * 250,
    ],
)
def test_an_address_no_mail_can_carry_is_refused(portal, typed):
    response = portal.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "送れない", "pc_email": typed},
    )
    assert response.status_code == 200
    # One message: Django's own check refuses the last one first.
    (message,) = response.context["form"].errors["pc_email"]
    assert message in {
        "このメールアドレスには送信できません。入力をご確認ください。",
        "有効なメールアドレスを入力してください。",
    }
    assert "送れない" in response.content.decode()
    assert not RecipientChangeRequest.objects.exists()


# A contract that has ended takes no request; one ending later still does.


@pytest.fixture
def cancelled_last_month(portal_user):
    client = portal_user.client
    client.status = client.Status.CANCELLED
    client.cancelled_on = month_start(japan_today()) - dt.timedelta(days=1)
    client.save()
    return client


def test_a_client_whose_contract_ended_cannot_ask_for_a_recipient_change(
    portal, cancelled_last_month
):
    recipient = ReportRecipientFactory(client=cancelled_last_month)
    day = cancelled_last_month.cancelled_on
    notice = (
        f"ご契約は{day.year}年{day.month}月{day.day}日で終了しました。"
        "報告先の変更はお申し込みいただけません。"
    )
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert notice in page
    assert 'name="kind"' not in page and "依頼する</button>" not in page
    response = portal.post(
        reverse("portal:recipients"), {"kind": "remove", "recipient": recipient.pk}
    )
    assert response.status_code == 200
    assert notice in response.content.decode()
    assert not RecipientChangeRequest.objects.exists()
    with pytest.raises(ValidationError, match="報告先の変更はお申し込みいただけません"):
        services.request_recipient_change(
            client=cancelled_last_month, kind="remove", recipient=recipient
        )


def test_a_contract_ending_at_this_month_end_still_takes_requests_until_then(
    portal, portal_user
):
    client = portal_user.client
    client.cancelled_on = month_end(japan_today())  # 解約予定
    client.save()
    day = client.cancelled_on
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert 'name="kind"' in page
    assert f"ご契約は{day.year}年{day.month}月{day.day}日で終了します。" in page
    typed = {"kind": "add", "name": "最後の月の人", "pc_email": "last@example.jp"}
    after = portal.post(
        reverse("portal:recipients"),
        {**typed, "desired_on": f"{day + dt.timedelta(days=1)}"},
    )
    assert after.status_code == 200
    assert after.context["form"].errors["desired_on"] == [
        f"ご契約は{day.year}年{day.month}月{day.day}日で終了します。"
        "希望日はそれまでの日付にしてください。"
    ]
    assert "最後の月の人" in after.content.decode()
    assert not RecipientChangeRequest.objects.exists()
    on_the_last_day = portal.post(
        reverse("portal:recipients"), {**typed, "desired_on": f"{day}"}
    )
    assert on_the_last_day.status_code == 302
    assert RecipientChangeRequest.objects.get().desired_on == day


# 希望日: from today to a year ahead.


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("9999-12-31", "希望日は1年後（{latest}）までの日付にしてください。"),
        ("{a_year_and_a_day}", "希望日は1年後（{latest}）までの日付にしてください。"),
        ("2001-01-01", "希望日は今日以降の日付にしてください。"),
        ("{yesterday}", "希望日は今日以降の日付にしてください。"),
    ],
)
def test_a_desired_date_is_from_today_to_a_year_ahead(portal, typed, error):
    today = japan_today()
    latest = today.replace(year=today.year + 1)  # the tests never run on Feb 29
    values = {
        "a_year_and_a_day": latest + dt.timedelta(days=1),
        "yesterday": today - dt.timedelta(days=1),
    }
    typed = typed.format(**values)
    response = portal.post(
        reverse("portal:recipients"),
        {
            "kind": "add",
            "name": "希望日の人",
            "pc_email": "d@example.jp",
            "desired_on": typed,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["desired_on"] == [
        error.format(latest=f"{latest.year}年{latest.month}月{latest.day}日")
    ]
    html = response.content.decode()
    assert f'value="{typed}"' in html and "希望日の人" in html
    assert not RecipientChangeRequest.objects.exists()


def test_a_desired_date_a_year_ahead_is_taken_and_the_calendar_offers_the_range(
    portal, portal_user
):
    today = japan_today()
    latest = today.replace(year=today.year + 1)
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert f'min="{today}"' in page and f'max="{latest}"' in page
    for day in (today, latest):
        response = portal.post(
            reverse("portal:recipients"),
            {
                "kind": "add",
                "name": f"希望日{day}",
                "pc_email": f"d{day.year}@example.jp",
                "desired_on": f"{day:%Y/%m/%d}",
            },
        )
        assert response.status_code == 302
    assert sorted(
        RecipientChangeRequest.objects.values_list("desired_on", flat=True)
    ) == [
        today,
        latest,
    ]
    with pytest.raises(ValidationError) as refused:
        services.request_recipient_change(
            client=portal_user.client,
            kind="add",
            name="直接",
            pc_email="direct@example.jp",
            desired_on=dt.date(9999, 12, 31),
        )
    assert "desired_on" in refused.value.message_dict


# The same request again, or another one about the same person.


def test_the_same_request_again_says_it_is_already_pending_since_when(
    portal, portal_user
):
    typed = {"kind": "add", "name": "新人", "pc_email": "new@example.jp"}
    portal.post(reverse("portal:recipients"), typed, follow=True)
    first = RecipientChangeRequest.objects.get()
    page = portal.post(reverse("portal:recipients"), typed, follow=True)
    when = timezone.localtime(first.requested_at)
    assert (
        f"同じ内容のご依頼（{when:%Y/%m/%d %H:%M} 追加（新人））を"
        "すでにお受けしています。"
    ) in page.content.decode()
    assert "報告先の変更を受け付けました" not in page.content.decode()
    assert RecipientChangeRequest.objects.get() == first


def _open(client):
    return list(
        RecipientChangeRequest.objects.filter(
            client=client, status=RequestStatus.OPEN
        ).order_by("id")
    )


@pytest.mark.parametrize(
    "second",
    [
        {"kind": "remove", "desired_on": "{later}"},  # the same, on another day
        {"kind": "change", "pc_email": "yamada2@example.jp"},  # changed their mind
    ],
)
def test_a_newer_request_about_a_recipient_replaces_the_open_one(
    portal, portal_user, second
):
    client = portal_user.client
    yamada = ReportRecipientFactory(client=client, name="山田")
    later = japan_today() + dt.timedelta(days=7)
    url = reverse("portal:recipients")
    portal.post(url, {"kind": "remove", "recipient": yamada.pk})
    first = RecipientChangeRequest.objects.get()
    second = {k: v.format(later=later) for k, v in second.items()}
    page = portal.post(url, {**second, "recipient": yamada.pk}, follow=True)
    html = page.content.decode()
    assert "報告先の変更を受け付けました" in html
    assert (
        "同じ方への以前のご依頼（" in html
        and "停止（山田））は、このご依頼に置き換えました" in html
    )
    first.refresh_from_db()
    assert first.status == RequestStatus.REJECTED
    assert first.system_note == SystemNote.REPLACED_RECIPIENT
    (newer,) = _open(client)
    assert newer.kind == second["kind"]
    detail = portal.get(reverse("portal:recipient_request", args=[first.pk]))
    assert "置き換えられました" in detail.content.decode()


def test_adding_an_address_already_asked_for_replaces_that_request(portal, portal_user):
    url = reverse("portal:recipients")
    portal.post(url, {"kind": "add", "name": "佐藤", "pc_email": "sato@example.jp"})
    portal.post(
        url,
        {"kind": "add", "name": "佐藤一郎", "mobile_email": "SATO@example.jp"},
    )
    (open_request,) = _open(portal_user.client)
    assert open_request.name == "佐藤一郎"


def test_requests_about_other_people_stay_open_side_by_side(portal, portal_user):
    client = portal_user.client
    yamada = ReportRecipientFactory(client=client, name="山田")
    tanaka = ReportRecipientFactory(client=client, name="田中")
    url = reverse("portal:recipients")
    portal.post(url, {"kind": "remove", "recipient": yamada.pk})
    portal.post(url, {"kind": "remove", "recipient": tanaka.pk})
    portal.post(url, {"kind": "add", "name": "佐藤", "pc_email": "sato@example.jp"})
    portal.post(url, {"kind": "add", "name": "鈴木", "pc_email": "suzuki@example.jp"})
    assert len(_open(client)) == 4


def test_the_page_lists_the_open_requests_with_their_desired_dates(portal, portal_user):
    client = portal_user.client
    yamada = ReportRecipientFactory(client=client, name="山田")
    later = japan_today() + dt.timedelta(days=7)
    url = reverse("portal:recipients")
    portal.post(
        url, {"kind": "remove", "recipient": yamada.pk, "desired_on": f"{later}"}
    )
    page = portal.get(url).content.decode()
    section = page.split("受付中のご依頼</h2>")[1].split("</section>")[0]
    assert "停止 山田" in section
    assert f"希望日 {later:%Y/%m/%d}" in section
    assert "受付中" in section


def test_the_database_keeps_one_open_request_per_recipient(portal_user):
    yamada = ReportRecipientFactory(client=portal_user.client)
    fields = {"client": portal_user.client, "recipient": yamada, "kind": "remove"}
    RecipientChangeRequestFactory(**fields)
    RecipientChangeRequestFactory(**fields, status=RequestStatus.DONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecipientChangeRequestFactory(**fields)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_about_a_recipient_at_once_leave_one_open_and_no_error(
    portal_user,
):
    client = portal_user.client
    yamada = ReportRecipientFactory(client=client)
    errors = []

    def send(kind, barrier):
        try:
            barrier.wait(timeout=10)
            services.request_recipient_change(
                client=client,
                kind=kind,
                recipient=yamada,
                pc_email="" if kind == "remove" else "other@example.jp",
            )
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    for round_number in range(5):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=send, args=[kind, barrier])
            for kind in ("remove", "change")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [], f"round {round_number}"
        assert len(_open(client)) == 1


def test_an_address_typed_in_full_width_is_read_as_half_width(portal):
    """ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ got two stacked errors."""
    response = portal.post(
        reverse("portal:recipients"),
        {
            "kind": "add",
            "name": "山田",
            "pc_email": "ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ",
        },
    )
    assert response.status_code == 302
    assert RecipientChangeRequest.objects.get().pc_email == "yamada@example.jp"


# A cancellation closes the requests for a day after the contract's last one.


def _ask(portal, **typed) -> RecipientChangeRequest:
    response = portal.post(reverse("portal:recipients"), typed)
    assert response.status_code == 302
    return RecipientChangeRequest.objects.latest("id")


def test_a_cancellation_before_a_desired_date_closes_the_request_with_why(
    portal, portal_user
):
    """A request for a day the contract no longer reaches stayed open: the
    client waited for a change that could never happen."""
    client = portal_user.client
    yamada = ReportRecipientFactory(client=client, name="山田")
    last_day = month_end(japan_today())
    after = _ask(
        portal,
        kind="remove",
        recipient=yamada.pk,
        desired_on=f"{last_day + dt.timedelta(days=5)}",
    )
    on_the_last_day = _ask(
        portal,
        kind="add",
        name="最後の日の人",
        pc_email="last@example.jp",
        desired_on=f"{last_day}",
    )
    undated = _ask(portal, kind="add", name="日付なしの人", pc_email="n@example.jp")

    page = cancel_on_the_client_page(client, last_day)

    assert page.status_code == 200
    assert (
        f"お客様の報告先の停止のご依頼（山田、希望日 "
        f"{ja_day(last_day + dt.timedelta(days=5))}）は、"
        f"解約日（{ja_day(last_day)}）より後のため取り下げました"
    ) in page.content.decode()
    after.refresh_from_db()
    assert after.status == RequestStatus.REJECTED
    assert after.processed_by is None  # nobody processed it: the contract ended
    detail = portal.get(reverse("portal:recipient_request", args=[after.pk]))
    assert "希望日が解約日より後のため取り下げました。" in detail.content.decode()
    # Due by the contract's last day, or as soon as possible: still to be done.
    assert set(_open(client)) == {on_the_last_day, undated}
    assert "最後の日の人" not in page.content.decode()


def test_a_client_page_saved_without_a_cancellation_is_saved(admin_client):
    """Any save of the page of a client with no cancellation date was a server
    error: the warnings about withdrawn requests wrote out the missing date."""
    client = ClientFactory(name="旧社名")
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data["name"] = "新社名"
    assert admin_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.name == "新社名"


def test_a_request_sent_as_a_cancellation_is_saved_is_refused_on_the_date(
    portal, portal_user, monkeypatch
):
    """The page read the contract before an admin's cancellation was saved."""
    client = portal_user.client
    last_day = month_end(japan_today())
    request_recipient_change = services.request_recipient_change

    def cancelled_meanwhile(**kwargs):
        Client.objects.filter(pk=client.pk).update(
            status=Client.Status.CANCELLED, cancelled_on=last_day
        )
        return request_recipient_change(**kwargs)

    monkeypatch.setattr(services, "request_recipient_change", cancelled_meanwhile)

    typed = {
        "kind": "add",
        "name": "来月の人",
        "pc_email": "next@example.jp",
        "desired_on": f"{last_day + dt.timedelta(days=1)}",
    }
    page = portal.post(reverse("portal:recipients"), typed)

    assert page.status_code == 200  # the form again, with why
    assert page.context["form"].errors["desired_on"] == [
        f"ご契約は{last_day.year}年{last_day.month}月{last_day.day}日で終了します。"
        "希望日はそれまでの日付にしてください。"
    ]
    assert "来月の人" in page.content.decode()
    assert not RecipientChangeRequest.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_sent_while_an_admin_saves_a_cancellation_is_refused(
    portal_user, monkeypatch
):
    """The portal read the contract before the admin's save committed, and
    recorded a request for a day after the contract, once the admin's page had
    closed the open ones."""
    last_day = month_end(japan_today())
    asked = post_while_a_cancellation_is_saved(
        portal_user,
        monkeypatch,
        last_day=last_day,
        url=reverse("portal:recipients"),
        data={
            "kind": "add",
            "name": "来月の人",
            "pc_email": "next@example.jp",
            "desired_on": f"{last_day + dt.timedelta(days=1)}",
        },
    )
    assert asked.status_code == 200  # the form again, with why
    assert "希望日はそれまでの日付にしてください。" in asked.content.decode()
    assert not RecipientChangeRequest.objects.exists()


def test_an_ended_contract_is_not_said_to_be_in_a_free_trial(portal, portal_user):
    """After the contract's end the fee paragraph gave the trial or a contract
    not yet begun as the reason no fee is charged."""
    client = portal_user.client
    client.status = Client.Status.CANCELLED
    client.cancelled_on = month_start(japan_today()) - dt.timedelta(days=1)
    client.save()
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert "無料お試し期間" not in page
    assert "ご契約が終了したため、報告先の追加料金はかかりません。" in page


def test_after_the_end_the_list_is_who_received_reports_on_the_last_day(
    portal, cancelled_last_month
):
    """After the contract's end the list was still titled 「現在の報告先」, with
    no end day, though nothing was reported any more."""
    last_day = cancelled_last_month.cancelled_on
    ReportRecipientFactory(client=cancelled_last_month, name="最後までの人")
    ReportRecipientFactory(
        client=cancelled_last_month,
        name="途中で外れた人",
        active_to=last_day - dt.timedelta(days=1),
    )
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert "現在の報告先" not in page
    assert "契約終了時の報告先" in page
    assert (
        f"ご契約の終了により、報告は{last_day.year}年{last_day.month}月"
        f"{last_day.day}日で終了しました。"
    ) in page
    assert "最後までの人" in page
    assert last_day.strftime("%Y/%m/%d") in page  # its 報告終了日
    assert "途中で外れた人" not in page


def test_after_the_end_with_nobody_left_the_page_says_so_in_the_past(
    portal, cancelled_last_month
):
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert "現在、報告先は登録されていません。" not in page
    assert "契約終了時、報告先は登録されていませんでした。" in page


def test_before_the_end_the_list_is_still_the_current_one(portal, portal_user):
    ReportRecipientFactory(client=portal_user.client, name="今の人")
    page = portal.get(reverse("portal:recipients")).content.decode()
    assert "現在の報告先" in page and "契約終了時" not in page
    assert "今の人" in page
