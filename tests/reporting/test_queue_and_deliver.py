import datetime as dt
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from answering.models import Category, MissingReason
from clients.models import ReportRecipient
from reporting import mail, selectors, services
from reporting.models import Delivery
from reporting.report_text import chatwork_body, email_body
from tests.factories import (
    AdminFactory,
    CallFactory,
    ClientFactory,
    ReportRecipientFactory,
)
from tests.reporting.factories import client_with_recipients, save_reported_call
from tests.reporting.peers import sent_from

pytestmark = pytest.mark.django_db


def test_one_delivery_per_address_and_room_of_that_client_only():
    client, (alice, bob) = client_with_recipients(2, chatwork_room="111")
    ReportRecipientFactory(
        client=client, active_from=dt.date(2020, 1, 1), active_to=dt.date(2020, 2, 1)
    )
    other, (stranger,) = client_with_recipients(1, chatwork_room="999")

    call, deliveries = save_reported_call(client=client)

    got = sorted((d.channel, d.address) for d in deliveries)
    assert got == sorted(
        [
            ("email_pc", alice.pc_email),
            ("email_mobile", alice.mobile_email),
            ("email_pc", bob.pc_email),
            ("email_mobile", bob.mobile_email),
            ("chatwork", "111"),
        ]
    )
    assert not Delivery.objects.filter(
        address__in=[stranger.pc_email, stranger.mobile_email, "999"]
    ).exists()


def test_sales_calls_are_not_reported_and_queuing_twice_adds_nothing():
    client, _ = client_with_recipients(1)
    _, deliveries = save_reported_call(client=client, category=Category.SALES)
    assert deliveries == []

    call, first = save_reported_call(client=client)
    assert len(first) == 2
    with transaction.atomic():
        assert services.queue_call_reports(call=call) == []
    assert call.deliveries.count() == 2


def test_queuing_again_after_a_mailbox_moved_field_adds_no_second_report(smtp_peer):
    """The address had the report by its PC field; moved to the mobile field,
    queuing the call again sent the same mailbox the report a second time."""
    client, (person,) = client_with_recipients(1)
    person.mobile_email = ""
    person.save()
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    person.pc_email, person.mobile_email = "", person.pc_email.upper()
    person.save()
    with transaction.atomic():
        assert services.queue_call_reports(call=call) == []
    services.relay_due_deliveries()
    assert smtp_peer.count() == 1


