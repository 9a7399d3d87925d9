"""A call's received time, left blank, is when the operator started on it (the
ring for a screen pop, else the first key typed), not when it was saved."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from answering.models import Call
from tests.console.test_views import save_form as _save
from tests.factories import CallFactory


def _iso(moment: dt.datetime) -> str:
    """As the page's script writes it: UTC, milliseconds, a Z."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def test_a_blank_received_time_is_when_the_operator_started(operator_client, acme):
    started = timezone.now() - dt.timedelta(minutes=7)
    assert _save(operator_client, acme, started_at=_iso(started)).status_code == 302
    received = Call.objects.get().received_at
    assert abs(received - started) < dt.timedelta(milliseconds=1)


def test_a_received_time_typed_by_the_operator_wins(operator_client, acme):
    typed = timezone.localtime() - dt.timedelta(days=1)
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
    typed = timezone.localtime() - dt.timedelta(days=1)
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
    earlier = typed - dt.timedelta(hours=1)
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
