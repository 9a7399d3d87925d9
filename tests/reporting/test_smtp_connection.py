"""A worker keeps one SMTP connection for consecutive reports, and replaces it
when it broke, without losing or doubling a message (counted at the peer)."""

import socket

import pytest

from reporting import mail, services
from reporting.models import Delivery
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db


def deliver_all(deliveries) -> list[str]:
    return [services.deliver(delivery_id=d.pk) for d in deliveries]


def test_consecutive_reports_go_over_one_connection_and_each_arrives_once(
    smtp_peer,
):
    client, _ = client_with_recipients(2)
    deliveries = [d for _ in range(3) for d in save_reported_call(client=client)[1]]

    assert deliver_all(deliveries) == ["sent"] * 12

    assert smtp_peer.sessions == 1
    arrived = smtp_peer.by_message_id()
    assert set(arrived) == {d.message_id for d in deliveries}
    assert set(arrived.values()) == {1}
    sent = Delivery.objects.filter(status="sent")
    assert sorted(sent.values_list("provider_message_id", flat=True)) == sorted(
        d.message_id for d in deliveries
    )


def test_a_connection_dropped_while_idle_is_replaced_before_the_next_report(
    smtp_peer, monkeypatch
):
    monkeypatch.setattr(mail, "IDLE_CHECK_SECONDS", 0.0)
    client, _ = client_with_recipients(1)
    _, first = save_reported_call(client=client)
    assert deliver_all(first) == ["sent", "sent"]

    # The network drops the kept connection while the worker waits.
    mail._kept.connection.connection.sock.shutdown(socket.SHUT_RDWR)

    _, second = save_reported_call(client=client)
    assert deliver_all(second) == ["sent", "sent"]
    assert smtp_peer.sessions == 2
    assert set(smtp_peer.by_message_id().values()) == {1}
    assert smtp_peer.count() == 4


def test_after_a_refused_message_the_next_report_is_sent_on_a_new_connection(
    smtp_peer,
):
    client, (recipient,) = client_with_recipients(1)
    smtp_peer.bounce.add(recipient.pc_email)
    _, deliveries = save_reported_call(client=client)

    outcomes = dict(
        zip((d.address for d in deliveries), deliver_all(deliveries), strict=True)
    )

    assert outcomes == {recipient.pc_email: "failed", recipient.mobile_email: "sent"}
    assert smtp_peer.sessions == 2
    assert [m["to"] for m in smtp_peer.messages] == [[recipient.mobile_email]]
    bounced = Delivery.objects.get(address=recipient.pc_email)
    assert bounced.bounced
    assert "550" in bounced.last_error
