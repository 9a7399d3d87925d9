"""The e-mail that tells a client its invoice was issued and how to pay it,
sent to a real local SMTP server (the reporting tests' peer)."""

import datetime as dt
import logging
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from billing.services import (
    bill_month,
    mark_paid,
    send_invoice_notices,
    void_and_reissue,
)
from clients.models import PaymentMethod
from clients.months import JST
from reporting import services as reporting_services
from tests.billing.factories import OCTOBER, calls, contracted_client
from tests.dates import ja_day
from tests.factories import ReportRecipientFactory
from tests.reporting.factories import save_reported_call
from tests.reporting.peers import sent_from

pytestmark = pytest.mark.django_db

BANK = "みずほ銀行 神田支店 普通 7654321 カ）トウキヨウデンワヒシヨ"
NOTICE_DAY = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _bank_and_portal(settings):
    settings.COMPANY_BANK_ACCOUNT = BANK
    settings.PORTAL_BASE_URL = "https://portal.example.jp"


def _issued(plan, **fields) -> Invoice:
    client = contracted_client(plan, **fields)
    calls(client, 3)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    return Invoice.objects.get(client=client, billing_month=OCTOBER)


def test_the_client_is_told_of_its_invoice_once_at_its_recipients_pc_addresses(
    small, smtp_peer, admin_client
):
    invoice = _issued(small, name="株式会社山田商事")
    ReportRecipientFactory(
        client=invoice.client, pc_email="yamada@example.jp", mobile_email="m@ex.jp"
    )
    ReportRecipientFactory(client=invoice.client, pc_email="", mobile_email="k@ex.jp")
    ReportRecipientFactory(
        client=invoice.client,
        pc_email="left@example.jp",
        active_to=dt.date(2026, 10, 31),
    )

    summary = send_invoice_notices(now=NOTICE_DAY)
    assert len(summary.sent) == 1 and not summary.failed and not summary.no_address
    assert smtp_peer.count() == 1
    message = smtp_peer.messages[0]
    assert message["to"] == ["yamada@example.jp"]
    assert "2026年10月分のご請求書を発行しました" in message["subject"]
    body = message["body"]
    assert "株式会社山田商事 御中" in body
    assert f"請求書番号: {invoice.number_display}" in body
    assert f"ご請求金額（税込）: {invoice.total_yen:,}円" in body
    # The due date once, on its line; how to pay refers to it.
    lines = body.replace("\r\n", "\n")
    assert (
        "お支払期限: 2026年11月30日\n"
        "お支払い方法: 銀行振込\n"
        "お支払期限までに振込先の口座へお振込みください"
        "（振込手数料はご負担ください）。\n"
        f"振込先: {BANK}\n"
    ) in lines
    assert body.count("2026年11月30日") == 1
    assert f"https://portal.example.jp/portal/invoices/{invoice.pk}/" in body

    invoice.refresh_from_db()
    assert invoice.notified_at is not None
    page = admin_client.get(reverse("billing:invoice", args=[invoice.pk]))
    sent = timezone.localtime(invoice.notified_at)
    assert (
        f"{ja_day(sent.date())} {sent:%H:%M} にメールで送信済み"
        in page.content.decode()
    )

    again = send_invoice_notices(now=NOTICE_DAY + dt.timedelta(hours=1))
    assert again.sent == () and smtp_peer.count() == 1


def test_a_client_with_a_billing_address_is_told_there_only(small, smtp_peer):
    """Its accounting office gets the notice; its report recipients do not.
    A client without one is still told at its recipients' PC addresses."""
    keiri = _issued(small, name="株式会社経理有り", billing_email="keiri@example.jp")
    ReportRecipientFactory(client=keiri.client, pc_email="shacho@example.jp")
    plain = _issued(small, name="株式会社経理無し")
    ReportRecipientFactory(client=plain.client, pc_email="tanto@example.jp")

    summary = send_invoice_notices(now=NOTICE_DAY)

    assert len(summary.sent) == 2 and not summary.no_address
    assert smtp_peer.by_address() == {"keiri@example.jp": 1, "tanto@example.jp": 1}
    to_keiri = next(m for m in smtp_peer.messages if m["to"] == ["keiri@example.jp"])
    assert "株式会社経理有り 御中" in to_keiri["body"]


