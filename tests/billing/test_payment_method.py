"""How a client pays (口座振替 or 銀行振込): set on the client's admin page,
copied onto each invoice as it is issued, and said on the invoice's PDF, its
portal page and its admin page."""

import datetime as dt

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from billing.services import bill_month, mark_paid
from clients.models import Client, PaymentMethod
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client
from tests.billing.test_documents import pdf_text
from tests.factories import ClientPlanFactory, ClientUserFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

BANK = "みずほ銀行 神田支店 普通 7654321 カ）トウキヨウデンワヒシヨ"
TRANSFER = (
    "お支払期限までに振込先の口座へお振込みください（振込手数料はご負担ください）。"
)
DEBIT = "お引落日にご登録の口座から引き落とします。"
DUE = "2026年11月30日"


def _flat(text: str) -> str:
    return "".join(text.split())


def _issued(plan, **fields) -> Invoice:
    client = contracted_client(plan, **fields)
    calls(client, 3)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    return Invoice.objects.get(client=client, billing_month=OCTOBER)


def _portal_page(invoice: Invoice) -> str:
    portal = DjangoClient()
    portal.force_login(ClientUserFactory(client=invoice.client))
    return portal.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()


def _admin_page(admin_client, invoice: Invoice) -> str:
    return admin_client.get(
        reverse("billing:invoice", args=[invoice.pk])
    ).content.decode()


def test_a_bank_transfer_invoice_says_where_to_pay_by_the_due_date(
    small, settings, admin_client
):
    settings.COMPANY_BANK_ACCOUNT = BANK
    invoice = _issued(small)  # a new client pays by bank transfer
    assert invoice.due_on == dt.date(2026, 11, 30)

    text = _flat(pdf_text(render_invoice_pdf(invoice)))
    # The due date once, beside its label; the instructions refer to it.
    assert _flat(f"お支払期限{DUE}お支払い{TRANSFER}振込先{BANK}") in text
    assert text.count(DUE) == 1
    assert "引き落とします" not in text and "お引落日" not in text
    portal = _portal_page(invoice)
    assert f"<dt>お支払期限</dt><dd>{DUE}</dd>" in portal
    admin = _admin_page(admin_client, invoice)
    assert f"お支払期限: {DUE}" in admin
    assert f"銀行振込: {TRANSFER}" in admin
    for page in (portal, admin):
        assert TRANSFER in page and "お引落日" not in page
        assert BANK in page
        assert page.count(DUE) == 1


def test_a_direct_debit_invoice_says_when_the_account_is_debited(
    small, settings, admin_client
):
    settings.COMPANY_BANK_ACCOUNT = BANK
    invoice = _issued(small, payment_method=PaymentMethod.DIRECT_DEBIT)

    text = _flat(pdf_text(render_invoice_pdf(invoice)))
    assert _flat(f"お引落日{DUE}お支払い{DEBIT}") in text
    assert "お支払期限" not in text and text.count(DUE) == 1
    assert "お振込みください" not in text and _flat(BANK) not in text
    portal = _portal_page(invoice)
    assert f"<dt>お引落日</dt><dd>{DUE}</dd>" in portal
    admin = _admin_page(admin_client, invoice)
    assert f"お引落日: {DUE}" in admin
    assert f"口座振替: {DEBIT}" in admin
    for page in (portal, admin):
        assert DEBIT in page and "お支払期限" not in page
        assert BANK not in page and "お振込みください" not in page
        assert page.count(DUE) == 1


def test_an_issued_invoice_keeps_the_payment_method_and_account_it_was_issued_with(
    small, settings, admin_client
):
    settings.COMPANY_BANK_ACCOUNT = BANK
    invoice = _issued(small)
    Client.objects.filter(pk=invoice.client_id).update(
        payment_method=PaymentMethod.DIRECT_DEBIT
    )
    settings.COMPANY_BANK_ACCOUNT = "別の銀行 本店 普通 0000001 カ）ベツ"

    invoice = Invoice.objects.get(pk=invoice.pk)
    text = _flat(pdf_text(render_invoice_pdf(invoice)))
    assert _flat(TRANSFER) in text and _flat(BANK) in text
    assert "引き落とします" not in text and "別の銀行" not in text
    assert BANK in _portal_page(invoice)


def test_a_refund_on_direct_debit_is_paid_to_the_client_with_no_due_date(
    small, standard, settings
):
    """A final invoice returning more than it charges asks for nothing: it says
    the refund goes to the client's registered account, with no due date and no
    account to pay into."""
    settings.COMPANY_BANK_ACCOUNT = BANK
    client = contracted_client(
        standard, name="株式会社解約商事", payment_method=PaymentMethod.DIRECT_DEBIT
    )
    bill_month(month=dt.date(2026, 9, 1), issue=True, today=dt.date(2026, 10, 2))
    september = Invoice.objects.get(client=client)
    mark_paid(invoice=september, paid_on=dt.date(2026, 10, 20), today=LATER)
    ClientPlanFactory(client=client, plan=small, effective_month=OCTOBER)
    Client.objects.filter(pk=client.pk).update(cancelled_on=dt.date(2026, 10, 31))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    final = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert final.total_yen < 0

    refund = "お支払いは不要です。ご返金額はご登録の口座にお振込みいたします。"
    text = _flat(pdf_text(render_invoice_pdf(final)))
    assert _flat(refund) in text
    assert "お支払期限" not in text and "引き落とします" not in text
    assert _flat(BANK) not in text
    page = _portal_page(final)
    assert refund in page and "お支払期限" not in page and BANK not in page


def test_the_payment_method_is_chosen_on_the_clients_admin_page(small, admin_client):
    client = contracted_client(small)
    assert client.payment_method == PaymentMethod.BANK_TRANSFER
    url = reverse("admin:clients_client_change", args=[client.pk])
    page = admin_client.get(url).content.decode()
    assert "お支払い方法" in page and "口座振替" in page and "銀行振込" in page

    data = form_values(page, "client_form")
    data["payment_method"] = PaymentMethod.DIRECT_DEBIT
    assert admin_client.post(url, data).status_code == 302

    client.refresh_from_db()
    assert client.payment_method == PaymentMethod.DIRECT_DEBIT
