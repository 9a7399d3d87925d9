"""Every page reads wholly in English for a user who chose English.

Each row of the page sweep (test_sweep_pages.PAGES, opened with GET by its
role) and the admin's changelist, add and change page of every model are
opened with the language cookie the footer's switch sets, in a world whose own
data is ASCII. What a user sees there (the text, minus scripts and styles, and
the value, placeholder, title, aria-label and alt attributes) must hold no
Japanese, except:

- text marked ``lang="ja"``: the switch's own 日本語 button;
- data: text stored in the database that the project writes in Japanese by
  design (the report e-mails' and Chatwork texts, an invoice's lines, the
  company's name as an invoice copies it), found by reading the rows.

The shared world reaches few of the states in which pages show more text; a
richer world (``build_richer``) adds them, and their pages are opened too: each
call, invoice, delivery, request and client of it, its clients' portals, the
months it billed, the call's correction history and the number release page.

The failure lists each page with the Japanese fragments found and the text
around them, for a translator.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import factory
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone, translation

from answering.models import Call, CallRevision, Category, MissingReason
from answering.services import correct_call
from billing import services as billing_services
from billing.models import Invoice
from clients.models import Client, NumberAssignment, User
from clients.months import japan_now, japan_today, previous_month
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    RequestStatus,
    SystemNote,
)
from reporting import services as reporting_services
from reporting.models import Delivery
from tests import factories
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    CancellationRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)
from tests.security.sweep import OWN_APPS, http_client
from tests.security.test_sweep_admin import _models, _object_of
from tests.security.test_sweep_admin import _url as admin_url
from tests.security.test_sweep_pages import PAGES, _url, _user
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

# Kana, kanji, Japanese punctuation (、。「」〜) and full-width forms (（）：).
_JA = r"[\u3000-\u303f\u3040-\u30ff\u4e00-\u9fff\uff01-\uff60]"
# A run of them, with the digits and spaces between (2026年10月 gives 年10月).
JAPANESE_RUN = re.compile(rf"{_JA}+(?:[\s\d,.]*{_JA}+)*")
_JAPANESE_CHAR = re.compile(_JA)

# ASCII stand-ins for the factories' Japanese defaults.
ENGLISH_CLIENT = {
    "name": factory.Sequence(lambda n: f"Sakura Realty {n} Ltd."),
    "name_kana": "",
    "announce_name": factory.LazyAttribute(lambda o: f"{o.name}, good morning"),
}
ENGLISH_CALL = {
    "caller_name": factory.Sequence(lambda n: f"Caller {n}"),
    "caller_company": "Sample Inc.",
    "purpose": "Please call back",
    "addressee": "Yamada",
}


@pytest.fixture
def english_factories(monkeypatch):
    """The factories' defaults in ASCII, for the rows build_world makes."""
    for factory_class, fields in (
        (factories.ClientFactory, ENGLISH_CLIENT),
        (factories.CallFactory, ENGLISH_CALL),
        (
            factories.ReportRecipientFactory,
            {"name": factory.Sequence(lambda n: f"Recipient {n}")},
        ),
        (
            factories.ClientPersonFactory,
            {"name": factory.Sequence(lambda n: f"Person {n}")},
        ),
    ):
        original = factory_class._generate.__func__

        def generate(cls, strategy, params, _original=original, _fields=fields):  # type: ignore[no-untyped-def]
            return _original(cls, strategy, {**_fields, **params})

        monkeypatch.setattr(factory_class, "_generate", classmethod(generate))


@dataclass
class Richer:
    """States the shared world does not reach, for the pages that show text
    only then: settled, credited and reissued invoices, failed deliveries,
    calls of every kind, a cancelled client, one in its trial, requests open
    and closed. Each of the three clients has its own portal user."""

    # "rich" (calls, requests, a reissued and a credited invoice), "cancelled"
    # (its final invoice a refund paid out) and "trial" → its portal user.
    client_users: dict[str, User]
    # A page argument ("call", "invoice"...) → (label, id) of each row to open
    # its pages with; the label names the page in the report and allow-list.
    rows: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    months: list[dt.date] = field(default_factory=list)


