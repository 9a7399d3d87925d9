"""The monthly billing service against a real database."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation

from answering.models import Category
from billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind
from billing.selectors import month_to_date_usage
from billing.services import bill_month, issue_invoices
from clients.models import Client, LentNumber, NumberAssignment
from clients.selectors import monthly_extras
from clients.services import schedule_plan_change
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.factories import (
    ClientFactory,
    ClientPlanFactory,
    NumberAssignmentFactory,
    ReportRecipientFactory,
)

NOVEMBER = dt.date(2026, 11, 1)


def invoice_of(client, month=OCTOBER):
    return Invoice.objects.exclude(status=InvoiceStatus.VOID).get(
        client=client, billing_month=month
    )


def line(invoice, kind):
    return invoice.lines.get(kind=kind)


def billed_client(plan, **fields):
    """A client whose deposit was billed on an earlier, paid invoice."""
    client = contracted_client(plan, **fields)
    bill_month(month=dt.date(2026, 9, 1), client_ids=[client.pk], issue=True)
    Invoice.objects.filter(client=client).update(
        status=InvoiceStatus.PAID, paid_on=F("issued_on")
    )
    return client


@pytest.mark.parametrize(
    ("counted", "expected_yen"), [(0, 2960), (20, 2960), (21, 3108), (25, 3700)]
)
def test_worked_examples_small_plan(small, counted, expected_yen):
    client = billed_client(small)
    calls(client, counted)
    bill_month(month=OCTOBER)
    invoice = invoice_of(client)
    assert invoice.taxable_10_yen == expected_yen
    assert invoice.total_yen == expected_yen
    over = line(invoice, LineKind.CALL_OVER)
    assert (over.counted_calls, over.included_calls) == (counted, 20)
    assert over.over_calls == max(counted - 20, 0)
    assert over.unit_price_yen == 148


def test_sales_calls_are_free(small):
    client = billed_client(small)
    calls(client, 20)
    calls(client, 7, category=Category.SALES)
    bill_month(month=OCTOBER)
    assert invoice_of(client).total_yen == 2960


def test_grey_and_nuisance_calls_count(small):
    client = billed_client(small)
    calls(client, 19)
    calls(client, 1, category=Category.GREY)
    calls(client, 1, category=Category.NUISANCE)
    bill_month(month=OCTOBER)
    assert line(invoice_of(client), LineKind.CALL_OVER).counted_calls == 21
    assert invoice_of(client).total_yen == 3108


def test_worked_example_with_extras_and_tax(small):
    client = billed_client(small)
    calls(client, 24)
    calls(client, 3, category=Category.SALES)
    NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 3, 1))
    for _ in range(5):
        ReportRecipientFactory(client=client)
    bill_month(month=OCTOBER)
    invoice = invoice_of(client)
    assert invoice.taxable_10_yen == 5072
    assert invoice.tax_10_yen == 461
    assert line(invoice, LineKind.EXTRA_NUMBER).amount_yen == 1100
    recipients = line(invoice, LineKind.EXTRA_RECIPIENTS)
    assert (recipients.quantity, recipients.amount_yen) == (2, 420)


def test_japan_time_month_edges_with_server_in_utc(small, settings):
    settings.TIME_ZONE = "UTC"
    client = billed_client(small)
    with timezone.override("UTC"):
        # 23:59:59 JST on 30 Sep is 14:59:59 UTC: September, not October.
        calls(client, 1, at=jst(2026, 9, 30, 23, 59, 59))
        # 00:00:00 JST on 1 Oct is 15:00 UTC on 30 Sep: October.
        calls(client, 1, at=jst(2026, 10, 1, 0, 0, 0))
        calls(client, 1, at=jst(2026, 10, 31, 23, 59, 59))
        # 00:00:00 JST on 1 Nov is still 31 Oct in UTC: November.
        calls(client, 1, at=jst(2026, 11, 1, 0, 0, 0))
        bill_month(month=OCTOBER)
    assert line(invoice_of(client), LineKind.CALL_OVER).counted_calls == 2


def test_plan_change_at_last_second_applies_next_month(small, standard):
    client = billed_client(small)
    schedule_plan_change(
        client=client, plan=standard, now=jst(2026, 10, 31, 23, 59, 59)
    )
    calls(client, 25)
    calls(client, 3, at=jst(2026, 11, 2))
    bill_month(month=OCTOBER)
    bill_month(month=NOVEMBER, today=LATER)
    october, november = invoice_of(client), invoice_of(client, NOVEMBER)
    assert "スモール" in line(october, LineKind.PLAN_FEE).description
    assert october.taxable_10_yen == 3700
    assert "スタンダード" in line(november, LineKind.PLAN_FEE).description
    assert november.taxable_10_yen == 11040


def test_trial_calls_are_never_billed_and_contract_is_pro_rata(small):
    # Trial 10/5-10/14, contract from 10/15: 17 of 31 days billed.
    client = ClientFactory(
        trial_started_on=dt.date(2026, 10, 5), contract_started_on=dt.date(2026, 10, 15)
    )
    ClientPlanFactory(client=client, plan=small, effective_month=OCTOBER)
    calls(client, 30, at=jst(2026, 10, 14, 23, 59, 59))  # last trial second
    calls(client, 12, at=jst(2026, 10, 15, 0, 0, 0))
    bill_month(month=OCTOBER)
    invoice = invoice_of(client)
    assert invoice.period_start == dt.date(2026, 10, 15)
    fee = line(invoice, LineKind.PLAN_FEE)
    assert fee.amount_yen == 2960 * 17 // 31 == 1623
    over = line(invoice, LineKind.CALL_OVER)
    # 20 × 17/31 = 10.97 -> 11 included; 12 counted -> 1 over.
    assert (over.counted_calls, over.included_calls, over.over_calls) == (12, 11, 1)
    assert invoice.taxable_10_yen == 1623 + 148


def test_client_in_trial_all_month_or_cancelled_before_is_skipped(small):
    in_trial = ClientFactory(
        status=Client.Status.TRIAL,
        trial_started_on=dt.date(2026, 10, 25),
        contract_started_on=dt.date(2026, 10, 25),
    )
    ClientPlanFactory(client=in_trial, plan=small, effective_month=OCTOBER)
    gone = contracted_client(
        small, status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 9, 30)
    )
    active = contracted_client(small)
    summary = bill_month(month=OCTOBER)
    assert set(Invoice.objects.values_list("client_id", flat=True)) == {active.pk}
    assert summary.clients_billed == 1
    assert summary.clients_skipped == 1  # in trial; the cancelled one is not billable
    assert not Invoice.objects.filter(client=gone).exists()


def test_number_held_for_one_day_is_charged(small):
    client = billed_client(small)
    NumberAssignmentFactory(
        client=client,
        assigned_on=dt.date(2026, 10, 31),
        released_on=dt.date(2026, 10, 31),
    )
    NumberAssignmentFactory(
        client=client,
        assigned_on=dt.date(2026, 9, 1),
        released_on=dt.date(2026, 9, 30),
    )
    bill_month(month=OCTOBER)
    extra = invoice_of(client).lines.filter(kind=LineKind.EXTRA_NUMBER)
    assert extra.count() == 1
    assert extra.get().amount_yen == 1100


def test_a_fax_is_the_extra_number_even_when_lent_first(small):
    """The included number is the client's phone number; the line names the FAX."""
    client = billed_client(small)
    phone = client.number_assignments.get().number
    fax = NumberAssignmentFactory(
        client=client,
        use=NumberAssignment.Use.FAX,
        number__kind=LentNumber.Kind.FAX,
        assigned_on=dt.date(2024, 6, 1),
    ).number
    bill_month(month=OCTOBER)
    extra = line(invoice_of(client), LineKind.EXTRA_NUMBER)
    assert extra.description == f"追加番号 {fax.display}（FAX）"
    assert phone.display not in extra.description
    assert extra.amount_yen == 1100


