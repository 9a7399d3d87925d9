"""The final settlement of a cancelled client: its final invoice (the month of
its cancellation) takes every credit still waiting and returns the deposit when
nothing is owed, exactly once, whatever the order in which invoices were paid,
issued, voided or the cancellation recorded. A deposit kept because an earlier
invoice was unpaid is shown to the admin until a reissue returns it."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse

from answering.models import Call, Category
from answering.services import correct_call
from billing.models import Adjustment, Invoice, InvoiceLine, InvoiceStatus, LineKind
from billing.selectors import unsettled_cancellations
from billing.services import (
    add_adjustment,
    bill_month,
    issue_invoices,
    mark_paid,
    void_and_reissue,
)
from clients.models import Client
from tests.billing.factories import (
    LATER,
    OCTOBER,
    calls,
    contracted_client,
    jst,
    void_confirmed,
)
from tests.html_forms import form_values

SEPTEMBER = dt.date(2026, 9, 1)
NOVEMBER = dt.date(2026, 11, 1)


def live(client, month):
    return Invoice.objects.exclude(status=InvoiceStatus.VOID).get(
        client=client, billing_month=month
    )


def deposit_held_yen(client):
    """What the client's live invoices leave held: billed minus returned."""
    return (
        InvoiceLine.objects.filter(
            invoice__client=client,
            kind__in=[LineKind.DEPOSIT, LineKind.DEPOSIT_RETURN],
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .aggregate(held=Sum("amount_yen", default=0))["held"]
    )


def cancel(client, on):
    Client.objects.filter(pk=client.pk).update(
        status=Client.Status.CANCELLED, cancelled_on=on
    )
    client.refresh_from_db()


def final_month_url():
    return reverse("billing:month") + "?month=2026-11"


@pytest.fixture
def october_billed(small):
    """Cancelled at the end of November; October's invoice (with the deposit)
    issued and not paid yet."""
    client = contracted_client(small, cancelled_on=dt.date(2026, 11, 30))
    calls(client, 21)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    assert live(client, OCTOBER).lines.get(kind=LineKind.DEPOSIT).amount_yen == 2960
    return client


def test_paid_before_the_final_month_is_billed_the_deposit_is_returned_at_once(
    admin_client, october_billed
):
    mark_paid(
        invoice=live(october_billed, OCTOBER),
        paid_on=dt.date(2026, 11, 30),
        today=LATER,
    )
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    final = live(october_billed, NOVEMBER)
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    # The deposit is no sale: the 10% total and its tax leave it out.
    assert (final.taxable_10_yen, final.tax_10_yen) == (2960, 269)
    assert (final.non_taxable_yen, final.total_yen) == (-2960, 0)
    assert deposit_held_yen(october_billed) == 0
    assert unsettled_cancellations(month=NOVEMBER) == []
    assert 'id="unsettled"' not in admin_client.get(final_month_url()).content.decode()


def test_the_deposit_stays_held_while_an_earlier_invoice_is_unpaid(
    admin_client, october_billed
):
    """October is still unpaid when November, the final month, is billed: the
    final invoice keeps the deposit, and the billing pages say why and what to
    do once October is paid."""
    october = live(october_billed, OCTOBER)
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    kept = live(october_billed, NOVEMBER)
    assert not kept.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    assert (kept.taxable_10_yen, kept.non_taxable_yen, kept.total_yen) == (
        2960,
        0,
        2960,
    )
    assert deposit_held_yen(october_billed) == 2960
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.invoice == kept
    assert (unsettled.deposit_yen, unsettled.credits_yen) == (2960, 0)
    assert unsettled.unpaid_numbers == (october.number_display,)
    advice = (
        f"前月までの請求書（請求書番号 {october.number_display}）が未入金のため、"
        "保証金 2,960 円はお預かりしたままです。入金を確認したら、この請求書を"
        "無効にして再発行してください。再発行した請求書で保証金が返金されます。"
    )
    assert unsettled.advice == advice
    assert advice in admin_client.get(final_month_url()).content.decode()
    page = admin_client.get(reverse("billing:invoice", args=[kept.pk]))
    assert advice in page.content.decode()


def test_once_the_earlier_invoice_is_paid_the_final_reissue_returns_the_deposit_once(
    admin_client, october_billed
):
    october = live(october_billed, OCTOBER)
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    kept = live(october_billed, NOVEMBER)
    # October's payment is recorded on its page: the admin is told there.
    response = admin_client.post(
        reverse("billing:mark_paid", args=[october.pk]),
        {"paid-paid_on": "2026-11-20"},
        follow=True,
    )
    assert live(october_billed, OCTOBER).status == InvoiceStatus.PAID
    advice = (
        "前月までに未入金の請求書はありません。解約月の請求書に精算"
        "（保証金の返金 2,960 円）が入っていません。無効にして再発行すると、"
        "再発行した請求書で精算されます。"
    )
    assert (
        f"解約月（2026年11月分）の請求書 {kept.number_display}：{advice}"
        in response.content.decode()
    )
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.invoice == kept
    assert unsettled.advice == advice
    month_page = admin_client.get(final_month_url()).content.decode()
    assert advice in month_page
    assert "お預かりしたまま" not in month_page

    final = void_and_reissue(invoice=kept, reason="保証金の返金", today=LATER)
    assert final.replaces == kept
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert (final.taxable_10_yen, final.tax_10_yen) == (2960, 269)
    assert (final.non_taxable_yen, final.total_yen) == (-2960, 0)
    assert deposit_held_yen(october_billed) == 0
    assert unsettled_cancellations(month=NOVEMBER) == []
    assert 'id="unsettled"' not in admin_client.get(final_month_url()).content.decode()
    page = admin_client.get(reverse("billing:invoice", args=[final.pk]))
    assert "解約の精算" not in page.content.decode()
    # Reissued again (another correction): returned once, not twice.
    again = void_and_reissue(invoice=final, reason="宛名の誤り", today=LATER)
    assert list(
        again.lines.filter(kind=LineKind.DEPOSIT_RETURN).values_list(
            "amount_yen", flat=True
        )
    ) == [-2960]
    assert again.total_yen == 0
    assert deposit_held_yen(october_billed) == 0


def test_a_reissue_while_the_earlier_invoice_is_unpaid_still_keeps_the_deposit(
    october_billed,
):
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    kept = live(october_billed, NOVEMBER)
    again = void_and_reissue(invoice=kept, reason="宛名の誤り", today=LATER)
    assert not again.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    assert deposit_held_yen(october_billed) == 2960
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.invoice == again
    assert unsettled.deposit_held_for_unpaid


def test_a_final_invoice_paid_while_the_deposit_is_held_says_to_refund(
    october_billed,
):
    october = live(october_billed, OCTOBER)
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    kept = live(october_billed, NOVEMBER)
    mark_paid(invoice=kept, paid_on=dt.date(2026, 12, 10), today=LATER)
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.advice == (
        f"前月までの請求書（請求書番号 {october.number_display}）が未入金のため、"
        "保証金 2,960 円はお預かりしたままです。この請求書は入金済みで再発行"
        "できないため、入金を確認してから、保証金の返金はシステムの外"
        "（振込など）でご対応ください。"
    )
    mark_paid(invoice=october, paid_on=dt.date(2026, 12, 20), today=LATER)
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.advice == (
        "前月までに未入金の請求書はありません。解約月の請求書に精算"
        "（保証金の返金 2,960 円）が入っていません。入金済みのため再発行"
        "できません。返金はシステムの外（振込など）でご対応ください。"
    )


def test_a_final_draft_built_while_owing_takes_the_deposit_when_built_again(
    october_billed,
):
    october = live(october_billed, OCTOBER)
    bill_month(month=NOVEMBER, today=dt.date(2026, 12, 1))
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.invoice.status == InvoiceStatus.DRAFT
    assert "「下書きを作成・更新」を押すと、保証金の返金が入ります" in unsettled.advice
    mark_paid(invoice=october, paid_on=dt.date(2026, 12, 10), today=LATER)
    bill_month(month=NOVEMBER, issue=True, today=LATER)
    final = live(october_billed, NOVEMBER)
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert unsettled_cancellations(month=NOVEMBER) == []


@pytest.fixture
def back_dated(small, admin):
    """Billed and paid for September (with the deposit), October issued as an
    ordinary month, a credit against September waiting for November; then the
    cancellation, effective 31 October, is recorded on 5 November."""
    client = contracted_client(small)
    calls(client, 21, at=jst(2026, 9, 15))
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    september = live(client, SEPTEMBER)
    mark_paid(invoice=september, paid_on=dt.date(2026, 10, 20), today=LATER)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    add_adjustment(invoice=september, amount_yen=148, reason="営業電話の誤分類")
    cancel(client, dt.date(2026, 10, 31))
    return client


def test_a_cancellation_dated_into_an_issued_month_is_shown_unsettled(back_dated):
    october = live(back_dated, OCTOBER)
    (unsettled,) = unsettled_cancellations(month=OCTOBER)
    assert unsettled.invoice == october
    assert not unsettled.beyond_contract
    assert (unsettled.deposit_yen, unsettled.credits_yen) == (2960, 148)
    # November is not billed: the contract ended with October.
    bill_month(month=NOVEMBER, today=LATER)
    assert not Invoice.objects.filter(client=back_dated, billing_month=NOVEMBER)


def test_reissuing_the_final_month_settles_the_deposit_and_credits_once(
    back_dated,
):
    october = live(back_dated, OCTOBER)
    final = void_and_reissue(invoice=october, reason="解約日の登録漏れ", today=LATER)
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert final.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -148
    assert final.taxable_10_yen == october.taxable_10_yen - 148
    assert final.total_yen == october.total_yen - 148 - 2960
    assert deposit_held_yen(back_dated) == 0
    assert not Adjustment.objects.filter(client=back_dated, applied_to=None)
    assert unsettled_cancellations(month=OCTOBER) == []
    # Reissued again (another correction): settled once, not twice.
    again = void_and_reissue(invoice=final, reason="宛名の誤り", today=LATER)
    assert again.total_yen == final.total_yen
    assert deposit_held_yen(back_dated) == 0


def test_a_month_after_the_cancellation_is_voided_before_the_final_is_reissued(
    small,
):
    """Cancelled back to 30 September after October was issued: October has no
    contract behind it (voided, not reissued), and its credit goes, with the
    deposit, on September's reissue, the final invoice. Reissuing September
    while October is still live is refused: the credit would stay on October."""
    client = contracted_client(small)
    bill_month(month=dt.date(2026, 8, 1), issue=True, today=dt.date(2026, 9, 2))
    august = live(client, dt.date(2026, 8, 1))
    mark_paid(invoice=august, paid_on=dt.date(2026, 9, 20), today=LATER)
    add_adjustment(invoice=august, amount_yen=100, reason="割増料金の誤り")
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    add_adjustment(invoice=august, amount_yen=50, reason="もう1件")
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    september, october = live(client, SEPTEMBER), live(client, OCTOBER)
    assert september.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -100
    assert october.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -50
    cancel(client, dt.date(2026, 9, 30))
    shown = {u.invoice: u for u in unsettled_cancellations()}
    assert shown[october].beyond_contract
    assert shown[september].deposit_yen == 2960
    with pytest.raises(ValidationError, match=october.number_display):
        void_and_reissue(invoice=september, reason="解約日の訂正", today=LATER)
    assert void_and_reissue(invoice=october, reason="解約後の月", today=LATER) is None
    final = void_and_reissue(invoice=september, reason="解約日の訂正", today=LATER)
    assert sorted(
        final.lines.filter(kind=LineKind.ADJUSTMENT).values_list(
            "amount_yen", flat=True
        )
    ) == [-100, -50]
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert deposit_held_yen(client) == 0
    assert unsettled_cancellations() == []


def test_a_final_invoice_paid_before_it_was_reissued_says_to_refund(back_dated):
    october = live(back_dated, OCTOBER)
    mark_paid(invoice=october, paid_on=dt.date(2026, 11, 20), today=LATER)
    (unsettled,) = unsettled_cancellations(month=OCTOBER)
    assert unsettled.invoice.status == InvoiceStatus.PAID
    assert "返金" in unsettled.advice


def test_the_billing_pages_say_what_to_do(admin_client, back_dated):
    october = live(back_dated, OCTOBER)
    advice = (
        "解約月の請求書に精算（保証金の返金 2,960 円、未反映の訂正 148 円）が"
        "入っていません。無効にして再発行すると、再発行した請求書で精算されます。"
    )
    month_page = admin_client.get(reverse("billing:month") + "?month=2026-10")
    assert advice in month_page.content.decode()
    page = admin_client.get(reverse("billing:invoice", args=[october.pk]))
    assert advice in page.content.decode()
    response = admin_client.post(
        reverse("billing:void", args=[october.pk]),
        void_confirmed("解約日の登録漏れ"),
        follow=True,
    )
    assert "解約の精算" not in response.content.decode()
    assert live(back_dated, OCTOBER).total_yen == october.total_yen - 148 - 2960


def test_a_cancellation_dated_into_a_month_already_paid_is_refused(admin_client, small):
    """No invoice could settle it: a paid invoice is neither changed nor
    reissued. Into a month issued but unpaid, it is accepted (reissued then)."""
    client = contracted_client(small)
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    september = live(client, SEPTEMBER)
    mark_paid(invoice=september, paid_on=dt.date(2026, 10, 20), today=LATER)
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(status=Client.Status.CANCELLED, cancelled_on="2026-09-30")
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert (
        f"2026年9月分の請求書（請求書番号 {september.number_display}）は入金済み"
        in page.content.decode()
    )
    assert "2026年10月31日 以降の月末" in page.content.decode()
    client.refresh_from_db()
    assert client.cancelled_on is None
    data.update(cancelled_on="2026-10-31")
    assert admin_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.cancelled_on == dt.date(2026, 10, 31)
    # Saving the client again (its notes) is not a new cancellation date.
    mark_paid(invoice=live(client, OCTOBER), paid_on=dt.date(2026, 11, 20), today=LATER)
    data.update(operator_notes="解約済み")
    assert admin_client.post(url, data).status_code == 302


def test_a_later_month_paid_meanwhile_does_not_stop_the_final_reissue(small):
    """October, after a cancellation dated back to September, was paid before
    it could be voided: September's reissue was refused until October was
    voided, which a paid invoice cannot be, and the deposit was never settled."""
    client = contracted_client(small)
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    cancel(client, dt.date(2026, 9, 30))  # October issued, not yet paid
    mark_paid(invoice=live(client, OCTOBER), paid_on=dt.date(2026, 11, 20), today=LATER)
    advice = {u.invoice.billing_month: u.advice for u in unsettled_cancellations()}
    assert "無効にして再発行すると" in advice[SEPTEMBER]
    assert "返金" in advice[OCTOBER]
    september = void_and_reissue(
        invoice=live(client, SEPTEMBER), reason="解約日の登録漏れ", today=LATER
    )
    assert september.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert deposit_held_yen(client) == 0
    # Only the paid month after the contract is left for the admin to refund.
    assert [u.invoice.billing_month for u in unsettled_cancellations()] == [OCTOBER]


@pytest.fixture
def october_held_back(small):
    """Cancelled at the end of November; October, its first month (with the
    deposit), was built as a draft, held back by the issue check (a call
    reclassified as sales after it was built) and left a draft."""
    client = contracted_client(small, cancelled_on=dt.date(2026, 11, 30))
    calls(client, 21)
    bill_month(month=OCTOBER, today=dt.date(2026, 11, 2))
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    result = issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2))
    assert (result.issued, len(result.held)) == (0, 1)
    october = live(client, OCTOBER)
    assert october.status == InvoiceStatus.DRAFT
    assert october.lines.get(kind=LineKind.DEPOSIT).amount_yen == 2960
    return client


