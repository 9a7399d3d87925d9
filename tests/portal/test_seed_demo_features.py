"""What a newcomer clicking around the demo of `make run` finds: every feature
at least once (counts by kind after seeding)."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from answering.models import Call, CallRevision, Category
from answering.selectors import nuisance_counts
from billing.models import Adjustment, Invoice, InvoiceStatus, LineKind
from clients.models import Client, NumberAssignment, User
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    RequestStatus,
)
from reporting.models import Delivery

# The plans the migrations make on every database (the tests run without them).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_company", "plans")]

DEMO_CLIENT = "株式会社さくら不動産"  # the portal login's client


@pytest.fixture
def demo(settings):
    """As `make run` seeds it: in debug, where the demo invoices are issued."""
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def test_the_demo_clients_calls_show_every_kind_of_call(demo):
    demo_client = Client.objects.get(name=DEMO_CLIENT)
    calls = demo_client.calls.all()
    assert set(calls.values_list("category", flat=True)) == set(Category.values)
    nuisance = calls.filter(category=Category.NUISANCE)
    # A caller who called several times: the repeat badge and count.
    counts = nuisance_counts(
        client_id=demo_client.pk,
        caller_numbers=nuisance.values_list("caller_number", flat=True),
    )
    assert max(counts.values()) >= 3
    # A silent call (無言), as the console's tick logs it.
    silent = [call for call in nuisance if call.is_silent]
    assert silent
    assert all(not call.caller_name and not call.purpose for call in silent)
    assert calls.filter(surcharge_yen__gt=0).exclude(surcharge_reason="").exists()
    assert calls.filter(is_urgent=True, is_angry=True).exists()
    # A corrected call: its history, and the correction reported to the client.
    [revision] = CallRevision.objects.filter(call__client=demo_client)
    assert list(revision.changes) == ["callback_number"]
    assert revision.call.deliveries.filter(
        kind=Delivery.Kind.CORRECTION, status=Delivery.Status.SENT
    ).exists()


def test_the_portal_shows_the_repeat_badge_and_the_corrected_number(demo, client):
    client.force_login(User.objects.get(username="client"))
    page = client.get(reverse("portal:calls")).content.decode()
    assert "この番号からのいたずら等 3件" in page
    corrected = CallRevision.objects.get(call__client__name=DEMO_CLIENT).call
    detail = client.get(reverse("portal:call", args=[corrected.pk])).content.decode()
    assert "03-6666-7777" in detail


def test_the_demo_has_billing_addresses_and_open_requests(demo):
    assert Client.objects.exclude(billing_email="").count() >= 2
    assert Client.objects.get(name=DEMO_CLIENT).billing_email
    for model in (
        BillingEmailChangeRequest,
        PlanChangeRequest,
        RecipientChangeRequest,
        CancellationRequest,
    ):
        assert model.objects.filter(status=RequestStatus.OPEN).count() == 1, model
    # The demo client's own request shows in its portal.
    assert RecipientChangeRequest.objects.get().client.name == DEMO_CLIENT


def test_the_admin_home_shows_every_kind_of_request_waiting(demo, client):
    """A newcomer's `make run` showed 解約のお申し込み as なし in 対応待ち."""
    client.force_login(User.objects.get(username="admin"))
    page = client.get(reverse("admin:index")).content.decode()
    waiting = page.split('id="waiting-for-admin"', 1)[1].split("</div>", 1)[0]
    assert "なし" not in waiting.split("送信できなかった報告", 1)[0]
    for label in (
        "プラン変更のお申し込み",
        "報告先変更のお申し込み",
        "請求書送付先のお申し込み",
        "解約のお申し込み",
    ):
        assert label in waiting, label
    cancellation = CancellationRequest.objects.get()
    assert cancellation.client.contract_started_on is not None
    assert cancellation.client.cancelled_on is None  # asked, not yet applied


