"""The most important property of the portal: a client sees only its own data.

The test walks EVERY pattern in ``portal.urls.urlpatterns`` (so a new page
cannot escape it) as client A asking for client B's objects: each answer is a
404, and no list, search, CSV or PDF of A ever contains B's marker strings.
"""

import datetime as dt
from urllib.parse import quote, quote_plus

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils.html import escape

from answering.models import Category
from billing.models import Invoice, InvoiceStatus
from billing.services import bill_month
from clients.months import japan_today, month_end
from clients.services import start_plan
from portal import services
from portal import urls as portal_urls
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
)
from portal.selectors import Cursor
from reporting.models import Delivery
from reporting.services import queue_call_reports
from tests.factories import (
    CallFactory,
    ClientFactory,
    ClientPersonFactory,
    ClientUserFactory,
    OperatorNoticeFactory,
    ReportRecipientFactory,
)
from tests.portal.conftest import jst

pytestmark = pytest.mark.django_db

# Distinctive strings that only ever appear in client B's data.
B_MARKERS = [
    "MARKERB-CLIENT",
    "MARKERB-CALLER",
    "MARKERB-COMPANY",
    "MARKERB-PURPOSE",
    "MARKERB-ADDRESSEE",
    "MARKERB-SALES",
    "MARKERB-RECIPIENT",
    "markerb-mail",
    "MARKERB-PLANREQ",
    "MARKERB-RREQ",
    "MARKERB-BREQ",
    "markerb-keiri",
    "MARKERB-PERSON",
    "5555-0199",  # B's callback number, hyphenated
    "+81355550199",
]
B_CALLBACK = "+81355550199"


class World:
    """One client with a user and one object of every kind the portal shows."""

    def __init__(self, *, tag: str, plans, markers: bool):
        m = "MARKERB-" if markers else f"{tag}-"
        self.client = ClientFactory(name=f"{m}CLIENT")
        start_plan(
            client=self.client, plan=plans["small"], first_month=dt.date(2025, 1, 1)
        )
        self.user = ClientUserFactory(client=self.client)
        ClientPersonFactory(client=self.client, name=f"{m}PERSON")
        now = dt.datetime.now(tz=dt.UTC)
        self.calls = [
            CallFactory(
                client=self.client,
                received_at=now - dt.timedelta(hours=i + 1),
                caller_name=f"{m}CALLER{i}",
                caller_company=f"{m}COMPANY",
                purpose=f"{m}PURPOSE",
                addressee=f"{m}ADDRESSEE",
                callback_number=B_CALLBACK if markers else "+81312345678",
                caller_number=B_CALLBACK if markers else "+81312345678",
            )
            for i in range(3)
        ]
        self.call = self.calls[0]
        self.old_call = CallFactory(
            client=self.client,
            received_at=jst(2025, 6, 1, 10),
            caller_name=f"{m}CALLER-OLD",
        )
        self.sales_call = CallFactory(
            client=self.client,
            category=Category.SALES,
            caller_name=f"{m}SALES",
            received_at=now - dt.timedelta(minutes=5),
        )
        self.recipient = ReportRecipientFactory(
            client=self.client,
            name=f"{m}RECIPIENT",
            pc_email=f"{m.lower()}mail@example.jp",
        )
        # An October call, billed on an issued October invoice; September
        # stays a draft (never shown, not even to its own client).
        self.billed_call = CallFactory(
            client=self.client,
            received_at=jst(2026, 10, 15, 10),
            caller_name=f"{m}CALLER-BILLED",
            caller_company=f"{m}COMPANY",
            callback_number=B_CALLBACK if markers else "+81312345678",
        )
        bill_month(
            month=dt.date(2026, 10, 1),
            client_ids=[self.client.pk],
            issue=True,
            today=dt.date(2026, 11, 2),
        )
        bill_month(month=dt.date(2026, 9, 1), client_ids=[self.client.pk])
        self.invoice = Invoice.objects.get(
            client=self.client, billing_month=dt.date(2026, 10, 1)
        )
        self.draft = Invoice.objects.get(
            client=self.client, billing_month=dt.date(2026, 9, 1)
        )
        assert self.draft.status == InvoiceStatus.DRAFT
        # Reports of the first call; one of them bounced.
        deliveries = queue_call_reports(call=self.call)
        assert deliveries
        Delivery.objects.filter(pk=deliveries[0].pk).update(
            status=Delivery.Status.FAILED, failed_at=now, bounced=True
        )
        self.plan_request = services.request_plan_change(
            client=self.client, plan=plans["half"], message=f"{m}PLANREQ"
        )
        self.recipient_request = services.request_recipient_change(
            client=self.client,
            kind=RecipientChangeRequest.Kind.CHANGE,
            recipient=self.recipient,
            name=f"{m}RREQ",
            pc_email=f"{m.lower()}mail2@example.jp",
        ).change_request
        self.billing_email_request = services.request_billing_email_change(
            client=self.client,
            billing_email=f"{m.lower()}keiri@example.jp",
            message=f"{m}BREQ",
        ).change_request
        self.notice = OperatorNoticeFactory(client=self.client, text=f"{m}NOTICE")
        self.cancellation_request = services.request_cancellation(
            client=self.client,
            last_day=month_end(japan_today()),
            message=f"{m}CANCELREQ",
        ).change_request


