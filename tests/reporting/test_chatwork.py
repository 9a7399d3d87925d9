import contextlib
import time
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from reporting import rate_limits, services
from reporting.models import Delivery
from tests.reporting.factories import client_with_recipients, save_reported_call
from tests.reporting.peers import free_port

pytestmark = pytest.mark.django_db


def chatwork_client(room="424242", **kwargs):
    client, _ = client_with_recipients(0, chatwork_room=room, report_by_email=False)
    return client


def test_posts_info_notation_with_token_and_body_field(chatwork_peer):
    client = chatwork_client()
    _, (d,) = save_reported_call(
        client=client, caller_name="田中[To:1]", purpose="見積もり[/info]の件"
    )
    assert services.deliver(delivery_id=d.pk) == "sent"

    (post,) = chatwork_peer.posts
    assert post["room"] == "424242"
    body = post["body"]
    assert body.startswith("[info][title]") and body.endswith("[/info]")
    assert body.count("[/info]") == 1 and "[To:1]" not in body
    assert "090-1234-5678" in body
    d.refresh_from_db()
    assert d.status == Delivery.Status.SENT
    assert d.provider_message_id == post["id"]


def test_a_connection_the_server_closed_while_idle_costs_no_report(chatwork_peer):
    """Chatwork closes kept-alive connections left idle. A post sent on one just
    as it closed was reset unread, and its report waited for a retry."""
    chatwork_peer.keepalive_timeout = 0.2
    client = chatwork_client()
    first, second = [save_reported_call(client=client)[1][0] for _ in range(2)]
    assert services.deliver(delivery_id=first.pk) == "sent"
    time.sleep(0.4)
    assert services.deliver(delivery_id=second.pk) == "sent"

    assert chatwork_peer.count() == 2
    second.refresh_from_db()
    assert second.status == Delivery.Status.SENT and not second.possible_duplicate


def test_a_post_reset_after_chatwork_took_it_is_flagged_as_maybe_posted(
    chatwork_peer, admin_client
):
    """The connection broke after the request went out: the room may have the
    report. It was retried as if nothing had been posted, unflagged."""
    chatwork_peer.reset_after_post = True
    call, (d,) = save_reported_call(client=chatwork_client())

    assert services.deliver(delivery_id=d.pk) == "retry"
    assert chatwork_peer.count() == 1
    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING and d.possible_duplicate
    assert "投稿されている可能性があります" in d.last_error
    page = admin_client.get(f"/reports/calls/{call.pk}/").content.decode()
    assert "（重複送信の可能性）" in page

    # A second unsure post: no third copy, an admin decides.
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert services.deliver(delivery_id=d.pk) == "failed"
    assert chatwork_peer.count() == 2
    d.refresh_from_db()
    assert "自動の再送を止めました" in d.last_error
    page = admin_client.get("/reports/failed/").content.decode()
    assert "（重複送信の可能性）" in page


def test_a_refused_connection_is_retried_unflagged(settings):
    """Nothing reached Chatwork: the retry is no possible duplicate."""
    settings.CHATWORK_API_BASE_URL = f"http://127.0.0.1:{free_port()}/v2"
    settings.CHATWORK_API_TOKEN = "test-chatwork-token"
    _, (d,) = save_reported_call(client=chatwork_client())

    assert services.deliver(delivery_id=d.pk) == "retry"
    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING and not d.possible_duplicate
    assert "接続エラー" in d.last_error


def test_429_waits_for_the_reset_then_sends_once(chatwork_peer):
    client = chatwork_client()
    reset = int(time.time()) + 2
    chatwork_peer.respond = lambda room: (
        (429, {"x-ratelimit-reset": str(reset)}) if time.time() < reset else None
    )
    _, (d,) = save_reported_call(client=client)

    assert services.deliver(delivery_id=d.pk) == "deferred"
    d.refresh_from_db()
    assert d.status == Delivery.Status.PENDING
    assert abs(d.next_attempt_at.timestamp() - reset) < 1.01
    assert d.attempts == 0 and "429" in d.last_error  # nothing was posted

    deadline = time.monotonic() + 6
    while chatwork_peer.count() == 0 and time.monotonic() < deadline:
        services.relay_due_deliveries()
        time.sleep(0.1)
    assert chatwork_peer.count() == 1
    statuses = [s for _, _, s in chatwork_peer.requests]
    # Not hammered while limited: one 429, then the post after the reset.
    assert statuses == [429, 200]
    for _ in range(3):
        services.relay_due_deliveries()
    assert chatwork_peer.count() == 1


