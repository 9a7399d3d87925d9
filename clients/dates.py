"""Dates as people in Japan type them: year, month, day.

Every date field of the site (portal, console, admin) reads input through
``JapaneseDateField``. Django's own formats read ``01/11/2026`` month first
(11 January), which a client meaning 1 November would never notice, and refuse
``2026/11/01``; here only the year-first forms are read, and the day- or
month-first ones are refused with a message naming the expected form.
"""

import datetime as dt
import re
import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The site's (config/settings.py), whatever the page's language: %m and %d take
# one or two digits, 2026/1/5 as well as 2026/01/05.
DATE_INPUT_FORMATS = settings.DATE_INPUT_FORMATS

# Hyphens an IME types besides "-": the long vowel mark (kana mode; NFKC turns
# half-width "ｰ" into it), the minus sign and the Unicode hyphens.
_HYPHENS = str.maketrans(dict.fromkeys("ー−‐‑–—", "-"))
_SPACES = re.compile(r"\s+")
# Year, month and day in that order, after normalize_typed_date.
_YEAR_FIRST = re.compile(r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?")


def _as_ascii(text: str) -> str:
    """Full-width digits and separators (２０２６／１１／０１) and an IME's
    hyphens as ASCII; 年, 月 and 日 stay."""
    return unicodedata.normalize("NFKC", text).translate(_HYPHENS)


def normalize_typed_date(text: str) -> str:
    """A date or month as typed, in ASCII (``_as_ascii``), without spaces."""
    return _SPACES.sub("", _as_ascii(text))


def format_day(day: dt.date) -> str:
    """A date as people in Japan read it: ``2026年11月28日``."""
    return date_format(day, "DATE_FORMAT")


def format_moment(moment: dt.datetime) -> str:
    """An aware date and time as people in Japan read it, in Japan time:
    ``2026年11月28日 01:33`` (a call near midnight keeps its Japanese day;
    the format is the site's, config/formats/ja)."""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def format_moment_short(moment: dt.datetime) -> str:
    """``format_moment`` in a list's narrow column: ``2026/11/28 01:33``."""
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def format_day_short(day: dt.date) -> str:
    """``format_day`` in a list's narrow column: ``2026/11/28``."""
    return date_format(day, "SHORT_DATE_FORMAT")


class JapaneseDateField(forms.DateField):
    input_formats = DATE_INPUT_FORMATS
    # Browsers send an <input type="date"> as 2026-11-01 whatever they show.
    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    default_error_messages = {
        "invalid": _(
            "日付は 2026/11/01（または 2026-11-01、2026年11月1日）のように、"
            "年・月・日の順で入力してください。"
        ),
    }

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, str):
            value = normalize_typed_date(value)
        try:
            return super().to_python(value)
        except forms.ValidationError:
            if isinstance(value, str) and _YEAR_FIRST.fullmatch(value):
                # In the right order, but no such day (2026/02/30): saying
                # "type it year first" would send the typist in circles.
                raise forms.ValidationError(
                    _("%(value)s という日付はありません。"),
                    code="invalid",
                    params={"value": value},
                ) from None
            raise


class JapaneseDateTimeField(forms.DateTimeField):
    """A date and time typed year first (2026/11/01 10:30), whatever the page's
    language: Django's English formats would read 01/11/2026 as 11 January."""

    input_formats = [f for f in settings.DATETIME_INPUT_FORMATS if "%H" in f]

    def to_python(self, value: Any) -> dt.datetime | None:
        if isinstance(value, str):
            # Full-width digits and separators; the space before the time kept.
            value = " ".join(_as_ascii(value).split())
            # A date alone would be read as midnight (ISO dates are read before
            # any format): a time left out is a time not given.
            if value and ":" not in value:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                )
        return super().to_python(value)


# Dates as an office list writes them (11月26日（木）, 11/28（土） 01:33): the
# year only when it is not this year's. Django's D is the weekday in the page's
# language; the format strings are translated like the portal's call detail's.


def office_day(day: dt.date, *, today: dt.date | None = None) -> str:
    """A day as a heading names it: 11月26日（木）, 2025年11月26日（水）."""
    if day.year == (today or timezone.localdate()).year:
        return date_format(day, gettext("n月j日（D）"))
    return date_format(day, gettext("Y年n月j日（D）"))


def office_moment(moment: dt.datetime, *, today: dt.date | None = None) -> str:
    """A time in a list of calls, in Japan time: 11/28（土） 01:33, or
    2025/11/28（金） 01:33 in another year."""
    local = timezone.localtime(moment)
    if local.year == (today or timezone.localdate()).year:
        return date_format(local, gettext("n/j（D） H:i"))
    return date_format(local, gettext("Y/n/j（D） H:i"))
