"""Correction reports (訂正): the client hears of every change to a call it was
told of, and of nothing else."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from answering.models import Category
from reporting import services
from reporting.models import Delivery
from tests.factories import OperatorFactory
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db


def _correct(call, **changes):
    return services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes=changes
    )


def test_a_call_corrected_to_sales_and_back_is_corrected_again(smtp_peer):
    client, (person,) = client_with_recipients(1, report_by_email=True)
    call, _ = save_reported_call(client=client, purpose="見積り")
    _correct(call, category=Category.SALES)
    _correct(call, category=Category.NORMAL, purpose="見積りと納期")
    services.relay_due_deliveries()
    kinds = list(
        call.deliveries.filter(address=person.pc_email)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["report", "correction", "correction"]
    last = [m for m in smtp_peer.messages if m["to"] == [person.pc_email]][-1]
    assert "「営業電話」→「通常」" in last["body"]
    assert "「見積り」→「見積りと納期」" in last["body"]


def test_a_change_to_the_operators_memo_alone_tells_the_client_nothing(smtp_peer):
    client, _ = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    revision = _correct(call, note="社内: 声が大きい。次回は上長へ")
    assert revision is not None  # the history keeps it
    assert not call.deliveries.filter(kind=Delivery.Kind.CORRECTION).exists()
    _correct(call, note="社内メモ2", purpose="納期の件")
    services.relay_due_deliveries()
    bodies = [m["body"] for m in smtp_peer.messages]
    assert any("納期の件" in body for body in bodies)
    assert not any("社内" in body for body in bodies)


def test_a_call_with_no_active_recipient_says_so_on_the_console(
    operator_client, smtp_peer
):
    client, (person,) = client_with_recipients(1)
    person.active_to = timezone.localdate() - dt.timedelta(days=1)
    person.save()
    call, deliveries = save_reported_call(client=client)
    assert deliveries == []
    page = operator_client.get(reverse("console:home")).content.decode()
    assert "報告先なし" in page
    sales, _ = save_reported_call(client=client, category=Category.SALES)
    page = operator_client.get(
        f"{reverse('console:call_new')}?client={client.pk}&saved={sales.pk}"
    ).content.decode()
    assert "報告なし" in page and "報告先なし" not in page


def test_a_correction_waits_for_the_report_it_corrects(smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client, purpose="見積り")
    smtp_peer.mode = "temp"  # the client's server defers: the report backs off
    services.relay_due_deliveries()
    smtp_peer.mode = "ok"
    _correct(call, purpose="見積りと納期")
    correction = call.deliveries.get(kind=Delivery.Kind.CORRECTION, channel="email_pc")

    # The correction is due, but its report is not sent yet: neither Celery's
    # fast path nor the relay sends it ahead of the report.
    assert services.deliver(delivery_id=correction.pk) == "skipped"
    services.relay_due_deliveries()
    assert smtp_peer.messages == []

    call.deliveries.filter(kind=Delivery.Kind.REPORT).update(
        next_attempt_at=timezone.now()
    )
    services.relay_due_deliveries()  # one pass sends the report, then its correction
    subjects = [
        m["subject"] for m in smtp_peer.messages if m["to"] == [person.pc_email]
    ]
    assert len(subjects) == 2
    assert not subjects[0].startswith("【訂正】")
    assert subjects[1].startswith("【訂正】")
