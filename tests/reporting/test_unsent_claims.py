"""A delivery claimed ("sending") whose send never started: the database or the
rendering failed in between. Nothing reached the client, so the claim is given
back: the report is retried as usual, not left "sending" until its lease runs
out and then resent flagged as a possible duplicate (重複送信の可能性)."""

import contextlib
import time
from unittest import mock

import pytest
from django.db import OperationalError, connection

from reporting import rate_limits, services
from reporting.models import Delivery
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db

DROPPED = "server closed the connection unexpectedly"


@pytest.fixture
def short_waits(settings):
    # Both short, so the test sees which one brings the report back: the lease
    # of a claim left "sending", or the retry of a claim given back.
    settings.REPORT_LEASE_SECONDS = 0.3
    settings.REPORT_RETRY_BASE_SECONDS = 0.3


def _relay_pass() -> None:
    """One pass as run_relay makes it: an error ends the pass, the loop goes on."""
    with contextlib.suppress(OperationalError):
        services.relay_due_deliveries()


def _relay_until_sent(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while Delivery.objects.exclude(status=Delivery.Status.SENT).exists():
        assert time.monotonic() < deadline, list(
            Delivery.objects.values("status", "last_error")
        )
        _relay_pass()
        time.sleep(0.05)


def _fail_once(real, error: Exception):
    """``real``, except that its first call raises ``error``."""
    failed = []

    def fault(*args, **kwargs):
        if not failed:
            failed.append(error)
            raise error
        return real(*args, **kwargs)

    return fault


def _the_one_not_sent(call) -> Delivery:
    (delivery,) = call.deliveries.exclude(status=Delivery.Status.SENT)
    return delivery


def _assert_given_back(delivery: Delivery) -> None:
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # not "sending"
    assert delivery.lease_expires_at is None
    assert not delivery.possible_duplicate


def _assert_each_read_once_and_none_flagged(operator_client, call, arrived) -> None:
    assert sorted(arrived) == sorted(call.deliveries.values_list("address", flat=True))
    assert not call.deliveries.filter(possible_duplicate=True).exists()
    page = operator_client.get(f"/reports/calls/{call.pk}/").content.decode()
    assert "重複送信の可能性" not in page


def test_a_database_error_while_the_corrected_call_is_read_gives_the_claim_back(
    short_waits, smtp_peer, operator_client
):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    pc = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)  # the relay's first
    fault = _fail_once(services._as_first_message, OperationalError(DROPPED))
    with mock.patch.object(services, "_as_first_message", fault):
        _relay_pass()

    _assert_given_back(pc)
    assert pc.attempts == 1  # counted: a fault that stays ends as a failure
    assert DROPPED in pc.last_error
    # The pass went on: the mobile address had its report at once.
    assert [m["to"] for m in smtp_peer.messages] == [[person.mobile_email]]

    _relay_until_sent()
    arrived = [to for m in smtp_peer.messages for to in m["to"]]
    _assert_each_read_once_and_none_flagged(operator_client, call, arrived)


def test_a_database_error_at_chatworks_rate_limit_gives_the_claim_back(
    short_waits, chatwork_peer, operator_client
):
    client, _ = client_with_recipients(0, chatwork_room="111", report_by_email=False)
    call, _ = save_reported_call(client=client)
    fault = _fail_once(rate_limits.try_acquire, OperationalError("database is locked"))
    with mock.patch.object(rate_limits, "try_acquire", fault):
        _relay_pass()

    _assert_given_back(_the_one_not_sent(call))
    assert chatwork_peer.posts == []

    _relay_until_sent()
    arrived = [post["room"] for post in chatwork_peer.posts]
    _assert_each_read_once_and_none_flagged(operator_client, call, arrived)


def test_a_database_error_reading_the_claimed_delivery_gives_the_claim_back(
    short_waits, smtp_peer, operator_client
):
    client, _ = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    first = call.deliveries.order_by("id").first()  # the relay's first
    fault = _fail_once(Delivery.objects.select_related, OperationalError(DROPPED))
    # The claim's read of the delivery it won (select_related("client")).
    with mock.patch.object(Delivery.objects, "select_related", fault):
        _relay_pass()  # the error ends this pass, as a database error does

    _assert_given_back(first)
    _relay_until_sent()
    arrived = [to for m in smtp_peer.messages for to in m["to"]]
    _assert_each_read_once_and_none_flagged(operator_client, call, arrived)


@pytest.mark.postgres(reason="cuts a PostgreSQL connection")
@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_between_claim_and_send_gives_the_claim_back(
    short_waits, smtp_peer, operator_client
):
    """The server drops the relay's connection after the claim (a restart): the
    claim is given back on a new connection."""
    client, _ = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    first = call.deliveries.order_by("id").first()  # the relay's first
    real = services._as_first_message
    cut = []

    def cut_connection(delivery):
        if not cut:
            cut.append(delivery.pk)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(delivery)

    with mock.patch.object(services, "_as_first_message", cut_connection):
        outcomes = services.relay_due_deliveries()

    assert cut == [first.pk]
    assert outcomes == {"retry": 1, "sent": 1}  # and the pass went on
    _assert_given_back(first)
    _relay_until_sent()
    arrived = [to for m in smtp_peer.messages for to in m["to"]]
    _assert_each_read_once_and_none_flagged(operator_client, call, arrived)
