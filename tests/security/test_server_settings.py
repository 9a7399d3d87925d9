"""A server configured in part must refuse to start, not run in debug mode with
the published laptop key or answer every page with a 500."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check(
    code: str = "import django; django.setup()", **env: str
) -> subprocess.CompletedProcess:
    """Django's setup (then ``code``'s other statements) with only these settings
    in the environment (no .env of the developer's: HOME and PATH only, from an
    empty folder's view)."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_server_host_with_debug_left_unset_refuses_to_start():
    done = _check(DJANGO_ALLOWED_HOSTS="answering.example.jp")
    assert done.returncode != 0
    assert "DJANGO_DEBUG" in done.stderr


@pytest.mark.parametrize(
    ("env", "starts"),
    [
        ({}, True),  # the embedded default
        ({"DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"}, True),
        ({"DJANGO_DEBUG": "True", "DJANGO_ALLOWED_HOSTS": "192.168.1.5"}, True),
        (
            {
                "DJANGO_DEBUG": "False",
                "DJANGO_SECRET_KEY": "x" * 50,
                "DJANGO_ALLOWED_HOSTS": "answering.example.jp",
            },
            True,
        ),
        ({"DJANGO_DEBUG": "False", "DJANGO_SECRET_KEY": "  "}, False),
    ],
)
def test_what_starts_and_what_is_refused(env, starts):
    done = _check(**env)
    assert (done.returncode == 0) == starts, done.stderr[-500:]
    if not starts:
        assert "DJANGO_SECRET_KEY is empty" in done.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"EMAIL_TIMEOUT": "abc"}, "EMAIL_TIMEOUT"),
        ({"REPORT_MAX_ATTEMPTS": "1.5"}, "REPORT_MAX_ATTEMPTS"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"EMAIL_URL": ""}, "EMAIL_URL"),
        ({"SESSION_HOURS": "twelve"}, "SESSION_HOURS"),
        ({"SESSION_HOURS": "0"}, "SESSION_HOURS"),
        # Would erase every caller's data before this month, or stop reports.
        ({"CALLER_DATA_RETENTION_MONTHS": "0"}, "CALLER_DATA_RETENTION_MONTHS"),
        ({"CHATWORK_ROOM_LIMIT_COUNT": "0"}, "CHATWORK_ROOM_LIMIT_COUNT"),
        ({"CHATWORK_TOKEN_LIMIT_SECONDS": "0"}, "CHATWORK_TOKEN_LIMIT_SECONDS"),
        ({"REPORT_MAX_ATTEMPTS": "0"}, "REPORT_MAX_ATTEMPTS"),
        ({"REPORT_RELAY_BATCH": "-1"}, "REPORT_RELAY_BATCH"),
        ({"NUMBER_QUARANTINE_DAYS": "-5"}, "NUMBER_QUARANTINE_DAYS"),
        # Not every month has a 29th: a month would pass without notices.
        ({"INVOICE_NOTICE_DAY": "29"}, "INVOICE_NOTICE_DAY"),
        ({"INVOICE_NOTICE_DAY": "0"}, "INVOICE_NOTICE_DAY"),
        # Printed on every qualified invoice: a digit short, or without its T.
        ({"COMPANY_REGISTRATION_NUMBER": "T123456789012"}, "COMPANY_REGISTRATION"),
        ({"COMPANY_REGISTRATION_NUMBER": "1234567890123"}, "COMPANY_REGISTRATION"),
        (
            {"COMPANY_REGISTRATION_NUMBER": "T１２３４５６７８９０１２３"},
            "COMPANY_REGISTRATION",
        ),
        (
            {"LOGIN_FAILED_USERNAMES_PER_ADDRESS": "1"},
            "LOGIN_FAILED_USERNAMES_PER_ADDRESS",
        ),
        (
            {"LOGIN_FAILED_USERNAMES_PER_ADDRESS": "many"},
            "LOGIN_FAILED_USERNAMES_PER_ADDRESS",
        ),
    ],
)
def test_a_value_that_cannot_be_read_names_its_variable(env, named):
    done = _check(**env)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: " + named)


@pytest.mark.parametrize(
    ("env", "seconds"), [({}, 12 * 3600), ({"SESSION_HOURS": "8"}, 8 * 3600)]
)
def test_a_login_lasts_session_hours_and_ends_with_the_browser(env, seconds):
    done = _check(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_COOKIE_AGE, settings.SESSION_EXPIRE_AT_BROWSER_CLOSE)",
        **env,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == [str(seconds), "True"]