def test_an_earlier_month_still_a_draft_keeps_the_deposit(
    admin_client, october_held_back
):
    """October is still to be issued when November, the final month, is
    billed: the final invoice must not return a deposit that October has not
    even charged yet. The billing pages say why and what to do."""
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    kept = live(october_held_back, NOVEMBER)
    assert not kept.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    assert (kept.non_taxable_yen, kept.total_yen) == (0, 2960)
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.invoice == kept
    assert unsettled.unpaid_numbers == ()
    assert unsettled.draft_months == (OCTOBER,)
    assert unsettled.deposit_held_for_unpaid
    advice = (
        "前月までに発行または入金の済んでいない月があるため、保証金 2,960 円は"
        "お預かりしたままです（2026年10月分は下書きのまま未発行）。先にその月の"
        "請求の一覧で下書きを作成・確認し、発行してください。入金を確認したら、"
        "この請求書を無効にして再発行してください。再発行した請求書で保証金が"
        "返金されます。"
    )
    assert unsettled.advice == advice
    assert advice in admin_client.get(final_month_url()).content.decode()
    page = admin_client.get(reverse("billing:invoice", args=[kept.pk]))
    assert advice in page.content.decode()

    # October issued, not paid yet: the advice the code gives for an unpaid one.
    assert issue_invoices(month=OCTOBER, today=dt.date(2026, 12, 2)).issued == 1
    october = live(october_held_back, OCTOBER)
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.advice.startswith(
        f"前月までの請求書（請求書番号 {october.number_display}）が未入金のため、"
    )
    # Paid: the final reissue returns the deposit October charged, once.
    mark_paid(invoice=october, paid_on=dt.date(2026, 12, 10), today=LATER)
    final = void_and_reissue(invoice=kept, reason="保証金の返金", today=LATER)
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert deposit_held_yen(october_held_back) == 0
    assert unsettled_cancellations(month=NOVEMBER) == []


