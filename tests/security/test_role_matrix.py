"""Every URL pattern of the project against anonymous visitors, operators, admins
and client users.

The table below is the access policy, one row per URL name. A new URL without a
row fails ``test_every_url_pattern_has_an_expectation``, so nobody adds a page
without deciding who may open it.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clients.months import japan_today
from tests.billing.factories import void_confirmed
from tests.portal.factories import RecipientChangeRequestFactory
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "operator", "admin", "client")

OK = 200
FORBIDDEN = 403
LOGIN = "redirect:/login/"  # and ?next= the page asked for
ADMIN_LOGIN = "redirect:/admin/login/"


@dataclass(frozen=True)
class Row:
    anonymous: object
    operator: object
    admin: object
    client: object
    method: str = "GET"


def operator_page() -> Row:
    return Row(LOGIN, OK, OK, FORBIDDEN)


def admin_page(*, method: str = "GET", admin: object = OK) -> Row:
    return Row(LOGIN, FORBIDDEN, admin, FORBIDDEN, method)


def portal_page(*, method: str = "GET") -> Row:
    # Staff must not browse as a client: 403 for operators and admins alike.
    return Row(LOGIN, FORBIDDEN, FORBIDDEN, OK, method)


EXPECTED: dict[str, Row] = {
    "home": Row(
        LOGIN,
        "redirect:/operator/",
        "redirect:/operator/",
        "redirect:/portal/",
    ),
    "login": Row(OK, "redirect:/", "redirect:/", "redirect:/"),
    "favicon": Row(*["redirect:/static/favicon.svg"] * 4),
    "logout": Row(LOGIN, LOGIN, LOGIN, LOGIN, method="POST"),
    # Each user's own password: staff here, client users inside the portal.
    "password_change": operator_page(),
    "password_change_done": operator_page(),
    # パスワードをお忘れの方: open to anyone (a link opened while logged in
    # still works); the link's page with the world's made-up token says the
    # link cannot be used.
    "password_reset": Row(OK, OK, OK, OK),
    "password_reset_done": Row(OK, OK, OK, OK),
    "password_reset_confirm": Row(OK, OK, OK, OK),
    "password_reset_complete": Row(OK, OK, OK, OK),
    # The language switch works for everyone, logged in or not.
    "set_language": Row(
        "redirect:/", "redirect:/", "redirect:/", "redirect:/", method="POST"
    ),
    "console:home": operator_page(),
    "console:search": operator_page(),
    "console:phone": operator_page(),
    "console:call_new": operator_page(),
    "console:call_edit": operator_page(),
    "reporting:failed": admin_page(),
    "reporting:resend": admin_page(method="POST", admin="redirect:/reports/failed/"),
    "reporting:call_deliveries": operator_page(),
    "billing:month": admin_page(),
    "billing:run": admin_page(method="POST", admin="redirect:/billing/"),
    "billing:issue": admin_page(method="POST", admin="redirect:/billing/"),
    "billing:invoice": admin_page(),
    "billing:invoice_pdf": admin_page(),
    "billing:invoice_csv": admin_page(),
    "billing:invoice_calls": admin_page(),
    # Only admins issue; the world's invoice is issued already: refused, back
    # to its page.
    "billing:issue_draft": admin_page(
        method="POST", admin="redirect:/billing/invoices/"
    ),
    "billing:mark_paid": admin_page(method="POST", admin="redirect:/billing/invoices/"),
    "billing:mark_refunded": admin_page(
        method="POST", admin="redirect:/billing/invoices/"
    ),
    "billing:undo_payment": admin_page(
        method="POST", admin="redirect:/billing/invoices/"
    ),
    "billing:void": admin_page(method="POST", admin="redirect:/billing/invoices/"),
    "billing:adjust": admin_page(method="POST", admin="redirect:/billing/invoices/"),
    "billing:usage": admin_page(),
    "portal:home": portal_page(),
    "portal:calls": portal_page(),
    "portal:calls_csv": portal_page(),
    "portal:call": portal_page(),
    "portal:recipients": portal_page(),
    "portal:plan": portal_page(),
    "portal:invoices": portal_page(),
    "portal:invoice": portal_page(),
    "portal:invoice_pdf": portal_page(),
    "portal:invoice_calls": portal_page(),
    "portal:invoice_calls_csv": portal_page(),
    "portal:password_change": portal_page(),
    "portal:password_change_done": portal_page(),
    "portal:requests": portal_page(),
    "portal:plan_request": portal_page(),
    "portal:recipient_request": portal_page(),
    "portal:billing_email": portal_page(),
    "portal:billing_email_request": portal_page(),
    "portal:cancellation": portal_page(),
    "portal:notices": portal_page(),
    "portal:notice_end": portal_page(),
    "portal:cancellation_request": portal_page(),
}

# The admin site: its index and a few model pages, not all of its patterns.
ADMIN_PAGES = [
    "admin:index",
    "admin:clients_client_changelist",
    "admin:clients_client_change",
    "admin:clients_client_history",
    "admin:answering_call_changelist",
    "admin:answering_call_change",
    "admin:billing_invoice_changelist",
    "admin:billing_invoice_change",
    "admin:reporting_delivery_changelist",
    "admin:portal_planchangerequest_changelist",
    "admin:portal_billingemailchangerequest_changelist",
    "admin:portal_cancellationrequest_changelist",
]


def app_url_names() -> set[str]:
    """Every named, non-admin URL pattern, walking includes recursively."""
    names: set[str] = set()

    def walk(patterns, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                inner = pattern.namespace or namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"unnamed URL pattern {pattern.pattern}"
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_every_url_pattern_has_an_expectation():
    names = app_url_names()
    assert names - set(EXPECTED) == set(), "URLs without an access expectation"
    assert set(EXPECTED) - names == set(), "expectations for URLs that do not exist"


def request_for(name: str, world: World) -> tuple[str, dict]:
    """The URL (with the world's objects as arguments) and the POST data."""
    args = {
        "console:call_edit": [world.call.pk],
        "reporting:resend": [world.delivery.pk],
        "reporting:call_deliveries": [world.call.pk],
        "billing:usage": [world.client.pk],
        "portal:call": [world.call.pk],
        "portal:plan_request": [world.plan_request.pk],
        "portal:recipient_request": [world.recipient_request.pk],
        "portal:billing_email_request": [world.billing_email_request.pk],
        "portal:cancellation_request": [world.cancellation_request.pk],
        "password_reset_confirm": ["MQ", "no-such-token"],
        "portal:notice_end": [world.notice.pk],
    }.get(name)
    if name.startswith("billing:invoice") or name in (
        "billing:issue_draft",
        "billing:mark_paid",
        "billing:mark_refunded",
        "billing:undo_payment",
        "billing:void",
        "billing:adjust",
    ):
        args = [world.invoice.pk]
    if name == "billing:void":
        # A separate issued invoice: the first one was just marked paid.
        args = [world.other_invoice.pk]
    if name.startswith("portal:invoice") and name != "portal:invoices":
        args = [world.invoice.pk]
    url = reverse(name, args=args)
    query = {
        "console:call_new": f"?client={world.client.pk}",
        "console:search": "?q=テスト",
        "console:phone": "?number=0312345678",
    }.get(name, "")
    month = f"{world.invoice.billing_month:%Y-%m}"
    data = {
        "billing:run": {"month": month},
        "billing:issue": {"month": month},
        "billing:mark_paid": {"paid-paid_on": japan_today().isoformat()},
        "billing:mark_refunded": {"refund-refunded_on": japan_today().isoformat()},
        "billing:undo_payment": {"unpay-confirmed": "True"},
        "billing:void": void_confirmed("宛名の誤り"),
        "billing:adjust": {"adjust-amount_yen": "500", "adjust-reason": "返金"},
    }.get(name, {})
    return url + query, data


def outcome(response) -> object:
    if response.status_code in (301, 302):
        return f"redirect:{urlsplit(response['Location']).path}"
    return response.status_code


def matches(expected: object, got: object) -> bool:
    # "redirect:/billing/invoices/" also covers "/billing/invoices/12/".
    if isinstance(expected, str) and isinstance(got, str):
        return got == expected or (expected.endswith("/") and got.startswith(expected))
    return expected == got


def log_in(client, world: World, role: str) -> None:
    user = {
        "operator": world.operator,
        "admin": world.admin,
        "client": world.client_user,
    }.get(role)
    if user is not None:
        client.force_login(user)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_every_url(client, role):
    world = build_world()
    log_in(client, world, role)
    wrong = []
    for name in sorted(EXPECTED):
        row = EXPECTED[name]
        url, data = request_for(name, world)
        response = client.post(url, data) if row.method == "POST" else client.get(url)
        expected = getattr(row, role)
        got = outcome(response)
        if not matches(expected, got):
            wrong.append(f"{name} {row.method} {url}: expected {expected}, got {got}")
        if expected in (LOGIN, ADMIN_LOGIN) and name != "logout":
            # The login page brings the visitor back to where they were going.
            assert "next=" in response["Location"], name
        if name == "logout":
            log_in(client, world, role)
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_admin_site_pages(client, role):
    world = build_world()
    log_in(client, world, role)
    objects = {
        "clients_client": world.client.pk,
        "answering_call": world.call.pk,
        "billing_invoice": world.invoice.pk,
    }
    wrong = []
    for name in ADMIN_PAGES:
        model = name.removeprefix("admin:").rsplit("_", 1)[0]
        needs_pk = name.endswith(("_change", "_history"))
        url = reverse(name, args=[objects[model]] if needs_pk else None)
        got = outcome(client.get(url))
        expected = OK if role == "admin" else ADMIN_LOGIN
        if got != expected:
            wrong.append(f"{name} {url}: expected {expected}, got {got}")
    assert wrong == []


@pytest.mark.parametrize("name", ["portal:recipients", "portal:requests"])
def test_portal_pages_list_a_pending_add_request(client, name):
    world = build_world()
    RecipientChangeRequestFactory(client=world.client, name="追加したい人")
    client.raise_request_exception = False
    client.force_login(world.client_user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "追加したい人" in response.content.decode()
