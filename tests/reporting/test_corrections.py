"""Correction reports (訂正): the client hears of every change to a call it was
told of, and of nothing else."""

import datetime as dt
import threading
import time

import pytest
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from answering.models import Call, Category
from reporting import services
from reporting.models import Delivery
from tests.factories import CallFactory, OperatorFactory, ReportRecipientFactory
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db


def _correct(call, **changes):
    return services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes=changes
    )


def test_a_call_corrected_to_sales_and_back_is_corrected_again(smtp_peer):
    client, (person,) = client_with_recipients(1, report_by_email=True)
    call, _ = save_reported_call(client=client, purpose="見積り")
    _correct(call, category=Category.SALES)
    _correct(call, category=Category.NORMAL, purpose="見積りと納期")
    services.relay_due_deliveries()
    kinds = list(
        call.deliveries.filter(address=person.pc_email)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["report", "correction", "correction"]
    last = [m for m in smtp_peer.messages if m["to"] == [person.pc_email]][-1]
    assert "「営業電話」→「通常」" in last["body"]
    assert "「見積り」→「見積りと納期」" in last["body"]


def test_a_change_to_the_operators_memo_alone_tells_the_client_nothing(smtp_peer):
    client, _ = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    revision = _correct(call, note="社内: 声が大きい。次回は上長へ")
    assert revision is not None  # the history keeps it
    assert not call.deliveries.filter(kind=Delivery.Kind.CORRECTION).exists()
    _correct(call, note="社内メモ2", purpose="納期の件")
    services.relay_due_deliveries()
    bodies = [m["body"] for m in smtp_peer.messages]
    assert any("納期の件" in body for body in bodies)
    assert not any("社内" in body for body in bodies)


def test_a_call_with_no_active_recipient_says_so_on_the_console(
    operator_client, smtp_peer
):
    client, (person,) = client_with_recipients(1)
    person.active_to = timezone.localdate() - dt.timedelta(days=1)
    person.save()
    call, deliveries = save_reported_call(client=client)
    assert deliveries == []
    page = operator_client.get(reverse("console:home")).content.decode()
    assert "報告先なし" in page
    sales, _ = save_reported_call(client=client, category=Category.SALES)
    page = operator_client.get(
        f"{reverse('console:call_new')}?client={client.pk}&saved={sales.pk}"
    ).content.decode()
    assert "報告なし" in page and "報告先なし" not in page


def test_a_correction_waits_for_the_report_it_corrects(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, purpose="見積り")
    smtp_peer.mode = "temp"  # the client's server defers: the report backs off
    services.relay_due_deliveries()
    smtp_peer.mode = "ok"
    _correct(call, purpose="見積りと納期")
    correction = call.deliveries.get(kind=Delivery.Kind.CORRECTION, channel="email_pc")

    # The correction is due, but its report is not sent yet: neither Celery's
    # fast path nor the relay sends it ahead of the report.
    assert services.deliver(delivery_id=correction.pk) == "skipped"
    services.relay_due_deliveries()
    assert smtp_peer.messages == []

    call.deliveries.filter(kind=Delivery.Kind.REPORT).update(
        next_attempt_at=timezone.now()
    )
    services.relay_due_deliveries()  # one pass sends the report, then its correction
    subjects = [
        m["subject"] for m in smtp_peer.messages if m["to"] == [person.pc_email]
    ]
    assert len(subjects) == 2
    assert not subjects[0].startswith("【訂正】")
    assert subjects[1].startswith("【訂正】")


@pytest.mark.parametrize(
    ("typed", "retyped", "on_the_wire"),
    [
        ("Taro@Example.jp", "taro@example.jp", "taro@example.jp"),
        # Letters SQLite's own LOWER() and LIKE do not fold (reporting.apps).
        ("taro@Ärzte.example", "taro@ärzte.example", "taro@xn--rzte-koa.example"),
    ],
)
def test_a_correction_waits_for_its_report_to_an_address_retyped_in_lower_case(
    smtp_peer, typed, retyped, on_the_wire
):
    """The admin re-typed Taro@Example.jp as taro@example.jp while the report to
    it backed off: the same mailbox must still read the report first, and the
    old callback number must not arrive after the corrected one."""
    client, (person,) = client_with_recipients(1, report_by_email=True)
    person.pc_email, person.mobile_email = typed, ""
    person.save()
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    smtp_peer.mode = "temp"  # the client's server defers: the report backs off
    services.relay_due_deliveries()
    smtp_peer.mode = "ok"
    person.pc_email = retyped
    person.save()
    _correct(call, callback_number="09011113333")
    correction = call.deliveries.get(kind=Delivery.Kind.CORRECTION)
    assert correction.address == retyped

    assert services.deliver(delivery_id=correction.pk) == "skipped"
    services.relay_due_deliveries()
    assert smtp_peer.messages == []

    call.deliveries.filter(kind=Delivery.Kind.REPORT).update(
        next_attempt_at=timezone.now()
    )
    services.relay_due_deliveries()  # one pass sends the report, then its correction
    report, correction_mail = smtp_peer.messages
    assert [report["to"][0].lower(), correction_mail["to"][0].lower()] == [
        on_the_wire
    ] * 2
    assert not report["subject"].startswith("【訂正】")
    assert correction_mail["subject"] == f"【訂正】{report['subject']}"
    assert "「090-1111-2222」→「090-1111-3333」" in correction_mail["body"]


def test_a_correction_waits_for_its_report_to_a_mailbox_moved_from_mobile_to_pc(
    smtp_peer,
):
    """The report to the mobile address backed off; the admin then moved that
    address to the PC field. The corrected call went out at once, and the old
    report, with the old number, arrived after it."""
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    smtp_peer.mode = "temp"  # the client's server defers: the reports back off
    services.relay_due_deliveries()
    smtp_peer.mode = "ok"
    mailbox = person.mobile_email
    person.pc_email, person.mobile_email = mailbox, ""
    person.save()
    _correct(call, callback_number="09011113333")

    services.relay_due_deliveries()
    assert _mails_to(smtp_peer, mailbox) == []

    call.deliveries.filter(kind=Delivery.Kind.REPORT).update(
        next_attempt_at=timezone.now()
    )
    services.relay_due_deliveries()  # one pass sends the report, then its correction
    report, corrected = _mails_to(smtp_peer, mailbox)
    assert "090-1111-2222" in report["body"]
    assert "090-1111-3333" in corrected["body"]


@pytest.fixture
def replaced_recipient():
    """A client whose recipient left two days ago and was replaced yesterday."""
    today = timezone.localdate()
    client, (former,) = client_with_recipients(1)
    former.active_from = dt.date(2025, 1, 1)
    former.active_to = today - dt.timedelta(days=2)
    former.save()
    current = ReportRecipientFactory(
        client=client, active_from=today - dt.timedelta(days=1)
    )
    return client, former, current


def _pc_addresses(call, kind):
    return set(
        call.deliveries.filter(kind=kind, channel="email_pc").values_list(
            "address", flat=True
        )
    )


def test_a_call_logged_late_goes_to_todays_recipients(replaced_recipient):
    client, former, current = replaced_recipient
    call, _ = save_reported_call(
        client=client, received_at=timezone.now() - dt.timedelta(days=5)
    )
    assert _pc_addresses(call, Delivery.Kind.REPORT) == {current.pc_email}


def test_a_correction_of_an_older_call_skips_a_stopped_recipient(replaced_recipient):
    client, former, current = replaced_recipient
    call = CallFactory(client=client, received_at=timezone.now() - dt.timedelta(days=5))
    Delivery.objects.create(  # reported at the time, to the recipient of then
        call=call,
        client=client,
        recipient=former,
        channel="email_pc",
        address=former.pc_email,
        body="報告",
        status=Delivery.Status.SENT,
        sent_at=call.received_at,
    )
    _correct(call, purpose="訂正後の用件")
    assert _pc_addresses(call, Delivery.Kind.CORRECTION) == {current.pc_email}


def test_a_correction_reports_the_call_as_saved_not_as_first_read():
    client, _ = client_with_recipients(1, report_by_email=True)
    call, _ = save_reported_call(client=client, purpose="旧い用件ABC")
    read_before = Call.objects.get(pk=call.pk)
    _correct(call, purpose="新しい用件XYZ")
    _correct(read_before, callback_number="09011113333")
    last = call.deliveries.filter(kind=Delivery.Kind.CORRECTION).order_by("id").last()
    assert "090-1111-3333" in last.body
    assert "旧い用件ABC" not in last.body
    assert read_before.purpose == "新しい用件XYZ"  # the caller's object shows it too


def _in_thread(target, errors):
    def run():
        try:
            target()
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.mark.postgres(reason="two connections writing at once need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_correction_waiting_for_a_reclassification_is_still_reported():
    """A reclassifies a sales call as normal (its first report is queued); B
    corrects the callback number meanwhile. B must decide "told" after A's lock,
    or no message ever carries the corrected number."""
    client, _ = client_with_recipients(1, report_by_email=True)
    call = CallFactory(
        client=client, category=Category.SALES, callback_number="+819011112222"
    )
    b_user = OperatorFactory()
    a_saved, b_started = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def operator_a():
        with transaction.atomic():
            _correct(Call.objects.get(pk=call.pk), category=Category.NORMAL)
            a_saved.set()
            b_started.wait(10)
            time.sleep(0.3)  # B is waiting for the row lock

    def operator_b():
        a_saved.wait(10)
        read_before = Call.objects.get(pk=call.pk)
        b_started.set()
        services.record_correction(
            call=read_before,
            corrected_by=b_user,
            changes={"callback_number": "09011113333"},
        )

    threads = [_in_thread(operator_a, errors), _in_thread(operator_b, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    bodies = list(call.deliveries.values_list("body", flat=True))
    assert any("090-1111-3333" in body for body in bodies)


def test_a_cancelled_clients_last_call_logged_after_the_end_is_still_reported():
    """Cancelled at the month end, recipients ended with it: the last day's call
    logged on the 1st goes to the recipients of that day."""
    today = timezone.localdate()
    last_day = today - dt.timedelta(days=1)
    client, (person,) = client_with_recipients(1)
    person.active_from = dt.date(2025, 1, 1)
    person.active_to = last_day
    person.save()
    client.cancelled_on = last_day
    client.save(update_fields=["cancelled_on"])
    call, _ = save_reported_call(
        client=client, received_at=timezone.now() - dt.timedelta(days=1)
    )
    assert _pc_addresses(call, Delivery.Kind.REPORT) == {person.pc_email}


# --- destinations that never had the report ------------------------------------

REPORT_LEAD = "お電話がありましたので、ご報告いたします。"
CHATWORK_NOTE = (
    "この内容は訂正後のものです。以前のご報告をご覧の場合は、こちらが正しい内容です。"
)
CORRECTED_NOTE = f"なお、{CHATWORK_NOTE}"
MOBILE_NOTE = "※訂正後の内容です"
CORRECTION_LEAD = "先にお送りしたご報告を、次のとおり訂正いたします。"


def _mails_to(smtp_peer, address):
    """What arrived at one address, its lines as the reader sees them."""
    return [
        {**m, "body": m["body"].replace("\r\n", "\n")}
        for m in smtp_peer.messages
        if m["to"] == [address]
    ]


def _reads_as_a_report_of(mail, *, number, old_number):
    """The reader is told of the call as it is now, and of no 訂正 to a mail
    they never had, nor of the old value."""
    body = mail["body"]
    assert not mail["subject"].startswith("【訂正】")
    assert f"{REPORT_LEAD}\n{CORRECTED_NOTE}\n" in body
    assert f"■折り返し先: {number}" in body
    assert old_number not in body
    assert "訂正いたします" not in body and "訂正内容" not in body


def _reported_then_recipient_added(**call_fields):
    """A client's call reported to its one recipient, then a recipient added:
    (call, the recipient told, the one added since)."""
    client, (first,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, **call_fields)
    services.relay_due_deliveries()
    added = ReportRecipientFactory(client=client, active_from=timezone.localdate())
    return call, first, added


def test_a_recipient_added_after_the_report_gets_the_corrected_call_as_a_report(
    smtp_peer,
):
    call, first, added = _reported_then_recipient_added(callback_number="+819011112222")
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    # The recipient who had the report reads the 訂正, as before.
    report, correction = _mails_to(smtp_peer, first.pc_email)
    assert correction["subject"] == f"【訂正】{report['subject']}"
    assert CORRECTION_LEAD in correction["body"]
    assert "「090-1111-2222」→「090-1111-3333」" in correction["body"]
    assert _mails_to(smtp_peer, first.mobile_email)[-1]["body"].startswith(
        f"［{call.client.name}］\n【訂正】\n折り返し先: 「090-1111-2222」→「090-1111-3333」"
    )

    # The one added since reads a report of the call as it is now.
    (pc,) = _mails_to(smtp_peer, added.pc_email)
    assert pc["subject"] == report["subject"]
    _reads_as_a_report_of(pc, number="090-1111-3333", old_number="090-1111-2222")
    (mobile,) = _mails_to(smtp_peer, added.mobile_email)
    assert "【訂正】" not in mobile["body"]
    assert "TEL 090-1111-3333" in mobile["body"]
    assert "090-1111-2222" not in mobile["body"]
    assert mobile["body"].endswith(f"\n{MOBILE_NOTE}\n")


def test_a_replaced_recipients_successor_gets_the_corrected_call_as_a_report(
    smtp_peer,
):
    today = timezone.localdate()
    client, (former,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    services.relay_due_deliveries()
    # The client swaps its recipient after the call.
    former.active_to = today - dt.timedelta(days=1)
    former.save()
    successor = ReportRecipientFactory(client=client, active_from=today)
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    assert len(_mails_to(smtp_peer, former.pc_email)) == 1  # the report only
    (pc,) = _mails_to(smtp_peer, successor.pc_email)
    _reads_as_a_report_of(pc, number="090-1111-3333", old_number="090-1111-2222")
    (mobile,) = _mails_to(smtp_peer, successor.mobile_email)
    assert mobile["body"].endswith(f"\n{MOBILE_NOTE}\n")
    assert not mobile["body"].startswith("【訂正】")


def test_a_new_address_of_the_same_recipient_has_not_read_the_report(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    services.relay_due_deliveries()
    old_pc = person.pc_email
    person.pc_email = "new-pc@example.jp"
    person.save()
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    (pc,) = _mails_to(smtp_peer, "new-pc@example.jp")
    _reads_as_a_report_of(pc, number="090-1111-3333", old_number="090-1111-2222")
    assert len(_mails_to(smtp_peer, old_pc)) == 1
    # The mobile address had the report: it reads the 訂正.
    mobile = _mails_to(smtp_peer, person.mobile_email)
    assert len(mobile) == 2 and mobile[1]["body"].startswith(
        f"［{client.name}］\n【訂正】\n"
    )


def test_a_mailbox_moved_from_the_pc_field_to_the_mobile_one_reads_the_change(
    smtp_peer,
):
    """The report reached the PC address; the admin then moved that address to
    the mobile field. The same mailbox was sent the whole call again, as if it
    had never read the report, instead of what changed."""
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    services.relay_due_deliveries()
    mailbox = person.pc_email
    person.pc_email, person.mobile_email = "", mailbox
    person.save()
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    report, correction = _mails_to(smtp_peer, mailbox)
    assert "090-1111-2222" in report["body"]
    assert correction["body"].startswith(
        f"［{client.name}］\n【訂正】\n折り返し先: 「090-1111-2222」→「090-1111-3333」"
    )
    assert MOBILE_NOTE not in correction["body"]


def test_a_mailbox_moved_from_the_mobile_field_to_the_pc_one_reads_the_change(
    smtp_peer,
):
    """The same, the other way, with the address re-typed in capitals."""
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    services.relay_due_deliveries()
    mailbox = person.mobile_email
    person.pc_email, person.mobile_email = mailbox.upper(), ""
    person.save()
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    (report,) = _mails_to(smtp_peer, mailbox)
    (correction,) = _mails_to(smtp_peer, mailbox.upper())
    assert correction["subject"] == f"【訂正】{report['subject']}"
    assert CORRECTION_LEAD in correction["body"]
    assert "「090-1111-2222」→「090-1111-3333」" in correction["body"]


def test_a_chatwork_room_that_never_had_the_report_reads_it_as_a_report(
    smtp_peer, chatwork_peer
):
    client, (person,) = client_with_recipients(1, chatwork_room="111")
    call, _ = save_reported_call(client=client, purpose="見積り")
    services.relay_due_deliveries()
    _correct(call, purpose="見積りと納期")
    services.relay_due_deliveries()
    client.chatwork_room_id = "222"  # the client moved reports to another room
    client.save()
    _correct(call, purpose="見積りと納期の件")
    services.relay_due_deliveries()

    rooms = {
        room: [p["body"] for p in chatwork_peer.posts if p["room"] == room]
        for room in ("111", "222")
    }
    report, correction = rooms["111"]
    assert "[title]【訂正】" in correction and "訂正内容:" in correction
    (new_room,) = rooms["222"]
    title = report[len("[info][title]") : report.index("[/title]")]
    assert new_room.startswith(f"[info][title]{title}[/title]{CHATWORK_NOTE}\n\n")
    assert "ご用件: 見積りと納期の件" in new_room
    assert "訂正内容" not in new_room and "「見積りと納期」" not in new_room
    # The e-mail recipient, told all along, reads the second 訂正.
    last = _mails_to(smtp_peer, person.pc_email)[-1]
    assert "「見積りと納期」→「見積りと納期の件」" in last["body"]


def test_a_successor_told_by_a_correction_reads_the_next_one_as_a_correction(
    smtp_peer,
):
    call, _first, added = _reported_then_recipient_added(purpose="見積り")
    _correct(call, purpose="見積りと納期")
    _correct(call, purpose="見積りと納期の件")  # queued before the first is sent
    services.relay_due_deliveries()

    first, second = _mails_to(smtp_peer, added.pc_email)
    assert CORRECTED_NOTE in first["body"] and "■ご用件: 見積りと納期" in first["body"]
    # It has read the call now: what changes is corrected against what it read.
    assert second["subject"].startswith("【訂正】")
    assert CORRECTION_LEAD in second["body"]
    assert "「見積りと納期」→「見積りと納期の件」" in second["body"]


def test_a_call_turned_sales_is_not_reported_to_a_destination_never_told(
    smtp_peer,
):
    call, first, added = _reported_then_recipient_added(purpose="見積り")
    _correct(call, category=Category.SALES)
    services.relay_due_deliveries()
    assert "「通常」→「営業電話」" in _mails_to(smtp_peer, first.pc_email)[-1]["body"]
    assert _mails_to(smtp_peer, added.pc_email) == []
    assert not call.deliveries.filter(recipient=added).exists()

    # Back to a reported call: now it learns of it, as a report.
    _correct(call, category=Category.NORMAL, purpose="見積りと納期")
    services.relay_due_deliveries()
    (pc,) = _mails_to(smtp_peer, added.pc_email)
    assert f"{REPORT_LEAD}\n{CORRECTED_NOTE}\n" in pc["body"]
    assert "営業電話" not in pc["body"] and "■ご用件: 見積りと納期" in pc["body"]


# --- destinations whose earlier message failed ----------------------------------


def _reads_as_the_corrected_report(text, *, new, old):
    assert CORRECTION_LEAD not in text and "訂正内容" not in text
    assert CHATWORK_NOTE in text or MOBILE_NOTE in text
    assert new in text and old not in text


def test_an_address_the_report_bounced_from_gets_the_corrected_call_as_a_report(
    smtp_peer,
):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    smtp_peer.bounce = {person.pc_email}
    services.relay_due_deliveries()
    assert _mails_to(smtp_peer, person.pc_email) == []  # it never had the report

    smtp_peer.bounce = set()  # the mailbox works again
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    (mail,) = _mails_to(smtp_peer, person.pc_email)
    assert not mail["subject"].startswith("【訂正】")
    _reads_as_the_corrected_report(mail["body"], new="090-1111-3333", old="2222")
    # The mobile address had the report: it reads the 訂正.
    (mobile_report, mobile_fix) = _mails_to(smtp_peer, person.mobile_email)
    assert "【訂正】" in mobile_fix["body"] and "2222" in mobile_fix["body"]


def test_a_correction_queued_behind_a_report_that_then_fails_is_sent_as_the_report(
    smtp_peer, settings
):
    settings.REPORT_MAX_ATTEMPTS = 2
    settings.REPORT_RETRY_BASE_SECONDS = 0
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    smtp_peer.mode = "temp"  # the client's server defers: the report backs off
    services.relay_due_deliveries()
    _correct(call, callback_number="09011113333")  # queued behind the report
    services.relay_due_deliveries()  # second attempt: the report gives up
    report = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC, kind="report")
    assert report.status == Delivery.Status.FAILED
    smtp_peer.mode = "ok"
    services.relay_due_deliveries()

    (mail,) = _mails_to(smtp_peer, person.pc_email)
    assert not mail["subject"].startswith("【訂正】")
    _reads_as_the_corrected_report(mail["body"], new="090-1111-3333", old="2222")
    # What the admin pages show is what was sent.
    sent = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC, kind="correction")
    assert sent.body.replace("\r\n", "\n") == mail["body"]


def test_a_correction_after_one_that_failed_brings_the_whole_call(smtp_peer):
    """The report arrived; its first 訂正 (the purpose) was refused; the second
    (the callback number) went out saying only what it changed: the client kept
    the old purpose, and the failed 訂正 could not be resent any more."""
    client, (person,) = client_with_recipients(1)
    person.mobile_email = ""
    person.save()
    call, _ = save_reported_call(
        client=client, purpose="見積り", callback_number="+819011112222"
    )
    services.relay_due_deliveries()
    _correct(call, purpose="見積りと納期")
    smtp_peer.data_reply = "554 5.7.1 Message rejected as spam"  # this one only
    services.relay_due_deliveries()
    first_fix = call.deliveries.get(kind="correction")
    assert first_fix.status == Delivery.Status.FAILED
    smtp_peer.data_reply = ""
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()

    report, mail = _mails_to(smtp_peer, person.pc_email)
    assert "■ご用件: 見積り\n" in report["body"]
    assert not mail["subject"].startswith("【訂正】")
    _reads_as_the_corrected_report(mail["body"], new="090-1111-3333", old="2222")
    assert "■ご用件: 見積りと納期" in mail["body"]
    # Nothing is missing there now: the failed 訂正 is not sent again.
    assert not services.resend(delivery_id=first_fix.pk).queued


def test_a_failed_report_resent_after_a_correction_says_what_the_call_says_now(
    chatwork_peer, smtp_peer
):
    client, _ = client_with_recipients(1, chatwork_room="111")
    call, _ = save_reported_call(client=client, purpose="見積り")
    chatwork_peer.respond = lambda room: (403, {})  # the token left the room
    services.relay_due_deliveries()
    _correct(call, purpose="見積りと納期")
    services.relay_due_deliveries()  # the correction fails the same way
    failed_report = call.deliveries.get(
        channel=Delivery.Channel.CHATWORK, kind="report"
    )
    assert failed_report.status == Delivery.Status.FAILED

    chatwork_peer.respond = None  # the token is back in the room
    assert services.resend(delivery_id=failed_report.pk).queued
    services.relay_due_deliveries()
    (post,) = [p["body"] for p in chatwork_peer.posts if p["room"] == "111"]
    assert "見積りと納期" in post and CHATWORK_NOTE in post


@pytest.mark.parametrize("corrected", [True, False], ids=["corrected", "as-it-was"])
def test_a_report_that_may_have_arrived_is_resent_under_a_new_message_id_if_corrected(
    smtp_peer, corrected
):
    """The report reached the mailbox but the answer was lost, twice: it failed,
    flagged as possibly delivered. The call was corrected, and the correction
    refused as spam. 再送 of the report sends the call as it is now: under the
    first copy's Message-ID, a mailbox that had that copy (Gmail) dropped it
    as a duplicate, and the client never read the correction. The very same
    text keeps its Message-ID: the mailbox shows it once."""
    client, (person,) = client_with_recipients(1)
    person.mobile_email = ""
    person.save()
    call, (report,) = save_reported_call(client=client, purpose="見積り")
    smtp_peer.data_drop = True  # stored, then the connection drops
    for _ in range(2):
        Delivery.objects.filter(pk=report.pk).update(next_attempt_at=timezone.now())
        services.deliver(delivery_id=report.pk)
    report.refresh_from_db()
    assert report.status == Delivery.Status.FAILED and report.possible_duplicate
    smtp_peer.data_drop = False
    if corrected:
        smtp_peer.data_reply = "554 5.7.1 Message rejected as spam"
        _correct(call, purpose="見積りと納期")
        services.relay_due_deliveries()
        assert call.deliveries.get(kind="correction").status == (Delivery.Status.FAILED)
        smtp_peer.data_reply = ""

    assert services.resend(delivery_id=report.pk).queued
    services.relay_due_deliveries()

    first, *_, resent = _mails_to(smtp_peer, person.pc_email)
    assert "■ご用件: 見積り\n" in first["body"]
    if corrected:
        assert "■ご用件: 見積りと納期" in resent["body"]
        assert resent["message_id"] != first["message_id"]
    else:
        assert resent["body"] == first["body"]
        assert resent["message_id"] == first["message_id"]


def test_a_failed_report_is_not_resent_where_its_correction_brought_the_call(
    smtp_peer,
):
    """The mailbox refused the report, was fixed, and the correction went out as
    the corrected call; 再送 on the failure still listed sent it all again."""
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, purpose="見積り")
    smtp_peer.bounce = {person.pc_email}
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC, kind="report")
    assert failed.status == Delivery.Status.FAILED
    smtp_peer.bounce = set()
    _correct(call, purpose="見積りと納期")
    services.relay_due_deliveries()
    result = services.resend(delivery_id=failed.pk)
    assert not result.queued and "その後の訂正で送っている" in result.refused
    services.relay_due_deliveries()
    (mail,) = _mails_to(smtp_peer, person.pc_email)
    assert "見積りと納期" in mail["body"]


def test_a_failed_correction_is_resent_where_the_report_arrived(smtp_peer):
    """The report arrived, its 訂正 (the callback number) was refused as spam:
    再送 was refused as if a later 訂正 had brought the call there, counting the
    report itself, and the client kept calling back the wrong number."""
    client, (person,) = client_with_recipients(1)
    person.mobile_email = ""
    person.save()
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    services.relay_due_deliveries()
    smtp_peer.data_reply = "554 5.7.1 Message rejected as spam"
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()
    failed = call.deliveries.get(kind="correction")
    assert failed.status == Delivery.Status.FAILED
    smtp_peer.data_reply = ""

    assert services.resend(delivery_id=failed.pk).queued
    services.relay_due_deliveries()

    report, correction = _mails_to(smtp_peer, person.pc_email)
    assert correction["subject"] == f"【訂正】{report['subject']}"
    assert "「090-1111-2222」→「090-1111-3333」" in correction["body"]


def test_a_correction_resent_after_its_mailbox_moved_to_the_mobile_field(
    smtp_peer,
):
    """The report reached the PC address, its 訂正 was refused as spam, and the
    admin moved the address to the mobile field: 再送 goes there, as the call
    as corrected in the mobile's short text (the PC text of the changes
    would not fit a phone, and no mobile text of them was ever written)."""
    client, (person,) = client_with_recipients(1)
    person.mobile_email = ""
    person.save()
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    services.relay_due_deliveries()
    smtp_peer.data_reply = "554 5.7.1 Message rejected as spam"
    _correct(call, callback_number="09011113333")
    services.relay_due_deliveries()
    failed = call.deliveries.get(kind="correction")
    assert failed.status == Delivery.Status.FAILED
    smtp_peer.data_reply = ""
    mailbox = person.pc_email
    person.pc_email, person.mobile_email = "", mailbox
    person.save()

    assert services.resend(delivery_id=failed.pk).queued
    services.relay_due_deliveries()

    report, correction = _mails_to(smtp_peer, mailbox)
    assert MOBILE_NOTE in correction["body"]
    assert "090-1111-3333" in correction["body"]
    assert "2222" not in correction["body"]
    assert len(correction["body"]) < len(report["body"])  # the short text


def test_a_report_of_an_erased_call_is_not_resent_blank(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(
        client=client, received_at=timezone.now() - dt.timedelta(days=800)
    )
    smtp_peer.bounce = {person.pc_email}
    services.relay_due_deliveries()
    smtp_peer.bounce = set()
    services.erase_old_personal_data()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    result = services.resend(delivery_id=failed.pk)
    assert not result.queued and "消去した" in result.refused
    services.relay_due_deliveries()
    assert _mails_to(smtp_peer, person.pc_email) == []


def test_a_report_resent_to_a_new_address_that_has_the_corrected_call_is_not_sent_there(
    smtp_peer,
):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, callback_number="+819011112222")
    smtp_peer.bounce = {person.pc_email}
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    person.pc_email = "new-pc@example.jp"  # the client gives a new address
    person.save()
    _correct(call, callback_number="09011113333")  # the new address gets it all
    services.relay_due_deliveries()

    # Nothing left to send: said so, not resent to the address that bounced.
    result = services.resend(delivery_id=failed.pk)
    assert not result.queued and "new-pc@example.jp" in result.refused
    services.relay_due_deliveries()
    (mail,) = _mails_to(smtp_peer, "new-pc@example.jp")  # once, never the old number
    assert "090-1111-3333" in mail["body"] and "2222" not in mail["body"]


def test_a_report_still_waiting_when_its_text_is_erased_is_never_sent_blank(
    smtp_peer,
):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(
        client=client, received_at=timezone.now() - dt.timedelta(days=800)
    )
    services.erase_old_personal_data()  # before any relay pass
    services.relay_due_deliveries()
    assert smtp_peer.messages == []
    delivery = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    assert delivery.status == Delivery.Status.FAILED
    assert "本文を消去したため" in delivery.last_error


def test_a_corrected_surcharge_names_its_unit_once(smtp_peer):
    client, (person,) = client_with_recipients(1, report_by_email=True)
    call, _ = save_reported_call(
        client=client, surcharge_yen=200, surcharge_reason="長時間のご説明"
    )
    _correct(call, surcharge_yen=300)
    services.relay_due_deliveries()
    last = [m for m in smtp_peer.messages if m["to"] == [person.pc_email]][-1]
    # As the report writes it, reason and all.
    assert (
        "割増料金: 「200円（長時間のご説明）」→「300円（長時間のご説明）」"
        in last["body"]
    )
    assert "（円）" not in last["body"]


def test_a_correction_names_each_item_as_the_report_it_corrects(smtp_peer):
    client, (person,) = client_with_recipients(1, report_by_email=True)
    received = timezone.make_aware(dt.datetime(2026, 11, 6, 14, 32))
    call, _ = save_reported_call(
        client=client, received_at=received, addressee="", purpose="見積り"
    )
    _correct(
        call,
        received_at=received - dt.timedelta(hours=1),
        addressee="佐藤",
        caller_name="",
        caller_name_missing_reason="refused",
    )
    services.relay_due_deliveries()
    report, correction = [
        m["body"] for m in smtp_peer.messages if m["to"] == [person.pc_email]
    ]
    assert "■日時: 2026年11月6日（金）14:32" in report
    assert "■宛先: 指定なし" in report
    assert (
        "日時: 「2026年11月6日（金）14:32」→「2026年11月6日（金）13:32」" in correction
    )
    assert "宛先: 「指定なし」→「佐藤様宛」" in correction
    # The name and the reason it was not given are one item of the report.
    assert "お名前: 「" in correction and "→「お聞きしましたが" in correction
    assert "受電日時" not in correction and "宛先（担当者）" not in correction
    assert "伺えなかった理由:" not in correction
