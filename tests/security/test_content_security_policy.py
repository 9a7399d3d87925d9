"""Every HTML page carries the Content-Security-Policy, error pages included, and
nothing in our templates needs what the policy refuses.

tests/e2e/test_content_security_policy.py opens the pages in a browser and fails
on any violation; these run everywhere, without a browser or PostgreSQL.
"""

import base64
import hashlib
import re
from pathlib import Path

import pytest
import simple_history
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

from config import urls as project_urls
from config.security_headers import CONTENT_SECURITY_POLICY
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"


def _boom(request):
    raise RuntimeError("boom")


def _forbidden(request):
    raise PermissionDenied


# This module is also the URLconf of the error-page tests: the project's URLs and
# two views that fail.
urlpatterns = [
    path("boom/", _boom),
    path("forbidden/", _forbidden),
    *project_urls.urlpatterns,
]


def directives() -> dict[str, str]:
    return dict(
        part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";")
    )


def test_the_policy_is_strict():
    policy = directives()
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


@pytest.fixture
def customer(plans):
    customer = factories.ClientFactory()
    factories.ClientPlanFactory(client=customer, plan=plans["small"])
    return customer


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (None, "/login/"),
        ("operator", "/operator/"),
        ("operator", "/operator/calls/new?client={customer}"),
        ("client", "/portal/"),
        ("client", "/portal/calls/"),
        ("admin", "/billing/"),
        ("admin", "/admin/"),
        ("admin", "/admin/clients/client/"),
        ("admin", "/admin/clients/client/{customer}/change/"),
    ],
)
def test_pages_carry_the_policy(client, customer, role, url):
    users = {
        "operator": factories.OperatorFactory,
        "admin": factories.AdminFactory,
        "client": lambda: factories.ClientUserFactory(client=customer),
    }
    if role:
        client.force_login(users[role]())
    response = client.get(url.format(customer=customer.pk))
    assert response.status_code == 200
    assert response[HEADER] == CONTENT_SECURITY_POLICY


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "status", "heading"),
    [
        ("/no-such-page/", 404, "ページが見つかりません"),
        ("/forbidden/", 403, "この画面を開く権限がありません"),
        ("/boom/", 500, "システムエラーが発生しました"),
    ],
)
def test_error_pages_carry_the_policy(url, status, heading):
    response = Client(raise_request_exception=False).get(url)
    assert response.status_code == status
    assert heading in response.content.decode()
    assert response[HEADER] == CONTENT_SECURITY_POLICY


def test_bad_request_and_csrf_failure_pages_carry_the_policy():
    response = Client().get("/login/", headers={"host": "attacker.example"})
    assert response.status_code == 400
    assert response[HEADER] == CONTENT_SECURITY_POLICY

    response = Client(enforce_csrf_checks=True).post("/login/", {})
    assert response.status_code == 403
    assert "送信できませんでした" in response.content.decode()
    assert response[HEADER] == CONTENT_SECURITY_POLICY


def test_downloads_and_json_have_no_policy(client, customer):
    client.force_login(factories.OperatorFactory())
    response = client.get("/operator/search.json?q=テスト")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert HEADER not in response

    client.force_login(factories.ClientUserFactory(client=customer))
    response = client.get("/portal/calls/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert HEADER not in response


def test_djangos_debug_pages_stay_readable_in_debug(client, settings):
    # Django's technical 404 page is styled inline; in production (no DEBUG) our
    # 404.html is shown, with the policy (above).
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert HEADER not in response


TEMPLATE_DIRS = [
    settings.BASE_DIR / "templates",
    *sorted(settings.BASE_DIR.glob("*/templates")),
]
REFUSED = {
    "inline style": re.compile(r"\sstyle\s*=|<style", re.IGNORECASE),
    "inline script": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize(
    "template",
    [path for folder in TEMPLATE_DIRS for path in sorted(folder.rglob("*.html"))],
    ids=lambda p: str(p.relative_to(settings.BASE_DIR)),
)
def test_our_templates_need_nothing_the_policy_refuses(template: Path):
    text = template.read_text(encoding="utf-8")
    for what, pattern in REFUSED.items():
        assert not pattern.search(text), f"{what} in {template}"


def test_the_allowed_inline_styles_are_those_of_simple_history():
    """The policy allows django-simple-history's inline style attribute by its
    hash: after an upgrade that changes it, the hash must follow."""
    folder = Path(simple_history.__file__).parent / "templates"
    styles = {
        match
        for template in folder.rglob("*.html")
        for match in re.findall(r'\sstyle="([^"]*)"', template.read_text())
    }
    assert styles  # the templates were found
    digests = (hashlib.sha256(style.encode()).digest() for style in styles)
    hashes = {f"'sha256-{base64.b64encode(d).decode()}'" for d in digests}
    allowed = set(directives()["style-src-attr"].split()) - {"'unsafe-hashes'"}
    assert allowed == hashes