def test_a_fax_costs_1100_yen_even_as_the_clients_only_number(small):
    """The included number is a phone number: a client whose only lent number is
    a FAX was billed nothing for it, and its admin page said 0 yen."""
    client = ClientFactory()
    ClientPlanFactory(client=client, plan=small, effective_month=dt.date(2025, 1, 1))
    fax = NumberAssignmentFactory(
        client=client,
        use=NumberAssignment.Use.FAX,
        number__kind=LentNumber.Kind.FAX,
        assigned_on=dt.date(2025, 1, 1),
    ).number
    bill_month(month=OCTOBER, client_ids=[client.pk], today=LATER)
    extra = line(invoice_of(client), LineKind.EXTRA_NUMBER)
    assert extra.description == f"追加番号 {fax.display}（FAX）"
    assert extra.amount_yen == 1100
    extras = monthly_extras(client=client, month=OCTOBER)
    assert (extras.extra_numbers, extras.extra_numbers_yen) == (1, 1100)


def test_lines_are_in_japanese_when_an_english_reading_admin_runs_the_month(small):
    client = billed_client(small)
    listed = NumberAssignmentFactory(
        client=client, use=NumberAssignment.Use.LISTED, assigned_on=dt.date(2026, 10, 3)
    ).number
    with translation.override("en"):
        bill_month(month=OCTOBER)
    extra = line(invoice_of(client), LineKind.EXTRA_NUMBER)
    assert extra.description == f"追加番号 {listed.display}（表記利用）"


