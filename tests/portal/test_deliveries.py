import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from answering.models import Category
from reporting.models import Delivery
from reporting.services import queue_call_reports, record_correction
from tests.factories import CallFactory, OperatorFactory, ReportRecipientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported_call(portal_user):
    client = portal_user.client
    ReportRecipientFactory(
        client=client, pc_email="boss@example.jp", mobile_email="boss-m@example.jp"
    )
    call = CallFactory(client=client, caller_name="報告された方")
    deliveries = queue_call_reports(call=call)
    assert len(deliveries) == 2
    return call


def fail(delivery, *, bounced):
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED,
        failed_at=timezone.now(),
        bounced=bounced,
        last_error="550 5.1.1 user unknown",
    )


def send(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )


def test_the_call_page_shows_each_delivery(portal, reported_call):
    pc = reported_call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    mobile = reported_call.deliveries.get(channel=Delivery.Channel.EMAIL_MOBILE)
    send(pc)
    fail(mobile, bounced=True)
    body = portal.get(reverse("portal:call", args=[reported_call.pk])).content.decode()
    assert "boss@example.jp" in body and "boss-m@example.jp" in body
    assert "送信済み" in body and "送信失敗" in body
    assert "受け取りを拒否されました" in body
    assert "550 5.1.1" not in body  # the raw server error stays with the admins


def test_a_call_waiting_to_be_sent(portal, reported_call):
    body = portal.get(reverse("portal:call", args=[reported_call.pk])).content.decode()
    assert body.count("送信待ち") == 2


def test_the_history_marks_calls_whose_report_failed(
    portal, reported_call, portal_user
):
    CallFactory(client=portal_user.client, caller_name="普通の方")
    url = reverse("portal:calls")
    assert "報告を送信できませんでした" not in portal.get(url).content.decode()
    fail(reported_call.deliveries.first(), bounced=False)
    response = portal.get(url)
    flagged = [r.caller_name for r in response.context["rows"] if r.report_failed]
    assert flagged == ["報告された方"]


def test_home_lists_undelivered_reports_and_bouncing_addresses(portal, reported_call):
    assert (
        "届けられなかった報告"
        not in portal.get(reverse("portal:home")).content.decode()
    )
    pc = reported_call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    mobile = reported_call.deliveries.get(channel=Delivery.Channel.EMAIL_MOBILE)
    send(pc)
    fail(mobile, bounced=True)
    body = portal.get(reverse("portal:home")).content.decode()
    assert "届けられなかった報告" in body
    assert "送信できなかった報告が1件" in body
    assert "boss-m@example.jp" in body
    assert "boss@example.jp" not in body  # that one was delivered
    assert "別のアドレスをお知らせください" in body
    assert reverse("portal:call", args=[reported_call.pk]) in body


def test_a_carrier_address_that_bounced_asks_the_client_to_allow_our_mail(
    portal, portal_user, settings
):
    """docomo, au and SoftBank refuse mail their subscriber's spam settings
    block with "unknown user": the client read only 別のアドレスをお知らせください,
    when allowing our address on the phone was the fix."""
    settings.DEFAULT_FROM_EMAIL = "株式会社テスト電話秘書 <report@example.jp>"
    ReportRecipientFactory(
        client=portal_user.client,
        pc_email="boss@example.jp",
        mobile_email="boss@docomo.ne.jp",
    )
    call = CallFactory(client=portal_user.client)
    queue_call_reports(call=call)
    for delivery in call.deliveries.all():
        fail(delivery, bounced=True)
    hint = "受信許可（指定受信）に report@example.jp を登録してください。"
    pages = [
        (reverse("portal:home"), "</li>"),
        (reverse("portal:call", args=[call.pk]), "</tr>"),
    ]
    for url, row_end in pages:
        body = portal.get(url).content.decode()
        assert body.count(hint) == 1, url
        carrier = body[body.index("boss@docomo.ne.jp") :]
        assert hint in carrier[: carrier.index(row_end)], url


def test_after_the_contract_a_bouncing_address_asks_for_no_change(
    portal, reported_call
):
    """The box still asked for another address, with a button to a page that
    takes no request once the contract has ended."""
    client = reported_call.client
    fail(
        reported_call.deliveries.get(channel=Delivery.Channel.EMAIL_MOBILE),
        bounced=True,
    )
    client.status = client.Status.CANCELLED
    client.cancelled_on = timezone.localdate() - dt.timedelta(days=1)
    client.save()
    body = portal.get(reverse("portal:home")).content.decode()
    assert "boss-m@example.jp" in body
    assert "別のアドレスをお知らせください" not in body
    assert "報告先の変更を依頼する" not in body


def test_home_leaves_out_a_failed_report_of_a_call_corrected_to_sales(
    portal, reported_call
):
    """Its report failed, then the call became a sales call: the home page still
    named the caller under 届けられなかった報告, with a link to a 404."""
    for delivery in reported_call.deliveries.all():
        fail(delivery, bounced=False)
    record_correction(
        call=reported_call,
        corrected_by=OperatorFactory(),
        changes={"category": Category.SALES},
    )
    call_url = reverse("portal:call", args=[reported_call.pk])
    assert portal.get(call_url).status_code == 404  # sales calls are never shown
    body = portal.get(reverse("portal:home")).content.decode()
    assert "報告された方" not in body
    assert call_url not in body
    assert "送信できなかった報告が" not in body


def test_a_corrected_calls_page_says_what_was_corrected(portal, reported_call):
    """The page showed the corrected number alone: a client who had already
    called the first one back could not tell it had changed, nor from what."""
    record_correction(
        call=reported_call,
        corrected_by=OperatorFactory(),
        changes={"callback_number": "+81366667777", "note": "社内メモ"},
    )
    body = portal.get(reverse("portal:call", args=[reported_call.pk])).content.decode()
    assert 'id="corrections"' in body
    # As the correction report said it: the field, old and new values.
    corrections = body[body.index('id="corrections"') :]
    assert re.search(
        r">折り返し先</td><td[^>]*>090-1234-5678</td><td[^>]*>03-6666-7777</td>",
        corrections,
    ), corrections
    # The operator's own memo is never in a report, nor here.
    assert "社内メモ" not in body


def test_the_newest_correction_is_listed_first(portal, reported_call):
    """As in the operator console: the last correction heads the table."""
    for number in ("+81366667777", "+81355558888"):
        record_correction(
            call=reported_call,
            corrected_by=OperatorFactory(),
            changes={"callback_number": number},
        )
    body = portal.get(reverse("portal:call", args=[reported_call.pk])).content.decode()
    corrections = body[body.index('id="corrections"') :]
    assert re.findall(r">折り返し先</td><td[^>]*>([-\d]+)</td>", corrections) == [
        "03-6666-7777",
        "090-1234-5678",
    ]


def test_an_uncorrected_calls_page_has_no_corrections(portal, reported_call):
    body = portal.get(reverse("portal:call", args=[reported_call.pk])).content.decode()
    assert 'id="corrections"' not in body