def test_a_billing_address_is_enough_without_any_recipient(small, smtp_peer):
    invoice = _issued(small, billing_email="keiri@example.jp")  # no recipient

    summary = send_invoice_notices(now=NOTICE_DAY)

    assert len(summary.sent) == 1 and summary.no_address == ()
    assert smtp_peer.by_address() == {"keiri@example.jp": 1}
    invoice.refresh_from_db()
    assert invoice.notified_at is not None


def test_a_direct_debit_client_is_told_when_its_account_is_debited(small, smtp_peer):
    invoice = _issued(small, payment_method=PaymentMethod.DIRECT_DEBIT)
    ReportRecipientFactory(client=invoice.client)

    send_invoice_notices(now=NOTICE_DAY)

    body = smtp_peer.messages[0]["body"]
    assert "お支払い方法: 口座振替" in body
    assert (
        "お引落日: 2026年11月30日\n"
        "お支払い方法: 口座振替\n"
        "お引落日にご登録の口座から引き落とします。\n"
    ) in body.replace("\r\n", "\n")
    assert "お支払期限" not in body and body.count("2026年11月30日") == 1
    assert BANK not in body and "お振込みください" not in body


def test_the_notice_comes_from_the_companys_name(small, smtp_peer, settings):
    settings.DEFAULT_FROM_EMAIL = "株式会社東京電話秘書 電話代行 <report@example.jp>"
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client)

    send_invoice_notices(now=NOTICE_DAY)

    (message,) = smtp_peer.messages
    assert sent_from(message) == ("株式会社東京電話秘書 電話代行", "report@example.jp")


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("株式会社デモ電話代行 <report@denwa-demo.co.jp>", "denwa-demo.co.jp"),
        ("info@tokyo-hisho.jp", "tokyo-hisho.jp"),
    ],
)
def test_the_notice_and_a_report_carry_message_ids_of_the_senders_domain(
    small, smtp_peer, settings, sender, domain
):
    """Not the host's name (Django's default: localhost in a container) on the
    notice, nor a domain unrelated to the sender: both carry the domain of
    DEFAULT_FROM_EMAIL, with or without the company's name."""
    settings.DEFAULT_FROM_EMAIL = sender
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client, mobile_email="")
    send_invoice_notices(now=NOTICE_DAY)
    _call, (report,) = save_reported_call(client=invoice.client)
    assert reporting_services.deliver(delivery_id=report.pk) == "sent"

    notice, report_mail = smtp_peer.messages
    domains = {
        m["message_id"].rstrip(">").rsplit("@", 1)[1] for m in smtp_peer.messages
    }
    assert domains == {domain}
    assert notice["message_id"] != report_mail["message_id"]


def test_a_failed_send_is_logged_and_sent_by_the_next_days_run(
    small, smtp_peer, caplog, admin_client
):
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client, pc_email="yamada@example.jp")
    smtp_peer.mode = "temp"  # 451 at RCPT

    with caplog.at_level(logging.WARNING, logger="billing.services.invoice_notices"):
        summary = send_invoice_notices(now=NOTICE_DAY)

    assert len(summary.failed) == 1 and summary.sent == ()
    assert str(invoice.pk) in caplog.text
    invoice.refresh_from_db()
    assert invoice.notified_at is None
    page = admin_client.get(reverse("billing:invoice", args=[invoice.pk]))
    assert "未送信" in page.content.decode()

    smtp_peer.mode = "ok"
    summary = send_invoice_notices(now=NOTICE_DAY + dt.timedelta(days=1))
    assert len(summary.sent) == 1
    assert smtp_peer.by_address() == {"yamada@example.jp": 1}


def test_an_invoice_another_run_is_sending_is_left_to_it(small, smtp_peer):
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client)
    Invoice.objects.filter(pk=invoice.pk).update(
        notice_claimed_at=NOTICE_DAY - dt.timedelta(minutes=1)
    )

    assert send_invoice_notices(now=NOTICE_DAY).sent == ()
    assert smtp_peer.count() == 0
    # A claim left by a run that died long ago is taken over.
    later = NOTICE_DAY + dt.timedelta(hours=1)
    assert len(send_invoice_notices(now=later).sent) == 1
    assert smtp_peer.count() == 1