def test_recipient_peak_counts_the_busiest_day(small):
    client = billed_client(small)
    # Three all month, one until 10/10, one from 10/20: never more than 4 at once.
    for _ in range(3):
        ReportRecipientFactory(client=client)
    ReportRecipientFactory(client=client, active_to=dt.date(2026, 10, 10))
    ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 20))
    bill_month(month=OCTOBER)
    extra = line(invoice_of(client), LineKind.EXTRA_RECIPIENTS)
    assert (extra.quantity, extra.amount_yen) == (1, 210)


def test_billing_extras_agree_with_clients_selector(small):
    from clients.selectors import monthly_extras

    client = billed_client(small)
    NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 10, 3))
    for _ in range(4):
        ReportRecipientFactory(client=client)
    bill_month(month=OCTOBER)
    invoice = invoice_of(client)
    billed = sum(
        line.amount_yen
        for line in invoice.lines.filter(
            kind__in=[LineKind.EXTRA_NUMBER, LineKind.EXTRA_RECIPIENTS]
        )
    )
    assert billed == monthly_extras(client=client, month=OCTOBER).total_yen == 1310


def test_surcharges_are_lines_with_reasons(small):
    client = billed_client(small)
    calls(client, 1, surcharge_yen=300, surcharge_reason="長時間の対応")
    calls(client, 1, surcharge_yen=200, surcharge_reason="折り返しの催促")
    calls(
        client,
        1,
        category=Category.SALES,
        surcharge_yen=300,
        surcharge_reason="営業電話（対象外）",
    )
    bill_month(month=OCTOBER)
    invoice = invoice_of(client)
    surcharges = invoice.lines.filter(kind=LineKind.SURCHARGE)
    assert sorted(s.amount_yen for s in surcharges) == [200, 300]
    assert any("長時間の対応" in s.description for s in surcharges)
    assert invoice.taxable_10_yen == 2960 + 500


def test_deposit_on_first_invoice_and_returned_on_final(small):
    client = contracted_client(small)
    bill_month(month=OCTOBER, issue=True)
    first = invoice_of(client)
    deposit = line(first, LineKind.DEPOSIT)
    assert deposit.amount_yen == 2960
    # Money held, not a sale: outside the 10% total and its tax.
    assert (first.taxable_10_yen, first.tax_10_yen) == (2960, 269)
    assert (first.non_taxable_yen, first.total_yen) == (2960, 5920)
    Invoice.objects.filter(pk=first.pk).update(
        status=InvoiceStatus.PAID, paid_on=F("issued_on")
    )
    # Not billed twice, even after a rerun of another month.
    bill_month(month=NOVEMBER, today=LATER)
    assert not invoice_of(client, NOVEMBER).lines.filter(kind=LineKind.DEPOSIT)
    # November issued and paid: nothing is owed when the final month is billed
    # (a November still a draft would keep the deposit, see test_settlement).
    bill_month(month=NOVEMBER, issue=True, today=LATER)
    Invoice.objects.filter(client=client, billing_month=NOVEMBER).update(
        status=InvoiceStatus.PAID, paid_on=F("issued_on")
    )
    # Cancelled in December (effective 31 Dec): the final invoice returns it.
    Client.objects.filter(pk=client.pk).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 12, 31)
    )
    bill_month(month=dt.date(2026, 12, 1), today=LATER)
    final = invoice_of(client, dt.date(2026, 12, 1))
    returned = line(final, LineKind.DEPOSIT_RETURN)
    assert returned.amount_yen == -2960
    assert (final.taxable_10_yen, final.tax_10_yen) == (2960, 269)
    assert final.total_yen == 0
    # Nothing after the final month.
    bill_month(month=dt.date(2027, 1, 1), today=LATER)
    assert not Invoice.objects.filter(billing_month=dt.date(2027, 1, 1)).exists()


def test_adjustment_credits_the_next_invoice(small, admin):
    from billing.services import add_adjustment

    client = billed_client(small)
    september = invoice_of(client, dt.date(2026, 9, 1))
    add_adjustment(
        invoice=september, amount_yen=148, reason="誤登録の1件", created_by=admin
    )
    bill_month(month=OCTOBER)
    bill_month(month=OCTOBER)  # a rerun applies it once
    invoice = invoice_of(client)
    credit = line(invoice, LineKind.ADJUSTMENT)
    assert credit.amount_yen == -148
    assert september.number_display in credit.description
    assert invoice.taxable_10_yen == 2960 - 148
    assert invoice.tax_10_yen == (2960 - 148) * 10 // 110


