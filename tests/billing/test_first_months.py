"""A client's first months: what the admin enters after a month was billed
(the first plan, the contract's start, the trial, numbers and recipients) is
billed, or the admin is told, on the client's page and the month's page,
what was not billed and what to do."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.admin import helpers
from django.core.management import call_command
from django.urls import reverse

from billing.models import Invoice, InvoiceStatus, LineKind
from billing.selectors import (
    invoices_differing_from_data,
    unbilled_contracts,
    unbilled_months,
)
from billing.services import (
    add_adjustment,
    bill_month,
    issue_invoices,
    mark_paid,
    void_and_reissue,
)
from clients.models import Client
from clients.months import japan_today, next_month, previous_month
from clients.services import set_plan
from portal.services import apply_plan_change_request, request_plan_change
from tests import factories
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.html_forms import form_values

NOVEMBER = dt.date(2026, 11, 1)


def _lines(invoice):
    return [(line.kind, line.amount_yen) for line in invoice.lines.order_by("position")]


def _live(client, month):
    return (
        Invoice.objects.for_month(month)
        .exclude(status=InvoiceStatus.VOID)
        .get(client=client)
    )


def _new_client(**fields):
    """A client the admin signed up with its trial and contract dates, and no
    plan yet (the plan is set with the list's action, after saving)."""
    return factories.ClientFactory(status=Client.Status.TRIAL, **fields)


def test_a_first_plan_set_after_its_month_was_billed_is_named_then_billed(small):
    """October was run and issued while the client had no plan; the first plan
    entered in November applies from October. October's fee was never billed,
    and once the plan was there nothing named the client any more."""
    client = _new_client(
        name="遅れてプラン株式会社",
        trial_started_on=dt.date(2026, 10, 1),
        contract_started_on=dt.date(2026, 10, 1),
    )
    calls(client, 16, at=jst(2026, 10, 20))
    calls(client, 3, at=jst(2026, 10, 5))  # in the free trial: free
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    assert not Invoice.objects.filter(client=client).exists()

    result = set_plan(client=client, plan=small, now=jst(2026, 11, 5))
    assert result.effective_month == OCTOBER

    [missing] = unbilled_contracts(month=OCTOBER)
    assert missing.client_id == client.pk
    assert "「下書きを作成・更新」" in missing.reason
    assert [m.billing_month for m in unbilled_months(client=client)] == [OCTOBER]

    # November is billed first (the scheduled run): the client's first
    # invoice, with the deposit.
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 2))
    november = _live(client, NOVEMBER)
    assert _lines(november) == [
        (LineKind.PLAN_FEE, 2960),
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 2960),
    ]
    # October still named, on its page and the client's.
    assert [m.billing_month for m in unbilled_months(client=client)] == [OCTOBER]

    # The admin does what it says: October's draft, then issue.
    bill_month(month=OCTOBER, today=dt.date(2026, 12, 2))
    issue_invoices(month=OCTOBER, today=dt.date(2026, 12, 2))
    october = _live(client, OCTOBER)
    assert october.status == InvoiceStatus.ISSUED
    # From the 11th (after the 10-day trial): 21 of 31 days. Fee rounded down
    # (2,960 x 21 / 31 = 2,005.2), included calls rounded up (13.5 -> 14);
    # 16 counted calls, 2 over at 148. The deposit is on November's, once.
    assert _lines(october) == [(LineKind.PLAN_FEE, 2005), (LineKind.CALL_OVER, 296)]
    plan_line = october.lines.get(kind=LineKind.PLAN_FEE)
    assert "（21日/31日の日割り）" in plan_line.description
    over = october.lines.get(kind=LineKind.CALL_OVER)
    assert (over.counted_calls, over.included_calls, over.over_calls) == (16, 14, 2)
    assert october.total_yen == 2301
    assert october.period_start == dt.date(2026, 10, 11)
    assert unbilled_contracts(month=OCTOBER) == []
    assert unbilled_months(client=client) == []