def test_an_earlier_draft_and_an_unpaid_invoice_are_both_named(small):
    client = contracted_client(small, cancelled_on=dt.date(2026, 11, 30))
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    september = live(client, SEPTEMBER)
    bill_month(month=OCTOBER, today=dt.date(2026, 11, 2))
    bill_month(month=NOVEMBER, today=dt.date(2026, 12, 1))
    final = live(client, NOVEMBER)
    assert not final.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.advice == (
        "前月までに発行または入金の済んでいない月があるため、保証金 2,960 円は"
        f"お預かりしたままです（請求書番号 {september.number_display} は未入金、"
        "2026年10月分は下書きのまま未発行）。先にその月の請求の一覧で下書きを"
        "作成・確認し、発行してください。入金を確認してから「下書きを作成・更新」"
        "を押すと、保証金の返金が入ります。"
    )


def test_the_final_months_own_draft_does_not_keep_the_deposit(
    admin_client, october_billed
):
    """Built, built again and issued with the issue check: the final month's
    own draft is no earlier month still to be issued."""
    mark_paid(
        invoice=live(october_billed, OCTOBER),
        paid_on=dt.date(2026, 11, 30),
        today=LATER,
    )
    bill_month(month=NOVEMBER, today=dt.date(2026, 12, 1))
    bill_month(month=NOVEMBER, today=dt.date(2026, 12, 1))
    result = issue_invoices(month=NOVEMBER, today=dt.date(2026, 12, 2))
    assert (result.issued, result.held) == (1, ())
    final = live(october_billed, NOVEMBER)
    assert final.status == InvoiceStatus.ISSUED
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert unsettled_cancellations(month=NOVEMBER) == []


