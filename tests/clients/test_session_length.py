"""A login lasts one shift (SESSION_HOURS) and ends when the browser closes:
operators share PCs."""

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from clients.tasks import clear_expired_sessions
from config.celery import app
from tests.factories import PASSWORD, OperatorFactory

pytestmark = pytest.mark.django_db


def _log_in(client):
    user = OperatorFactory()
    answer = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}
    )
    assert answer.status_code == 302
    return answer.cookies[django_settings.SESSION_COOKIE_NAME]


def _opens_the_console(client, at: dt.datetime) -> bool:
    with mock.patch("django.utils.timezone.now", return_value=at):
        return client.get(reverse("console:home")).status_code == 200


def test_the_session_cookie_ends_with_the_browser(client):
    cookie = _log_in(client)
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""


def test_a_login_ends_session_hours_after_logging_in(client):
    # SESSION_HOURS as this run's settings read it (12 unless set);
    # tests/security/test_server_settings.py reads other values.
    shift = dt.timedelta(seconds=django_settings.SESSION_COOKIE_AGE)
    logged_in_at = timezone.now()
    cookie = _log_in(client)

    session = Session.objects.get(session_key=cookie.value)
    assert abs(session.expire_date - (logged_in_at + shift)) < dt.timedelta(minutes=1)
    assert _opens_the_console(client, logged_in_at + shift - dt.timedelta(minutes=5))
    assert not _opens_the_console(
        client, logged_in_at + shift + dt.timedelta(minutes=5)
    )


def test_expired_logins_are_cleared_daily(client):
    _log_in(client)
    Session.objects.create(
        session_key="x" * 32,
        session_data="",
        expire_date=timezone.now() - dt.timedelta(minutes=1),
    )
    clear_expired_sessions()
    assert Session.objects.count() == 1  # the live login stays
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "clients.tasks.clear_expired_sessions" in scheduled