def test_without_a_plan_yet_the_month_is_named_as_before(small):
    client = _new_client(
        trial_started_on=dt.date(2026, 10, 1), contract_started_on=dt.date(2026, 10, 1)
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    [missing] = unbilled_months(client=client, today=dt.date(2026, 11, 5))
    assert missing.billing_month == OCTOBER
    assert "この月のプランが登録されていません" in missing.reason


def test_months_before_the_system_billed_anyone_are_not_named(small):
    """A client older than the system: its months billed outside it."""
    client = contracted_client(small, contract_started_on=dt.date(2024, 4, 1))
    contracted_client(small, name="他社")
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    assert _live(client, OCTOBER).total_yen
    assert unbilled_months(client=client, today=dt.date(2026, 11, 5)) == []


def test_a_contract_start_moved_back_into_a_billed_month_is_named(small):
    """The contract was entered as starting in November; October had been
    issued for everyone when the admin corrected the start to October 15th."""
    contracted_client(small, name="他社")
    client = contracted_client(
        small,
        name="開始日訂正株式会社",
        effective_month=OCTOBER,
        contract_started_on=NOVEMBER,
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    assert not Invoice.objects.filter(client=client).exists()
    client.contract_started_on = dt.date(2026, 10, 15)
    client.save()
    [missing] = unbilled_months(client=client, today=dt.date(2026, 11, 5))
    assert missing.billing_month == OCTOBER
    bill_month(month=OCTOBER, today=dt.date(2026, 11, 5))
    issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 5))
    # 17 of 31 days: 2,960 x 17 / 31 = 1,623.2 -> 1,623; and the deposit.
    assert _lines(_live(client, OCTOBER)) == [
        (LineKind.PLAN_FEE, 1623),
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 2960),
    ]


def test_a_start_moved_back_within_an_issued_month_is_named_and_reissued(small):
    """October was issued pro rata from the 20th; the contract turned out to
    start on the 5th. The issued invoice never changes: named with what a
    reissue bills, and the reissue bills it."""
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=dt.date(2026, 10, 20)
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    issued = _live(client, OCTOBER)
    # 12 of 31 days: 2,960 x 12 / 31 = 1,145.8 -> 1,145; and the deposit.
    assert _lines(issued) == [
        (LineKind.PLAN_FEE, 1145),
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 2960),
    ]
    assert invoices_differing_from_data(client_ids=[client.pk]) == []

    client.contract_started_on = dt.date(2026, 10, 5)
    client.save()
    [stale] = invoices_differing_from_data(client_ids=[client.pk])
    assert stale.invoice == issued
    # 27 of 31 days: 2,960 x 27 / 31 = 2,578.06 -> 2,578.
    assert stale.difference_yen == 2578 - 1145
    assert "無効にして再発行" in stale.advice
    [stale] = invoices_differing_from_data(month=OCTOBER)

    new = void_and_reissue(
        invoice=issued, reason="契約開始日の訂正", today=dt.date(2026, 11, 5)
    )
    assert _lines(new) == [
        (LineKind.PLAN_FEE, 2578),
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 2960),
    ]
    assert new.total_yen == 2578 + 2960
    assert invoices_differing_from_data(client_ids=[client.pk]) == []


def test_a_trial_set_after_the_month_was_paid_asks_for_a_credit(small):
    """October billed in full, paid; then the admin enters the free trial that
    started on October 1st: October owes 21 days. A credit on the next
    invoice."""
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=OCTOBER
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = _live(client, OCTOBER)
    assert october.lines.get(kind=LineKind.PLAN_FEE).amount_yen == 2960
    mark_paid(
        invoice=october, paid_on=dt.date(2026, 11, 10), today=NOVEMBER.replace(day=20)
    )
    client.trial_started_on = OCTOBER
    client.save()
    [stale] = invoices_differing_from_data(client_ids=[client.pk])
    assert stale.difference_yen == 2005 - 2960
    assert stale.credit_still_due_yen == 955
    assert "訂正（減額）" in stale.advice