# URL name -> how to fill its arguments from a World. Every pattern of the portal
# that takes arguments must be listed here, or the walk below fails.
OBJECT_KWARGS = {
    "call": lambda w: {"call_id": w.call.pk},
    "notice_end": lambda w: {"notice_id": w.notice.pk},
    "plan_request": lambda w: {"request_id": w.plan_request.pk},
    "recipient_request": lambda w: {"request_id": w.recipient_request.pk},
    "billing_email_request": lambda w: {"request_id": w.billing_email_request.pk},
    "cancellation_request": lambda w: {"request_id": w.cancellation_request.pk},
    "invoice": lambda w: {"invoice_id": w.invoice.pk},
    "invoice_pdf": lambda w: {"invoice_id": w.invoice.pk},
    "invoice_calls": lambda w: {"invoice_id": w.invoice.pk},
    "invoice_calls_csv": lambda w: {"invoice_id": w.invoice.pk},
}

# Extra objects of B that must be 404 too (not only the one in OBJECT_KWARGS).
EXTRA_OBJECT_KWARGS = {
    "call": lambda w: [
        {"call_id": w.old_call.pk},
        {"call_id": w.sales_call.pk},
        {"call_id": w.billed_call.pk},
    ],
    **{
        name: lambda w: [{"invoice_id": w.draft.pk}]
        for name in ("invoice", "invoice_pdf", "invoice_calls", "invoice_calls_csv")
    },
}


@pytest.fixture
def worlds(plans):
    a = World(tag="AAA", plans=plans, markers=False)
    b = World(tag="BBB", plans=plans, markers=True)
    return a, b


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    if raw.startswith(b"%PDF"):
        from io import BytesIO

        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(BytesIO(raw)).pages)
    return raw.decode("utf-8", errors="replace")


def assert_no_b_data(response, where: str, typed: dict | None = None) -> None:
    text = body_of(response)
    # What A typed is echoed back in the form and the paging links; that is not
    # B's data, so it is cut out before looking for B's markers.
    # Only the exact echo places are cut: an input's value and a link's query.
    for key, raw in (typed or {}).items():
        value = str(raw)
        for shown in {
            f'value="{escape(value)}"',
            f"{key}={quote_plus(value)}",
            f"{key}={quote(value, safe='')}",
            f"{key}={escape(quote_plus(value))}",
        }:
            text = text.replace(shown, "")
    for marker in B_MARKERS:
        assert marker.lower() not in text.lower(), f"{marker} leaked into {where}"


def search_params(b: World) -> list[dict]:
    """Query strings that try to pull B's calls into A's lists and exports."""
    return [
        {},
        {"q": "MARKERB"},
        {"q": "MARKERB-CALLER0"},
        {"q": "03-5555-0199"},
        {"q": "5555"},
        {"q": B_CALLBACK},
        {"addressee": "MARKERB-ADDRESSEE"},
        {"date_from": "2000-01-01", "date_to": "2999-12-31"},
        {"before": Cursor.of(b.old_call).encode()},
        {
            "before": Cursor(
                received_at=b.call.received_at, call_id=b.call.pk + 1
            ).encode()
        },
        {"after": Cursor.of(b.old_call).encode()},
        {"after": Cursor(received_at=jst(2000, 1, 1), call_id=0).encode()},
        {"call": b.call.pk, "invoice": b.call.pk, "client": b.client.pk},
    ]


def _patterns():
    return [p for p in portal_urls.urlpatterns if getattr(p, "name", None)]


def test_every_portal_pattern_is_named():
    assert all(getattr(p, "name", None) for p in portal_urls.urlpatterns)


def test_every_page_with_arguments_is_covered_by_the_walk():
    missing = [
        p.name
        for p in _patterns()
        if p.pattern.regex.groupindex and p.name not in OBJECT_KWARGS
    ]
    assert not missing, f"add these portal pages to OBJECT_KWARGS: {missing}"