def test_deliveries_roll_back_with_the_call():
    client, _ = client_with_recipients(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        call = CallFactory(client=client)
        services.queue_call_reports(call=call)
        raise RuntimeError("the save failed")
    assert not Delivery.objects.exists()


def test_publish_only_after_commit_and_only_with_a_broker(
    settings, django_capture_on_commit_callbacks
):
    client, _ = client_with_recipients(1)
    with django_capture_on_commit_callbacks() as callbacks:
        save_reported_call(client=client)
    assert callbacks == []

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = time.monotonic()
        call, deliveries = save_reported_call(client=client)
    assert len(callbacks) == 1
    # The broker is down: the save still succeeded, quickly, and the
    # deliveries wait in the database for the relay.
    assert time.monotonic() - started < 3
    assert all(d.status == Delivery.Status.PENDING for d in call.deliveries.all())


def test_delivered_once_at_the_smtp_peer_even_when_run_twice(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, deliveries = save_reported_call(client=client)

    for d in deliveries:
        assert services.deliver(delivery_id=d.pk) == "sent"
        assert services.deliver(delivery_id=d.pk) == "skipped"
    assert services.relay_due_deliveries() == {}

    assert smtp_peer.by_address() == {person.pc_email: 1, person.mobile_email: 1}
    for d in deliveries:
        d.refresh_from_db()
        assert d.status == Delivery.Status.SENT
        assert d.attempts == 1
        assert d.sent_at is not None
        # The Message-ID was chosen before sending and is what the peer saw.
        assert smtp_peer.by_message_id()[d.message_id] == 1
        assert d.provider_message_id == d.message_id


def test_caller_text_cannot_inject_headers(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, deliveries = save_reported_call(
        client=client,
        caller_name="山田\r\nBcc: evil@example.com",
        caller_company="悪い会社\nX-Injected: yes",
    )
    for d in deliveries:
        assert "\n" not in d.subject and "\r" not in d.subject
        assert services.deliver(delivery_id=d.pk) == "sent"

    assert smtp_peer.by_address() == {person.pc_email: 1, person.mobile_email: 1}
    for message in smtp_peer.messages:
        assert "bcc" not in message["headers"]
        assert "x-injected" not in message["headers"]
        assert "山田 Bcc: evil@example.com" in message["subject"]


def test_a_report_comes_from_the_companys_name(smtp_peer, settings):
    """DEFAULT_FROM_EMAIL with the company's name in Japanese: the client's mail
    list shows the name, not a bare ``report``."""
    settings.DEFAULT_FROM_EMAIL = "株式会社東京電話秘書 電話代行 <report@example.jp>"
    client, (person,) = client_with_recipients(1)
    _call, deliveries = save_reported_call(client=client)
    for d in deliveries:
        assert services.deliver(delivery_id=d.pk) == "sent"

    assert smtp_peer.count() == 2  # PC and mobile
    for message in smtp_peer.messages:
        assert sent_from(message) == (
            "株式会社東京電話秘書 電話代行",
            "report@example.jp",
        )


def test_a_pc_report_ends_with_the_call_history_link_and_the_sender(
    smtp_peer, settings
):
    """A send-only mail says who sent it and where the call history is; the
    phone's short text and Chatwork stay as they were."""
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    settings.PORTAL_BASE_URL = "https://portal.example.jp"
    client, (person,) = client_with_recipients(1, chatwork_room="111")
    call, deliveries = save_reported_call(client=client)
    for d in deliveries:
        if d.is_email:
            assert services.deliver(delivery_id=d.pk) == "sent"

    pc = next(m for m in smtp_peer.messages if m["to"] == [person.pc_email])
    assert (
        pc["body"]
        .replace("\r\n", "\n")
        .endswith(
            "※このメールは送信専用です。\n"
            "\n"
            "このお電話はお客様ページでご覧いただけます。\n"
            f"https://portal.example.jp/portal/calls/{call.pk}/\n"
            "\n"
            "株式会社東京電話秘書\n"
        )
    )
    mobile = next(m for m in smtp_peer.messages if m["to"] == [person.mobile_email])
    chatwork = next(d for d in deliveries if d.channel == "chatwork")
    for body in (mobile["body"], chatwork.body):
        assert "株式会社東京電話秘書" not in body and "portal" not in body

    # Without the portal's address the mail still says where to look.
    settings.PORTAL_BASE_URL = ""
    _call, deliveries = save_reported_call(client=client)
    pc = next(d for d in deliveries if d.address == person.pc_email)
    assert pc.body.endswith(
        "お電話の履歴はお客様ページでご覧いただけます。\n\n株式会社東京電話秘書\n"
    )


def test_mail_says_what_the_client_needs(smtp_peer):
    client, (person,) = client_with_recipients(1)
    received = timezone.make_aware(dt.datetime(2025, 3, 14, 15, 9))
    call, deliveries = save_reported_call(
        client=client,
        received_at=received,
        category=Category.NUISANCE,
        is_urgent=True,
        is_angry=True,
        caller_name="",
        caller_name_missing_reason=MissingReason.REFUSED,
        caller_company="株式会社サンプル",
        callback_number="+819012345678",
        purpose="請求書の件で至急折り返しがほしい",
        addressee="鈴木",
        surcharge_yen=300,
        surcharge_reason="30分以上の長電話",
    )
    services.relay_due_deliveries()
    pc = next(m for m in smtp_peer.messages if m["to"] == [person.pc_email])
    mobile = next(m for m in smtp_peer.messages if m["to"] == [person.mobile_email])

    # Who called first: a phone's mail list shows the start of a subject, and
    # the mail's own time already says when.
    assert pc["subject"] == (
        "【至急】【要注意】株式会社サンプル お名前不明の方よりお電話 3/14 15:09"
        f"［{client.name}］"
    )
    for text in [
        "2025年3月14日（金）15:09",
        "090-1234-5678",
        "請求書の件で至急折り返しがほしい",
        "鈴木様宛",
        "お急ぎ・お怒り",
        "お名前: お聞きしましたが、お伝えいただけませんでした",
        "300円（30分以上の長電話）",
    ]:
        assert text in pc["body"], text
    assert "090-1234-5678" in mobile["body"]
    # Shorter for a phone's screen, but with everything the report must say: a
    # person with only a mobile address gets nothing else.
    assert len(mobile["body"]) < len(pc["body"])
    assert "お名前: お聞きしましたが、お伝えいただけませんでした" in mobile["body"]
    assert "様子: お急ぎ・お怒り" in mobile["body"]
    assert "割増 300円（30分以上の長電話）" in mobile["body"]


def test_a_report_writes_its_days_as_the_product_does_without_leading_zeros():
    """2026年11月6日（金）, as on every page, not 2026年11月06日（金）."""
    call = CallFactory(
        received_at=dt.datetime(
            2026, 11, 6, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=9))
        ),
        personal_data_erased_at=None,
    )
    for body in (email_body(call), chatwork_body(call)):
        assert "日時: 2026年11月6日（金）09:05" in body
        assert "11月06日" not in body
    call.personal_data_erased_at = dt.datetime(2028, 12, 1, 3, 0, tzinfo=dt.UTC)
    assert "保存期間を過ぎたため消去しました（2028年12月1日）" in email_body(call)


def test_a_refused_callback_number_and_purpose_read_right_in_the_report():
    """ "Refused" follows the callback number and the purpose as well as the
    name: it must not say the caller did not give their name."""
    client, _people = client_with_recipients(1)
    call = CallFactory(
        client=client,
        caller_name="",
        caller_name_missing_reason=MissingReason.REFUSED,
        callback_number="",
        callback_number_missing_reason=MissingReason.REFUSED,
        purpose="",
        purpose_missing_reason=MissingReason.REFUSED,
    )
    pc, mobile = email_body(call), email_body(call, mobile=True)
    chatwork = chatwork_body(call)
    refused = "お聞きしましたが、お伝えいただけませんでした"
    for label in ("お名前", "折り返し先", "ご用件"):
        assert f"{label}: {refused}" in pc, label
        assert f"{label}: {refused}" in chatwork, label
    assert f"TEL: {refused}" in mobile
    for body in (pc, mobile, chatwork):
        assert "名乗らなかった" not in body


def test_a_reason_for_what_was_not_obtained_is_said_once_with_its_note():
    """Each item not obtained says why in its own place; the report does not
    list the same reasons again under a heading of their own."""
    call = CallFactory(
        caller_name="",
        caller_name_missing_reason=MissingReason.REFUSED,
        callback_number="",
        callback_number_missing_reason=MissingReason.HUNG_UP,
        missing_note="社名のみ名乗られた",
    )
    for body in (email_body(call), chatwork_body(call)):
        assert body.count("お聞きしましたが、お伝えいただけませんでした") == 1
        assert body.count("お伺いする前に切られた") == 1
        assert "伺えなかった理由の補足: 社名のみ名乗られた" in body
    mobile = email_body(call, mobile=True)
    assert mobile.count("お伺いする前に切られた") == 1
    assert "補足: 社名のみ名乗られた" in mobile


def test_correction_says_what_changed(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    with transaction.atomic():
        call.callback_number = "+81312345678"
        call.save()
        corrections = services.queue_correction_report(
            call=call, changes={"折り返し先": ["090-1234-5678", "03-1234-5678"]}
        )
    assert {d.kind for d in corrections} == {Delivery.Kind.CORRECTION}
    services.relay_due_deliveries()
    pc = [m for m in smtp_peer.messages if m["to"] == [person.pc_email]]
    assert len(pc) == 2
    assert pc[1]["subject"].startswith("【訂正】")
    assert "「090-1234-5678」→「03-1234-5678」" in pc[1]["body"]


def test_temporary_failure_backs_off_then_fails_after_max_attempts(settings, smtp_peer):
    settings.REPORT_MAX_ATTEMPTS = 3
    client, _ = client_with_recipients(1)
    _, deliveries = save_reported_call(client=client)
    d = deliveries[0]
    smtp_peer.mode = "temp"

    before = timezone.now()
    assert services.deliver(delivery_id=d.pk) == "retry"
    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING
    assert "451" in d.last_error
    assert d.next_attempt_at >= before + dt.timedelta(seconds=10)
    # Not due yet: the relay leaves it alone.
    assert services.deliver(delivery_id=d.pk) == "skipped"

    for expected in ["retry", "failed"]:
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
        assert services.deliver(delivery_id=d.pk) == expected
    d.refresh_from_db()
    assert d.status == Delivery.Status.FAILED
    assert d.attempts == 3
    assert not d.bounced
    assert smtp_peer.count() == 0


def test_backoff_is_exponential_and_capped(settings):
    settings.REPORT_RETRY_BASE_SECONDS = 10
    settings.REPORT_RETRY_MAX_SECONDS = 1800
    assert [services.backoff_seconds(n) for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert services.backoff_seconds(12) == 1800


@pytest.mark.parametrize(
    ("reply", "bounced"),
    [
        ("554 5.7.1 Message rejected as spam", False),
        ("552 5.3.4 Message too big", False),
        ("554 Transaction failed", False),
        ("550 5.1.1 User unknown", True),
        ("552 5.2.2 Mailbox full", True),
        ("550 Mailbox unavailable", True),
    ],
)
def test_a_message_refused_after_data_bounces_only_for_its_address(
    smtp_peer, reply, bounced
):
    """A 554 for the message (spam filter, size) marked the client's address as
    bouncing: admins were told to fix an address that was fine."""
    client, (person,) = client_with_recipients(1)
    smtp_peer.data_reply = reply
    save_reported_call(client=client)
    services.relay_due_deliveries()
    pc = Delivery.objects.get(address=person.pc_email)
    assert pc.status == Delivery.Status.FAILED and pc.attempts == 1  # not retried
    assert reply.split()[0] in pc.last_error
    assert pc.bounced is bounced
    listed = [b.address for b in selectors.bouncing_addresses(client)]
    assert (person.pc_email in listed) is bounced


def test_bounce_fails_at_once_and_shows_for_the_client(smtp_peer, client):
    admin_client = client
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    _, deliveries = save_reported_call(client=client)
    services.relay_due_deliveries()

    pc = Delivery.objects.get(address=person.pc_email)
    assert pc.status == Delivery.Status.FAILED
    assert pc.bounced and pc.attempts == 1 and "550" in pc.last_error
    bouncing = selectors.bouncing_addresses(client)
    assert [b.address for b in bouncing] == [person.pc_email]
    assert selectors.bouncing_addresses(client_with_recipients(1)[0]) == []
    admin_client.force_login(AdminFactory())
    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))
    assert "不達が続いているメールアドレス" in page.content.decode()
    # Listed, at Japan time (the list crashed into "-": the address showed only
    # in the recipients below).
    failed_at = timezone.localtime(pc.failed_at)
    assert (
        f'<ul class="bouncing"><li><strong>{person.pc_email}</strong>'
        f"（1件不達、最終 {failed_at:%Y/%m/%d %H:%M}）"
    ) in page.content.decode()

    # The client fixed its mailbox: the next report gets through, the warning goes.
    smtp_peer.bounce = set()
    save_reported_call(client=client)
    services.relay_due_deliveries()
    assert selectors.bouncing_addresses(client) == []


def test_a_bouncing_address_retyped_in_another_case_still_shows_as_bouncing(
    smtp_peer, admin_client
):
    """The admin re-typed Taro@Example.jp as taro@example.jp: the same mailbox,
    still refusing reports, dropped off the client's admin page (and the failed
    reports page). Only a report that gets through to it clears it."""
    client, (person,) = client_with_recipients(1)
    person.pc_email, person.mobile_email = "Taro@Example.jp", ""
    person.save()
    smtp_peer.bounce = {"Taro@Example.jp"}
    save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = Delivery.objects.get(client=client, status=Delivery.Status.FAILED)
    assert failed.bounced

    person.pc_email = "taro@example.jp"
    person.save()
    client_page = reverse("admin:clients_client_change", args=[client.pk])
    failed_at = timezone.localtime(failed.failed_at)
    warning = (
        '<ul class="bouncing"><li><strong>taro@example.jp</strong>'
        f"（1件不達、最終 {failed_at:%Y/%m/%d %H:%M}）"
    )
    assert warning in admin_client.get(client_page).content.decode()
    failed_page = admin_client.get(reverse("reporting:failed")).content.decode()
    assert f">{client.name}</a></strong>: taro@example.jp（1件不達" in failed_page

    save_reported_call(client=client)  # the client fixed its mailbox
    services.relay_due_deliveries()
    assert smtp_peer.by_address() == {"taro@example.jp": 1}
    assert '<ul class="bouncing">' not in (
        admin_client.get(client_page).content.decode()
    )


def test_one_mailbox_named_twice_gets_one_report(smtp_peer):
    """An address given as a person's PC and mobile mail, or by two people, got
    the report twice (once per e-mail channel)."""
    client = ClientFactory()
    ReportRecipientFactory(
        client=client, pc_email="a@example.jp", mobile_email="A@example.jp"
    )
    ReportRecipientFactory(
        client=client, pc_email="b@example.jp", mobile_email="a@example.jp"
    )
    save_reported_call(client=client)
    services.relay_due_deliveries()
    assert sorted(to for m in smtp_peer.messages for to in m["to"]) == [
        "a@example.jp",
        "b@example.jp",
    ]
    # The PC form of the report, the one with the full text.
    assert Delivery.objects.get(address="a@example.jp").channel == (
        Delivery.Channel.EMAIL_PC
    )


def test_after_a_bounce_the_new_address_gets_the_resent_report(smtp_peer):
    """Bounce, the client gives another address, the admin resends: it goes to
    the new address, and the old one leaves the bouncing list."""
    client, (person,) = client_with_recipients(1)
    old_address = person.pc_email
    smtp_peer.bounce = {old_address}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = Delivery.objects.get(address=old_address)
    assert failed.status == Delivery.Status.FAILED
    # The error's time reads in Japan time, like the columns beside it.
    assert f"{timezone.localtime(failed.failed_at):%Y-%m-%d %H:%M}" in failed.last_error

    person.pc_email = "new-address@example.jp"
    person.save()
    assert selectors.bouncing_addresses(client) == []
    assert services.resend(delivery_id=failed.pk).queued
    services.relay_due_deliveries()
    failed.refresh_from_db()
    assert (failed.status, failed.address) == (
        Delivery.Status.SENT,
        "new-address@example.jp",
    )
    assert smtp_peer.by_address()["new-address@example.jp"] == 1
    assert smtp_peer.by_address()[old_address] == 0


def _sent_to(smtp_peer, address):
    return [m for m in smtp_peer.messages if m["to"] == [address]]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (("pc", ""), ("", "pc")),  # moved to the mobile field
        (("", "mobile"), ("mobile", "")),  # moved to the PC field
        (("pc", "mobile"), ("mobile", "pc")),  # the two fields swapped
    ],
    ids=["pc-to-mobile", "mobile-to-pc", "swapped"],
)
def test_a_report_resent_after_its_mailbox_moved_field_reaches_that_mailbox(
    smtp_peer, before, after
):
    """The mailbox refused the report, was fixed, and the admin moved its
    address to the recipient's other field: 再送 was refused as no longer a
    destination (or, fields swapped, as sent already to the other address),
    and the mailbox never had the call. It gets the text of its field now:
    the full report on a PC, the short one on a mobile."""
    client, (person,) = client_with_recipients(1)
    addresses = {"pc": "pc@example.jp", "mobile": "mobile@example.jp", "": ""}
    person.pc_email, person.mobile_email = (addresses[key] for key in before)
    person.save()
    failing = addresses[before[0] or before[1]]
    smtp_peer.bounce = {failing}
    call, _ = save_reported_call(client=client, purpose="見積り")
    services.relay_due_deliveries()
    failed = call.deliveries.get(address=failing)
    assert failed.status == Delivery.Status.FAILED
    smtp_peer.bounce = set()
    person.pc_email, person.mobile_email = (addresses[key] for key in after)
    person.save()

    result = services.resend(delivery_id=failed.pk)
    services.relay_due_deliveries()

    assert result.address == failing
    (mail,) = _sent_to(smtp_peer, failing)
    now_on_a_pc = person.pc_email == failing
    assert ("■ご用件: 見積り" in mail["body"]) is now_on_a_pc
    assert "見積り" in mail["body"]
    assert "訂正" not in mail["subject"] + mail["body"]
    # Nothing more: the other address (swapped) had the report already.
    assert smtp_peer.count() == len([key for key in before if key])