def test_a_recipient_dated_back_into_an_issued_month_is_named(small):
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=OCTOBER
    )
    for _n in range(3):
        factories.ReportRecipientFactory(client=client, active_from=OCTOBER)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = _live(client, OCTOBER)
    assert LineKind.EXTRA_RECIPIENTS not in dict(_lines(october))
    factories.ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 20))
    [stale] = invoices_differing_from_data(month=OCTOBER)
    assert stale.difference_yen == 210
    new = void_and_reissue(invoice=october, reason="報告先の追加", today=NOVEMBER)
    assert (LineKind.EXTRA_RECIPIENTS, 210) in _lines(new)


def test_a_number_dated_back_into_an_issued_month_is_named(small):
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=OCTOBER
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    factories.NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 10, 25))
    [stale] = invoices_differing_from_data(month=OCTOBER)
    assert stale.difference_yen == 1100


def test_a_changed_call_alone_is_left_to_the_changed_calls_box(small):
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=OCTOBER
    )
    calls(client, 20)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    calls(client, 1)
    client.operator_notes = "メモ"
    client.save()
    assert invoices_differing_from_data(month=OCTOBER) == []


# The admin's pages: today's months, as the pages read them.


@pytest.fixture
def last_month():
    return previous_month(japan_today())


def test_the_plan_action_and_the_month_page_name_the_unbilled_month(
    admin_client, small, last_month
):
    client = _new_client(
        name="遅れてプラン株式会社",
        trial_started_on=last_month,
        contract_started_on=last_month,
    )
    contracted_client(small, name="他社")
    bill_month(month=last_month, issue=True)
    page = admin_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "schedule_plan_change",
            helpers.ACTION_CHECKBOX_NAME: [client.pk],
            "apply": "1",
            "plan": small.pk,
        },
        follow=True,
    )
    text = page.content.decode()
    month = f"{last_month.year}年{last_month.month}月"
    assert f"{month}分の請求書がありません" in text
    assert "「下書きを作成・更新」" in text

    page = admin_client.get(reverse("billing:month"), {"month": f"{last_month:%Y-%m}"})
    text = page.content.decode()
    assert "請求されない契約中の顧客" in text
    assert "遅れてプラン株式会社" in text


def test_the_client_page_says_what_a_saved_start_leaves_unbilled(
    admin_client, small, last_month
):
    contracted_client(small, name="他社")
    client = contracted_client(
        small,
        name="開始日訂正株式会社",
        effective_month=last_month,
        contract_started_on=next_month(last_month),
    )
    bill_month(month=last_month, issue=True)
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data["contract_started_on"] = f"{last_month:%Y-%m-%d}"
    text = admin_client.post(url, data, follow=True).content.decode()
    month = f"{last_month.year}年{last_month.month}月"
    assert f"{month}分の請求書がありません" in text


def test_the_client_page_says_an_issued_invoice_no_longer_matches(
    admin_client, small, last_month
):
    client = contracted_client(
        small,
        name="開始日訂正株式会社",
        effective_month=last_month,
        contract_started_on=last_month + dt.timedelta(days=19),
    )
    bill_month(month=last_month, issue=True)
    invoice = _live(client, last_month)
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data["contract_started_on"] = f"{last_month:%Y-%m-%d}"
    text = admin_client.post(url, data, follow=True).content.decode()
    assert invoice.number_display in text
    assert "無効にして再発行" in text
    page = admin_client.get(reverse("billing:month"), {"month": f"{last_month:%Y-%m}"})
    assert "発行後に契約・番号・報告先が変わった請求書" in page.content.decode()


def test_lending_a_number_dated_back_into_a_billed_month_warns(
    admin_client, small, last_month
):
    client = contracted_client(
        small,
        name="番号追加株式会社",
        effective_month=last_month,
        contract_started_on=last_month,
    )
    bill_month(month=last_month, issue=True)
    invoice = _live(client, last_month)
    number = factories.LentNumberFactory()
    page = admin_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "assign_number",
            helpers.ACTION_CHECKBOX_NAME: [client.pk],
            "apply": "1",
            "number": number.pk,
            "use": "forwarding",
            "assigned_on": f"{last_month + dt.timedelta(days=9):%Y-%m-%d}",
        },
        follow=True,
    )
    text = page.content.decode()
    assert "を番号追加株式会社に「転送利用」で貸し出しました" in text.replace(" ", "")
    assert invoice.number_display in text
    assert "追加番号" in text
    assert "無効にして再発行" in text


