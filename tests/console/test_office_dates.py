"""The console writes days and times as an office list does: 11月26日（木） and
11/28（土） 01:33, with the year only when it is not this year's."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from clients.months import JST
from tests.console.test_views import NEW
from tests.factories import CallFactory

WEEKDAYS = "月火水木金土日"


def _another_day_this_year() -> dt.date:
    today = timezone.localdate()
    return today.replace(day=2 if today.day == 1 else 1)


def test_another_days_heading_names_the_day_and_its_weekday(operator_client, acme):
    day = _another_day_this_year()
    page = operator_client.get(
        reverse("console:home"), {"day": f"{day:%Y-%m-%d}"}
    ).content.decode()
    assert f"{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）の受電" in page
    assert f"{day:%Y-%m-%d} の受電" not in page


def test_a_day_of_another_year_is_headed_with_its_year(operator_client, acme):
    page = operator_client.get(
        reverse("console:home"), {"day": "2025-11-26"}
    ).content.decode()
    assert "2025年11月26日（水）の受電" in page


def test_the_callers_history_gives_each_calls_day_and_weekday(operator_client, acme):
    day = _another_day_this_year()
    CallFactory(
        client=acme,
        caller_number="+819012345678",
        purpose="今年の件",
        received_at=dt.datetime.combine(day, dt.time(9, 5), tzinfo=JST),
    )
    CallFactory(
        client=acme,
        caller_number="+819012345678",
        purpose="去年の件",
        received_at=dt.datetime(2025, 11, 28, 1, 33, tzinfo=JST),
    )
    this_year = f"{day.month}/{day.day}（{WEEKDAYS[day.weekday()]}） 09:05"
    page = operator_client.get(
        NEW, {"dialed": "0355550001", "caller": "090-1234-5678"}
    ).content.decode()
    assert f">{this_year}</a>" in page
    assert ">2025/11/28（金） 01:33</a>" in page
    # The callback number's live history (console.js) reads the same.
    data = operator_client.get(
        reverse("console:phone"), {"number": "09012345678", "client": acme.pk}
    ).json()
    assert [c["received_at"] for c in data["calls"]] == [
        this_year,
        "2025/11/28（金） 01:33",
    ]


def test_the_saved_banner_of_a_call_on_another_day_gives_its_day(operator_client, acme):
    day = _another_day_this_year()
    call = CallFactory(
        client=acme, received_at=dt.datetime.combine(day, dt.time(10, 0), tzinfo=JST)
    )
    page = operator_client.get(
        NEW, {"client": acme.pk, "saved": call.pk}
    ).content.decode()
    banner = page.split('id="saved-banner"')[1].split("</section>")[0]
    assert f"{day.month}/{day.day}（{WEEKDAYS[day.weekday()]}） 10:00" in banner


def test_the_saved_banner_of_a_call_today_gives_its_time_alone(operator_client, acme):
    call = CallFactory(client=acme, received_at=timezone.now())
    page = operator_client.get(
        NEW, {"client": acme.pk, "saved": call.pk}
    ).content.decode()
    banner = page.split('id="saved-banner"')[1].split("</section>")[0]
    local = timezone.localtime(call.received_at)
    assert f"</strong>\n  {local:%H:%M}\n" in banner
    assert "（" not in banner.split("<span")[0]