def test_a_report_is_not_resent_once_its_call_is_corrected_to_sales(smtp_peer):
    """The PC address bounced, then the call became a sales call: 再送 sent the
    client a report of a sales call (■分類: 営業電話), which is never reported."""
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    assert failed.status == Delivery.Status.FAILED
    services.record_correction(
        call=call, corrected_by=AdminFactory(), changes={"category": Category.SALES}
    )
    services.relay_due_deliveries()
    smtp_peer.bounce = set()  # the client fixed its mailbox

    result = services.resend(delivery_id=failed.pk)
    services.relay_due_deliveries()
    assert not result.queued
    assert "営業電話に訂正" in result.refused
    assert _sent_to(smtp_peer, person.pc_email) == []
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED


def test_a_report_is_not_resent_to_a_recipient_who_has_left(smtp_peer):
    """Queuing skips a recipient the client has ended (someone who left); 再送
    sent the failed report to them all the same."""
    client, (leaver, _stays) = client_with_recipients(2)
    smtp_peer.bounce = {leaver.pc_email}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC, recipient=leaver)
    smtp_peer.bounce = set()
    leaver.active_to = timezone.localdate() - dt.timedelta(days=1)
    leaver.save()

    result = services.resend(delivery_id=failed.pk)
    services.relay_due_deliveries()
    assert not result.queued
    assert "今は報告先ではない" in result.refused
    assert _sent_to(smtp_peer, leaver.pc_email) == []