def test_a_recipient_dated_back_on_its_own_page_warns(admin_client, small, last_month):
    client = contracted_client(
        small,
        name="報告先追加株式会社",
        effective_month=last_month,
        contract_started_on=last_month,
    )
    for _n in range(3):
        factories.ReportRecipientFactory(client=client, active_from=last_month)
    bill_month(month=last_month, issue=True)
    invoice = _live(client, last_month)
    page = admin_client.post(
        reverse("admin:clients_reportrecipient_add"),
        {
            "client": client.pk,
            "name": "四人目",
            "pc_email": "yonin@example.jp",
            "mobile_email": "",
            "active_from": f"{last_month + dt.timedelta(days=4):%Y-%m-%d}",
            "active_to": "",
        },
        follow=True,
    )
    text = page.content.decode()
    assert invoice.number_display in text
    assert "追加報告先" in text
    assert "（差額 +210 円）" in text


def test_the_command_names_a_client_it_did_not_bill(small):
    client = _new_client(
        name="プランなし株式会社",
        trial_started_on=dt.date(2026, 10, 1),
        contract_started_on=dt.date(2026, 10, 1),
    )
    out = StringIO()
    call_command("bill_month", "2026-10", "--issue", stdout=out)
    assert "請求書のない契約中の顧客: プランなし株式会社" in out.getvalue()
    assert "この月のプランが登録されていません" in out.getvalue()
    set_plan(client=client, plan=small, now=jst(2026, 11, 5))
    out = StringIO()
    # Run again (the admin's replay): the client's October is billed now.
    call_command("bill_month", "2026-10", stdout=out)
    assert "請求書のない契約中の顧客" not in out.getvalue()
    assert _lines(_live(client, OCTOBER))[0] == (LineKind.PLAN_FEE, 2005)


def test_a_first_plan_set_before_the_dates_moves_back_with_them(
    admin_client, small, last_month
):
    """The plan was set while the client's dates were still blank, so it
    started this month; the dates then entered start last month, already
    billed. Last month had no plan, and 「プラン変更を登録する」 would only
    start one next month: it was never billed."""
    contracted_client(small, name="他社")
    client = _new_client(
        name="日付あと株式会社", trial_started_on=None, contract_started_on=None
    )
    set_plan(client=client, plan=small)
    assert client.plan_history.get().effective_month == next_month(last_month)
    bill_month(month=last_month, issue=True)
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data["trial_started_on"] = f"{last_month:%Y-%m-%d}"
    data["contract_started_on"] = f"{last_month:%Y-%m-%d}"
    text = admin_client.post(url, data, follow=True).content.decode()
    month = f"{last_month.year}年{last_month.month}月"
    assert f"最初のプラン「スモール」を{month} から適用にしました" in text
    assert f"{month}分の請求書がありません" in text
    assert client.plan_history.get().effective_month == last_month
    bill_month(month=last_month)
    issue_invoices(month=last_month)
    invoice = _live(client, last_month)
    days = (next_month(last_month) - last_month).days
    billed_days = days - 10  # after the 10-day free trial
    assert _lines(invoice) == [
        (LineKind.PLAN_FEE, 2960 * billed_days // days),
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 2960),
    ]