def _calls(client: Client, at: dt.datetime) -> dict[str, object]:
    """One call of each kind a report words differently."""
    made = {}
    for reason in (
        MissingReason.REFUSED,
        MissingReason.HUNG_UP,
        MissingReason.CLIENT_KNOWS,
        MissingReason.OTHER,
    ):
        made[f"not obtained {reason.value}"] = factories.CallFactory(
            client=client,
            received_at=at,
            caller_name="",
            caller_name_missing_reason=reason,
            callback_number="",
            callback_number_missing_reason=reason,
            purpose="",
            purpose_missing_reason=reason,
            missing_note="Would not say",
        )
    made["silent"] = factories.CallFactory(
        client=client,
        received_at=at,
        category=Category.NUISANCE,
        caller_name="",
        caller_company="",
        callback_number="",
        purpose="",
        addressee="",
        **{
            f"{name}_missing_reason": MissingReason.SILENT
            for name in ("caller_name", "callback_number", "purpose")
        },
    )
    made["nuisance"] = factories.CallFactory(
        client=client, received_at=at, category=Category.NUISANCE
    )
    made["grey"] = factories.CallFactory(
        client=client, received_at=at, category=Category.GREY
    )
    made["surcharge and demeanour"] = factories.CallFactory(
        client=client,
        received_at=at,
        surcharge_yen=300,
        surcharge_reason="A long call",
        is_urgent=True,
        is_angry=True,
        is_troubled=True,
        demeanour_note="Shouting",
        note="Called twice",
    )
    made["sales"] = factories.CallFactory(
        client=client, received_at=at, category=Category.SALES
    )
    return made


def build_richer(world: World) -> Richer:
    plans = factories.make_plans()
    today = japan_today()
    last, before = previous_month(today), previous_month(previous_month(today))
    rich = factories.ClientFactory(
        name_kana="サクラフドウサン", billing_email="accounts@example.com"
    )
    factories.ClientPlanFactory(client=rich, plan=plans["small"])
    recipient = factories.ReportRecipientFactory(client=rich)
    other_recipient = factories.ReportRecipientFactory(client=rich)
    # On Standard (deposit 11,040), down to Small for its last month: the
    # final invoice returns more than it charges, a refund.
    leaving = factories.ClientFactory(name_kana="カイヤクショウジ")
    factories.ClientPlanFactory(client=leaving, plan=plans["standard"])
    factories.ClientPlanFactory(
        client=leaving, plan=plans["small"], effective_month=last
    )
    trial = factories.ClientFactory(
        status=Client.Status.TRIAL,
        trial_started_on=today - dt.timedelta(days=2),
        contract_started_on=None,
    )
    factories.ClientPlanFactory(client=trial, plan=plans["small"])
    lent = factories.NumberAssignmentFactory(client=rich)

    # Calls of every kind, last month (billed) and this month (the console).
    at_before = dt.datetime.combine(
        before.replace(day=15), dt.time(12), japan_now().tzinfo
    )
    billed = _calls(rich, at_before)
    calls = _calls(rich, japan_now() - dt.timedelta(minutes=5))
    corrected = calls["grey"]
    correct_call(
        call=corrected,
        corrected_by=world.operator,
        changes={"category": Category.NORMAL, "purpose": "Please call back today"},
    )
    with transaction.atomic():
        deliveries = [
            delivery
            for call in calls.values()
            if call.category != Category.SALES
            for delivery in reporting_services.queue_call_reports(call=call)
        ]
    now = timezone.now()
    bounced, failed = deliveries[0], deliveries[1]
    Delivery.objects.filter(pk=bounced.pk).update(
        status=Delivery.Status.FAILED,
        bounced=True,
        failed_at=now,
        last_error="550 5.1.1 <pc1@example.jp>: Recipient address rejected",
    )
    Delivery.objects.filter(pk=failed.pk).update(
        status=Delivery.Status.FAILED, failed_at=now, last_error="timed out"
    )
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries[2:]]).update(
        status=Delivery.Status.SENT, sent_at=now
    )

    # Invoices: the month before last issued, voided and reissued, paid and
    # credited; last month carries the credit; the leaving client's last
    # month is a refund paid out.
    billing_services.bill_month(month=before, issue=True)
    first = Invoice.objects.get(client=rich, billing_month=before)
    reissued = billing_services.void_and_reissue(invoice=first, reason="Wrong name")
    assert reissued is not None
    billing_services.mark_paid(invoice=reissued, paid_on=today)
    billing_services.add_adjustment(
        invoice=reissued, amount_yen=500, reason="Overcharged"
    )
    billing_services.mark_paid(
        invoice=Invoice.objects.get(client=leaving, billing_month=before),
        paid_on=today,
    )
    Client.objects.filter(pk=leaving.pk).update(
        status=Client.Status.CANCELLED,
        cancelled_on=today.replace(day=1) - dt.timedelta(days=1),
    )
    billing_services.bill_month(month=last, issue=True)
    refund = Invoice.objects.get(client=leaving, billing_month=last)
    assert refund.total_yen < 0
    billing_services.mark_refunded(invoice=refund, refunded_on=today)

    # Requests of each kind, open and closed.
    closed = {"status": RequestStatus.DONE, "processed_at": now, "admin_note": "Done"}
    # Closed by the service (a newer request, a withdrawal): its reason is a
    # code, said in the reader's language.
    rejected = {
        "status": RequestStatus.REJECTED,
        "processed_at": now,
        "system_note": SystemNote.WITHDRAWN,
    }
    requests = {
        "plan_request": [
            ("open", PlanChangeRequestFactory(client=rich, plan=plans["half"])),
            (
                "done",
                PlanChangeRequestFactory(client=rich, plan=plans["standard"], **closed),
            ),
        ],
        "recipient_request": [
            (
                "add open",
                RecipientChangeRequestFactory(client=rich, name="New Person"),
            ),
            (
                "change done",
                RecipientChangeRequestFactory(
                    client=rich,
                    kind=RecipientChangeRequest.Kind.CHANGE,
                    recipient=recipient,
                    name="Renamed",
                    **closed,
                ),
            ),
            (
                "remove open",
                RecipientChangeRequestFactory(
                    client=rich,
                    kind=RecipientChangeRequest.Kind.REMOVE,
                    recipient=other_recipient,
                    name="",
                    pc_email="",
                ),
            ),
            (
                "remove rejected",
                RecipientChangeRequestFactory(
                    client=rich,
                    kind=RecipientChangeRequest.Kind.REMOVE,
                    recipient=recipient,
                    name="",
                    pc_email="",
                    **rejected,
                ),
            ),
        ],
        "billing_email_request": [
            ("open", BillingEmailChangeRequestFactory(client=rich)),
            ("done", BillingEmailChangeRequestFactory(client=rich, **closed)),
            ("rejected", BillingEmailChangeRequestFactory(client=rich, **rejected)),
        ],
        "cancellation_request": [
            ("open", CancellationRequestFactory(client=rich, reason="cost")),
            ("done", CancellationRequestFactory(client=rich, **closed)),
            ("rejected", CancellationRequestFactory(client=rich, **rejected)),
        ],
    }
    invoices = Invoice.objects.filter(client__in=[rich, leaving])
    return Richer(
        client_users={
            label: factories.ClientUserFactory(client=c)
            for label, c in (("rich", rich), ("cancelled", leaving), ("trial", trial))
        },
        rows={
            "call": [
                (label, call.pk)
                for label, call in [
                    *((f"{k} billed", c) for k, c in billed.items()),
                    *calls.items(),
                ]
                if call.category != Category.SALES
            ],
            "invoice": [
                (
                    f"{'rich' if i.client_id == rich.pk else 'cancelled'} "
                    f"{i.billing_month:%Y-%m} {i.status}",
                    i.pk,
                )
                for i in invoices.order_by("client_id", "billing_month", "pk")
            ],
            "delivery": [("bounced", bounced.pk), ("failed", failed.pk)],
            "assignment": [("rich", lent.pk)],
            "client": [
                ("rich", rich.pk),
                ("cancelled", leaving.pk),
                ("trial", trial.pk),
            ],
            **{
                arg: [(label, row.pk) for label, row in made]
                for arg, made in requests.items()
            },
        },
        months=[before, last],
    )


