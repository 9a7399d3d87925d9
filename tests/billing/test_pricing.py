"""The pure rules: worked examples, tax rounding, pro rata, billable days."""

import datetime as dt

import pytest

from billing.pricing import (
    PriceSnapshot,
    prorated_fee_yen,
    prorated_included_calls,
    usage_charges,
)
from billing.tax import tax_included_yen
from clients.models import Client, billable_from

SMALL = PriceSnapshot(monthly_fee_yen=2960, included_calls=20, per_call_yen=148)


@pytest.mark.parametrize(
    ("counted", "expected_yen"), [(0, 2960), (20, 2960), (21, 3108), (25, 3700)]
)
def test_small_plan_worked_examples(counted, expected_yen):
    october = dt.date(2026, 10, 1)
    usage = usage_charges(
        price=SMALL, billable_from=october, month=october, counted_calls=counted
    )
    assert usage.charge_yen == expected_yen


@pytest.mark.parametrize(
    ("total_yen", "tax_yen"),
    [
        (0, 0),
        (109, 9),  # 9.909.. -> 9
        (110, 10),
        (2960, 269),  # 269.09
        (5072, 461),  # the worked example
        (11040, 1003),  # 1003.63 -> rounded down, never up
        (1, 0),
        (-110, -10),  # a credit larger than the charges
    ],
)
def test_tax_included_is_rounded_down_once(total_yen, tax_yen):
    assert tax_included_yen(total_yen) == tax_yen


def test_tax_once_per_invoice_differs_from_per_line():
    # 3 lines of 148 yen: per line floor(13.45)=13 each -> 39; per invoice 40.
    assert tax_included_yen(148 * 3) == 40


def test_pro_rata_fee_down_included_calls_up():
    # 17 of 31 days on Small: 2960*17/31 = 1623.2 -> 1623; 20*17/31 = 10.97 -> 11
    assert prorated_fee_yen(2960, 17, 31) == 1623
    assert prorated_included_calls(20, 17, 31) == 11


@pytest.mark.parametrize(
    ("trial", "contract", "cancelled", "expected"),
    [
        # Active all month.
        (dt.date(2025, 1, 1), dt.date(2025, 1, 11), None, dt.date(2026, 10, 1)),
        # Trial 10/10-10/19, contract from 10/20.
        (dt.date(2026, 10, 10), dt.date(2026, 10, 20), None, dt.date(2026, 10, 20)),
        # Contract signed on the trial's 3rd day: the trial days stay free.
        (dt.date(2026, 10, 10), dt.date(2026, 10, 12), None, dt.date(2026, 10, 20)),
        # Trial runs from 9/25 into October (ends 10/4).
        (dt.date(2026, 9, 25), dt.date(2026, 9, 27), None, dt.date(2026, 10, 5)),
        # In trial until the month's end: nothing billed.
        (dt.date(2026, 10, 25), dt.date(2026, 10, 25), None, None),
        # Never contracted.
        (dt.date(2026, 10, 1), None, None, None),
        # Cancelled in September: nothing for October.
        (dt.date(2025, 1, 1), dt.date(2025, 1, 11), dt.date(2026, 9, 30), None),
        # Cancelled in October: the whole month is billed (effective at month end).
        (
            dt.date(2025, 1, 1),
            dt.date(2025, 1, 11),
            dt.date(2026, 10, 3),
            dt.date(2026, 10, 1),
        ),
    ],
)
def test_billable_from(trial, contract, cancelled, expected):
    assert (
        billable_from(
            month=dt.date(2026, 10, 1),
            trial_started_on=trial,
            contract_started_on=contract,
            cancelled_on=cancelled,
        )
        == expected
    )
    client = Client(
        trial_started_on=trial, contract_started_on=contract, cancelled_on=cancelled
    )
    assert client.first_billed_day(dt.date(2026, 10, 1)) == expected
