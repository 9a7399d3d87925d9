"""Never a 500, never lost data: every URL of the project's own pages, by the
role that may use it, with hostile query strings, forms and ids.

test_fuzz.py goes deep into the call form and the portal's history; this sweep
goes wide. A new URL without a row below fails
``test_every_url_pattern_is_swept`` (the admin site's are in
test_sweep_admin.py).
"""

import re
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from answering.models import Category
from portal.models import RecipientChangeRequest
from tests.security.sweep import (
    HOSTILE_IDS,
    SWEEP,
    assert_refused_in_japanese,
    hostile_or,
    http_client,
    row_counts,
    short,
    shows_a_form_error,
    value,
)
from tests.security.test_fuzz import CALL_FIELDS, text
from tests.security.test_role_matrix import app_url_names
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

DAYS = ("2026-11-02", "2026/11/02", "2026年11月2日")
MONTHS = ("2026-10", "2026年10月")


@dataclass(frozen=True)
class Page:
    role: str  # who may use it: "anonymous", "operator", "admin" or "client"
    method: str = "GET"
    # The world's object whose id is the URL's argument, if any.
    arg: str | None = None
    # Query string (GET) or form (POST) fields, each with what it may carry.
    fields: dict = field(default_factory=dict)


def call_form_fields() -> dict:
    return {**CALL_FIELDS, "submission_id": value, "back": value}


PAGES: dict[str, Page] = {
    "home": Page("client"),
    "login": Page(
        "anonymous",
        "POST",
        fields={"username": hostile_or("operator"), "password": value, "next": value},
    ),
    "logout": Page("operator", "POST", fields={"next": value}),
    "favicon": Page("anonymous"),
    "set_language": Page(
        "anonymous", "POST", fields={"language": hostile_or("ja", "en"), "next": value}
    ),
    "password_change": Page(
        "operator",
        "POST",
        fields=dict.fromkeys(("old_password", "new_password1", "new_password2"), value),
    ),
    "password_change_done": Page("operator"),
    "password_reset": Page(
        "anonymous",
        "POST",
        fields={
            "email": hostile_or("operator@example.jp", "ｏｐ＠ｅｘａｍｐｌｅ．ｊｐ")
        },
    ),
    "password_reset_done": Page("anonymous"),
    # A made-up link (FIXED_ARGS): the page that says it cannot be used.
    "password_reset_confirm": Page(
        "anonymous",
        "POST",
        fields=dict.fromkeys(("new_password1", "new_password2"), value),
    ),
    "password_reset_complete": Page("anonymous"),
    "console:home": Page(
        "operator",
        fields={
            "q": value,
            "caller": value,
            "day": hostile_or(*DAYS),
            "client": value,
            "category": hostile_or(*Category.values),
        },
    ),
    "console:search": Page("operator", fields={"q": value, "caller": value}),
    "console:phone": Page("operator", fields={"number": value, "client": value}),
    "console:call_new": Page("operator", "POST", fields=call_form_fields()),
    "console:call_edit": Page("operator", "POST", "call", fields=call_form_fields()),
    "reporting:failed": Page("admin", fields={"page": value}),
    "reporting:resend": Page("admin", "POST", "delivery"),
    "reporting:call_deliveries": Page("operator", arg="call"),
    "billing:month": Page("admin", fields={"month": hostile_or(*MONTHS)}),
    "billing:run": Page("admin", "POST", fields={"month": hostile_or(*MONTHS)}),
    "billing:issue": Page("admin", "POST", fields={"month": hostile_or(*MONTHS)}),
    "billing:invoice": Page("admin", arg="invoice"),
    "billing:invoice_pdf": Page("admin", arg="invoice"),
    "billing:invoice_csv": Page("admin", arg="invoice"),
    "billing:invoice_calls": Page("admin", arg="invoice"),
    "billing:issue_draft": Page("admin", "POST", "invoice"),
    "billing:mark_paid": Page(
        "admin", "POST", "invoice", fields={"paid-paid_on": hostile_or(*DAYS)}
    ),
    "billing:mark_refunded": Page(
        "admin", "POST", "invoice", fields={"refund-refunded_on": hostile_or(*DAYS)}
    ),
    "billing:void": Page("admin", "POST", "invoice", fields={"void-reason": value}),
    "billing:undo_payment": Page(
        "admin", "POST", "invoice", fields={"unpay-confirmed": value}
    ),
    "billing:adjust": Page(
        "admin",
        "POST",
        "invoice",
        fields={
            "adjust-amount_yen": hostile_or("500", "-500", "1"),
            "adjust-reason": value,
            "adjust-submission_id": value,
        },
    ),
    "billing:usage": Page("admin", arg="client"),
    "portal:home": Page("client"),
    "portal:calls": Page("client", fields={"before": value, "after": value}),
    "portal:calls_csv": Page("client", fields={"date_from": value, "q": value}),
    "portal:call": Page("client", arg="call"),
    "portal:recipients": Page(
        "client",
        "POST",
        fields={
            "kind": hostile_or(*RecipientChangeRequest.Kind.values),
            "recipient": value,
            "name": value,
            "pc_email": hostile_or(
                "yamada@example.jp", "ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ"
            ),
            "mobile_email": value,
            "desired_on": hostile_or(*DAYS),
            "message": value,
        },
    ),
    "portal:plan": Page("client", "POST", fields={"plan": value, "message": value}),
    "portal:invoices": Page("client"),
    "portal:invoice": Page("client", arg="invoice"),
    "portal:invoice_pdf": Page("client", arg="invoice"),
    "portal:invoice_calls": Page("client", arg="invoice"),
    "portal:invoice_calls_csv": Page("client", arg="invoice"),
    "portal:password_change": Page(
        "client",
        "POST",
        fields=dict.fromkeys(("old_password", "new_password1", "new_password2"), value),
    ),
    "portal:password_change_done": Page("client"),
    "portal:requests": Page("client"),
    "portal:plan_request": Page("client", arg="plan_request"),
    "portal:recipient_request": Page("client", arg="recipient_request"),
    "portal:billing_email": Page(
        "client",
        "POST",
        fields={
            "billing_email": hostile_or(
                "keiri@example.jp", "ｋｅｉｒｉ＠ｅｘａｍｐｌｅ．ｊｐ", ""
            ),
            "message": value,
            "withdraw": value,
        },
    ),
    "portal:billing_email_request": Page("client", arg="billing_email_request"),
    "portal:cancellation": Page(
        "client",
        "POST",
        fields={
            "last_day": hostile_or(*DAYS, "2026-12-31"),
            "reason": hostile_or("cost", "other"),
            "message": value,
            "confirm": value,
            "back": value,
            "withdraw": value,
        },
    ),
    "portal:cancellation_request": Page("client", arg="cancellation_request"),
    "portal:notices": Page(
        "client",
        "POST",
        fields={
            "text": value,
            "first_day": hostile_or(*DAYS),
            "last_day": hostile_or(*DAYS, "2026-12-31"),
        },
    ),
    "portal:notice_end": Page("client", "POST", arg="notice"),
}


