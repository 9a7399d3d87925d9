"""A credit entered against an issued invoice, and a void and reissue of that
invoice, never both give the client the same money back.

The reissue is built from current data: a call corrected to a sales call after
the original was issued is no longer billed on it. A credit recorded for that
same call still waits for the next invoice. Both together refunded it twice."""

import contextlib
import datetime as dt
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from answering.models import Call, Category
from answering.services import correct_call
from billing.models import Adjustment, Invoice, InvoiceLine, InvoiceStatus, LineKind
from billing.services import (
    add_adjustment,
    bill_month,
    delete_adjustment,
    void_and_reissue,
)
from tests.billing.factories import (
    LATER,
    OCTOBER,
    calls,
    contracted_client,
    jst,
    void_confirmed,
)

NOVEMBER = dt.date(2026, 11, 1)
# Small plan: 148 yen per call beyond the 20 included.
PER_CALL = 148


@pytest.fixture
def october(small):
    """October issued with 25 calls (5 over); then one of them is corrected to
    a sales call: 148 yen billed too much, and credited for it."""
    client = contracted_client(small)
    calls(client, 25, at=jst(2026, 10, 20))
    earlier = timezone.now() - dt.timedelta(days=3)
    Call.objects.update(created_at=earlier, updated_at=earlier)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    invoice = Invoice.objects.get(client=client)
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    add_adjustment(invoice=invoice, amount_yen=PER_CALL, reason="営業電話の誤分類")
    return invoice


def _live(client, month):
    return Invoice.objects.exclude(status=InvoiceStatus.VOID).get(
        client=client, billing_month=month
    )


def _credited_yen(original: Invoice) -> int:
    """What the client got back for October: what its live invoice bills less
    than the original, plus the credits against it on later invoices."""
    october = _live(original.client, OCTOBER)
    later = InvoiceLine.objects.filter(
        invoice__client=original.client,
        invoice__billing_month__gt=OCTOBER,
        kind=LineKind.ADJUSTMENT,
        adjustment__corrects_invoice=original,
    ).exclude(invoice__status=InvoiceStatus.VOID)
    return (original.total_yen - october.total_yen) - later.aggregate(
        total=Sum("amount_yen", default=0)
    )["total"]


def test_a_credited_error_is_never_refunded_twice_by_a_reissue(october):
    with contextlib.suppress(ValidationError):
        void_and_reissue(invoice=october, reason="営業電話の誤分類", today=LATER)
    bill_month(month=NOVEMBER, issue=True, today=LATER)
    assert _credited_yen(october) == PER_CALL


def test_the_reissue_is_refused_naming_the_credit_until_it_is_deleted(october):
    with pytest.raises(ValidationError) as refused:
        void_and_reissue(invoice=october, reason="営業電話の誤分類", today=LATER)
    (message,) = refused.value.messages
    assert "-148円（営業電話の誤分類）" in message
    assert "削除してから" in message
    assert _live(october.client, OCTOBER) == october

    delete_adjustment(adjustment=Adjustment.objects.get())
    new = void_and_reissue(invoice=october, reason="営業電話の誤分類", today=LATER)
    assert new.total_yen == october.total_yen - PER_CALL
    bill_month(month=NOVEMBER, issue=True, today=LATER)
    assert _credited_yen(october) == PER_CALL


def test_a_credit_a_draft_deducts_refuses_the_reissue_too(october):
    bill_month(month=NOVEMBER, today=LATER)
    assert Adjustment.objects.get().applied_to.status == InvoiceStatus.DRAFT
    with pytest.raises(ValidationError, match="削除してから"):
        void_and_reissue(invoice=october, reason="営業電話の誤分類", today=LATER)
    bill_month(month=NOVEMBER, issue=True, today=LATER)
    assert _credited_yen(october) == PER_CALL


def test_a_credit_already_deducted_on_an_issued_invoice_refuses_the_reissue(
    october,
):
    bill_month(month=NOVEMBER, issue=True, today=LATER)
    november = _live(october.client, NOVEMBER)
    with pytest.raises(ValidationError) as refused:
        void_and_reissue(invoice=october, reason="営業電話の誤分類", today=LATER)
    (message,) = refused.value.messages
    assert f"請求書 {november.number_display} で減額済み" in message
    assert _credited_yen(october) == PER_CALL


def test_credits_against_earlier_invoices_do_not_hold_up_the_reissue(small):
    """A credit the invoice carries (for an earlier month) moves to the
    reissue, as before: it is not one against the voided invoice."""
    client = contracted_client(small)
    bill_month(month=dt.date(2026, 9, 1), issue=True, today=dt.date(2026, 10, 2))
    september = _live(client, dt.date(2026, 9, 1))
    add_adjustment(invoice=september, amount_yen=100, reason="割増料金の誤り")
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = _live(client, OCTOBER)
    new = void_and_reissue(invoice=october, reason="宛名の誤り", today=LATER)
    assert new.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -100


def test_the_invoice_page_says_why_it_cannot_be_reissued(admin_client, october):
    page = admin_client.get(reverse("billing:invoice", args=[october.pk]))
    html = page.content.decode()
    assert 'id="void-refused"' in html and "-148円（営業電話の誤分類）" in html
    assert reverse("billing:void", args=[october.pk]) not in html
    credit = Adjustment.objects.get()
    assert reverse("admin:billing_adjustment_delete", args=[credit.pk]) in html
    response = admin_client.post(
        reverse("billing:void", args=[october.pk]),
        void_confirmed("営業電話の誤分類"),
        follow=True,
    )
    assert "削除してから" in response.content.decode()
    assert _live(october.client, OCTOBER) == october


def _delete_link(html: str, credit) -> str:
    delete = reverse("admin:billing_adjustment_delete", args=[credit.pk])
    match = re.search(rf'href="({re.escape(delete)}[^"]*)"', html)
    assert match, html
    return unescape(match.group(1))


def test_deleting_the_credit_from_the_invoice_page_returns_to_it(admin_client, october):
    invoice_url = reverse("billing:invoice", args=[october.pk])
    credit = Adjustment.objects.get()
    link = _delete_link(admin_client.get(invoice_url).content.decode(), credit)
    assert admin_client.get(link).status_code == 200  # the admin's confirmation
    response = admin_client.post(link, {"post": "yes"}, follow=True)
    assert response.redirect_chain == [(invoice_url, 302)]
    html = response.content.decode()
    assert not Adjustment.objects.exists()
    assert "削除しました" in html
    # Nothing refuses the reissue any more: the void form is back.
    assert 'id="void-refused"' not in html
    assert reverse("billing:void", args=[october.pk]) in html


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:x"],
)
def test_deleting_a_credit_never_leaves_the_site(admin_client, october, next_url):
    credit = Adjustment.objects.get()
    delete = reverse("admin:billing_adjustment_delete", args=[credit.pk])
    response = admin_client.post(
        f"{delete}?{urlencode({'next': next_url})}", {"post": "yes"}
    )
    assert response.status_code == 302
    assert response.url == reverse("admin:billing_adjustment_changelist")
    assert not Adjustment.objects.exists()