def test_a_ring_on_the_demo_fax_line_shows_the_fax_notice(demo, client):
    fax = NumberAssignment.objects.get(use=NumberAssignment.Use.FAX)
    assert fax.released_on is None
    assert fax.number.number == "+81350501009"
    client.force_login(User.objects.get(username="operator"))
    # The address the README gives.
    page = client.get("/operator/calls/new?dialed=0350501009").content.decode()
    assert "FAX番号（03-5050-1009）への着信です。" in page


def test_the_demo_invoices_are_paid_then_drafts_to_review(demo):
    """The month before last issued and paid, with a credit; last month's left
    as drafts for the admin to review and issue, as the job on the 1st leaves
    them, the cancelled client's final one returning its deposit and the
    credit."""
    invoices = Invoice.objects.all()
    [earlier, last] = sorted(set(invoices.values_list("billing_month", flat=True)))
    assert set(invoices.filter(billing_month=earlier).values_list("status")) == {
        (InvoiceStatus.PAID,)
    }
    assert invoices.filter(billing_month=earlier).count() == 4
    drafts = invoices.filter(billing_month=last)
    assert set(drafts.values_list("status", flat=True)) == {InvoiceStatus.DRAFT}
    assert drafts.count() == 4
    assert not drafts.exclude(number=None).exists()
    [final] = drafts.filter(total_yen__lt=0)
    assert final.client.status == "cancelled"
    kinds = set(final.lines.values_list("kind", flat=True))
    assert {LineKind.DEPOSIT_RETURN, LineKind.ADJUSTMENT} <= kinds
    assert Adjustment.objects.get().applied_to == final
    # Every invoice numbered once.
    numbers = list(invoices.exclude(number=None).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 4


def test_the_demo_month_page_shows_a_draft_changed_since_built(demo, client):
    """A call of one draft corrected to a sales call after the drafts were
    built: the month page lists it, and issuing holds that draft back (built
    again) and issues the others."""
    client.force_login(User.objects.get(username="admin"))
    page = client.get(reverse("billing:month")).content.decode()
    assert "下書き 4 件を発行" in page
    assert 'id="changed-calls"' in page
    changed = page.split('id="changed-calls"', 1)[1].split("</div>", 1)[0]
    assert "合同会社ミドリ設計" in changed
    last = Invoice.objects.filter(status=InvoiceStatus.DRAFT).first().billing_month
    page = client.post(
        reverse("billing:issue"), {"month": f"{last:%Y-%m}"}, follow=True
    ).content.decode()
    assert "合同会社ミドリ設計" in page
    [held] = Invoice.objects.filter(status=InvoiceStatus.DRAFT)
    assert held.client_name == "合同会社ミドリ設計"
    assert (
        Invoice.objects.filter(billing_month=last, status=InvoiceStatus.ISSUED).count()
        == 3
    )


def test_the_demo_client_sees_only_issued_invoices(demo, client):
    client.force_login(User.objects.get(username="client"))
    page = client.get(reverse("portal:invoices")).content.decode()
    mine = Invoice.objects.filter(client__name=DEMO_CLIENT)
    paid = mine.get(status=InvoiceStatus.PAID)
    draft = mine.get(status=InvoiceStatus.DRAFT)
    assert reverse("portal:invoice", args=[paid.pk]) in page
    assert reverse("portal:invoice", args=[draft.pk]) not in page


def test_the_demo_has_a_trial_a_cancelled_client_and_a_failed_report(demo, client):
    statuses = set(Client.objects.values_list("status", flat=True))
    assert {"trial", "cancelled"} <= statuses
    client.force_login(User.objects.get(username="admin"))
    page = client.get(reverse("reporting:failed")).content.decode()
    assert "Mailbox full" in page


def test_a_rerun_adds_nothing(demo):
    def counts():
        return [
            model.objects.count()
            for model in (
                Call,
                CallRevision,
                Delivery,
                Invoice,
                Adjustment,
                BillingEmailChangeRequest,
                PlanChangeRequest,
                RecipientChangeRequest,
                CancellationRequest,
            )
        ]

    before = counts()
    call_command("seed_demo", verbosity=0)
    assert counts() == before