def test_chatworks_rate_limit_never_uses_up_a_reports_attempts(settings, chatwork_peer):
    """Each 429 counted as an attempt: a busy afternoon of 429s failed reports
    that Chatwork had never refused, and an admin had to resend them by hand."""
    settings.REPORT_MAX_ATTEMPTS = 2
    client = chatwork_client()
    chatwork_peer.respond = lambda room: (429, {"x-ratelimit-reset": "0"})
    _, (d,) = save_reported_call(client=client)
    for _ in range(settings.REPORT_MAX_ATTEMPTS + 1):
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
        assert services.deliver(delivery_id=d.pk) == "deferred"
    d.refresh_from_db()
    assert (d.status, d.attempts) == (Delivery.Status.PENDING, 0)
    # A real failure still counts.
    chatwork_peer.respond = lambda room: (500, {})
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert services.deliver(delivery_id=d.pk) == "retry"
    d.refresh_from_db()
    assert d.attempts == 1


def test_a_run_of_500s_is_backed_off(settings, chatwork_peer):
    settings.REPORT_RETRY_BASE_SECONDS = 0.2
    client = chatwork_client()
    failures = {"left": 3}

    def respond(room):
        if failures["left"]:
            failures["left"] -= 1
            return (500, {})
        return None

    chatwork_peer.respond = respond
    _, (d,) = save_reported_call(client=client)
    gaps = []
    last = None
    deadline = time.monotonic() + 10
    while chatwork_peer.count() == 0 and time.monotonic() < deadline:
        outcome = services.relay_due_deliveries()
        if outcome:
            now = time.monotonic()
            if last is not None:
                gaps.append(now - last)
            last = now
        time.sleep(0.02)
    assert chatwork_peer.count() == 1
    assert [s for _, _, s in chatwork_peer.requests] == [500, 500, 500, 200]
    # 0.2 s, 0.4 s, 0.8 s: each wait longer than the one before.
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8
    d.refresh_from_db()
    assert d.status == Delivery.Status.SENT and d.attempts == 4


def test_401_fails_at_once_with_an_error_admins_see(chatwork_peer, admin_client):
    client = chatwork_client()
    chatwork_peer.respond = lambda room: (401, {})
    _, (d,) = save_reported_call(client=client)
    for _ in range(3):
        services.relay_due_deliveries()
    assert len(chatwork_peer.requests) == 1
    d.refresh_from_db()
    assert d.status == Delivery.Status.FAILED and "401" in d.last_error
    page = admin_client.get("/reports/failed/").content.decode()
    assert "424242" in page and "Chatwork 401" in page


def test_a_failed_report_is_not_resent_to_a_room_no_longer_reported_to(chatwork_peer):
    """The client switched from Chatwork to e-mail: 再送 still posted in the room."""
    client = chatwork_client()
    chatwork_peer.respond = lambda room: (401, {})
    _, (d,) = save_reported_call(client=client)
    services.relay_due_deliveries()
    chatwork_peer.respond = None
    client.report_by_chatwork, client.report_by_email = False, True
    client.save()
    result = services.resend(delivery_id=d.pk)
    services.relay_due_deliveries()
    assert not result.queued and "今は報告先ではない" in result.refused
    assert chatwork_peer.posts == []
    d.refresh_from_db()
    assert d.status == Delivery.Status.FAILED


def test_wrong_token_is_refused_by_the_peer(settings, chatwork_peer):
    settings.CHATWORK_API_TOKEN = "wrong"
    _, (d,) = save_reported_call(client=chatwork_client())
    assert services.deliver(delivery_id=d.pk) == "failed"


