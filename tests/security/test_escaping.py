"""Caller-typed text is shown harmlessly everywhere it goes: pages, e-mail and
Chatwork. The text goes in through the operator console, as it does in life."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from answering.models import Call
from billing import services as billing_services
from clients.months import japan_today, month_start, next_month
from reporting import services as reporting_services
from tests import factories

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
NOTATION = "[info][title]x[/title][/info] [To:123] [toall]"
HEADER = "x\r\nBcc: evil@example.com"

TYPED = {
    "category": "normal",
    "caller_name": SCRIPT,
    "caller_company": IMG,
    "callback_number": "03-1234-5678",
    "purpose": f"{NOTATION}\r\n{HEADER}\r\n{SCRIPT}",
    "addressee": HEADER,
    "demeanour_note": NOTATION,
    "note": IMG,
    "surcharge_yen": "300",
    "surcharge_reason": f"{SCRIPT} {NOTATION}",
}
RAW_MARKUP = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")


def assert_escaped(html: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def log_call_through_console(client, operator, customer) -> Call:
    client.force_login(operator)
    url = f"{reverse('console:call_new')}?client={customer.pk}"
    response = client.post(url, TYPED)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Call.objects.get(client=customer)


@pytest.fixture
def world():
    plans = factories.make_plans()
    customer = factories.ClientFactory(report_by_chatwork=True, chatwork_room_id="777")
    factories.ClientPlanFactory(client=customer, plan=plans["small"])
    recipient = factories.ReportRecipientFactory(
        client=customer,
        pc_email="boss@example.jp",
        mobile_email="boss@mobile.example.jp",
    )
    return {
        "customer": customer,
        "recipient": recipient,
        "operator": factories.OperatorFactory(),
        "admin": factories.AdminFactory(),
        "client_user": factories.ClientUserFactory(client=customer),
    }


def test_pages_escape_caller_text(client, world):
    call = log_call_through_console(client, world["operator"], world["customer"])
    assert call.caller_name == SCRIPT  # stored as typed, escaped when shown
    customer = world["customer"]

    pages = [
        reverse("console:home"),
        f"{reverse('console:call_new')}?client={customer.pk}&saved={call.pk}",
        reverse("console:call_edit", args=[call.pk]),
        reverse("reporting:call_deliveries", args=[call.pk]),
    ]
    # A correction puts the text into the call's revision history as well.
    corrected = {**TYPED, "purpose": f"{SCRIPT}{IMG}", "note": SCRIPT}
    response = client.post(reverse("console:call_edit", args=[call.pk]), corrected)
    assert response.status_code == 302
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode())

    client.force_login(world["client_user"])
    for url in (
        reverse("portal:call", args=[call.pk]),
        reverse("portal:calls"),
        f"{reverse('portal:calls')}?q=script",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode())

    this_month = month_start(japan_today())  # billed as if it had ended
    billing_services.bill_month(month=this_month, today=next_month(this_month))
    invoice = customer.invoices.get()
    assert invoice.lines.filter(description__contains=SCRIPT).exists()
    client.force_login(world["admin"])
    response = client.get(reverse("billing:invoice", args=[invoice.pk]))
    assert response.status_code == 200
    assert_escaped(response.content.decode())


def test_a_validation_error_redisplays_the_text_escaped(client, world):
    client.force_login(world["operator"])
    url = f"{reverse('console:call_new')}?client={world['customer'].pk}"
    response = client.post(url, {**TYPED, "callback_number": IMG})
    assert response.status_code == 200  # the form again, with an error
    html = response.content.decode()
    assert_escaped(html)
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_email_has_no_injected_header_or_recipient(client, world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    log_call_through_console(client, world["operator"], world["customer"])
    reporting_services.relay_due_deliveries()

    assert len(mail.outbox) == 2
    addresses = sorted(a for m in mail.outbox for a in m.recipients())
    assert addresses == ["boss@example.jp", "boss@mobile.example.jp"]
    for message in mail.outbox:
        assert "\r" not in message.subject and "\n" not in message.subject
        raw = message.message().as_bytes().decode()
        head = raw.split("\n\n", 1)[0]
        assert not re.search(r"(?im)^bcc:", head)
        assert "evil@example.com" not in head


def test_smtp_peer_receives_one_recipient_per_message_and_no_bcc(
    client, world, smtp_peer
):
    log_call_through_console(client, world["operator"], world["customer"])
    reporting_services.relay_due_deliveries()

    assert smtp_peer.count() == 2
    assert sorted(to for m in smtp_peer.messages for to in m["to"]) == [
        "boss@example.jp",
        "boss@mobile.example.jp",
    ]
    for message in smtp_peer.messages:
        assert "bcc" not in message["headers"]
        assert all("evil@" not in value for value in message["headers"].values())
        assert "\n" not in message["subject"]
    pc = next(m for m in smtp_peer.messages if m["to"] == ["boss@example.jp"])
    # In the body the text stays as typed (plain text mail): visible, not obeyed.
    assert "Bcc: evil@example.com" in pc["body"]
    assert SCRIPT in pc["body"]


def test_chatwork_message_neutralises_notation(client, world, chatwork_peer):
    log_call_through_console(client, world["operator"], world["customer"])
    reporting_services.relay_due_deliveries()

    (post,) = chatwork_peer.posts
    body = post["body"]
    assert post["room"] == "777"
    # Exactly the frame the service opens and closes, nothing the caller typed.
    assert body.startswith("[info][title]") and body.endswith("[/info]")
    assert body.count("[info]") == 1 and body.count("[/info]") == 1
    assert body.count("[title]") == 1 and body.count("[/title]") == 1
    assert "[To:123]" not in body and "[toall]" not in body
    assert re.search(r"\[(to|To|toall|rp|qt|code|hr|picon|piconname)\b", body) is None
    # The caller's words are still there, as plain text with full-width brackets.
    assert "［To:123］" in body and "［toall］" in body
    assert "［info］［title］x［/title］［/info］" in body
