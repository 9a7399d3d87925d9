"""Billing months and Japan-time edges.

A billing month is the ``date`` of its first day. Month boundaries are aware
datetimes in Asia/Tokyo, never UTC: 00:30 JST on the 1st is still the previous
day in UTC, yet it belongs to the new month.
"""

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.utils import timezone

from clients.dates import normalize_typed_date

JST = ZoneInfo("Asia/Tokyo")


@lru_cache(maxsize=32)
def japanese_holidays(year: int) -> frozenset[dt.date]:
    """Japan's national holidays of ``year``, substitute holidays included."""
    return frozenset(holidays.country_holidays("JP", years=year).keys())


ANSWERING_OPENS = dt.time(9, 0)
ANSWERING_CLOSES = dt.time(18, 0)


def is_answering_day(day: dt.date) -> bool:
    """Calls are answered on weekdays, 9:00 to 18:00, except national holidays."""
    return day.weekday() < 5 and day not in japanese_holidays(day.year)


def is_answering_time(moment: dt.datetime) -> bool:
    """Within the service's hours, Japan time. 18:00 itself counts: a time is
    typed to the minute, and a call that rang at 18:00 was still answered."""
    local = japan_now(moment)
    return (
        is_answering_day(local.date())
        and ANSWERING_OPENS <= local.time() <= ANSWERING_CLOSES
    )


def japan_now(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()).astimezone(JST)


def japan_today(now: dt.datetime | None = None) -> dt.date:
    return japan_now(now).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    month = month_start(month)
    return (month + dt.timedelta(days=32)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month_start(month) - dt.timedelta(days=1)).replace(day=1)


def month_end(month: dt.date) -> dt.date:
    """Last day of the month."""
    return next_month(month) - dt.timedelta(days=1)


def days_in_month(month: dt.date) -> int:
    return month_end(month).day


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month as aware datetimes in Japan time."""
    start = dt.datetime.combine(month_start(month), dt.time.min, tzinfo=JST)
    end = dt.datetime.combine(next_month(month), dt.time.min, tzinfo=JST)
    return start, end


# 2026-10, 2026/10, 2026年10月, after normalize_typed_date (full width, an
# IME's hyphens, spaces).
_MONTH = re.compile(r"(\d{4})[-/年](\d{1,2})月?")


def parse_month(text: str) -> dt.date:
    """``2026-10`` (``2026/10``, ``2026年10月``) -> date(2026, 10, 1). Raises
    ValueError."""
    match = _MONTH.fullmatch(normalize_typed_date(text))
    if match is None:
        raise ValueError(f"not a month: {text!r}")
    return dt.date(int(match[1]), int(match[2]), 1)