def test_the_invoice_page_says_what_changed_and_offers_the_credit(admin_client, small):
    """A trial entered after October was billed in full and paid: the page
    says what a reissue would bill, and the credit form holds the 955 yen."""
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=OCTOBER
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = _live(client, OCTOBER)
    mark_paid(invoice=october, paid_on=dt.date(2026, 11, 10), today=LATER)
    client.trial_started_on = OCTOBER
    client.save()
    page = admin_client.get(reverse("billing:invoice", args=[october.pk]))
    text = page.content.decode()
    assert "発行後に変わった契約・番号・報告先" in text
    assert "ご請求金額は 5,920 円から 4,965 円（差額 -955 円）" in text
    form = form_values(text, "adjust-form")
    assert form["adjust-amount_yen"] == "955"
    assert form["adjust-reason"] == "発行後の契約・番号・報告先の訂正"


def test_a_month_left_wholly_in_the_trial_credits_the_fee_not_the_deposit(small):
    """October billed from the 25th (7 days) with the deposit, paid; the trial
    entered afterwards starts on the 25th: October owes nothing. The fee is
    credited on the next invoice; the deposit stays held (no credit gives it
    back: the final invoice returns it)."""
    client = contracted_client(
        small, effective_month=OCTOBER, contract_started_on=dt.date(2026, 10, 25)
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = _live(client, OCTOBER)
    assert _lines(october) == [
        (LineKind.PLAN_FEE, 668),  # 2,960 x 7 / 31 = 668.4
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 2960),
    ]
    mark_paid(invoice=october, paid_on=dt.date(2026, 11, 10), today=LATER)
    client.trial_started_on = dt.date(2026, 10, 25)
    client.save()
    [stale] = invoices_differing_from_data(client_ids=[client.pk])
    assert stale.total_now_yen == 0
    assert stale.credit_still_due_yen == 668
    add_adjustment(invoice=october, amount_yen=668, reason="お試し期間の訂正")
    [stale] = invoices_differing_from_data(client_ids=[client.pk])
    assert stale.credit_still_due_yen == 0
    # November: from the 4th, the credit, and no second deposit.
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 2))
    assert _lines(_live(client, NOVEMBER)) == [
        (LineKind.PLAN_FEE, 2664),  # 2,960 x 27 / 30 = 2,664
        (LineKind.CALL_OVER, 0),
        (LineKind.ADJUSTMENT, -668),
    ]


def test_a_first_plan_asked_for_in_the_portal_covers_the_contracts_first_month(
    plans,
):
    """The client, in its trial since October 1st with no plan, asked for ハーフ
    in the portal on November 5th (from December); the contract had started
    on October 1st. October and November had no plan, and were never billed;
    the admin's 「プラン変更を登録する」 would only have started another one."""
    contracted_client(plans["small"], name="他社")
    client = _new_client(
        trial_started_on=dt.date(2026, 10, 1), contract_started_on=dt.date(2026, 10, 1)
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    asked = request_plan_change(client=client, plan=plans["half"], now=jst(2026, 11, 5))
    result = apply_plan_change_request(change_request=asked, now=jst(2026, 11, 6))
    assert result.first_plan_moved is not None
    assert result.first_plan_moved.effective_month == OCTOBER
    [missing] = unbilled_months(client=client, today=dt.date(2026, 11, 6))
    assert (missing.billing_month, missing.priced) == (OCTOBER, True)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 6))
    # ハーフ, 21 of 31 days: 5,720 x 21 / 31 = 3,874.8 -> 3,874; the deposit.
    assert _lines(_live(client, OCTOBER)) == [
        (LineKind.PLAN_FEE, 3874),
        (LineKind.CALL_OVER, 0),
        (LineKind.DEPOSIT, 5720),
    ]


def test_the_admins_plan_action_moves_a_late_first_plan_back_too(small, standard):
    contracted_client(small, name="他社")
    client = _new_client(
        trial_started_on=dt.date(2026, 10, 1), contract_started_on=dt.date(2026, 10, 1)
    )
    factories.ClientPlanFactory(
        client=client, plan=standard, effective_month=dt.date(2026, 12, 1)
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    result = set_plan(client=client, plan=small, now=jst(2026, 11, 5))
    assert result.first_plan_moved is not None
    # The change asked for replaced December's row, the first: from October.
    assert list(client.plan_history.values_list("effective_month", "plan")) == [
        (OCTOBER, small.pk)
    ]