@pytest.fixture
def world(english_factories) -> World:
    # Plan names are data: created in English, they read "Small", "Half"...
    with translation.override("en"):
        world = build_world(category=Category.NORMAL)
    # A row behind every admin change page, as test_sweep_admin.py has.
    factories.LentNumberFactory()
    factories.NumberAssignmentFactory(client=world.client)
    factories.ClientPersonFactory(client=world.client)
    billing_services.add_adjustment(
        invoice=world.invoice, amount_yen=100, reason="refund", created_by=world.admin
    )
    world.recipient_request.name = "New Recipient"
    world.recipient_request.save()
    return world


def japanese_data() -> list[str]:
    """Japanese text stored in the project's rows: reports, invoice lines...
    and the company's name (a setting, shown as it is on the login page)."""
    found: set[str] = {settings.COMPANY_NAME}
    for app in OWN_APPS:
        for model in apps.get_app_config(app).get_models():
            names = [
                f.attname
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField) and not f.choices
            ]
            if not names:
                continue
            for row in model._default_manager.values_list(*names):
                for text in row:
                    if text and _JAPANESE_CHAR.search(text):
                        found.update(
                            line.strip()
                            for line in text.splitlines()
                            if _JAPANESE_CHAR.search(line)
                        )
    return sorted(found, key=len, reverse=True)


_SHOWN_ATTRIBUTES = {"value", "placeholder", "title", "aria-label", "alt"}
_NOT_SHOWN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_MARKED_JAPANESE = re.compile(r"<(\w+)\b[^>]*\blang=\"ja\"[^>]*>.*?</\1>", re.S)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.pieces += [v for k, v in attrs if k in _SHOWN_ATTRIBUTES and v]

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if data.strip():
            self.pieces.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(_MARKED_JAPANESE.sub("", _NOT_SHOWN.sub("", html)))
    parser.close()
    return parser.pieces


