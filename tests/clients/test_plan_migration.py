"""A new server's migrations create the plans of the price list, so that the
first month can be billed without an admin typing prices."""

import datetime as dt

import pytest
from django.db.migrations.executor import MigrationExecutor

from billing.models import Invoice, LineKind
from billing.services import bill_month
from clients.models import Plan, PlanPrice
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client
from tests.factories import PlanFactory, PlanPriceFactory
from tests.migrations import run_migration

# The tests run without migrations (tables made from the models): this one
# applies the plans' migration itself, as `migrate` does on a new server. On
# SQLite a migration cannot run inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = ("clients", "0007_current_plans")


def migrate_plans(executor: MigrationExecutor, *, backwards: bool = False) -> None:
    run_migration(executor, MIGRATION, backwards=backwards)


def prices() -> dict[str, tuple[str, int, int, int]]:
    return {
        price.plan.code: (
            price.plan.name,
            price.monthly_fee_yen,
            price.included_calls,
            price.per_call_yen,
        )
        for price in PlanPrice.objects.select_related("plan")
    }


def test_migrate_creates_the_three_plans_with_the_price_list_prices(executor):
    migrate_plans(executor)

    assert prices() == {
        "small": ("スモール", 2960, 20, 148),
        "half": ("ハーフ", 5720, 40, 143),
        "standard": ("スタンダード", 11040, 80, 138),
    }
    assert [plan.name for plan in Plan.objects.all()] == [
        "スモール",
        "ハーフ",
        "スタンダード",
    ]
    # In force for any contract the system accepts, and recorded for admins.
    assert set(PlanPrice.objects.values_list("valid_from", flat=True)) == {
        dt.date(2000, 1, 1)
    }
    assert Plan.history.filter(history_type="+").count() == 3
    assert PlanPrice.history.filter(history_type="+").count() == 3


@pytest.mark.parametrize(
    ("code", "counted", "plan_fee_yen", "call_over_yen"),
    [("half", 45, 5720, 5 * 143), ("standard", 85, 11040, 5 * 138)],
)
def test_a_month_on_the_migrated_plans_is_billed_at_the_price_list(
    executor, code, counted, plan_fee_yen, call_over_yen
):
    migrate_plans(executor)
    client = contracted_client(Plan.objects.get(code=code))
    calls(client, counted)

    bill_month(month=OCTOBER, today=LATER)

    invoice = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert invoice.lines.get(kind=LineKind.PLAN_FEE).amount_yen == plan_fee_yen
    assert invoice.lines.get(kind=LineKind.CALL_OVER).amount_yen == call_over_yen
    # The deposit of this first invoice is held money, apart from the 10% total.
    assert invoice.taxable_10_yen == plan_fee_yen + call_over_yen


def test_plans_entered_by_an_admin_are_kept_and_the_others_added(executor):
    half = PlanFactory(code="half", name="ハーフ")
    PlanPriceFactory(
        plan=half,
        valid_from=dt.date(2025, 4, 1),
        monthly_fee_yen=5720,
        included_calls=40,
        per_call_yen=143,
    )

    migrate_plans(executor)

    assert Plan.objects.filter(code="half").get() == half
    assert list(half.prices.values_list("valid_from", flat=True)) == [
        dt.date(2025, 4, 1)
    ]
    assert set(prices()) == {"small", "half", "standard"}


def test_migrating_back_keeps_the_plans(executor):
    migrate_plans(executor)
    migrate_plans(executor, backwards=True)

    assert Plan.objects.count() == 3