def _relay_until_all_sent(*, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while Delivery.objects.exclude(status="sent").exists():
        assert time.monotonic() < deadline
        services.relay_due_deliveries()
        time.sleep(0.02)


def test_room_limit_is_respected_and_deliveries_are_deferred(settings, chatwork_peer):
    # A window long enough that a slow first pass (a loaded CI machine) still
    # runs inside it.
    settings.CHATWORK_ROOM_LIMIT = (3, 2.0)
    chatwork_peer.room_limit = (3, 2.0)
    client = chatwork_client()
    other = chatwork_client(room="777")
    for _ in range(7):
        save_reported_call(client=client)
    save_reported_call(client=other)

    first = services.relay_due_deliveries()
    assert first == {"sent": 4, "deferred": 4}
    _relay_until_all_sent(seconds=12)
    assert chatwork_peer.count() == 8
    assert chatwork_peer.violations == 0
    assert Delivery.objects.filter(attempts=1).count() == 8


def test_a_slow_first_post_does_not_let_a_later_one_arrive_too_soon(
    settings, chatwork_peer
):
    # Chatwork counts a post when it arrives. The first of a burst is often the
    # slowest (a new connection); counted from when it was sent, its slot would
    # free up early and the third post would arrive inside the window.
    settings.CHATWORK_ROOM_LIMIT = (2, 1.0)
    chatwork_peer.room_limit = (2, 1.0)
    transits = iter([0.5])  # then 0 s
    chatwork_peer.transit = lambda: next(transits, 0.0)
    client = chatwork_client()
    for _ in range(3):
        save_reported_call(client=client)
    _relay_until_all_sent(seconds=10)
    assert chatwork_peer.count() == 3
    assert chatwork_peer.violations == 0


def test_token_limit_applies_across_rooms(settings, chatwork_peer):
    settings.CHATWORK_TOKEN_LIMIT = (2, 60.0)
    for room in ["1", "2", "3"]:
        save_reported_call(client=chatwork_client(room=room))
    assert services.relay_due_deliveries() == {"sent": 2, "deferred": 1}
    waiting = Delivery.objects.get(status="pending")
    assert waiting.next_attempt_at > timezone.now()


def test_a_200_with_an_unreadable_body_is_sent_once(chatwork_peer):
    """200 is Chatwork's word that it posted: retrying posted up to 12 copies."""
    chatwork_peer.garbled = True
    _, (d,) = save_reported_call(client=chatwork_client())
    assert services.deliver(delivery_id=d.pk) == "sent"
    services.relay_due_deliveries()
    assert chatwork_peer.count() == 1
    d.refresh_from_db()
    assert (d.status, d.provider_message_id) == (Delivery.Status.SENT, "")


def test_a_post_whose_rate_limit_count_fails_afterwards_is_posted_once(
    settings, chatwork_peer
):
    """Chatwork took the post; then counting it against the room's limit met a
    database error (SQLite locked by the web process): the report stayed
    "sending" and was posted into the room again when its lease ran out."""
    settings.REPORT_LEASE_SECONDS = 0.2
    client = chatwork_client()
    _, (d,) = save_reported_call(client=client)

    def locked(**kwargs):
        raise OperationalError("database is locked")

    with (
        mock.patch.object(rate_limits, "count_from", locked),
        contextlib.suppress(OperationalError),  # as run_relay's loop does
    ):
        services.relay_due_deliveries()
    time.sleep(0.3)  # the lease would have run out
    services.relay_due_deliveries()

    assert chatwork_peer.count() == 1
    d.refresh_from_db()
    assert d.status == Delivery.Status.SENT
    assert not d.possible_duplicate


def test_after_two_unsure_posts_it_waits_for_an_admin(settings, chatwork_peer):
    """A timeout after Chatwork stored the post: one blind repost at most."""
    settings.CHATWORK_TIMEOUT_SECONDS = 0.5
    chatwork_peer.answer_delay = 1.5
    _, (d,) = save_reported_call(client=chatwork_client())
    assert services.deliver(delivery_id=d.pk) == "retry"
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert services.deliver(delivery_id=d.pk) == "failed"
    d.refresh_from_db()
    assert d.status == Delivery.Status.FAILED
    assert d.possible_duplicate
    assert "自動の再送を止めました" in d.last_error
    services.relay_due_deliveries()
    time.sleep(1.5)  # the peer finishes its slow answers
    assert chatwork_peer.count() == 2


def test_with_no_token_the_embedded_default_writes_messages_as_files(
    settings, tmp_path
):
    settings.CHATWORK_API_TOKEN = ""
    settings.CHATWORK_FILE_PATH = str(tmp_path)
    _, (d,) = save_reported_call(client=chatwork_client(), purpose="見積もりの件")
    assert services.deliver(delivery_id=d.pk) == "sent"
    (written,) = tmp_path.iterdir()
    assert written.name.endswith("-room424242.txt")
    assert "見積もりの件" in written.read_text(encoding="utf-8")


def test_with_no_token_in_production_the_report_fails_for_admins(settings):
    settings.CHATWORK_API_TOKEN = ""
    settings.CHATWORK_FILE_PATH = ""
    _, (d,) = save_reported_call(client=chatwork_client())
    assert services.deliver(delivery_id=d.pk) == "failed"
    d.refresh_from_db()
    assert "CHATWORK_API_TOKEN" in d.last_error
