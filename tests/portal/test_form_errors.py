"""A screen reader reads a field's error: every aria-describedby points at an id
on the page."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _described_by(html: str) -> tuple[set[str], set[str]]:
    """The ids that aria-describedby refers to, and those of them missing."""
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    refs = {
        ref
        for value in re.findall(r'aria-describedby="([^"]+)"', html)
        for ref in value.split()
    }
    return refs, refs - ids


def _assert_errors_are_described(response, *fields: str) -> None:
    refs, missing = _described_by(response.content.decode())
    assert {f"id_{field}_error" for field in fields} <= refs
    assert not missing


def test_recipient_request_errors(portal):
    response = portal.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "長" * 101, "pc_email": "not-an-address"},
    )
    _assert_errors_are_described(response, "name", "pc_email")


def test_plan_request_errors(portal):
    response = portal.post(reverse("portal:plan"), {"message": "あ" * 1001})
    _assert_errors_are_described(response, "plan", "message")


@pytest.mark.parametrize("url_name", ["portal:calls", "portal:calls_csv"])
def test_call_history_filter_errors(portal, url_name):
    response = portal.get(
        reverse(url_name),
        {
            "date_from": "2026-13-45",
            "date_to": "9999-12-31",
            "addressee": "x" * 101,
            "q": "x" * 101,
        },
    )
    _assert_errors_are_described(response, "date_from", "date_to", "addressee", "q")