def test_rerun_refreshes_drafts_and_never_touches_issued(small):
    first = billed_client(small)
    second = billed_client(small)
    bill_month(month=OCTOBER)
    issue_invoices(month=OCTOBER, invoice_ids=[invoice_of(first).pk])
    issued_before = Invoice.objects.get(pk=invoice_of(first).pk)
    calls(first, 30)
    calls(second, 30)
    summary = bill_month(month=OCTOBER)
    assert Invoice.objects.filter(billing_month=OCTOBER).count() == 2
    assert summary.already_issued == 1
    issued_after = invoice_of(first)
    assert issued_after.total_yen == issued_before.total_yen == 2960
    assert issued_after.updated_at == issued_before.updated_at
    assert invoice_of(second).total_yen == 2960 + 10 * 148


def test_unique_constraint_backs_one_invoice_per_client_and_month(small):
    client = billed_client(small)
    bill_month(month=OCTOBER)
    existing = invoice_of(client)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            client=client,
            billing_month=OCTOBER,
            client_name=client.name,
            period_start=existing.period_start,
            period_end=existing.period_end,
        )


def test_issue_numbers_are_sequential_without_gaps(small):
    clients = [billed_client(small) for _ in range(3)]
    bill_month(month=OCTOBER)
    assert issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2)).issued == 3
    numbers = sorted(invoice_of(c).number for c in clients)
    september = Invoice.objects.filter(billing_month=dt.date(2026, 9, 1))
    all_numbers = sorted(september.values_list("number", flat=True)) + numbers
    assert all_numbers == list(range(1, len(all_numbers) + 1))
    invoice = invoice_of(clients[0])
    assert invoice.issued_on == dt.date(2026, 11, 2)
    assert invoice.due_on == dt.date(2026, 11, 30)
    assert invoice.company_registration_number == "T5010001234567"
    # Nothing left to issue.
    assert issue_invoices(month=OCTOBER).issued == 0


def test_drafts_are_hidden_from_the_portal_query(small):
    from billing.selectors import invoices_for_client

    client = billed_client(small)
    bill_month(month=OCTOBER)
    months = [i.billing_month for i in invoices_for_client(client=client)]
    assert months == [dt.date(2026, 9, 1)]
    assert list(Invoice.objects.filter(client=client).visible_to_client()) == list(
        invoices_for_client(client=client)
    )


def test_bill_month_lines_are_copied_prices(small):
    client = billed_client(small)
    calls(client, 21)
    bill_month(month=OCTOBER)
    small.prices.update(monthly_fee_yen=9999, per_call_yen=999)
    over = line(invoice_of(client), LineKind.CALL_OVER)
    assert (over.unit_price_yen, over.amount_yen) == (148, 148)
    assert InvoiceLine.objects.filter(invoice__client=client).exists()


def test_a_client_on_chatwork_alone_pays_no_email_recipients(small):
    from clients.selectors import monthly_extras

    client = billed_client(small)
    for _ in range(5):
        ReportRecipientFactory(client=client)
    Client.objects.filter(pk=client.pk).update(
        report_by_email=False, report_by_chatwork=True, chatwork_room_id="12345"
    )
    client.refresh_from_db()
    bill_month(month=OCTOBER)
    assert not invoice_of(client).lines.filter(kind=LineKind.EXTRA_RECIPIENTS)
    assert monthly_extras(client=client, month=OCTOBER).extra_recipients_yen == 0


def test_numbers_and_recipients_of_the_free_trial_days_are_not_billed(small):
    """Nothing is billed in the free trial: a number lent, or report recipients
    who stopped, before the first billed day cost nothing; a number still held
    after the trial costs the month's fee."""
    client = ClientFactory(
        trial_started_on=dt.date(2026, 10, 5), contract_started_on=dt.date(2026, 10, 5)
    )
    ClientPlanFactory(client=client, plan=small, effective_month=OCTOBER)
    NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 10, 5))
    trial_only = NumberAssignmentFactory(
        client=client,
        assigned_on=dt.date(2026, 10, 5),
        released_on=dt.date(2026, 10, 14),  # the trial's last day
    )
    kept = NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 10, 10))
    for _ in range(3):
        ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 5))
    for _ in range(2):
        ReportRecipientFactory(
            client=client,
            active_from=dt.date(2026, 10, 5),
            active_to=dt.date(2026, 10, 14),
        )
    bill_month(month=OCTOBER)
    invoice = invoice_of(client)
    assert invoice.period_start == dt.date(2026, 10, 15)
    (extra,) = invoice.lines.filter(kind=LineKind.EXTRA_NUMBER)
    assert kept.number.display in extra.description
    assert trial_only.number.display not in extra.description
    assert not invoice.lines.filter(kind=LineKind.EXTRA_RECIPIENTS)
    assert invoice.taxable_10_yen == 2960 * 17 // 31 + 1100
    # The month so far, as the portal and the admin pages show it, agrees.
    usage = month_to_date_usage(client=client, today=dt.date(2026, 10, 20))
    assert usage.extras_yen == 1100
