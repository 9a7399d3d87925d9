import datetime as dt

import pytest
from django.urls import reverse

from answering.models import Category
from clients.months import japan_today, month_end, month_start, next_month
from clients.services import start_plan
from portal.selectors import month_usage
from tests.dates import ja_day
from tests.factories import (
    CallFactory,
    ClientFactory,
    ClientUserFactory,
    PlanFactory,
    PlanPriceFactory,
)
from tests.portal.conftest import jst

pytestmark = pytest.mark.django_db


def test_month_usage_counts_this_japan_month_only(portal_user):
    client = portal_user.client
    # The first minutes of November in Japan are still October 31 in UTC.
    CallFactory(client=client, received_at=jst(2026, 11, 1, 0, 5))
    CallFactory(client=client, received_at=jst(2026, 10, 31, 23, 55))
    CallFactory(client=client, received_at=jst(2026, 11, 2, 10), category=Category.GREY)
    CallFactory(
        client=client, received_at=jst(2026, 11, 3, 10), category=Category.SALES
    )
    usage = month_usage(client=client, today=dt.date(2026, 11, 25))
    assert usage.counted_calls == 2
    assert usage.sales_calls == 1
    assert usage.included_calls == 20
    assert usage.plan_name == "スモール"
    assert usage.remaining_included == 18
    assert usage.meter_percent == 10


def test_over_the_included_calls(portal_user):
    client = portal_user.client
    for i in range(25):
        CallFactory(
            client=client, received_at=jst(2026, 11, 2, 9) + dt.timedelta(minutes=i)
        )
    usage = month_usage(client=client, today=dt.date(2026, 11, 25))
    assert usage.over_included == 5
    assert usage.meter_percent == 100


def test_home_page_shows_the_meter_and_the_sales_count(portal, portal_user):
    client = portal_user.client
    CallFactory(client=client)
    CallFactory(client=client, category=Category.SALES)
    CallFactory(client=client, category=Category.SALES)
    body = portal.get(reverse("portal:home")).content.decode()
    assert "1件 / 基本料金内 20件" in body
    assert "無料でお断りした件数: 2件" in body
    assert 'value="1"' in body  # the meter


TRIAL = "現在は無料お試し期間中、または契約開始前のため、料金はかかりません。"
AWAITING_PLAN = "ご契約プランの登録を確認中です。料金はプランの登録後にお知らせします。"


def home_of(client, browser) -> str:
    browser.force_login(ClientUserFactory(client=client))
    return browser.get(reverse("portal:home")).content.decode()


def test_a_contract_without_a_plan_is_not_told_it_is_free(client, db):
    """Under contract since 2025 with no plan registered: billing skips the
    month until an admin registers one; the client read that it was in its
    free trial."""
    customer = ClientFactory()

    body = home_of(customer, client)

    assert AWAITING_PLAN in body
    assert TRIAL not in body


def test_a_plan_without_a_price_on_the_first_billed_day_is_not_told_it_is_free(
    client, db
):
    customer = ClientFactory()
    small = PlanFactory(code="small")
    PlanPriceFactory(plan=small, valid_from=next_month(month_start(japan_today())))
    start_plan(client=customer, plan=small, first_month=dt.date(2025, 1, 1))

    body = home_of(customer, client)

    assert AWAITING_PLAN in body
    assert TRIAL not in body


def test_the_free_trial_is_still_told_it_is_free_and_until_when(client, plans):
    """It said 無料お試し期間中、または契約開始前: not which, nor until when."""
    today = japan_today()
    customer = ClientFactory(
        status="trial", trial_started_on=today, contract_started_on=None
    )
    start_plan(client=customer, plan=plans["small"], first_month=month_start(today))

    body = home_of(customer, client)

    last_day = ja_day(today + dt.timedelta(days=9))
    assert f"無料お試し期間中（{last_day}まで）のため、料金はかかりません。" in body
    assert TRIAL not in body
    assert AWAITING_PLAN not in body