def test_a_report_to_a_shared_address_is_resent_while_someone_still_reads_it(
    smtp_peer,
):
    """Two recipients share one mailbox (one report goes there); the one it was
    queued for leaves: the other still reads that mailbox, so 再送 goes there."""
    client, (leaver, stays) = client_with_recipients(2)
    stays.pc_email = leaver.pc_email
    stays.save()
    smtp_peer.bounce = {leaver.pc_email}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    smtp_peer.bounce = set()
    leaver.active_to = timezone.localdate() - dt.timedelta(days=1)
    leaver.save()

    assert services.resend(delivery_id=failed.pk).queued
    services.relay_due_deliveries()
    assert len(_sent_to(smtp_peer, stays.pc_email)) == 1


def test_an_address_no_mail_can_carry_fails_alone(smtp_peer):
    # Saved before forms checked it: a domain label of one zero-width space.
    broken, (person,) = client_with_recipients(1, report_by_email=True)
    ReportRecipient.objects.filter(pk=person.pk).update(
        pc_email="taro@\u200b.example.jp"
    )
    fine, (other,) = client_with_recipients(1)
    save_reported_call(client=broken)
    save_reported_call(client=fine)

    services.relay_due_deliveries()

    bad = Delivery.objects.get(address="taro@\u200b.example.jp")
    assert bad.status == Delivery.Status.FAILED and bad.attempts == 1
    assert "アドレス" in bad.last_error
    # Everyone else's reports still go out.
    assert smtp_peer.by_address() == {
        person.mobile_email: 1,
        other.pc_email: 1,
        other.mobile_email: 1,
    }


