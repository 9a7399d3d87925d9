"""What the input sweeps (test_sweep_pages.py, test_sweep_admin.py) send and check:
hostile values, and the rows a refused form must leave as they were."""

import os
import re

from django.apps import apps
from django.test import Client as HttpClient
from django.utils.html import escape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.security.test_fuzz import text

# Modest: every URL, form and action runs this many examples, and the whole
# sweep is to take well under a minute on SQLite. SWEEP_EXAMPLES=80 explores
# further (run it on PostgreSQL too, which refuses more than SQLite: NUL bytes,
# overlong text, numbers past a column's range). CI=true replays the same
# examples, as test_fuzz.py does.
SWEEP = settings(
    max_examples=int(os.environ.get("SWEEP_EXAMPLES", 8)),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Path arguments: <int:...> takes any run of digits, however long.
HOSTILE_IDS = ["0", "2147483648", "9223372036854775808", "9" * 30, "1" * 400]

# Table-driven inputs (the admin): one of each kind a browser or a hand-edited
# request can send.
HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "2147483648",
    "-9223372036854775809",
    "9" * 30,
    "1e9",
    "NaN",
    "2026-02-30",
    "99999-01-01",
    "0001-01-01",
    "9999-12-31",
    "2026-13-01T25:61",
    "あ" * 5000,
    "(" * 250,  # nested comments, to a mail address parser
    "<script>alert(1)</script>",
    "%00",
]

# A field sent twice (?a=1&a=2), or a hostile value.
value = st.one_of(text, st.lists(text, min_size=2, max_size=2))


def hostile_or(*good: str):  # type: ignore[no-untyped-def]
    """A field that also gets values the page accepts, to reach past it."""
    return st.one_of(st.sampled_from(good), value)


def short(*values: object) -> str:
    """What a failed assertion names, without 5,000 characters of input."""
    text = repr(values)
    return text if len(text) < 600 else f"{text[:600]}..."


def http_client(user=None) -> HttpClient:  # type: ignore[no-untyped-def]
    client = HttpClient(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


# The project's own apps, whose rows a refused form must leave alone.
OWN_APPS = ("clients", "answering", "reporting", "billing", "portal")


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in OWN_APPS
        for model in apps.get_app_config(app).get_models()
    }


JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Django's error lists, and the portal's and console's error blocks.
_ERROR_LIST = re.compile(
    r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>|<div class="errors"[^>]*>(.*?)</div>',
    re.S,
)


def shows_a_form_error(response) -> bool:  # type: ignore[no-untyped-def]
    return bool(_ERROR_LIST.search(response.content.decode()))


def form_errors(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        re.sub(r"<[^>]+>", " ", "".join(blocks)).strip()
        for blocks in _ERROR_LIST.findall(response.content.decode())
    ]


def assert_refused_in_japanese(response, typed: dict[str, str], *, case: str) -> None:  # type: ignore[no-untyped-def]
    """A refused form: shown again with an error in Japanese and what was typed."""
    assert response.status_code in (200, 400), (case, response.status_code)
    errors = form_errors(response)
    assert errors, (case, "no error shown")
    assert all(JAPANESE.search(error) for error in errors), (case, errors)
    body = response.content.decode()
    for field, typed_value in typed.items():
        assert escape(typed_value) in body, (case, f"{field} was lost")
