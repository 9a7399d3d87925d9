"""What the month page tells the admin beyond its invoices: clients under
contract that the run cannot bill, and prices that change within the month."""

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Invoice, LineKind
from billing.selectors import unbilled_contracts
from billing.services import bill_month
from clients.models import Client, Plan
from tests.billing.factories import LATER, OCTOBER, contracted_client
from tests.factories import ClientFactory, PlanPriceFactory

NOVEMBER = dt.date(2026, 11, 1)


def _month_page(admin_client, month="2026-10") -> str:
    page = admin_client.get(reverse("billing:month"), {"month": month})
    assert page.status_code == 200
    return page.content.decode()


@pytest.fixture
def new_small_price(small):
    """Small from 15 October 2026: 3,300 yen, 20 calls, 165 yen each over."""
    return PlanPriceFactory(
        plan=small,
        valid_from=dt.date(2026, 10, 15),
        monthly_fee_yen=3300,
        included_calls=20,
        per_call_yen=165,
    )


def test_a_price_from_mid_month_applies_from_each_clients_first_billed_day(
    small, new_small_price
):
    """The month is billed at the price in force on its first billed day: the
    whole of October at the old price for a client billed since before, at the
    new one for a client whose contract starts after it."""
    before = contracted_client(small)
    newcomer = contracted_client(
        small, trial_started_on=None, contract_started_on=dt.date(2026, 10, 20)
    )
    bill_month(month=OCTOBER, today=LATER)
    bill_month(month=NOVEMBER, today=LATER)

    def fee(client, month):
        invoice = Invoice.objects.get(client=client, billing_month=month)
        return invoice.lines.get(kind=LineKind.PLAN_FEE).unit_price_yen

    assert fee(before, OCTOBER) == 2960
    assert fee(newcomer, OCTOBER) == 3300 * 12 // 31
    assert fee(before, NOVEMBER) == fee(newcomer, NOVEMBER) == 3300


def test_the_month_page_says_how_a_mid_month_price_is_used(
    admin_client, small, new_small_price
):
    contracted_client(small)
    text = _month_page(admin_client)
    assert "月の途中から変わる料金" in text
    assert (
        "スモールプランの料金（月額 3,300 円・超過1件 165 円）は 2026年10月15日" in text
    )
    assert "新しい料金は翌月分から" in text
    # November's prices all start on its 1st or before: nothing to say.
    assert "月の途中から変わる料金" not in _month_page(admin_client, "2026-11")


def test_a_client_under_contract_without_a_plan_is_named_not_skipped_silently(
    admin_client, small
):
    contracted_client(small)  # billed
    no_plan = ClientFactory(name="プラン未登録株式会社")
    ClientFactory(  # in its free trial all October: nothing to bill, rightly
        name="お試し中株式会社",
        status=Client.Status.TRIAL,
        trial_started_on=dt.date(2026, 10, 25),
        contract_started_on=dt.date(2026, 10, 25),
    )
    summary = bill_month(month=OCTOBER, today=LATER)
    assert summary.clients_billed == 1
    assert not Invoice.objects.filter(client=no_plan).exists()

    [unbilled] = unbilled_contracts(month=OCTOBER)
    assert (unbilled.client_id, unbilled.billed_from) == (no_plan.pk, OCTOBER)
    text = _month_page(admin_client)
    assert "請求されない契約中の顧客" in text
    assert "プラン未登録株式会社" in text
    assert "この月のプランが登録されていません。" in text
    assert "お試し中株式会社" not in text


def test_a_plan_without_a_price_that_day_is_named(admin_client):
    """A plan whose first price starts after the client's first billed day."""
    plan = Plan.objects.create(code=Plan.Code.HALF, name="ハーフ", display_order=2)
    PlanPriceFactory(plan=plan, valid_from=dt.date(2026, 12, 1))
    client = contracted_client(plan, name="料金なし株式会社")
    bill_month(month=OCTOBER, today=LATER)
    assert not Invoice.objects.filter(client=client).exists()
    text = _month_page(admin_client)
    assert "料金なし株式会社" in text
    assert "ハーフプランに 2026年10月1日 時点の料金が登録されていません。" in text
    # Once the price is there, it is billed, and no longer named.
    PlanPriceFactory(plan=plan, valid_from=dt.date(2026, 1, 1))
    bill_month(month=OCTOBER, today=LATER)
    assert unbilled_contracts(month=OCTOBER) == []
