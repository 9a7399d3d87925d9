import datetime as dt

import pytest

from billing.due_dates import due_date_for, is_bank_business_day
from billing.models import Invoice
from billing.services import bill_month, void_and_reissue
from tests.billing.factories import contracted_client


@pytest.mark.parametrize(
    ("billing_month", "due_on"),
    [
        # Nov 2026 ends on Monday the 30th: a business day.
        (dt.date(2026, 10, 1), dt.date(2026, 11, 30)),
        # Oct 2026 ends on Saturday the 31st -> Monday 2 November.
        (dt.date(2026, 9, 1), dt.date(2026, 11, 2)),
        # Feb 2028 (leap year) ends on Tuesday the 29th.
        (dt.date(2028, 1, 1), dt.date(2028, 2, 29)),
        # Feb 2027 ends on Sunday the 28th -> Monday 1 March.
        (dt.date(2027, 1, 1), dt.date(2027, 3, 1)),
        # Dec 2026 ends on the 31st, a bank holiday; 1-3 Jan too, and
        # 4 Jan 2027 is a Monday.
        (dt.date(2026, 11, 1), dt.date(2027, 1, 4)),
    ],
)
def test_due_date_is_next_bank_business_day_after_following_month_end(
    billing_month, due_on
):
    assert due_date_for(billing_month) == due_on


def test_public_holiday_moves_the_due_date():
    # 2027-03-21 is Vernal Equinox Day (Sunday) and 3/22 its substitute holiday.
    assert not is_bank_business_day(dt.date(2027, 3, 22))
    # 2031-04-30 is a Wednesday; 2031-05-31 a Saturday; 6/2 Monday.
    assert due_date_for(dt.date(2031, 4, 1)) == dt.date(2031, 6, 2)
    # A holiday at month end: 2029-04-30 (Mon) is the substitute for Showa Day
    # (4/29 Sunday) -> due 5/1 for the March 2029 invoice.
    assert due_date_for(dt.date(2029, 3, 1)) == dt.date(2029, 5, 1)


@pytest.mark.parametrize(
    ("issued_on", "due_on"),
    [
        # Issued in November as usual: end of November.
        (dt.date(2026, 11, 2), dt.date(2026, 11, 30)),
        (dt.date(2026, 11, 30), dt.date(2026, 11, 30)),
        # Issued in December (a reissue, a late month): end of December, a
        # bank holiday -> 4 January.
        (dt.date(2026, 12, 10), dt.date(2027, 1, 4)),
        (dt.date(2027, 2, 3), dt.date(2027, 3, 1)),
    ],
)
def test_an_invoice_issued_late_is_due_at_the_end_of_its_issue_month(issued_on, due_on):
    assert due_date_for(dt.date(2026, 10, 1), issued_on=issued_on) == due_on


def test_a_reissue_is_never_overdue_on_the_day_it_is_issued(small):
    client = contracted_client(small)
    bill_month(month=dt.date(2026, 10, 1), issue=True, today=dt.date(2026, 11, 2))
    original = Invoice.objects.get(client=client)
    assert original.due_on == dt.date(2026, 11, 30)
    new = void_and_reissue(
        invoice=original, reason="宛名の誤り", today=dt.date(2026, 12, 10)
    )
    assert (new.issued_on, new.due_on) == (dt.date(2026, 12, 10), dt.date(2027, 1, 4))