def test_the_command_lists_clients_with_no_address_and_paid_invoices_are_skipped(
    small, smtp_peer
):
    lost = _issued(small, name="株式会社宛先無し")
    paid = _issued(small, name="株式会社支払済み")
    ReportRecipientFactory(client=paid.client)
    mark_paid(invoice=paid, paid_on=dt.date(2026, 11, 5), today=dt.date(2026, 11, 9))
    told = _issued(small, name="株式会社報告先有り")
    ReportRecipientFactory(client=told.client, pc_email="told@example.jp")

    out = StringIO()
    call_command("send_invoice_notices", "--now", "2026-11-10T09:00", stdout=out)

    text = out.getvalue()
    assert "送信 1 件、送信失敗 0 件（次回再送）、宛先なし 1 件" in text
    assert (
        f"宛先なし: 株式会社宛先無し ({lost.number_display})"
        "（請求書送付先メールアドレスも、報告先のPCアドレスもありません）"
    ) in text
    assert "told@example.jp" in text
    assert smtp_peer.by_address() == {"told@example.jp": 1}
    lost.refresh_from_db()
    assert lost.notified_at is None and lost.notice_claimed_at is None


def test_the_command_runs_as_of_now_given_in_japan_time(small, smtp_peer):
    """A month's notices are replayed by hand as of a day. A date-time without
    an offset is Japan time: 23:30 on the 9th is before the notice day (read
    as UTC it would be 08:30 on the 10th in Japan, and send)."""
    invoice = _issued(small)  # on November 2nd
    ReportRecipientFactory(client=invoice.client)

    before = StringIO()
    call_command("send_invoice_notices", "--now", "2026-11-09T23:30", stdout=before)
    assert "送信 0 件" in before.getvalue()
    assert smtp_peer.count() == 0

    on_the_day = StringIO()
    call_command("send_invoice_notices", "--now", "2026-11-10T00:30", stdout=on_the_day)
    assert "送信 1 件" in on_the_day.getvalue()
    assert smtp_peer.count() == 1


@pytest.mark.parametrize("value", ["", "2026-11-31T09:00", "来月10日", "0001-01-01"])
def test_the_command_refuses_a_now_that_is_no_date_time_in_japanese(
    small, smtp_peer, value
):
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client)

    with pytest.raises(CommandError) as refused:
        call_command("send_invoice_notices", "--now", value, stdout=StringIO())

    assert str(refused.value) == (
        f"--now は日時（例: 2026-11-10T09:00、日本時間）で指定してください: {value}"
    )
    assert smtp_peer.count() == 0
    invoice.refresh_from_db()
    assert invoice.notified_at is None


def _at_9_in_japan(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=JST)


def test_the_notice_job_runs_every_morning():
    job = django_settings.CELERY_BEAT_SCHEDULE["send-invoice-notices"]
    assert job["task"] == "billing.tasks.send_invoice_notices"
    assert job["schedule"].day_of_month == set(range(1, 32))
    assert job["schedule"].hour == {9} and job["schedule"].minute == {0}
    assert django_settings.INVOICE_NOTICE_DAY == 10


def test_a_months_notices_wait_for_the_notice_day(small, smtp_peer):
    invoice = _issued(small)  # on November 2nd
    ReportRecipientFactory(client=invoice.client)

    assert send_invoice_notices(now=_at_9_in_japan(dt.date(2026, 11, 9))).sent == ()
    assert smtp_peer.count() == 0
    summary = send_invoice_notices(now=_at_9_in_japan(dt.date(2026, 11, 10)))
    assert len(summary.sent) == 1 and smtp_peer.count() == 1


def test_a_reissue_after_the_notice_day_is_notified_the_next_morning(small, smtp_peer):
    original = _issued(small)
    ReportRecipientFactory(client=original.client, pc_email="yamada@example.jp")
    send_invoice_notices(now=_at_9_in_japan(dt.date(2026, 11, 10)))
    reissue = void_and_reissue(
        invoice=original, reason="宛名の誤り", today=dt.date(2026, 11, 20)
    )

    send_invoice_notices(now=_at_9_in_japan(dt.date(2026, 11, 21)))

    assert smtp_peer.count() == 2
    assert f"請求書番号: {reissue.number_display}" in smtp_peer.messages[1]["body"]
    reissue.refresh_from_db()
    assert reissue.notified_at is not None


