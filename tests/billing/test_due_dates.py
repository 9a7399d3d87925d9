import datetime as dt

import pytest

from billing.due_dates import due_date_for, is_bank_business_day
from billing.models import Invoice
from billing.services import bill_month, void_and_reissue
from tests.billing.factories import contracted_client
from tests.factories import ClientUserFactory


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
        # October's invoice issued as usual, on the 1st-5th of November: end
        # of November (Monday the 30th), unchanged.
        (dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        (dt.date(2026, 11, 2), dt.date(2026, 11, 30)),
        (dt.date(2026, 11, 5), dt.date(2026, 11, 30)),
        # 14 days before the 30th: still the 30th.
        (dt.date(2026, 11, 16), dt.date(2026, 11, 30)),
        # Fewer than 14 days left: end of December, a bank holiday -> 4 January.
        (dt.date(2026, 11, 17), dt.date(2027, 1, 4)),
        (dt.date(2026, 11, 28), dt.date(2027, 1, 4)),
        (dt.date(2026, 11, 30), dt.date(2027, 1, 4)),
        # A reissue on the 10th of M+2: end of its issue month, as before.
        (dt.date(2026, 12, 10), dt.date(2027, 1, 4)),
        # Year end: 4 January is 14 days after 21 December, 10 after the 25th,
        # which is then due at the end of January (Sunday) -> Monday 1 February.
        (dt.date(2026, 12, 21), dt.date(2027, 1, 4)),
        (dt.date(2026, 12, 25), dt.date(2027, 2, 1)),
        (dt.date(2027, 2, 3), dt.date(2027, 3, 1)),
        (dt.date(2027, 2, 20), dt.date(2027, 3, 31)),
    ],
)
def test_an_invoice_gives_at_least_14_days_to_pay(issued_on, due_on):
    assert due_date_for(dt.date(2026, 10, 1), issued_on=issued_on) == due_on
    assert (due_on - issued_on).days >= 14


def test_a_reissue_is_never_overdue_on_the_day_it_is_issued(small):
    client = contracted_client(small)
    bill_month(month=dt.date(2026, 10, 1), issue=True, today=dt.date(2026, 11, 2))
    original = Invoice.objects.get(client=client)
    assert original.due_on == dt.date(2026, 11, 30)
    new = void_and_reissue(
        invoice=original, reason="宛名の誤り", today=dt.date(2026, 12, 10)
    )
    assert (new.issued_on, new.due_on) == (dt.date(2026, 12, 10), dt.date(2027, 1, 4))


def test_a_reissue_late_in_the_month_is_due_weeks_later_everywhere(small, client):
    """The audit's case: reissued on 28 November, it was due on the 30th."""
    customer = contracted_client(small)
    bill_month(month=dt.date(2026, 10, 1), issue=True, today=dt.date(2026, 11, 2))
    original = Invoice.objects.get(client=customer)
    new = void_and_reissue(
        invoice=original, reason="宛名の誤り", today=dt.date(2026, 11, 28)
    )
    assert (new.issued_on, new.due_on) == (dt.date(2026, 11, 28), dt.date(2027, 1, 4))

    client.force_login(ClientUserFactory(client=customer))
    page = client.get(f"/portal/invoices/{new.pk}/").content.decode()
    assert "2027年1月4日" in page and "2026年11月30日" not in page