def test_an_earlier_invoice_that_asks_for_nothing_does_not_keep_the_deposit(small):
    """September came to 0 yen (a credit for August took its whole charge): it
    asks for no payment, so nothing is owed on it and the final invoice returns
    the deposit, instead of waiting for a 0-yen invoice to be marked paid."""
    client = contracted_client(small)
    august = dt.date(2026, 8, 1)
    bill_month(month=august, issue=True, today=dt.date(2026, 9, 2))
    mark_paid(invoice=live(client, august), paid_on=dt.date(2026, 9, 20), today=LATER)
    add_adjustment(invoice=live(client, august), amount_yen=2960, reason="誤請求")
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    september = live(client, SEPTEMBER)
    assert (september.status, september.total_yen) == (InvoiceStatus.ISSUED, 0)
    cancel(client, dt.date(2026, 10, 31))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    final = live(client, OCTOBER)
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert deposit_held_yen(client) == 0
    assert unsettled_cancellations(month=OCTOBER) == []


def test_an_earlier_month_not_built_yet_keeps_the_deposit(admin_client, small):
    """November, the final month, built before October (an admin may run the
    months in any order): October is a charge still to come, so the final
    invoice keeps the deposit and the pages say which month to build first."""
    client = contracted_client(small, cancelled_on=dt.date(2026, 11, 30))
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    mark_paid(
        invoice=live(client, SEPTEMBER), paid_on=dt.date(2026, 10, 20), today=LATER
    )
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    kept = live(client, NOVEMBER)
    assert not kept.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    (unsettled,) = unsettled_cancellations(month=NOVEMBER)
    assert unsettled.missing_months == (OCTOBER,)
    advice = (
        "前月までに発行または入金の済んでいない月があるため、保証金 2,960 円は"
        "お預かりしたままです（2026年10月分は請求書が未作成）。先にその月の"
        "請求の一覧で下書きを作成・確認し、発行してください。"
    )
    assert unsettled.advice.startswith(advice)
    assert advice in admin_client.get(final_month_url()).content.decode()

    bill_month(month=OCTOBER, issue=True, today=LATER)
    mark_paid(invoice=live(client, OCTOBER), paid_on=LATER, today=LATER)
    final = void_and_reissue(invoice=kept, reason="保証金の返金", today=LATER)
    assert final.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960
    assert deposit_held_yen(client) == 0
    assert unsettled_cancellations(month=NOVEMBER) == []