def japanese_fragments(html: str, data: list[str]) -> list[tuple[str, str]]:
    """(fragment, the text around it) of each Japanese run not in ``data``."""
    found = []
    for piece in visible_text(html):
        for text in data:
            piece = piece.replace(text, " ")
        for match in JAPANESE_RUN.finditer(piece):
            fragment = match.group().strip()
            context = piece[max(0, match.start() - 40) : match.end() + 40]
            found.append((fragment, context))
    return found


def english_client(user):  # type: ignore[no-untyped-def]
    http = http_client(user)
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return http


def _pages(world: World):  # type: ignore[no-untyped-def]
    """(page name, the client of its role, its URL) of every page to read."""
    for name, page in sorted(PAGES.items()):
        yield name, english_client(_user(world, page.role)), _url(name, page, world)
    http = english_client(world.admin)
    yield "admin:index", http, reverse("admin:index")
    for app in sorted({model._meta.app_label for model in admin.site._registry}):
        yield f"admin:app_list {app}", http, reverse("admin:app_list", args=[app])
    for model in _models():
        label = model._meta.label
        yield f"admin {label} changelist", http, admin_url(model, "changelist")
        yield f"admin {label} add", http, admin_url(model, "add")
        row = _object_of(model)
        if row is not None:
            yield f"admin {label} change", http, admin_url(model, "change", row.pk)


@pytest.fixture
def richer(world) -> Richer:
    with translation.override("en"):
        return build_richer(world)


def _richer_pages(world: World, richer: Richer):  # type: ignore[no-untyped-def]
    """(page name, client, URL, POST data or None) of the pages that show the
    richer world's states: its client's portal, and each page of a row."""
    for name, page in sorted(PAGES.items()):
        if page.arg is None:
            if page.role == "client":
                for label, user in richer.client_users.items():
                    url = _url(name, page, world)
                    yield f"{name} {label}", english_client(user), url, None
            continue
        for label, row_id in richer.rows.get(page.arg, []):
            user = _user(world, page.role)
            if page.role == "client":
                # The row's own client's user (the portal 404s another's).
                owner = label.split()[0]
                user = richer.client_users.get(owner, richer.client_users["rich"])
            url = _url(name, page, world, str(row_id))
            yield f"{name} {label}", english_client(user), url, None
    http = english_client(world.admin)
    for month in richer.months:
        yield (
            f"billing:month {month:%Y-%m}",
            http,
            f"{reverse('billing:month')}?month={month:%Y-%m}",
            None,
        )
    for arg, model in (
        ("call", Call),
        ("invoice", Invoice),
        ("delivery", Delivery),
        ("client", Client),
        ("plan_request", PlanChangeRequest),
        ("recipient_request", RecipientChangeRequest),
        ("billing_email_request", BillingEmailChangeRequest),
        ("cancellation_request", CancellationRequest),
    ):
        for label, row_id in richer.rows[arg]:
            url = admin_url(model, "change", row_id)
            yield f"admin {model._meta.label} change {label}", http, url, None
    for revision in CallRevision.objects.order_by("pk"):
        url = admin_url(CallRevision, "change", revision.pk)
        yield f"admin {CallRevision._meta.label} change", http, url, None
    # The number release page: the action asks for the release date first.
    yield (
        "admin number release",
        http,
        admin_url(NumberAssignment, "changelist"),
        {
            "action": "release_numbers",
            "_selected_action": [pk for _, pk in richer.rows["assignment"]],
        },
    )


def test_every_page_reads_in_english(world, richer):
    data = japanese_data()
    report = []
    pages = 0
    every = [(name, http, url, None) for name, http, url in _pages(world)]
    richer_pages = list(_richer_pages(world, richer))
    richer_names = {name for name, *_ in richer_pages}
    for name, http, url, form in every + richer_pages:
        response = http.get(url) if form is None else http.post(url, form)
        if name in richer_names:
            # The richer world's rows are shown to their own user, or the sweep
            # misses their states: not refused, not sent to log in (405: an
            # address that takes only a POST; 302: a page that sends on, "/").
            status = response.status_code
            assert status in (200, 302, 405), (name, url, status)
            assert status != 302 or not response.url.startswith("/login"), (name, url)
        if "text/html" not in response.get("Content-Type", ""):
            continue  # PDFs and CSVs are Japanese by design
        pages += 1
        found = {}
        for fragment, context in japanese_fragments(response.content.decode(), data):
            found.setdefault(fragment, context)
        if found:
            lines = "\n".join(f"    {f!r}  in  …{c}…" for f, c in found.items())
            report.append(f"{name} ({url}):\n{lines}")
    assert pages > 60
    assert not report, "Japanese on English pages:\n" + "\n".join(report)