def test_every_url_pattern_is_swept():
    names = app_url_names()
    assert names - set(PAGES) == set(), "URLs the sweep does not reach"
    assert set(PAGES) - names == set(), "sweep rows for URLs that do not exist"


@pytest.fixture
def world() -> World:
    return build_world(addressee="山田", category=Category.NORMAL)


def _user(world: World, role: str):  # type: ignore[no-untyped-def]
    return {
        "operator": world.operator,
        "admin": world.admin,
        "client": world.client_user,
    }.get(role)


def _arg(world: World, name: str) -> int:
    return {
        "call": world.call.pk,
        "delivery": world.delivery.pk,
        "invoice": world.invoice.pk,
        "client": world.client.pk,
        "plan_request": world.plan_request.pk,
        "recipient_request": world.recipient_request.pk,
        "billing_email_request": world.billing_email_request.pk,
        "cancellation_request": world.cancellation_request.pk,
        "notice": world.notice.pk,
    }[name]


# Path arguments that are no row's id.
FIXED_ARGS = {"password_reset_confirm": ["MQ", "set-password"]}


def _url(name: str, page: Page, world: World, arg: str | None = None) -> str:
    if page.arg is None:
        return reverse(name, args=FIXED_ARGS.get(name))
    # reverse() checks the argument against the converter: digits only.
    url = reverse(name, args=[987654321])
    return url.replace("987654321", arg or str(_arg(world, page.arg)))


