import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from answering.models import Category
from billing.pricing import PriceSnapshot, usage_charges
from billing.selectors import counted_calls_by_month, month_to_date_usage
from tests.billing.factories import calls, contracted_client, jst
from tests.factories import ClientFactory, ClientPlanFactory, NumberAssignmentFactory


def test_month_to_date_usage_and_projection(small):
    client = contracted_client(small)
    NumberAssignmentFactory(client=client)
    calls(client, 12, at=jst(2026, 10, 3))
    calls(client, 2, at=jst(2026, 10, 5), category=Category.SALES)
    calls(client, 1, at=jst(2026, 10, 9), surcharge_yen=300, surcharge_reason="長時間")
    calls(client, 5, at=jst(2026, 10, 11))  # after "today": not yet
    usage = month_to_date_usage(client=client, today=dt.date(2026, 10, 10))
    assert usage.billed
    assert (usage.counted_calls, usage.included_calls, usage.over_calls) == (13, 20, 0)
    assert usage.sales_calls_count == 2
    assert usage.call_over_yen == 0
    assert usage.plan_fee_yen == 2960
    assert usage.extras_yen == 1100
    assert usage.surcharges_yen == 300
    # 13 calls in 10 days -> 40 in 31 days -> 20 over × 148.
    assert usage.projected_calls == 13 * 31 // 10 == 40
    assert usage.projected_total_yen == 2960 + 1100 + 300 + 20 * 148


def test_month_to_date_usage_in_trial_is_not_billed(small):
    client = ClientFactory(
        trial_started_on=dt.date(2026, 10, 5), contract_started_on=None
    )
    ClientPlanFactory(client=client, plan=small, effective_month=dt.date(2026, 10, 1))
    calls(client, 4, at=jst(2026, 10, 6))
    usage = month_to_date_usage(client=client, today=dt.date(2026, 10, 8))
    assert not usage.billed
    assert usage.projected_total_yen == 0


def test_counted_calls_by_month_in_one_query(small):
    client = contracted_client(small)
    calls(client, 3, at=jst(2026, 9, 30, 23, 59, 59))
    calls(client, 2, at=jst(2026, 10, 1, 0, 0, 0))
    calls(client, 4, at=jst(2026, 10, 15), category=Category.SALES)
    calls(client, 1, at=jst(2025, 11, 1))
    calls(client, 9, at=jst(2026, 11, 2))  # the current month is not complete
    with CaptureQueriesContext(connection) as captured:
        history = counted_calls_by_month(client=client, today=dt.date(2026, 11, 20))
    assert len(captured) == 1
    assert len(history) == 12
    assert history[0] == (dt.date(2025, 11, 1), 1)
    assert history[-2] == (dt.date(2026, 9, 1), 3)
    assert history[-1] == (dt.date(2026, 10, 1), 2)
    # Plan advice for the portal: what Small would have cost in September.
    small_price = PriceSnapshot(
        monthly_fee_yen=2960, included_calls=20, per_call_yen=148
    )
    september = dt.date(2026, 9, 1)

    def charge(price, counted):
        return usage_charges(
            price=price, billable_from=september, month=september, counted_calls=counted
        ).charge_yen

    assert charge(small_price, history[-2][1]) == 2960
    assert charge(small.price_on(september), 25) == 3700
