"""入金の記録を取り消す: a payment recorded by mistake on the staff invoice page
is taken back there, after a confirmation page (no script), back to 未入金 with
the history saying who did it; never a refund paid out, nor a payment a later
invoice relied on (the final invoice's deposit return)."""

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Invoice, InvoiceStatus, LineKind
from billing.services import add_adjustment, bill_month, mark_paid, mark_refunded
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client
from tests.html_forms import form_values

NOVEMBER = dt.date(2026, 11, 1)
PAID_ON = "2026-11-20"


def post_on(browser, name, invoice, data=None):
    return browser.post(reverse(name, args=[invoice.pk]), data or {}, follow=True)


def page_of(browser, invoice) -> str:
    return browser.get(reverse("billing:invoice", args=[invoice.pk])).content.decode()


@pytest.fixture
def paid(admin_client, issued):
    post_on(admin_client, "billing:mark_paid", issued, {"paid-paid_on": PAID_ON})
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.PAID
    return issued


def test_a_payment_recorded_by_mistake_is_taken_back_after_a_confirmation(
    admin_client, admin, paid
):
    admin_client.force_login(admin)
    page = page_of(admin_client, paid)
    assert "入金の記録を取り消す" in page
    assert 'id="settle"' not in page  # no 入金済みにする on a paid invoice

    # The button only asks: what will happen, and nothing happened yet.
    response = post_on(admin_client, "billing:undo_payment", paid)
    confirm = response.content.decode()
    assert response.status_code == 200
    assert (
        f"請求書 {paid.number_display} の入金の記録（入金日 2026年11月20日）"
        "を取り消し、未入金に戻します。"
    ) in confirm
    assert "請求書の履歴に残ります" in confirm
    assert f'href="{reverse("billing:invoice", args=[paid.pk])}">戻る' in confirm
    paid.refresh_from_db()
    assert paid.status == InvoiceStatus.PAID

    # 実行する posts the confirmation page's own form, unchanged.
    sent = form_values(confirm, "unpay-confirm-form")
    response = post_on(admin_client, "billing:undo_payment", paid, sent)
    page = response.content.decode()
    assert "入金の記録を取り消し、未入金に戻しました。" in page
    assert 'id="settle"' in page and "入金済みにする" in page
    assert "入金の記録を取り消す" not in page
    paid.refresh_from_db()
    assert (paid.status, paid.paid_on) == (InvoiceStatus.ISSUED, None)

    # The invoice's history in the Django admin says who undid it.
    history = admin_client.get(
        reverse("admin:billing_invoice_history", args=[paid.pk])
    ).content.decode()
    assert "入金の記録を取り消し" in history
    assert admin.get_username() in history
    latest = paid.history.first()
    assert (latest.history_user, latest.status) == (admin, InvoiceStatus.ISSUED)


def test_an_unpaid_invoice_has_nothing_to_take_back_and_says_so(admin_client, issued):
    assert "入金の記録を取り消す" not in page_of(admin_client, issued)
    # A stale page, or 実行する sent twice.
    for _ in range(2):
        response = post_on(
            admin_client, "billing:undo_payment", issued, {"unpay-confirmed": "True"}
        )
    assert response.redirect_chain == [
        (reverse("billing:invoice", args=[issued.pk]), 302)
    ]
    assert "入金済みの請求書だけ、入金の記録を取り消せます。" in (
        response.content.decode()
    )
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.ISSUED


@pytest.fixture
def deposit_returned(small):
    """Cancelled at the end of November: October (with the deposit) paid, so
    November's final invoice returned the deposit; with a credit for October,
    a refund of 1,000 yen."""
    client = contracted_client(small, cancelled_on=dt.date(2026, 11, 30))
    calls(client, 21)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    mark_paid(invoice=october, paid_on=dt.date(2026, 11, 20), today=LATER)
    add_adjustment(invoice=october, amount_yen=1000, reason="誤請求")
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    final = Invoice.objects.get(client=client, billing_month=NOVEMBER)
    assert final.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    assert final.refund_yen == 1000
    return october, final


def test_a_payment_the_final_invoice_returned_the_deposit_on_stays(
    admin_client, deposit_returned
):
    october, final = deposit_returned
    refusal = (
        f"2026年11月分の請求書 {final.number_display}（発行済み）が、この入金を前提に"
        "保証金を返金しているため、入金の記録は取り消せません。"
    )
    page = page_of(admin_client, october)
    assert refusal in page
    assert 'action="' + reverse("billing:undo_payment", args=[october.pk]) not in page
    # Sent from a page that still showed the button: refused, said, unchanged.
    for data in ({}, {"unpay-confirmed": "True"}):
        response = post_on(admin_client, "billing:undo_payment", october, data)
        assert refusal in response.content.decode()
    october.refresh_from_db()
    assert october.status == InvoiceStatus.PAID


def test_a_refund_paid_out_offers_no_undo(admin_client, deposit_returned):
    _october, final = deposit_returned
    mark_refunded(invoice=final, refunded_on=dt.date(2026, 12, 10), today=LATER)
    page = page_of(admin_client, final)
    assert "返金済み" in page
    assert "入金の記録を取り消す" not in page
    response = post_on(
        admin_client, "billing:undo_payment", final, {"unpay-confirmed": "True"}
    )
    assert "返金済みの記録は、この画面からは取り消せません。" in (
        response.content.decode()
    )
    final.refresh_from_db()
    assert final.status == InvoiceStatus.PAID
