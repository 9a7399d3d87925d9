"""When an invoice for month M is due.

Due date: the last day of month M+1, the month in which the invoice is normally
issued; when that is not a bank business day it moves to the next one. An
invoice issued later (a reissue, a month issued late) is due at the end of the
month of its issue instead, so that none is overdue on the day it is issued.
A client always has at least ``MIN_DAYS_TO_PAY`` (14) days: when the date so
found falls fewer days after the issue date (issued on the 28th, due on the
30th), the invoice is due at the end of the month after its issue instead (then
moved to a bank business day in the same way).
Banks in Japan close on Saturdays, Sundays, national holidays (the ``holidays``
package, substitute holidays included) and over the year end, 31 December to
3 January (銀行の休日, Banking Act art. 15). A due date on 31 December therefore
moves to 4 January (or later).
"""

import datetime as dt

from clients.months import japanese_holidays, month_end, next_month

MIN_DAYS_TO_PAY = 14


def is_bank_business_day(day: dt.date) -> bool:
    if day.weekday() >= 5:
        return False
    if (day.month, day.day) in {(12, 31), (1, 1), (1, 2), (1, 3)}:
        return False
    return day not in japanese_holidays(day.year)


def next_bank_business_day(day: dt.date) -> dt.date:
    """``day`` itself when banks are open, else the next day they are."""
    while not is_bank_business_day(day):
        day += dt.timedelta(days=1)
    return day


def due_date_for(
    billing_month: dt.date, *, issued_on: dt.date | None = None
) -> dt.date:
    due_on = next_bank_business_day(month_end(next_month(billing_month)))
    if issued_on is not None:
        due_on = max(due_on, next_bank_business_day(month_end(issued_on)))
        if due_on < issued_on + dt.timedelta(days=MIN_DAYS_TO_PAY):
            due_on = next_bank_business_day(month_end(next_month(issued_on)))
    return due_on
