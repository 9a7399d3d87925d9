"""A call's received time, left blank, is when the operator started on it (the
ring for a screen pop, else the first key typed), not when it was saved."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from answering.forms import CallForm
from answering.models import Call
from clients.months import JST, japan_today
from tests.console.test_views import FORM
from tests.console.test_views import save_form as _save
from tests.factories import CallFactory, answered_at
from tests.html_forms import form_values


def _iso(moment: dt.datetime) -> str:
    """As the page's script writes it: UTC, milliseconds, a Z."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def test_a_blank_received_time_is_when_the_operator_started(operator_client, acme):
    started = timezone.now() - dt.timedelta(minutes=7)
    assert _save(operator_client, acme, started_at=_iso(started)).status_code == 302
    received = Call.objects.get().received_at
    assert abs(received - started) < dt.timedelta(milliseconds=1)


def test_a_received_time_typed_by_the_operator_wins(operator_client, acme):
    typed = answered_at(timezone.now() - dt.timedelta(days=1))
    response = _save(
        operator_client,
        acme,
        started_at=_iso(timezone.now() - dt.timedelta(minutes=7)),
        received_at=typed.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302
    assert Call.objects.get().received_at == typed.replace(second=0, microsecond=0)


def test_a_received_time_typed_as_text_is_read_year_first(operator_client, acme):
    """Where the browser shows no picker the time is typed: Django's formats read
    "01/11/2026 10:00" as 11 January, and took 2026/11/01 for no time at all."""
    typed = answered_at(timezone.now() - dt.timedelta(days=1))
    response = _save(operator_client, acme, received_at=f"{typed:%Y/%m/%d %H:%M}")
    assert response.status_code == 302
    assert Call.objects.get().received_at == typed.replace(second=0, microsecond=0)
    page = _save(
        operator_client, acme, received_at=f"{typed:%m/%d/%Y %H:%M}"
    ).content.decode()
    assert "受電日時は 2026/11/01 10:30 のように、年・月・日・時刻の順で" in page
    assert Call.objects.count() == 1
    # A date without its time was saved as midnight, and reported so.
    for date_only in (f"{typed:%Y/%m/%d}", f"{typed:%Y-%m-%d}"):
        page = _save(operator_client, acme, received_at=date_only).content.decode()
        assert "年・月・日・時刻の順で" in page
    assert Call.objects.count() == 1
    # Full-width, and on the English screens too (whose own formats put the
    # month first).
    earlier = answered_at(typed - dt.timedelta(hours=1))
    full_width = f"{earlier:%Y/%m/%d %H:%M}".translate(
        str.maketrans("0123456789/:", "０１２３４５６７８９／：")
    )
    with translation.override("en"):
        assert _save(operator_client, acme, received_at=full_width).status_code == 302
        assert Call.objects.latest("pk").received_at == earlier.replace(
            second=0, microsecond=0
        )
        page = _save(operator_client, acme, received_at=f"{typed:%m/%d/%Y %H:%M}")
        assert page.status_code == 200 and Call.objects.count() == 2


@pytest.mark.parametrize(
    "started",
    [
        "",  # no script
        "yesterday",
        "2026-13-45T99:00:00Z",
        "2026-11-26T10:00:00",  # no time zone: not what the script writes
    ],
)
def test_without_a_usable_start_the_call_is_dated_by_its_save(
    operator_client, acme, started
):
    before = timezone.now()
    assert _save(operator_client, acme, started_at=started).status_code == 302
    assert before <= Call.objects.get().received_at <= timezone.now()


def test_a_form_left_open_for_hours_is_dated_by_its_save(operator_client, acme):
    before = timezone.now()
    old = _iso(before - dt.timedelta(hours=3, minutes=1))
    assert _save(operator_client, acme, started_at=old).status_code == 302
    assert Call.objects.get().received_at >= before


def test_a_start_in_the_future_is_taken_as_now(operator_client, acme):
    later = _iso(timezone.now() + dt.timedelta(minutes=5))
    assert _save(operator_client, acme, started_at=later).status_code == 302
    assert Call.objects.get().received_at <= timezone.now()


def test_the_start_survives_a_form_error(operator_client, acme):
    started = _iso(timezone.now() - dt.timedelta(minutes=4))
    page = _save(operator_client, acme, started_at=started, callback_number="123")
    assert page.status_code == 200
    assert f'name="started_at" value="{started}"' in page.content.decode()


def test_the_page_tells_its_script_the_server_time_and_the_ring(operator_client, acme):
    url = reverse("console:call_new")
    before = timezone.now().timestamp() * 1000
    popped = operator_client.get(url, {"dialed": "0355550001"}).content.decode()
    opened = int(re.search(r'data-opened-at="(\d+)"', popped).group(1))
    assert before - 1 <= opened <= timezone.now().timestamp() * 1000 + 1
    assert 'data-rang="1"' in popped
    searched = operator_client.get(url, {"client": acme.pk}).content.decode()
    assert "data-rang" not in searched


def test_console_pages_are_not_kept_by_the_browser(operator_client, acme):
    """Back must ask again for the form (its clock starts with the page), and a
    shared PC must not page back through callers' names."""
    call = CallFactory(client=acme)
    for url in [
        reverse("console:home"),
        f"{reverse('console:call_new')}?client={acme.pk}",
        reverse("console:call_edit", args=[call.pk]),
        # What the pages fetch, and the report texts sent of a call.
        f"{reverse('console:search')}?q=アクメ",
        f"{reverse('console:phone')}?number=09012345678&client={acme.pk}",
        reverse("reporting:call_deliveries", args=[call.pk]),
    ]:
        assert "no-store" in operator_client.get(url)["Cache-Control"], url


def test_the_failed_reports_page_is_not_kept_by_the_browser(admin_client):
    assert "no-store" in admin_client.get(reverse("reporting:failed"))["Cache-Control"]


# --- a typed time outside the service's hours ----------------------------------


def _last_sunday_at(hour: int) -> dt.datetime:
    """The last Sunday before today (Japan time) at ``hour``:00."""
    today = japan_today()
    sunday = today - dt.timedelta(days=(today.weekday() + 1) % 7 or 7)
    return dt.datetime.combine(sunday, dt.time(hour), tzinfo=JST)


def test_a_typed_time_outside_the_service_hours_is_saved_only_once_confirmed(
    operator_client, acme
):
    """Sunday 03:00 is likely a slip for 15:00: the operator is warned, keeps
    everything typed, and saves it as it is once she ticks the box."""
    slip = _last_sunday_at(3)
    shown = f"{slip:%Y-%m-%dT%H:%M}"
    assert 'name="confirm_off_hours"' not in (
        operator_client.get(
            f"{reverse('console:call_new')}?client={acme.pk}"
        ).content.decode()
    )
    page = _save(operator_client, acme, received_at=shown, purpose="請求書の件")
    assert page.status_code == 200
    text = page.content.decode()
    assert "受付時間外です（受付は平日 9:00〜18:00、祝日を除く）" in text
    assert "受付時間外の時刻で保存する" in text
    values = form_values(text, "call-form")
    assert "confirm_off_hours" not in values  # shown, not ticked for her
    assert (values["received_at"], values["caller_name"], values["purpose"]) == (
        shown,
        "山田",
        "請求書の件",
    )
    assert not Call.objects.exists()

    confirmed = operator_client.post(
        f"{reverse('console:call_new')}?client={acme.pk}",
        {**values, "confirm_off_hours": "on"},
    )
    assert confirmed.status_code == 302
    call = Call.objects.get()
    assert (call.received_at, call.purpose) == (slip, "請求書の件")


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("2026-11-24T10:00", False),  # Tuesday
        ("2026-11-24T09:00", False),
        ("2026-11-24T18:00", False),  # the last minute answered
        ("2026-11-24T08:59", True),
        ("2026-11-24T18:01", True),
        ("2026-11-24T03:00", True),
        ("2026-11-21T10:00", True),  # Saturday
        ("2026-11-23T10:00", True),  # Monday, Labour Thanksgiving Day
    ],
)
def test_the_service_hours_are_weekdays_9_to_18_japan_time_but_holidays(typed, asked):
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST)
    data = {**FORM, "received_at": typed}
    form = CallForm(data, now=now)
    assert form.is_valid() is not asked
    assert form.off_hours is asked
    confirmed = CallForm({**data, "confirm_off_hours": "on"}, now=now)
    assert confirmed.is_valid()
    assert confirmed.call_fields()["received_at"] == dt.datetime.fromisoformat(
        typed
    ).replace(tzinfo=JST)


