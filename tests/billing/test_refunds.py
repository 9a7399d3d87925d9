"""An issued invoice below zero is a refund to the client: settling it records
the refund paid out (返金済み, 返金日), never a payment received; an invoice of
0 yen neither asks for a payment nor owes a refund."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as DjangoClient
from django.urls import reverse

from billing.models import Invoice, InvoiceStatus
from billing.services import (
    add_adjustment,
    bill_month,
    mark_paid,
    mark_refunded,
)
from clients.models import Client
from tests.billing.factories import LATER, OCTOBER, contracted_client
from tests.factories import ClientPlanFactory, ClientUserFactory

SEPTEMBER = dt.date(2026, 9, 1)
ISSUED_ON = dt.date(2026, 11, 2)
REFUNDED_ON = dt.date(2026, 11, 25)


@pytest.fixture
def refund(small, standard):
    """On Standard (deposit 11,040), down to Small for its last month, October:
    the final invoice charges 2,960 and returns 11,040, a refund of 8,080."""
    client = contracted_client(standard, name="株式会社解約商事")
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    mark_paid(
        invoice=Invoice.objects.get(client=client),
        paid_on=dt.date(2026, 10, 20),
        today=LATER,
    )
    ClientPlanFactory(client=client, plan=small, effective_month=OCTOBER)
    Client.objects.filter(pk=client.pk).update(cancelled_on=dt.date(2026, 10, 31))
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    final = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert (final.status, final.total_yen) == (InvoiceStatus.ISSUED, -8080)
    return final


@pytest.fixture
def zero(small):
    """September comes to 0 yen: a credit for August took its whole charge."""
    client = contracted_client(small)
    august = dt.date(2026, 8, 1)
    bill_month(month=august, issue=True, today=dt.date(2026, 9, 2))
    august_invoice = Invoice.objects.get(client=client, billing_month=august)
    mark_paid(invoice=august_invoice, paid_on=dt.date(2026, 9, 20), today=LATER)
    add_adjustment(invoice=august_invoice, amount_yen=2960, reason="誤請求")
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    september = Invoice.objects.get(client=client, billing_month=SEPTEMBER)
    assert (september.status, september.total_yen) == (InvoiceStatus.ISSUED, 0)
    return september


def _page(browser, name, invoice) -> str:
    return browser.get(reverse(name, args=[invoice.pk])).content.decode()


def test_a_refund_cannot_be_marked_paid(refund):
    with pytest.raises(ValidationError) as refused:
        mark_paid(invoice=refund, paid_on=REFUNDED_ON, today=LATER)
    assert refused.value.messages == [
        "この請求書はご返金（8,080 円）のため、入金済みにはできません。"
        "返金したら「返金済みにする」で返金日を記録してください。"
    ]
    refund.refresh_from_db()
    assert (refund.status, refund.paid_on) == (InvoiceStatus.ISSUED, None)


def test_a_refund_paid_out_is_recorded_with_its_date(refund):
    settled = mark_refunded(invoice=refund, refunded_on=REFUNDED_ON, today=LATER)
    assert (settled.status, settled.paid_on) == (InvoiceStatus.PAID, REFUNDED_ON)
    assert settled.status_label == "返金済み"
    assert settled.settled_on_label == "返金日"
    with pytest.raises(ValidationError) as again:
        mark_refunded(invoice=refund, refunded_on=LATER, today=LATER)
    assert again.value.messages == ["この請求書はすでに返金済みです。"]


@pytest.mark.parametrize(
    ("refunded_on", "message"),
    [
        (ISSUED_ON - dt.timedelta(days=1), "返金日は発行日（2026年11月2日）より前"),
        (LATER + dt.timedelta(days=1), "返金日に未来の日付は入れられません。"),
    ],
)
def test_a_refund_date_lies_between_the_issue_date_and_today(
    refund, refunded_on, message
):
    with pytest.raises(ValidationError) as refused:
        mark_refunded(invoice=refund, refunded_on=refunded_on, today=LATER)
    assert message in refused.value.message_dict["refunded_on"][0]
    refund.refresh_from_db()
    assert refund.status == InvoiceStatus.ISSUED


def test_an_invoice_the_client_pays_cannot_be_marked_refunded(small):
    client = contracted_client(small)
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    invoice = Invoice.objects.get(client=client)
    with pytest.raises(ValidationError) as refused:
        mark_refunded(invoice=invoice, refunded_on=REFUNDED_ON, today=LATER)
    assert refused.value.messages[0].startswith(
        "この請求書はご請求（5,920 円）のため、返金済みにはできません。"
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED


def test_a_zero_yen_invoice_is_neither_paid_nor_refunded(admin_client, zero):
    for settle in (
        lambda: mark_paid(invoice=zero, paid_on=LATER, today=LATER),
        lambda: mark_refunded(invoice=zero, refunded_on=LATER, today=LATER),
    ):
        with pytest.raises(ValidationError) as refused:
            settle()
        assert "入金・返金の記録は不要です。" in refused.value.messages[0]
    page = _page(admin_client, "billing:invoice", zero)
    assert "入金・返金の記録は不要です。" in page
    assert "入金済みにする" not in page and "返金済みにする" not in page


def test_the_refund_page_offers_refunded_and_shows_it_everywhere(admin_client, refund):
    page = _page(admin_client, "billing:invoice", refund)
    assert "返金済みにする" in page and "入金済みにする" not in page

    response = admin_client.post(
        reverse("billing:mark_paid", args=[refund.pk]),
        {"paid-paid_on": "2026-11-25"},
        follow=True,
    )
    assert "入金済みにはできません" in response.content.decode()
    response = admin_client.post(
        reverse("billing:mark_refunded", args=[refund.pk]),
        {"refund-refunded_on": "2026-11-25"},
        follow=True,
    )
    page = response.content.decode()
    assert "返金済みにしました。" in page
    assert "返金日: 2026年11月25日" in page
    assert "入金" not in page.split("<h1>")[1].split("</h1>")[0]
    assert '<span class="badge">返金済み</span>' in page

    month = admin_client.get(reverse("billing:month") + "?month=2026-10")
    month_page = month.content.decode()
    assert "返金済み</span>" in month_page and "入金済み</span>" not in month_page
    assert "入金済み 0 件、返金済み 1 件" in month_page

    portal = DjangoClient()
    portal.force_login(ClientUserFactory(client=refund.client))
    listing = portal.get(reverse("portal:invoices")).content.decode()
    # September's invoice, paid by the client, still reads 入金済み.
    assert listing.count("返金済み") == 1 and listing.count("入金済み") == 1
    detail = _page(portal, "portal:invoice", refund)
    assert "返金済み（2026/11/25）" in detail and "入金済み" not in detail

    changelist = admin_client.get(reverse("admin:billing_invoice_changelist"))
    assert "返金済み" in changelist.content.decode()
    change = admin_client.get(
        reverse("admin:billing_invoice_change", args=[refund.pk])
    ).content.decode()
    assert "返金済み" in change and "返金日" in change
    assert "入金済み" not in change and "入金日" not in change


def test_a_paid_invoice_still_reads_paid(admin_client, small):
    client = contracted_client(small)
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    invoice = Invoice.objects.get(client=client)
    mark_paid(invoice=invoice, paid_on=REFUNDED_ON, today=LATER)
    page = _page(admin_client, "billing:invoice", invoice)
    assert "入金日: 2026年11月25日" in page and "返金" not in page
    change = _page(admin_client, "admin:billing_invoice_change", invoice)
    assert "入金済み" in change and "入金日" in change and "返金日" not in change