def test_before_the_contract_starts_the_home_page_says_nothing_is_charged(
    client, plans
):
    today = japan_today()
    customer = ClientFactory(
        status="active",
        trial_started_on=None,
        contract_started_on=today + dt.timedelta(days=40),
    )

    body = home_of(customer, client)

    assert TRIAL in body
    assert "無料お試し期間中（" not in body


@pytest.mark.parametrize("status", ["active", "cancelled"])
def test_a_contract_ending_soon_says_until_when_calls_are_answered(
    client, plans, status
):
    """A cancellation saved ahead: the client reads its last day, and that calls
    are answered and reported until then (the status may still be 契約中)."""
    last_day = month_end(next_month(month_start(japan_today())))
    customer = ClientFactory(status=status, cancelled_on=last_day)
    start_plan(client=customer, plan=plans["small"], first_month=dt.date(2025, 1, 1))

    body = home_of(customer, client)

    assert (
        f"ご契約は{ja_day(last_day)}で終了します。"
        "その日までは、これまでどおりお電話をお受けし、報告をお送りします。"
    ) in body


def test_an_ended_contract_is_not_told_it_ends(client, plans):
    last_day = month_start(japan_today()) - dt.timedelta(days=1)
    customer = ClientFactory(status="cancelled", cancelled_on=last_day)
    start_plan(client=customer, plan=plans["small"], first_month=dt.date(2025, 1, 1))

    body = home_of(customer, client)

    assert f"ご契約は{ja_day(last_day)}で終了しました。" in body
    assert "で終了します" not in body


def test_after_the_end_the_home_page_shows_the_last_month_to_its_last_day(
    client, plans
):
    """It read 「(this month)のご利用（今日まで）」 with this month's empty
    figures, and that this month costs nothing: not what it showed."""
    this_month = month_start(japan_today())
    last_day = this_month - dt.timedelta(days=1)
    last_month = month_start(last_day)
    customer = ClientFactory(status="cancelled", cancelled_on=last_day)
    start_plan(client=customer, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    for i in range(25):
        CallFactory(
            client=customer,
            received_at=jst(last_month.year, last_month.month, 2, 9)
            + dt.timedelta(minutes=i),
        )
    CallFactory(
        client=customer,
        received_at=jst(last_month.year, last_month.month, 3, 9),
        category=Category.SALES,
    )

    body = home_of(customer, client)

    month = f"{last_month.year}年{last_month.month}月"
    assert f"{month}のご利用（契約終了日まで）" in body
    assert "のご利用（今日まで）" not in body
    assert "スモールプラン: 25件 / 基本料金内 20件" in body
    assert "基本料金内の件数を5件超えています（超過料金 740円）" in body
    # Small plan 2,960 + 5 calls over at 148.
    assert f"{month}分のご利用料金: 3,700円（税込）" in body
    assert "無料でお断りした件数: 1件" in body
    assert f"ご契約は{ja_day(last_day)}で終了しました。" in body
    # Nothing that speaks of a month still going on.
    assert "今月のご請求見込み" not in body
    assert "基本料金内で、あと" not in body
    assert "今月の受電" not in body


def test_a_trial_ended_without_a_contract_shows_its_last_month_calls(client, plans):
    this_month = month_start(japan_today())
    last_day = this_month - dt.timedelta(days=1)
    last_month = month_start(last_day)
    customer = ClientFactory(
        status="cancelled",
        trial_started_on=last_month + dt.timedelta(days=4),
        contract_started_on=None,
        cancelled_on=last_day,
    )
    for day in (6, 7, 8):
        CallFactory(
            client=customer, received_at=jst(last_month.year, last_month.month, day, 10)
        )

    body = home_of(customer, client)

    month = f"{last_month.year}年{last_month.month}月"
    assert f"{month}のご利用（契約終了日まで）" in body
    assert f"{month}の受電: 3件" in body
    assert (
        f"ご契約は{ja_day(last_day)}で終了しました。{month}分の料金はかかりません。"
        in body
    )


def test_a_contract_without_an_end_says_nothing_of_one(portal):
    body = portal.get(reverse("portal:home")).content.decode()
    assert "ご契約は" not in body
