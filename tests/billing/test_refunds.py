"""An issued invoice below zero is a refund to the client: settling it records
the refund paid out (返金済み, 返金日), never a payment received; an invoice of
0 yen neither asks for a payment nor owes a refund."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from answering.models import Call
from answering.services import correct_call
from billing.models import Invoice, InvoiceStatus
from billing.selectors import unsettled_cancellations
from billing.services import (
    add_adjustment,
    bill_month,
    mark_paid,
    mark_refunded,
    refuse_cancellation_into_paid_months,
    void_and_reissue,
)
from clients.models import Client
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.factories import ClientPlanFactory, ClientUserFactory

SEPTEMBER = dt.date(2026, 9, 1)
NOVEMBER = dt.date(2026, 11, 1)
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
    assert '<span class="badge ok">返金済み</span>' in page

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
    assert "返金済み（2026年11月25日）" in detail and "入金済み" not in detail

    changelist = admin_client.get(reverse("admin:billing_invoice_changelist"))
    assert "返金済み" in changelist.content.decode()
    change = admin_client.get(
        reverse("admin:billing_invoice_change", args=[refund.pk])
    ).content.decode()
    assert "返金済み" in change and "返金日" in change
    assert "入金済み" not in change and "入金日" not in change


def test_a_bad_date_is_said_on_the_form_the_page_shows_or_why_there_is_none(
    admin_client, refund
):
    # The refund's own form: the error beside what was typed.
    response = admin_client.post(
        reverse("billing:mark_refunded", args=[refund.pk]),
        {"refund-refunded_on": "2026-02-30"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        'value="2026-02-30"' in page and "2026-02-30 という日付はありません。" in page
    )
    # 入金済みにする from a page opened before the invoice was known to be a
    # refund (it shows no such form): why it cannot be, not a silent page.
    response = admin_client.post(
        reverse("billing:mark_paid", args=[refund.pk]),
        {"paid-paid_on": "2026-02-30"},
        follow=True,
    )
    assert "入金済みにはできません" in response.content.decode()
    refund.refresh_from_db()
    assert refund.status == InvoiceStatus.ISSUED


def test_a_paid_invoice_still_reads_paid(admin_client, small):
    client = contracted_client(small)
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    invoice = Invoice.objects.get(client=client)
    mark_paid(invoice=invoice, paid_on=REFUNDED_ON, today=LATER)
    page = _page(admin_client, "billing:invoice", invoice)
    assert "入金日: 2026年11月25日" in page and "返金" not in page
    change = _page(admin_client, "admin:billing_invoice_change", invoice)
    assert "入金済み" in change and "入金日" in change and "返金日" not in change


# Every advice about a settled invoice speaks of a refund paid out, not of a
# payment received, when the invoice is a refund.


def _refunded(invoice, on=REFUNDED_ON):
    return mark_refunded(invoice=invoice, refunded_on=on, today=LATER)


@pytest.fixture
def credited(small):
    """Not cancelled: September (25 calls, 3,700 yen) paid, then credited in
    full, which takes October (2,960 and a 300 yen surcharge) below zero."""
    client = contracted_client(small, name="株式会社返金商事")
    calls(client, 25, at=jst(2026, 9, 15))
    calls(client, 1, at=jst(2026, 10, 5), surcharge_yen=300, surcharge_reason="長時間")
    earlier = timezone.now() - dt.timedelta(days=3)
    Call.objects.update(created_at=earlier, updated_at=earlier)
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    september = Invoice.objects.get(client=client, billing_month=SEPTEMBER)
    mark_paid(invoice=september, paid_on=dt.date(2026, 10, 20), today=LATER)
    add_adjustment(invoice=september, amount_yen=3700, reason="誤請求")
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert october.total_yen == 2960 + 300 - 3700
    return october


def test_a_refunded_invoice_cannot_be_voided_and_says_refunded(refund):
    _refunded(refund)
    with pytest.raises(ValidationError) as refused:
        void_and_reissue(invoice=refund, reason="宛名の誤り", today=LATER)
    assert refused.value.messages == [
        "発行済み（未返金）の請求書だけを無効にできます。"
    ]


def test_changed_calls_on_a_refunded_invoice_say_refunded(admin_client, credited):
    _refunded(credited)
    call = Call.objects.get(client=credited.client, surcharge_yen=300)
    correct_call(
        call=call,
        corrected_by=None,
        changes={"surcharge_yen": 0, "surcharge_reason": ""},
    )
    page = _page(admin_client, "billing:invoice", credited)
    assert (
        "返金済みのため、請求しすぎの分を訂正（減額）として登録してください。" in page
    )
    assert "入金済み" not in page


def test_a_late_call_on_a_refunded_final_invoice_says_refunded(admin_client, refund):
    _refunded(refund)
    calls(
        refund.client,
        1,
        at=jst(2026, 10, 30),
        surcharge_yen=300,
        surcharge_reason="長時間",
    )
    page = _page(admin_client, "billing:invoice", refund)
    assert "返金済みのため、再発行できません。" in page
    assert "入金済み" not in page


def test_a_credit_for_a_cancelled_clients_refund_speaks_of_refunds(refund):
    with pytest.raises(ValidationError) as refused:
        add_adjustment(invoice=refund, amount_yen=100, reason="誤請求")
    assert (
        "未返金なら請求書を無効にして再発行し、返金済みなら返金で対応してください。"
        in refused.value.messages[0]
    )


def test_a_cancellation_into_a_refunded_month_says_refunded(credited):
    _refunded(credited)
    with pytest.raises(ValidationError) as refused:
        refuse_cancellation_into_paid_months(
            client_id=credited.client_id, cancelled_on=dt.date(2026, 10, 31)
        )
    assert (
        f"2026年10月分の請求書（請求書番号 {credited.number_display}）は"
        "返金済みのため、" in refused.value.messages[0]
    )


def test_settlement_advice_on_a_refunded_final_invoice_says_refunded(small):
    """Cancelled at the end of November, October (with the deposit) unpaid and
    credited in full: November, the final invoice, is a refund that keeps the
    deposit held, refunded before October is paid."""
    client = contracted_client(small, cancelled_on=dt.date(2026, 11, 30))
    calls(client, 21)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    add_adjustment(invoice=october, amount_yen=3108, reason="誤請求")
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    november = Invoice.objects.get(client=client, billing_month=NOVEMBER)
    assert november.total_yen == 2960 - 3108
    _refunded(november, dt.date(2026, 12, 10))
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.advice.endswith(
        "この請求書は返金済みで再発行できないため、入金を確認してから、"
        "保証金の返金はシステムの外（振込など）でご対応ください。"
    )
    mark_paid(invoice=october, paid_on=dt.date(2026, 12, 20), today=LATER)
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.advice.endswith(
        "返金済みのため再発行できません。返金はシステムの外（振込など）でご対応ください。"
    )


def test_a_refunded_invoice_beyond_the_contract_says_refunded(refund):
    _refunded(refund)
    Client.objects.filter(pk=refund.client_id).update(cancelled_on=dt.date(2026, 9, 30))
    (unsettled,) = unsettled_cancellations(month=OCTOBER)
    assert unsettled.advice.startswith(
        "解約日（2026年9月30日）より後の月の請求書が返金済みです。"
    )


def test_the_admin_filters_refunded_invoices_apart_from_paid_ones(
    admin_client, refund, small
):
    september = Invoice.objects.get(client=refund.client, billing_month=SEPTEMBER)
    _refunded(refund)
    unpaid = contracted_client(small, name="株式会社未払商事")
    bill_month(month=OCTOBER, client_ids=[unpaid.pk], issue=True, today=ISSUED_ON)
    issued = Invoice.objects.get(client=unpaid)
    changelist = reverse("admin:billing_invoice_changelist")

    def listed(status):
        response = admin_client.get(changelist, {"status": status})
        assert response.status_code == 200
        return {invoice.pk for invoice in response.context["cl"].result_list}

    assert listed("paid") == {september.pk}
    assert listed("refunded") == {refund.pk}
    assert listed("issued") == {issued.pk}
    page = admin_client.get(changelist).content.decode()
    assert '?status=refunded"' in page and "返金済み</a>" in page
    # A value of no choice (an old bookmark, a typo) lists everything.
    assert listed("bogus") == {september.pk, refund.pk, issued.pk}


def test_the_staff_page_of_a_refund_shows_no_payment_due_date(admin_client, refund):
    page = _page(admin_client, "billing:invoice", refund)
    assert "お支払いは不要です" in page
    assert refund.due_label not in page
    assert f"{refund.due_on:%Y年%-m月%-d日}" not in page


def test_the_portal_says_what_an_issued_invoice_awaits(small, refund, zero):
    """An issued invoice the client has not paid reads 未入金 in its portal
    list and on its page (it read 発行済み, which says nothing of the money);
    a refund not paid out yet reads 未返金, and one of 0 yen, which awaits
    nothing, stays 発行済み."""
    client = contracted_client(small, name="株式会社未入金商事")
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    unpaid = Invoice.objects.get(client=client)

    for invoice, label in ((unpaid, "未入金"), (refund, "未返金"), (zero, "発行済み")):
        portal = DjangoClient()
        portal.force_login(ClientUserFactory(client=invoice.client))
        listing = portal.get(reverse("portal:invoices")).content.decode()
        assert f'<span class="badge invoice-issued">{label}</span>' in listing
        assert f"<dt>状態</dt><dd>{label}</dd>" in _page(
            portal, "portal:invoice", invoice
        )

    mark_paid(invoice=unpaid, paid_on=REFUNDED_ON, today=LATER)
    portal = DjangoClient()
    portal.force_login(ClientUserFactory(client=client))
    listing = portal.get(reverse("portal:invoices")).content.decode()
    assert '<span class="badge invoice-paid">入金済み</span>' in listing
    assert "未入金" not in listing
