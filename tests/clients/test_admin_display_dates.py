"""Dates and times on admin pages read as people in Japan write them:
2026年11月28日 01:33, with a space and a two-digit hour."""

import datetime as dt

from django.urls import reverse
from django.utils import translation

from tests.factories import CallFactory, PlanPriceFactory


def test_a_date_and_time_on_an_admin_page_has_a_space_and_two_digit_hours(
    admin_client,
):
    call = CallFactory(received_at=dt.datetime(2026, 11, 27, 16, 33, tzinfo=dt.UTC))

    html = admin_client.get(
        reverse("admin:answering_call_change", args=[call.pk])
    ).content.decode()

    assert '<div class="readonly">2026年11月28日 01:33</div>' in html
    assert "2026年11月28日1:33" not in html


def test_a_plan_price_row_names_its_start_day_in_japanese(admin_client):
    price = PlanPriceFactory(valid_from=dt.date(2000, 1, 1), monthly_fee_yen=2960)

    html = admin_client.get(
        reverse("admin:clients_plan_change", args=[price.plan.pk])
    ).content.decode()

    # The plan page's rows are untitled: the name reads where a row is named
    # alone (history, deletion, messages).
    with translation.override("ja"):
        assert str(price) == "スモール 2000年1月1日〜 2,960円"
    assert "2000年1月1日〜" not in html
