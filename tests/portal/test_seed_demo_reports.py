"""The demo that `make run` seeds: its calls are logged by the demo operator and
reported as the console's save reports them, their reports sent."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from answering.models import REPORTED_CATEGORIES, Call, Category
from clients.models import User
from reporting.models import Delivery
from reporting.services import record_correction

# The plans the migrations make on every database (the tests run without them).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_company", "plans")]


@pytest.fixture
def demo():
    call_command("seed_demo", force=True, verbosity=0)


def _latest_reported_call_before_today() -> Call:
    today = timezone.localdate()
    return (
        Call.objects.filter(category__in=REPORTED_CATEGORIES)
        .filter(
            received_at__lt=dt.datetime.combine(
                today, dt.time(), timezone.get_current_timezone()
            )
        )
        .order_by("-received_at")
        .first()
    )


def test_demo_calls_are_logged_by_the_demo_operator(demo, client):
    operator = User.objects.get(username="operator")
    assert Call.objects.exists()
    assert not Call.objects.exclude(logged_by=operator).exists()
    call = _latest_reported_call_before_today()
    # Logged a few minutes after it came in, not when the demo was seeded.
    assert (
        call.received_at < call.created_at <= call.received_at + dt.timedelta(minutes=5)
    )
    client.force_login(operator)
    page = client.get(reverse("console:call_edit", args=[call.pk])).content.decode()
    assert "operator が記録" in page
    assert "— が記録" not in page


def test_reported_demo_calls_have_their_reports_sent_and_sales_calls_none(demo):
    reported = Call.objects.filter(category__in=REPORTED_CATEGORIES)
    assert reported.exists()
    assert not reported.filter(deliveries__isnull=True).exists()
    # Sales calls are not reported, but the one reported before it was
    # corrected to sales (after last month's drafts were built): the client
    # is told of the correction.
    to_sales = Delivery.objects.filter(call__category=Category.SALES)
    assert not to_sales.filter(call__revisions__isnull=True).exists()
    assert to_sales.filter(kind=Delivery.Kind.CORRECTION, status="sent").exists()
    # Every active recipient of a client, as the console's save queues them:
    # the first client has five recipients, three with a mobile address.
    first = reported.filter(client__name="株式会社さくら不動産").first()
    assert first.deliveries.count() == 8
    recent = timezone.now() - dt.timedelta(minutes=10)
    old = Delivery.objects.filter(call__created_at__lt=recent)
    assert set(old.values_list("status", flat=True)) == {"sent", "failed"}
    assert old.filter(status="failed").count() == 1
    for delivery in old.filter(status="sent", kind="report").select_related("call"):
        assert delivery.attempts == 1
        assert (
            delivery.call.created_at
            <= delivery.sent_at
            < delivery.call.created_at + dt.timedelta(minutes=1)
        )
    # Nothing due for the relay that `make run` starts (it would mail the lot),
    # and nothing was sent while seeding.
    assert not Delivery.objects.due().filter(call__created_at__lt=recent).exists()
    assert mail.outbox == []


def test_a_rerun_adds_no_report(demo):
    before = Delivery.objects.count()
    call_command("seed_demo", force=True, verbosity=0)
    assert Delivery.objects.count() == before


def test_the_console_shows_demo_calls_reported_not_without_recipients(demo, client):
    client.force_login(User.objects.get(username="operator"))
    reported = Call.objects.filter(category__in=REPORTED_CATEGORIES)
    # A day with a call whose reports were all sent (one demo report failed,
    # those of the last minutes wait for the relay).
    call = reported.exclude(deliveries__status__in=["failed", "pending"]).order_by(
        "-received_at"
    )[0]
    day = timezone.localdate(call.received_at)
    page = client.get(reverse("console:home"), {"day": day}).content.decode()
    assert "報告済" in page
    assert "報告先なし" not in page


def test_a_memo_correction_of_a_demo_call_sends_no_report(demo):
    """The client was told of the call: a change of the operator's memo, which
    no report carries, sends nothing (not a first report, hours late)."""
    call = _latest_reported_call_before_today()
    before = Delivery.objects.count()
    record_correction(
        call=call,
        corrected_by=User.objects.get(username="operator"),
        changes={"note": "折り返し済み"},
    )
    assert Delivery.objects.count() == before