def test_the_reissues_notice_says_it_replaces_the_voided_invoice(small, smtp_peer):
    original = _issued(small)
    ReportRecipientFactory(client=original.client, pc_email="yamada@example.jp")
    send_invoice_notices(now=NOTICE_DAY)
    reissue = void_and_reissue(
        invoice=original, reason="宛名の誤り", today=dt.date(2026, 11, 10)
    )

    send_invoice_notices(now=NOTICE_DAY + dt.timedelta(days=1))

    first, second = (message["body"] for message in smtp_peer.messages)
    replaced = (
        f"請求書番号 {original.number_display} は無効となり、本請求書に差し替えました。"
    )
    assert replaced not in first
    assert f"請求書番号: {reissue.number_display}" in second
    assert replaced in second


def test_a_month_issued_late_is_notified_in_the_next_month_before_its_day(
    small, smtp_peer
):
    client = contracted_client(small)
    calls(client, 3)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 25))
    ReportRecipientFactory(client=client)

    summary = send_invoice_notices(now=_at_9_in_japan(dt.date(2026, 12, 1)))

    assert len(summary.sent) == 1 and smtp_peer.count() == 1


def _notice_line(browser, invoice) -> str:
    page = browser.get(reverse("billing:invoice", args=[invoice.pk])).content.decode()
    start = page.index('<p id="notice">')
    return page[start : page.index("</p>", start)]


def test_the_invoice_page_says_when_and_where_the_notice_will_go(
    small, admin_client, settings
):
    settings.INVOICE_NOTICE_DAY = 3
    invoice = _issued(small)  # on November 2nd
    ReportRecipientFactory(client=invoice.client, pc_email="yamada@example.jp")
    ReportRecipientFactory(client=invoice.client, pc_email="sato@example.jp")
    assert (
        "未送信（11月3日以降、毎日の送信でお送りします。"
        "送り先: yamada@example.jp、sato@example.jp）"
    ) in _notice_line(admin_client, invoice)
    # The day it names is the first the job takes it.
    assert invoice.notice_due_from == dt.date(2026, 11, 3)
    due = Invoice.objects.notice_due
    assert not due(dt.date(2026, 11, 2)).filter(pk=invoice.pk).exists()
    assert due(dt.date(2026, 11, 3)).filter(pk=invoice.pk).exists()

    # A billing address takes the notice alone, as the job sends it.
    invoice.client.billing_email = "keiri@example.jp"
    invoice.client.save(update_fields=["billing_email"])
    assert "送り先: keiri@example.jp）" in _notice_line(admin_client, invoice)


def test_an_invoice_issued_after_the_notice_day_goes_from_its_issue_date(
    small, admin_client
):
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client, pc_email="yamada@example.jp")
    new = void_and_reissue(invoice=invoice, reason="宛名", today=dt.date(2026, 11, 15))
    assert "未送信（11月15日以降、毎日の送信でお送りします。" in _notice_line(
        admin_client, new
    )
    # The voided one is never sent, and says so.
    assert "未送信（無効のため送信しません）" in _notice_line(admin_client, invoice)


def test_the_invoice_page_says_a_client_without_an_address_gets_no_notice(
    small, admin_client
):
    invoice = _issued(small, name="株式会社宛先無し")
    ReportRecipientFactory(client=invoice.client, pc_email="", mobile_email="m@ex.jp")
    line = _notice_line(admin_client, invoice)
    assert "未送信（送り先がありません" in line
    assert "お知らせは送信されません" in line and "以降" not in line
    # As the job reports it.
    summary = send_invoice_notices(now=NOTICE_DAY)
    assert summary.no_address == (f"株式会社宛先無し ({invoice.number_display})",)


def test_a_paid_invoice_says_its_notice_will_not_go(small, admin_client):
    invoice = _issued(small)
    ReportRecipientFactory(client=invoice.client)
    mark_paid(invoice=invoice, paid_on=dt.date(2026, 11, 5), today=NOTICE_DAY.date())
    assert "未送信（入金済みのため送信しません）" in _notice_line(admin_client, invoice)


def test_the_invoice_pages_queries_do_not_grow_with_recipients(small, admin_client):
    invoices = [_issued(small), _issued(small)]
    # From after October: the issued invoices still match their data (five
    # dated back into October would cost a fee the page then says is missing).
    since = dt.date(2026, 11, 1)
    ReportRecipientFactory(client=invoices[0].client, active_from=since)
    for _ in range(5):
        ReportRecipientFactory(client=invoices[1].client, active_from=since)
    counts = []
    for invoice in invoices:
        url = reverse("billing:invoice", args=[invoice.pk])
        admin_client.get(url)  # the session and anything cached once
        with CaptureQueriesContext(connection) as queries:
            assert "送り先: " in admin_client.get(url).content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1]
