"""The admin's month end in a real browser: the month's issue holds back a
draft whose data changed, the message links to it, its page issues it, and
the notice says the due date once."""

import pytest
from django.core import mail

from answering.models import Call, Category
from answering.services import correct_call
from billing import services as billing_services
from billing.models import Invoice, InvoiceStatus
from clients.months import japan_today, previous_month
from tests import factories
from tests.billing.factories import calls, jst

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_held_back_draft_is_opened_from_the_message_and_issued_on_its_page(
    live, open_as
):
    plans = factories.make_plans()
    month = previous_month(japan_today())
    client = factories.ClientFactory(name="株式会社青葉商事")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    factories.ReportRecipientFactory(client=client, pc_email="aoba@example.jp")
    calls(client, 21, at=jst(month.year, month.month, 20))
    other = factories.ClientFactory(name="株式会社緑町工務店")
    factories.ClientPlanFactory(client=other, plan=plans["small"])
    billing_services.bill_month(month=month)
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    base = live["server"].url
    page = open_as(factories.AdminFactory())
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{base}/billing/?month={month:%Y-%m}")
    page.click("main button.primary")  # 下書き 2 件を発行
    page.wait_for_load_state()
    assert "1 件を発行しました。" in page.inner_text(".messages")
    held = page.locator(".messages .msg-warning a")
    assert held.inner_text() == "株式会社青葉商事"

    held.click()
    page.wait_for_load_state()
    draft = Invoice.objects.get(client=client, status=InvoiceStatus.DRAFT)
    assert page.url == f"{base}/billing/invoices/{draft.pk}/"
    # The 発行する card stands apart from the lines above it.
    gap = page.evaluate(
        """() => document.querySelector("#issue").getBoundingClientRect().top
        - document.querySelector("main table").getBoundingClientRect().bottom"""
    )
    assert gap >= 12, gap

    page.click("#issue button")
    page.wait_for_load_state()
    issued = Invoice.objects.get(pk=draft.pk)
    assert issued.status == InvoiceStatus.ISSUED
    assert page.url == f"{base}/billing/invoices/{draft.pk}/"
    assert f"請求書 {issued.number_display} を発行しました。" in page.inner_text(
        ".messages"
    )
    assert "発行済み" in page.inner_text("h1")

    billing_services.send_invoice_notices()
    [notice] = [m for m in mail.outbox if m.to == ["aoba@example.jp"]]
    due = f"{issued.due_on.year}年{issued.due_on.month}月{issued.due_on.day}日"
    assert notice.body.count(due) == 1
    assert f"お支払期限: {due}\nお支払い方法: 銀行振込\n" in notice.body