def test_an_unforeseen_error_is_retried_then_failed_alone(
    monkeypatch, settings, smtp_peer
):
    settings.REPORT_MAX_ATTEMPTS = 2
    broken, (person,) = client_with_recipients(1)
    fine, (other,) = client_with_recipients(1)
    real_send = mail.send

    def send(*, to, **kwargs):
        if to == person.pc_email:
            raise RuntimeError("a bug nobody foresaw")
        return real_send(to=to, **kwargs)

    monkeypatch.setattr(mail, "send", send)
    save_reported_call(client=broken)
    save_reported_call(client=fine)
    services.relay_due_deliveries()

    bad = Delivery.objects.get(address=person.pc_email)
    assert bad.status == Delivery.Status.PENDING and bad.attempts == 1
    assert "a bug nobody foresaw" in bad.last_error
    assert set(smtp_peer.by_address()) == {
        person.mobile_email,
        other.pc_email,
        other.mobile_email,
    }
    Delivery.objects.filter(pk=bad.pk).update(next_attempt_at=timezone.now())
    services.relay_due_deliveries()
    bad.refresh_from_db()
    assert bad.status == Delivery.Status.FAILED and bad.attempts == 2


def test_expired_lease_is_resent_and_flagged(settings, smtp_peer):
    client, (person,) = client_with_recipients(1)
    _, deliveries = save_reported_call(client=client)
    d = deliveries[0]
    # A worker claimed it and died before marking it.
    Delivery.objects.filter(pk=d.pk).update(
        status=Delivery.Status.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    assert services.relay_due_deliveries() == {"sent": 2}
    d.refresh_from_db()
    assert d.status == Delivery.Status.SENT and d.possible_duplicate
    other = deliveries[1]
    other.refresh_from_db()
    assert not other.possible_duplicate


def test_a_live_lease_is_left_alone(smtp_peer):
    client, _ = client_with_recipients(1)
    _, deliveries = save_reported_call(client=client)
    d = deliveries[0]
    Delivery.objects.filter(pk=d.pk).update(
        status=Delivery.Status.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() + dt.timedelta(seconds=60),
    )
    assert services.deliver(delivery_id=d.pk) == "skipped"
    assert smtp_peer.by_address()[d.address] == 0


def test_report_status_by_call_in_one_query(smtp_peer):
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.mobile_email}
    sent_call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    smtp_peer.bounce = set()
    failed_call = sent_call
    waiting_call, _ = save_reported_call(client=client)
    ok_client, _ = client_with_recipients(1)
    ok_call, _ = save_reported_call(client=ok_client)
    services.deliver(delivery_id=ok_call.deliveries.first().pk)
    services.deliver(delivery_id=ok_call.deliveries.last().pk)
    sales_call, _ = save_reported_call(client=client, category=Category.SALES)

    ids = [failed_call.pk, waiting_call.pk, ok_call.pk, sales_call.pk]
    with CaptureQueriesContext(connection) as queries:
        status = selectors.report_status_by_call(ids)
    assert len(queries) == 1
    assert status == {
        failed_call.pk: "failed",
        waiting_call.pk: "waiting",
        ok_call.pk: "sent",
    }


def test_a_worker_that_hung_before_a_resend_cannot_close_it(smtp_peer):
    """A hung worker's late outcome (sent, to the old address) must not mark the
    delivery that an admin resent to the new address as sent."""
    client, (person,) = client_with_recipients(1)
    _, deliveries = save_reported_call(client=client)
    pc = next(d for d in deliveries if d.channel == "email_pc")
    hung = services._claim(pc.pk, timezone.now())  # attempt 1, then it hangs
    Delivery.objects.filter(pk=pc.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    smtp_peer.mode = "perm"  # the relay takes over: the old address bounces
    assert services.deliver(delivery_id=pc.pk) == "failed"
    person.pc_email = "new-address@example.jp"
    person.save()
    assert services.resend(delivery_id=pc.pk).queued
    resent = services._claim(pc.pk, timezone.now())
    assert resent.attempts == hung.attempts == 1  # the resend counts from 0 again

    sent = {"status": Delivery.Status.SENT, "sent_at": timezone.now()}
    assert not services._finish(hung, **sent, provider_message_id="<old@x>")
    assert services._finish(resent, **sent, provider_message_id="<new@x>")
    pc.refresh_from_db()
    assert (pc.address, pc.provider_message_id) == ("new-address@example.jp", "<new@x>")
