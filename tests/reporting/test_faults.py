"""The issue's fault scenarios, counted at real local peers.

The ones that need a real Celery worker process run only on PostgreSQL: the
worker must see the committed test data through its own connection.
"""

import signal
import time

import pytest
from django.db import connection

from reporting import services
from reporting.models import Delivery
from tests.reporting.factories import client_with_recipients, save_reported_call
from tests.reporting.workers import (
    RedisServer,
    start_worker,
    stop_worker,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a Celery worker process needs the PostgreSQL test database (SQLite test DB is in memory)",
)


def relay_until_all_sent(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Delivery.objects.exclude(status=Delivery.Status.SENT).exists():
        assert time.monotonic() < deadline, list(
            Delivery.objects.exclude(status="sent").values("status", "last_error")[:3]
        )
        services.relay_due_deliveries()
        time.sleep(0.1)


def assert_each_arrived_exactly_once(smtp_peer) -> None:
    arrived = smtp_peer.by_message_id()
    expected = set(Delivery.objects.values_list("message_id", flat=True))
    assert set(arrived) == expected
    assert set(arrived.values()) == {1}


def test_redis_down_all_saves_succeed_and_the_relay_sends_each_once(
    settings, smtp_peer
):
    redis = RedisServer().start()
    redis.stop()  # Redis is down for the whole burst of saves.
    settings.CELERY_BROKER_URL = redis.url
    client, _ = client_with_recipients(1)

    started = time.monotonic()
    calls = [save_reported_call(client=client)[0] for _ in range(200)]
    elapsed = time.monotonic() - started
    assert len(calls) == 200
    assert Delivery.objects.filter(status="pending").count() == 400
    assert elapsed < 30, f"200 saves took {elapsed:.1f}s with Redis down"

    relay_until_all_sent(timeout=60)
    assert smtp_peer.count() == 400
    assert_each_arrived_exactly_once(smtp_peer)


@needs_postgres
def test_redis_stopped_then_back_a_real_worker_delivers_each_once(settings, smtp_peer):
    redis = RedisServer().start()
    settings.CELERY_BROKER_URL = redis.url
    worker = start_worker(broker_url=redis.url, smtp_url=smtp_peer.url)
    try:
        client, _ = client_with_recipients(1)
        # Fast path first: with Redis up the worker sends within seconds.
        save_reported_call(client=client)
        assert wait_until(lambda: smtp_peer.count() == 2, timeout=30)

        redis.stop()
        services._broker_down_until = 0.0
        started = time.monotonic()
        for _ in range(200):
            save_reported_call(client=client)
        assert time.monotonic() - started < 30
        assert Delivery.objects.filter(status="pending").count() == 400

        redis.start()
        # What beat does every 15 s: ask a worker to relay what is due.
        from reporting.tasks import relay_due_deliveries

        with relay_due_deliveries.app.connection_for_write(redis.url) as conn:
            relay_due_deliveries.apply_async(connection=conn)
        assert wait_until(lambda: smtp_peer.count() >= 402, timeout=60)
        time.sleep(1)
        assert smtp_peer.count() == 402
        assert_each_arrived_exactly_once(smtp_peer)
    finally:
        stop_worker(worker)
        redis.stop()


@needs_postgres
def test_worker_killed_mid_batch_every_delivery_arrives_and_copies_are_flagged(
    settings, smtp_peer
):
    settings.REPORT_LEASE_SECONDS = 2
    smtp_peer.data_delay = 0.15  # accepted, but the 250 comes a little later
    redis = RedisServer().start()
    settings.CELERY_BROKER_URL = redis.url
    worker = start_worker(
        broker_url=redis.url,
        smtp_url=smtp_peer.url,
        extra_env={"REPORT_LEASE_SECONDS": "2"},
    )
    try:
        client, _ = client_with_recipients(1)
        for _ in range(30):
            save_reported_call(client=client)
        assert wait_until(lambda: smtp_peer.count() >= 15, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert Delivery.objects.filter(status="sent").count() < 60
    finally:
        stop_worker(worker)
        redis.stop()

    # The relay (the safety net) finishes the batch, taking over the lease.
    relay_until_all_sent(timeout=30)
    arrived = smtp_peer.by_message_id()
    for d in Delivery.objects.all():
        assert arrived[d.message_id] >= 1
        if arrived[d.message_id] > 1:
            assert d.possible_duplicate, d
    assert sum(arrived.values()) <= 61


def test_smtp_4xx_for_30_seconds_then_every_delivery_arrives_once(settings, smtp_peer):
    settings.REPORT_RETRY_BASE_SECONDS = 1
    settings.REPORT_RETRY_MAX_SECONDS = 4
    settings.REPORT_MAX_ATTEMPTS = 100
    client, _ = client_with_recipients(2)
    smtp_peer.mode = "temp"
    recovers_at = time.time() + 30
    for _ in range(5):
        save_reported_call(client=client)

    while time.time() < recovers_at:
        services.relay_due_deliveries()
        time.sleep(0.2)
    assert smtp_peer.count() == 0
    assert smtp_peer.refused >= 20 * 3  # several tries each, spaced by backoff
    assert smtp_peer.refused < 20 * 15  # ...but not hammering
    smtp_peer.mode = "ok"

    relay_until_all_sent(timeout=10)
    assert smtp_peer.count() == 20
    assert_each_arrived_exactly_once(smtp_peer)
    assert all(m["at"] >= recovers_at for m in smtp_peer.messages)


def test_a_clients_report_never_reaches_another_clients_recipient_or_room(
    smtp_peer, chatwork_peer
):
    a, a_people = client_with_recipients(2, chatwork_room="1001")
    b, b_people = client_with_recipients(1, chatwork_room="2002")
    for _ in range(3):
        save_reported_call(client=a, caller_name="Aの発信者")
        save_reported_call(client=b, caller_name="Bの発信者")
    relay_until_all_sent(timeout=30)

    a_addresses = {e for p in a_people for e in (p.pc_email, p.mobile_email)}
    b_addresses = {b_people[0].pc_email, b_people[0].mobile_email}
    for message in smtp_peer.messages:
        (to,) = message["to"]
        owner = "A" if "Aの発信者" in message["body"] else "B"
        assert to in (a_addresses if owner == "A" else b_addresses)
    for post in chatwork_peer.posts:
        owner = "A" if "Aの発信者" in post["body"] else "B"
        assert post["room"] == ("1001" if owner == "A" else "2002")
    assert smtp_peer.count() == 3 * 4 + 3 * 2
    assert chatwork_peer.count() == 6