def test_a_blank_received_time_is_never_asked_about(db):
    """Left blank, the time is when the operator started: late evening overflow
    is answered, and nothing was typed that could be a slip."""
    now = dt.datetime(2026, 11, 22, 3, 0, tzinfo=JST)  # a Sunday night
    started = _iso(now - dt.timedelta(minutes=4))
    form = CallForm({**FORM, "started_at": started}, now=now)
    assert form.is_valid(), form.errors
    assert not form.off_hours
    assert form.call_fields()["received_at"] == now - dt.timedelta(minutes=4)


def test_a_correction_asks_only_when_its_time_is_changed(operator_client, acme):
    call = CallFactory(client=acme, received_at=_last_sunday_at(22))
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    assert operator_client.post(url, {**values, "purpose": "別件"}).status_code == 302
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    moved = f"{_last_sunday_at(23):%Y-%m-%dT%H:%M}"
    page = operator_client.post(url, {**values, "received_at": moved})
    assert "受付時間外です" in page.content.decode()
    call.refresh_from_db()
    assert call.received_at == _last_sunday_at(22)
    done = operator_client.post(
        url, {**values, "received_at": moved, "confirm_off_hours": "on"}
    )
    assert done.status_code == 302
    call.refresh_from_db()
    assert call.received_at == _last_sunday_at(23)