def _send(http, method: str, url: str, data: dict):  # type: ignore[no-untyped-def]
    if method == "POST":
        return http.post(url, data)
    return http.get(url, data)


SLOW = {"billing:invoice_pdf", "portal:invoice_pdf"}


def _sweep(world: World, name: str) -> None:
    page = PAGES[name]
    http = http_client(_user(world, page.role))
    url = _url(name, page, world)

    @SWEEP
    @given(
        fields=st.fixed_dictionaries({}, optional=page.fields),
        # Names the page does not know.
        extra=st.dictionaries(text, value, max_size=2),
    )
    def sweep(fields, extra):  # type: ignore[no-untyped-def]
        before = row_counts()
        response = _send(http, page.method, url, {**extra, **fields})
        assert response.status_code < 500, short(url, fields, extra)
        if page.method == "POST" and (
            response.status_code >= 400 or shows_a_form_error(response)
        ):
            assert row_counts() == before, (url, "a refused form saved something")
        if page.method == "POST":
            # Its page opened with the same fields in the query string.
            response = http.get(url, {**extra, **fields})
            assert response.status_code < 500, short(url, fields, extra)

    sweep()


# One world per role (building it is most of the time); each URL of the role
# gets its own examples.
@pytest.mark.parametrize("role", ["anonymous", "operator", "admin", "client"])
def test_no_input_makes_a_500(world, role):
    for name in sorted(PAGES):
        # The PDFs take a while to draw: their ids are swept below.
        if PAGES[name].role == role and name not in SLOW:
            _sweep(world, name)


def test_an_id_that_names_no_row_is_a_404(world):
    for name, page in sorted(PAGES.items()):
        if page.arg is None:
            continue
        http = http_client(_user(world, page.role))
        for row_id in HOSTILE_IDS:
            url = _url(name, page, world, row_id)
            before = row_counts()
            response = _send(http, page.method, url, {})
            assert response.status_code == 404, (url, response.status_code)
            assert row_counts() == before, url


def test_every_page_title_is_plain_text(world):
    """The browser's tab and history read <title>: a page whose title block
    carried part of its body (the request list's 解約 card, once) showed
    markup in the tab."""
    for name, page in sorted(PAGES.items()):
        if name in SLOW:
            continue
        response = http_client(_user(world, page.role)).get(_url(name, page, world))
        if response.status_code != 200 or "html" not in response.get(
            "Content-Type", ""
        ):
            continue
        found = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
        assert found is not None, name
        assert "<" not in found.group(1) and found.group(1).strip(), (
            name,
            found.group(1)[:120],
        )


def test_an_other_clients_ids_are_a_404(world):
    http = http_client(world.client_user)
    for name, row_id in (
        ("portal:call", world.other_call.pk),
        ("portal:invoice", world.other_invoice.pk),
        ("portal:invoice_pdf", world.other_invoice.pk),
        ("portal:invoice_calls", world.other_invoice.pk),
        ("portal:invoice_calls_csv", world.other_invoice.pk),
        ("portal:notice_end", world.other_notice.pk),
    ):
        assert http.get(reverse(name, args=[row_id])).status_code == 404, name


def test_an_edit_page_with_a_hostile_way_back(world):
    http = http_client(world.operator)
    url = reverse("console:call_edit", args=[world.call.pk])
    for back in ("\x00", "day=99999-01-01", "client=" + "9" * 30, "a" * 5000):
        assert http.get(url, {"back": back}).status_code == 200, back