def test_the_markers_do_show_up_for_b_itself(worlds):
    """Positive control: the marker check below can fail."""
    _a, b = worlds
    http = HttpClient()
    http.force_login(b.user)
    assert "MARKERB-CALLER0" in body_of(http.get(reverse("portal:calls")))
    assert "MARKERB-CALLER0" in body_of(http.get(reverse("portal:calls_csv")))
    assert "MARKERB-PURPOSE" in body_of(
        http.get(reverse("portal:call", kwargs=OBJECT_KWARGS["call"](b)))
    )
    assert "5555-0199" in body_of(http.get(reverse("portal:calls_csv")))
    assert "markerb-mail@example.jp" in body_of(http.get(reverse("portal:home")))
    assert "markerb-keiri@example.jp" in body_of(http.get(reverse("portal:invoices")))
    assert "MARKERB-BREQ" in body_of(
        http.get(
            reverse(
                "portal:billing_email_request",
                kwargs=OBJECT_KWARGS["billing_email_request"](b),
            )
        )
    )
    assert "MARKERB-CANCELREQ" in body_of(
        http.get(
            reverse(
                "portal:cancellation_request",
                kwargs=OBJECT_KWARGS["cancellation_request"](b),
            )
        )
    )
    assert "MARKERB-NOTICE" in body_of(http.get(reverse("portal:notices")))
    for name in (
        "invoice",
        "invoice_pdf",
        "invoice_calls",
        "invoice_calls_csv",
        "notice_end",
    ):
        response = http.get(reverse(f"portal:{name}", kwargs=OBJECT_KWARGS[name](b)))
        assert "MARKERB-" in body_of(response), name
    # Cutting out the echo of what was typed does not hide the data found.
    for params in ({"q": "MARKERB"}, {"q": "03-5555-0199"}):
        with pytest.raises(AssertionError):
            assert_no_b_data(http.get(reverse("portal:calls"), params), "B", params)
        with pytest.raises(AssertionError):
            assert_no_b_data(http.get(reverse("portal:calls_csv"), params), "B", params)


def test_client_a_walks_every_portal_url_and_never_sees_client_b(worlds):
    a, b = worlds
    http = HttpClient()
    http.force_login(a.user)
    walked = 0
    for pattern in _patterns():
        name = f"portal:{pattern.name}"
        if pattern.pattern.regex.groupindex:
            fill = OBJECT_KWARGS[pattern.name]
            # A's own object works (so a 404 below means something)...
            own = http.get(reverse(name, kwargs=fill(a)))
            assert own.status_code == 200, name
            assert_no_b_data(own, f"{name} (own object)")
            # ...B's objects are 404, for every method.
            b_kwargs = [fill(b)] + EXTRA_OBJECT_KWARGS.get(pattern.name, lambda w: [])(
                b
            )
            for kwargs in b_kwargs:
                url = reverse(name, kwargs=kwargs)
                for params in search_params(b)[:3]:
                    response = http.get(url, params)
                    assert response.status_code == 404, (url, params)
                    assert_no_b_data(response, url, params)
                response = http.post(url, {"plan": 1, "kind": "remove"})
                assert response.status_code in (404, 405), url
                assert_no_b_data(response, f"POST {url}")
        else:
            url = reverse(name)
            for params in search_params(b):
                response = http.get(url, params)
                assert response.status_code in (200, 400), (url, params)
                assert_no_b_data(response, f"{url}?{params}", params)
        walked += 1
    assert walked == len(portal_urls.urlpatterns)


def test_client_a_cannot_act_on_client_b_objects_through_forms(worlds, plans):
    a, b = worlds
    http = HttpClient()
    http.force_login(a.user)
    before_b = (
        PlanChangeRequest.objects.filter(client=b.client).count(),
        RecipientChangeRequest.objects.filter(client=b.client).count(),
        list(BillingEmailChangeRequest.objects.filter(client=b.client).values()),
        list(CancellationRequest.objects.filter(client=b.client).values()),
    )
    for kind in ("change", "remove"):
        response = http.post(
            reverse("portal:recipients"),
            {
                "kind": kind,
                "recipient": b.recipient.pk,
                "name": "x",
                "pc_email": "x@example.jp",
                "client": b.client.pk,
            },
        )
        assert response.status_code == 200
        assert response.context["form"].has_error("recipient")
        assert_no_b_data(response, "recipients form")
    response = http.post(
        reverse("portal:plan"), {"plan": plans["standard"].pk, "client": b.client.pk}
    )
    assert response.status_code == 302
    # A's billing address request and withdrawal, naming B: only A's move.
    response = http.post(
        reverse("portal:billing_email"),
        {"billing_email": "a-keiri@example.jp", "client": b.client.pk},
    )
    assert response.status_code == 302
    response = http.post(
        reverse("portal:billing_email"),
        {"withdraw": "1", "client": b.client.pk, "request": b.billing_email_request.pk},
    )
    assert response.status_code == 302
    # A's withdrawal of its cancellation request, naming B's: only A's.
    response = http.post(
        reverse("portal:cancellation"),
        {"withdraw": "1", "client": b.client.pk, "request": b.cancellation_request.pk},
    )
    assert response.status_code == 302
    after_b = (
        PlanChangeRequest.objects.filter(client=b.client).count(),
        RecipientChangeRequest.objects.filter(client=b.client).count(),
        list(BillingEmailChangeRequest.objects.filter(client=b.client).values()),
        list(CancellationRequest.objects.filter(client=b.client).values()),
    )
    assert after_b == before_b
    assert PlanChangeRequest.objects.filter(
        client=a.client, plan=plans["standard"]
    ).exists()
    assert (
        BillingEmailChangeRequest.objects.get(
            client=a.client, billing_email="a-keiri@example.jp"
        ).status
        == "rejected"
    )  # withdrawn
    assert (
        CancellationRequest.objects.get(pk=a.cancellation_request.pk).status
        == "rejected"
    )
