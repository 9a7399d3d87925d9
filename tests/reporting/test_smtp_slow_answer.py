"""The answer to the end of a message: servers scan and store it first, and may
take minutes (RFC 5321 allows 10). Counted at a real peer: a slow answer is not
a lost report, and a lost answer is at most one flagged second copy."""

import contextlib
import socket
import time

import pytest
from django.utils import timezone

from reporting import mail, services
from reporting.models import Delivery
from tests.reporting.factories import client_with_recipients, save_reported_call
from tests.reporting.peers import free_port

pytestmark = pytest.mark.django_db


def test_an_answer_slower_than_email_timeout_but_in_time_is_one_copy_sent(
    settings, smtp_peer
):
    settings.EMAIL_TIMEOUT = 0.5
    settings.EMAIL_DATA_TIMEOUT = 5.0
    smtp_peer.data_delay = 1.5  # stored at once, "250" only after 1.5 s
    client, _ = client_with_recipients(1)
    _, deliveries = save_reported_call(client=client)

    assert [services.deliver(delivery_id=d.pk) for d in deliveries] == ["sent"] * 2

    assert smtp_peer.count() == 2
    assert set(smtp_peer.by_message_id().values()) == {1}
    assert smtp_peer.sessions == 1  # the kept connection survived the long wait
    for d in deliveries:
        d.refresh_from_db()
        assert d.status == Delivery.Status.SENT
        assert (d.attempts, d.possible_duplicate) == (1, False)
    # ...and its other steps wait EMAIL_TIMEOUT again, not the long one.
    assert mail._kept.connection.connection.sock.gettimeout() == 0.5


@pytest.mark.parametrize("lost", ["timeout", "drop"])
def test_a_lost_answer_to_a_sent_message_gives_one_flagged_copy_at_most(
    settings, smtp_peer, lost
):
    """It was 12 copies (one per attempt), then "failed" with no warning."""
    settings.EMAIL_TIMEOUT = 0.2
    settings.EMAIL_DATA_TIMEOUT = 0.8
    if lost == "timeout":
        smtp_peer.data_delay = 2.0  # stored, answered after the data timeout
    else:
        smtp_peer.data_drop = True  # stored, then the connection drops
    client, _ = client_with_recipients(1)
    _, (d, _mobile) = save_reported_call(client=client)

    started = time.monotonic()
    assert services.deliver(delivery_id=d.pk) == "retry"
    if lost == "timeout":
        # It waited EMAIL_DATA_TIMEOUT for the answer, not EMAIL_TIMEOUT.
        assert 0.8 <= time.monotonic() - started < 2.0
    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING
    assert d.possible_duplicate
    assert "本文を送り終えた後" in d.last_error
    assert "届いている可能性があります" in d.last_error

    for _ in range(settings.REPORT_MAX_ATTEMPTS + 1):
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
        services.deliver(delivery_id=d.pk)

    d.refresh_from_db()
    assert d.status == Delivery.Status.FAILED
    assert d.attempts == 2
    assert d.possible_duplicate and not d.bounced
    assert "届いている可能性があります" in d.last_error
    assert "自動の再送を止めました" in d.last_error
    assert smtp_peer.by_message_id()[d.message_id] == 2
    assert smtp_peer.count() == 2


def _refused_at_rcpt(settings, peer, stack):
    peer.mode = "temp"  # 451 at RCPT


def _slow_at_rcpt(settings, peer, stack):
    peer.rcpt_delay = 1.5  # longer than EMAIL_TIMEOUT: only DATA's end waits longer


def _nobody_listening(settings, peer, stack):
    settings.EMAIL_PORT = free_port()


def _silent_after_connect(settings, peer, stack):
    # Connects (the kernel accepts it), but no greeting ever comes.
    sock = stack.enter_context(socket.socket())
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    settings.EMAIL_PORT = sock.getsockname()[1]


@pytest.mark.parametrize(
    "fault",
    [_refused_at_rcpt, _slow_at_rcpt, _nobody_listening, _silent_after_connect],
    ids=["refused-at-rcpt", "slow-at-rcpt", "nobody-listening", "silent-server"],
)
def test_an_error_before_the_message_is_sent_is_a_plain_retry(
    settings, smtp_peer, fault
):
    settings.EMAIL_TIMEOUT = 0.3
    settings.EMAIL_DATA_TIMEOUT = 5.0
    client, _ = client_with_recipients(1)
    _, (d, _mobile) = save_reported_call(client=client)

    with contextlib.ExitStack() as stack:
        fault(settings, smtp_peer, stack)
        started = time.monotonic()
        with pytest.raises(mail.MailError) as caught:
            mail.send(
                to=d.address, subject=d.subject, body=d.body, message_id=d.message_id
            )
        assert time.monotonic() - started < 1.0  # EMAIL_TIMEOUT, not the long wait
        assert not caught.value.maybe_posted
        assert not caught.value.permanent
        assert services.deliver(delivery_id=d.pk) == "retry"

    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING
    assert not d.possible_duplicate
    assert "届いている可能性" not in d.last_error
    assert smtp_peer.count() == 0