# A refused form: what was typed comes back with a Japanese error, and nothing
# is saved. (name, role, form, what must come back as typed)
REFUSED = [
    (
        "portal:recipients",
        {"kind": "add", "name": "山田\x00太郎", "pc_email": "yamada@example.jp"},
        {"pc_email": "yamada@example.jp"},
    ),
    (
        "portal:recipients",
        {"kind": "add", "name": "山田太郎", "pc_email": "yamada@@example.jp"},
        {"name": "山田太郎", "pc_email": "yamada@@example.jp"},
    ),
    (
        "portal:recipients",
        {"kind": "add", "name": "山田太郎", "mobile_email": "(" * 250},
        {"name": "山田太郎"},
    ),
    (
        "portal:recipients",
        {
            "kind": "add",
            "name": "山田太郎",
            "pc_email": "yamada@example.jp",
            "desired_on": "2026-02-30",
        },
        {"name": "山田太郎", "desired_on": "2026-02-30"},
    ),
    (
        "portal:recipients",
        {"kind": "remove", "recipient": "9" * 30, "message": "至急お願いします"},
        {"message": "至急お願いします"},
    ),
    (
        "portal:billing_email",
        {"billing_email": "keiri@@example.jp", "message": "経理部あて"},
        {"billing_email": "keiri@@example.jp", "message": "経理部あて"},
    ),
    (
        "portal:billing_email",
        {"billing_email": "(" * 250},
        {},
    ),
    (
        "portal:plan",
        {"plan": "9" * 30, "message": "来月から変更希望"},
        {"message": "来月から変更希望"},
    ),
    (
        "portal:plan",
        {"plan": ["1", "x"], "message": "あ" * 1001},
        {},
    ),
    (
        "portal:notices",
        {"text": "不在\x00です", "first_day": "2026/12/29", "last_day": "2027/1/3"},
        {"first_day": "2026/12/29", "last_day": "2027/1/3"},
    ),
    (
        "portal:notices",
        {"text": "年末年始休業", "first_day": "2026-12-29", "last_day": "2026-02-30"},
        {"text": "年末年始休業", "last_day": "2026-02-30"},
    ),
    (
        "billing:mark_paid",
        {"paid-paid_on": "2026-02-30"},
        {"paid-paid_on": "2026-02-30"},
    ),
    (
        "billing:mark_paid",
        {"paid-paid_on": "99999-01-01"},
        {"paid-paid_on": "99999-01-01"},
    ),
    ("billing:void", {"void-reason": "あ" * 201}, {"void-reason": "あ" * 201}),
    ("billing:void", {"void-reason": "宛名\x00"}, {}),
    (
        "billing:adjust",
        {"adjust-amount_yen": "9" * 30, "adjust-reason": "返金"},
        {"adjust-amount_yen": "9" * 30, "adjust-reason": "返金"},
    ),
    (
        "billing:adjust",
        {"adjust-amount_yen": "五百", "adjust-reason": "返金"},
        {"adjust-amount_yen": "五百", "adjust-reason": "返金"},
    ),
    (
        "billing:adjust",
        {"adjust-amount_yen": "-500", "adjust-reason": "返金"},
        {"adjust-amount_yen": "-500", "adjust-reason": "返金"},
    ),
    (
        "billing:adjust",
        {"adjust-amount_yen": "2147483648", "adjust-reason": "返金"},
        {"adjust-amount_yen": "2147483648", "adjust-reason": "返金"},
    ),
]


def test_a_refused_form_keeps_what_was_typed(world):
    for name, form, typed in REFUSED:
        page = PAGES[name]
        http = http_client(_user(world, page.role))
        before = row_counts()
        response = http.post(_url(name, page, world), form)
        assert_refused_in_japanese(response, typed, case=short(name, form))
        assert row_counts() == before, short(name, form)


def test_other_methods_and_malformed_requests(world):
    """Whatever a script sends: other methods, a body too large, a broken
    multipart body, bytes that are not UTF-8."""
    for name, page in sorted(PAGES.items()):
        http = http_client(_user(world, page.role))
        url = _url(name, page, world)
        for method in ("put", "patch", "delete", "options", "head"):
            response = getattr(http, method)(url)
            assert response.status_code < 500, short(name, method)
        if page.method == "POST":
            for body, content_type in [
                (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
                (b"a=%FF%FE&b=\xff", "application/x-www-form-urlencoded"),
                (b"a=" + b"x" * 3_000_000, "application/x-www-form-urlencoded"),
                (
                    b"&".join(b"f%d=1" % i for i in range(1500)),
                    "application/x-www-form-urlencoded",
                ),
                (b"{}", "application/json"),
            ]:
                before = row_counts()
                response = http.generic("POST", url, body, content_type)
                assert response.status_code < 500, short(name, body[:40])
                assert row_counts() == before, name
        response = http.get(f"{url}?q=%FF%FE&day=%C0%AF&month=%ED%A0%80")
        assert response.status_code < 500, short(name)
