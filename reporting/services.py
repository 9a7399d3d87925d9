"""Queue call reports with the call, deliver them once, retry what failed.

Life of a delivery::

    pending --claim--> sending --provider accepted--> sent
       ^                  |--temporary failure--> pending (next_attempt_at later)
       |                  |--permanent / too many attempts--> failed --resend--> pending
       +-- rate limited --+
    sending with an expired lease --claim again, flagged possible_duplicate--> sending

The claim is a conditional UPDATE (only one process can win it); the provider
is called outside any transaction; the result is written with the attempt number
as a fence, so a late worker never overwrites a newer attempt.
"""

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from answering.models import Call, CallRevision
from answering.selectors import nuisance_ordinal
from answering.services import (
    REPORTED_FIELDS,
    correct_call,
    erase_caller_data,
    log_call,
    personal_data_cutoff,
)
from clients.message_ids import new_message_id
from clients.models import Client, ReportRecipient, User
from clients.portal_links import portal_url
from reporting import chatwork, mail, rate_limits, report_text
from reporting.models import Delivery, destination_key

logger = logging.getLogger(__name__)

Status = Delivery.Status
Channel = Delivery.Channel


# --- queueing ---------------------------------------------------------------


def _destinations(call: Call) -> list[tuple[str, str, int | None]]:
    """(channel, address, recipient id) for every destination of this call's client."""
    client = call.client
    # The recipients of today, not of the call's day: a call logged late or
    # corrected later must not reach an address the client has stopped since
    # (someone who left), and it reaches whoever replaced them. A client whose
    # contract has ended since the call (its last day's call logged on the 1st)
    # has nobody today: it hears through the recipients it had that day.
    day = timezone.localdate()
    call_day = timezone.localdate(call.received_at)
    if client.cancelled_on is not None and call_day <= client.cancelled_on < day:
        day = call_day
    found: list[tuple[str, str, int | None]] = []
    if client.report_by_email:
        # Recipients of THIS client only.
        recipients = list(
            ReportRecipient.objects.filter(client_id=client.pk)
            .active_on(day)
            .order_by("id")
            .values_list("id", "pc_email", "mobile_email")
        )
        # An address given for a PC and for a mobile (of one person or two)
        # gets the PC report, once.
        pc_addresses = {destination_key(pc) for _, pc, _ in recipients if pc}
        for person_id, pc_email, mobile_email in recipients:
            if pc_email:
                found.append((Channel.EMAIL_PC, pc_email, person_id))
            if mobile_email and destination_key(mobile_email) not in pc_addresses:
                found.append((Channel.EMAIL_MOBILE, mobile_email, person_id))
    if client.report_by_chatwork and client.chatwork_room_id:
        found.append((Channel.CHATWORK, client.chatwork_room_id, None))
    seen = set()
    unique: list[tuple[str, str, int | None]] = []
    for channel, address, recipient_id in found:
        key = destination_key(address)
        if key not in seen:
            seen.add(key)
            unique.append((channel, address, recipient_id))
    return unique


def _render(
    call: Call,
    channel: str,
    changes: dict[str, Any] | None,
    *,
    corrected: bool = False,
    nuisance_ordinal: int = 0,
) -> dict:
    """Subject and body for one channel (the same for every address on it).

    ``nuisance_ordinal`` is counted once by the caller (nuisance_ordinal()) and
    written into the text: a resend of the text says what it said when queued.
    """
    correction = changes is not None
    # Reports go to Japanese clients: their words (category and reason labels)
    # never follow the language of the screen of the operator who saved the
    # call, or of the admin who resends it.
    # The call's own page, one click away: its full text, corrections and
    # deliveries (the call list made the reader look for it).
    call_url = portal_url("portal:call", call.pk)
    with translation.override(settings.LANGUAGE_CODE):
        if channel == Channel.CHATWORK:
            body = report_text.chatwork_body(
                call,
                changes=changes,
                corrected=corrected,
                nuisance_ordinal=nuisance_ordinal,
                history_url=call_url,
            )
            return {"subject": "", "body": body}
        return {
            "subject": report_text.subject(call, correction=correction),
            "body": report_text.email_body(
                call,
                mobile=channel == Channel.EMAIL_MOBILE,
                changes=changes,
                corrected=corrected,
                nuisance_ordinal=nuisance_ordinal,
                footer=report_text.pc_footer(
                    company_name=settings.COMPANY_NAME, call_url=call_url
                ),
                history_url=call_url,
            ),
        }


def _create(
    call: Call, *, kind: str, changes: dict[str, Any] | None, new_call: bool = False
) -> list[Delivery]:
    # A correction goes to a client who was told about the call, even when the
    # call is now reclassified as a sales call (it then leaves the bill).
    if kind == Delivery.Kind.REPORT and not call.is_reported:
        return []
    # Destinations compare as when the messages are sent (in_turn(),
    # _told_before()): an address moved from the PC field to the mobile one, or
    # re-typed in another case, is the mailbox that had the report.
    existing: set[str] = set()
    if kind == Delivery.Kind.REPORT and not new_call:
        existing = {
            destination_key(address)
            for address in call.deliveries.filter(kind=kind).values_list(
                "address", flat=True
            )
        }
    # A correction reads "the report we sent you, corrected": true only where
    # something of this call was sent or is still on its way (its report, or an
    # earlier correction, which carries the whole call); not where it failed. A
    # recipient who replaced the one told, a changed address, a room added since
    # has read nothing of it. What is on its way and then fails is seen to when
    # this correction is sent (_as_first_message).
    messaged: set[str] = set()
    if kind == Delivery.Kind.CORRECTION:
        messaged = {
            destination_key(address)
            for address in call.deliveries.exclude(status=Status.FAILED).values_list(
                "address", flat=True
            )
        }
    now = timezone.now()
    # Rendered once per channel and kind of text, not per address.
    texts: dict[tuple[str, bool], dict] = {}
    # Counted once, on the first text: a query only for a nuisance call.
    ordinal: int | None = None
    deliveries = []
    for channel, address, recipient_id in _destinations(call):
        key = destination_key(address)
        if key in existing:
            continue
        first_here = kind == Delivery.Kind.CORRECTION and key not in messaged
        # Never told of a call that is now a sales call: nothing to correct, and
        # sales calls are not reported.
        if first_here and not call.is_reported:
            continue
        if (channel, first_here) not in texts:
            if ordinal is None:
                ordinal = nuisance_ordinal(call)
            texts[channel, first_here] = (
                # The call as it is now, as a report that says it was corrected.
                _render(call, channel, None, corrected=True, nuisance_ordinal=ordinal)
                if first_here
                else _render(call, channel, changes, nuisance_ordinal=ordinal)
            )
        deliveries.append(
            Delivery(
                call=call,
                client_id=call.client_id,
                recipient_id=recipient_id,
                kind=kind,
                channel=channel,
                address=address,
                next_attempt_at=now,
                message_id="" if channel == Channel.CHATWORK else new_message_id(),
                **texts[channel, first_here],
            )
        )
    Delivery.objects.bulk_create(deliveries)
    if deliveries and settings.CELERY_BROKER_URL:
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: publish(ids))
    return deliveries


# No savepoint: these only insert rows, and when nested they ride on the
# caller's transaction (saving a call is the hot path).
@transaction.atomic(savepoint=False)
def queue_call_reports(*, call: Call, new_call: bool = False) -> list[Delivery]:
    """Create one delivery per destination of a reported call.

    Call this inside the transaction that saved the call: the deliveries commit
    or roll back with it. Sales calls get none. Calling it twice adds nothing
    (``new_call=True`` skips that check for a call saved in this transaction).
    """
    return _create(call, kind=Delivery.Kind.REPORT, changes=None, new_call=new_call)


def record_call(
    *,
    client: Client,
    logged_by: User,
    now: dt.datetime | None = None,
    submission_id: uuid.UUID | None = None,
    **fields: Any,
) -> Call:
    """Log a call and queue its reports in one transaction (the console's save).

    The same form sent twice (same ``submission_id``) saves the call once: the
    second time returns the call the first one saved, and nothing is reported
    twice. No query is spent on this unless the insert meets the first call.
    """
    try:
        with transaction.atomic():
            call = log_call(
                client=client,
                logged_by=logged_by,
                now=now,
                submission_id=submission_id,
                **fields,
            )
            queue_call_reports(call=call, new_call=True)
            return call
    except IntegrityError:
        saved = (
            Call.objects.filter(submission_id=submission_id).first()
            if submission_id is not None
            else None
        )
        if saved is None:
            raise
        if saved.client_id != client.pk:
            # Not this form sent twice: its id came back in a form posted for
            # another client (replayed by hand). A call of its own, never a 500.
            return record_call(
                client=client,
                logged_by=logged_by,
                now=now,
                submission_id=uuid.uuid4(),
                **fields,
            )
        return saved


@transaction.atomic
def record_correction(
    *,
    call: Call,
    corrected_by: User,
    changes: dict[str, Any],
    now: dt.datetime | None = None,
    seen_updated_at: dt.datetime | None = None,
) -> CallRevision | None:
    """Correct a call and tell the client: a correction report (訂正) for a call
    the client was told of, saying what changed in the report (to a destination
    that never had the report, the call as corrected, as a report); the first
    report for a call it was not (a sales call reclassified as one to report)."""
    revision = correct_call(
        call=call,
        corrected_by=corrected_by,
        changes=changes,
        now=now,
        seen_updated_at=seen_updated_at,
    )
    if revision is None:
        return None
    # Decided under correct_call's lock on the call, and with ``call`` now as
    # saved: whoever corrected it while this one waited is taken into account.
    # Whether the client was ever told, not whether the call is reported now: a
    # call corrected to sales and back must still be corrected.
    told = call.deliveries.filter(kind=Delivery.Kind.REPORT).exists()
    if told:
        # The operator's own memo is never in a report, nor in its correction.
        before = {
            field: old
            for field, (old, _new) in revision.changes.items()
            if field in REPORTED_FIELDS
        }
        with translation.override(settings.LANGUAGE_CODE):  # as in _render
            changed = report_text.correction_changes(call, before=before)
        queue_correction_report(call=call, changes=changed)
    else:
        queue_call_reports(call=call)
    return revision


@transaction.atomic(savepoint=False)
def queue_correction_report(
    *, call: Call, changes: dict[str, list[Any]]
) -> list[Delivery]:
    """Queue a correction (訂正) saying what changed: ``{label: [old, new]}``.

    A destination with no earlier message of the call gets the call as it is
    now instead, as a report saying it is the corrected content.
    """
    if not changes:
        return []
    return _create(call, kind=Delivery.Kind.CORRECTION, changes=changes)


# The broker is skipped for a few seconds after a failed publish, so a burst of
# saves during a Redis outage pays the connect timeout once, not per call.
_broker_down_until = 0.0


def publish(delivery_ids: list[int]) -> bool:
    """Hand deliveries to Celery. Never raises: the relay sends what this misses."""
    global _broker_down_until
    if not settings.CELERY_BROKER_URL or time.monotonic() < _broker_down_until:
        return False
    from reporting.tasks import deliver_report

    try:
        with deliver_report.app.connection_for_write(
            settings.CELERY_BROKER_URL
        ) as conn:
            for delivery_id in delivery_ids:
                deliver_report.apply_async(
                    args=(delivery_id,),
                    connection=conn,  # type: ignore[call-arg]  # celery-types lacks it
                    retry=False,
                )
    except Exception:  # any broker failure: the database still has the delivery
        _broker_down_until = time.monotonic() + settings.REPORT_BROKER_PAUSE_SECONDS
        logger.warning(
            "Could not queue report deliveries %s; the relay will send them.",
            delivery_ids,
            exc_info=True,
        )
        return False
    return True


# --- delivering -------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    """Delay after the n-th failed attempt: base, 2×base, 4×base … capped."""
    base = settings.REPORT_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.REPORT_RETRY_MAX_SECONDS)


def _claim(delivery_id: int, now: dt.datetime) -> Delivery | None:
    lease = now + dt.timedelta(seconds=settings.REPORT_LEASE_SECONDS)
    won = (
        Delivery.objects.filter(
            pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now
        )
        .in_turn()
        .update(
            status=Status.SENDING,
            lease_expires_at=lease,
            attempts=F("attempts") + 1,
        )
    )
    if not won:
        # Left "sending" by a worker that died (or hangs) after claiming it: it
        # may have reached the provider, so this second send is flagged.
        won = Delivery.objects.filter(
            pk=delivery_id, status=Status.SENDING, lease_expires_at__lt=now
        ).update(
            lease_expires_at=lease,
            attempts=F("attempts") + 1,
            possible_duplicate=True,
        )
        if won:
            logger.warning("Delivery %s: lease expired, resending", delivery_id)
    if not won:
        return None
    try:
        return Delivery.objects.select_related("client").get(pk=delivery_id)
    except Exception:
        # Claimed but not read (the database failed): nothing was sent. Given
        # back, fenced by this claim's lease, so it is not left "sending" to be
        # resent as a possible duplicate once the lease runs out.
        _reconnect_if_broken()
        Delivery.objects.filter(
            pk=delivery_id, status=Status.SENDING, lease_expires_at=lease
        ).update(
            status=Status.PENDING,
            lease_expires_at=None,
            next_attempt_at=now + dt.timedelta(seconds=backoff_seconds(1)),
        )
        raise


def _reconnect_if_broken() -> None:
    """A connection the error broke (the server restarted, a network cut) stays
    unusable until it is closed; closed, the next query connects again. Only
    outside a transaction, where deliver() runs: inside one, closing it would
    lose the caller's work."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _finish(delivery: Delivery, **fields: Any) -> bool:
    """Write the outcome unless a newer attempt took the delivery over.

    The fence is the attempt number and the lease of this claim: every claim
    sets a new lease, and an admin's resend starts the attempts at 0 again, so
    the number alone let a worker that hung before the resend close it.
    """
    fence = {
        "attempts": delivery.attempts,
        "lease_expires_at": delivery.lease_expires_at,
    }
    fields.setdefault("lease_expires_at", None)
    done = Delivery.objects.filter(
        pk=delivery.pk, status=Status.SENDING, **fence
    ).update(**fields)
    if not done:
        logger.warning("Delivery %s: outcome of a stale attempt ignored", delivery.pk)
    return bool(done)


def _call_as_it_is_now(delivery: Delivery, *, channel: str, corrected: bool) -> dict:
    """Subject and body of ``delivery``'s call as it is now, for ``channel``: as
    a report, saying it is the corrected content if ``corrected``."""
    call = Call.objects.select_related("client").get(pk=delivery.call_id)
    return _render(
        call,
        channel,
        None,
        corrected=corrected,
        nuisance_ordinal=nuisance_ordinal(call),
    )


def _told_before(delivery: Delivery) -> bool:
    """Whether this destination has read the call up to this message: the last
    earlier message of the call that ended reached it. One that failed after
    it (a 訂正 refused as spam) left a gap this one's changes do not fill."""
    last_status = (
        Delivery.objects.filter(
            call_id=delivery.call_id,
            id__lt=delivery.pk,
            status__in=[Status.SENT, Status.FAILED],
        )
        .to_destination(delivery.address)
        .order_by("-id")
        .values_list("status", flat=True)
        .first()
    )
    return last_status == Status.SENT


def _as_first_message(delivery: Delivery) -> None:
    """A correction to a destination that the report (or every earlier message)
    never reached, or that missed an earlier correction, because it failed: it
    becomes the call as it is now, as a report saying it was corrected. Decided
    here, not when it was queued: the earlier message was still on its way
    then (in_turn() holds this one until it has ended)."""
    if delivery.kind != Delivery.Kind.CORRECTION or _told_before(delivery):
        return
    text = _call_as_it_is_now(delivery, channel=delivery.channel, corrected=True)
    if (text["subject"], text["body"]) == (delivery.subject, delivery.body):
        return
    Delivery.objects.filter(pk=delivery.pk).update(**text)
    delivery.subject, delivery.body = text["subject"], text["body"]


def _send(delivery: Delivery) -> str:
    """Talk to the provider. Returns its id; raises mail.MailError/ChatworkError."""
    if delivery.channel == Channel.CHATWORK:
        return chatwork.post_message(room_id=delivery.address, body=delivery.body)
    return mail.send(
        to=delivery.address,
        subject=delivery.subject,
        body=delivery.body,
        message_id=delivery.message_id,
    )


def _chatwork_limits(delivery: Delivery) -> list[rate_limits.Limit]:
    room_count, room_window = chatwork.room_limit()
    token_count, token_window = chatwork.token_limit()
    return [
        (chatwork.room_key(delivery.address), room_count, room_window),
        (chatwork.token_key(), token_count, token_window),
    ]


def deliver(*, delivery_id: int) -> str:
    """Send one delivery if it is due; safe to call any number of times at once.

    Returns what happened: "sent", "retry", "failed", "deferred" (rate limit),
    or "skipped" (not due, or someone else has it). Must run outside a
    transaction: the claim has to commit before the provider is called.
    """
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    try:
        if not delivery.body:
            # Its text went with the caller's data (retention period) while it
            # waited: nothing is ever sent blank.
            return _failed(delivery, _ErasedText())
        _as_first_message(delivery)

        limits = (
            _chatwork_limits(delivery) if delivery.channel == Channel.CHATWORK else []
        )
        if limits:
            wait = rate_limits.try_acquire(limits=limits, now=now)
            if wait > 0:
                # Nothing was sent: give the attempt back and come back later.
                _finish(
                    delivery,
                    status=Status.PENDING,
                    attempts=F("attempts") - 1,
                    next_attempt_at=now + dt.timedelta(seconds=wait),
                )
                return "deferred"
    except Exception as exc:
        return _not_sent(delivery, exc)

    try:
        provider_id = _send(delivery)
    except (mail.MailError, chatwork.ChatworkError) as exc:
        return _failed(delivery, exc)
    except Exception as exc:
        # A bug, or input nobody foresaw: retried like a temporary error and in
        # the end failed where admins see it. Left "sending", it came back first
        # in every relay pass and stopped the reports of every client.
        logger.exception("Delivery %s raised an unexpected error", delivery.pk)
        return _failed(delivery, exc)
    finally:
        if limits:  # even a failed post may have reached Chatwork
            _count_from_answer(limits, taken_at=now)
    _finish(
        delivery,
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_message_id=provider_id[:255],
    )
    return "sent"


def _count_from_answer(
    limits: list[rate_limits.Limit], *, taken_at: dt.datetime
) -> None:
    """Count the request from its answer (rate_limits.count_from), best effort.

    Bookkeeping only: an error here (the database locked, a dropped connection)
    must not stop the outcome of the post from being written. A post left
    "sending" is posted again when its lease runs out: the room reads it twice.
    Counted from when its slot was taken, the request only frees its slot a
    little early."""
    try:
        rate_limits.count_from(
            keys=[key for key, _max_hits, _window in limits],
            taken_at=taken_at,
            now=timezone.now(),
        )
    except Exception:
        logger.exception("Could not count a Chatwork request from its answer")
        _reconnect_if_broken()


def _not_sent(delivery: Delivery, exc: Exception) -> str:
    """Something failed after the claim and before the provider was called (the
    database, rendering the corrected call): nothing was sent. The claim is
    given back as a temporary failure, not left "sending" for its lease to run
    out and the report to be resent flagged as a possible duplicate. The
    attempt counts: a fault that stays (a bug in one call's text) ends as a
    failure admins see, instead of coming back first in every relay pass."""
    logger.exception("Delivery %s: error before sending, nothing sent", delivery.pk)
    _reconnect_if_broken()
    return _failed(delivery, exc)


class _ErasedText(Exception):
    permanent = True

    def __init__(self) -> None:
        super().__init__(
            _("保存期間を過ぎて報告の本文を消去したため、送信しませんでした。")
        )


def _failed(delivery: Delivery, exc: Exception) -> str:
    now = timezone.now()
    error = f"{timezone.localtime(now):%Y-%m-%d %H:%M:%S} {exc}"
    permanent = getattr(exc, "permanent", False)
    extra: dict[str, Any] = {}
    if getattr(exc, "maybe_posted", False):
        if delivery.possible_duplicate:
            # Twice now the report may have arrived: no third blind copy. An
            # admin checks the room or mailbox, then resends if it is missing.
            permanent = True
            error += (
                " （届いている可能性が続くため、自動の再送を止めました。"
                "届いていないことを確かめてから再送してください。）"
            )
        extra["possible_duplicate"] = True  # the retry may post a second copy
    error = error[:2000]
    retry_at = getattr(exc, "retry_at", None)
    if retry_at is not None and not permanent:
        # Refused by the provider's rate limit (Chatwork's 429): nothing was
        # posted. As for our own limit, the attempt is given back: a busy hour
        # must not use up a report's attempts and fail it.
        _finish(
            delivery,
            status=Status.PENDING,
            attempts=F("attempts") - 1,
            next_attempt_at=retry_at,
            last_error=error,
            **extra,
        )
        logger.info("Delivery %s rate limited until %s", delivery.pk, retry_at)
        return "deferred"
    if permanent or delivery.attempts >= settings.REPORT_MAX_ATTEMPTS:
        _finish(
            delivery,
            status=Status.FAILED,
            failed_at=now,
            last_error=error,
            bounced=getattr(exc, "bounced", False),
            **extra,
        )
        logger.error("Delivery %s failed: %s", delivery.pk, exc)
        return "failed"
    retry_at = now + dt.timedelta(seconds=backoff_seconds(delivery.attempts))
    _finish(
        delivery,
        status=Status.PENDING,
        next_attempt_at=retry_at,
        last_error=error,
        **extra,
    )
    logger.info("Delivery %s retry at %s: %s", delivery.pk, retry_at, exc)
    return "retry"


def relay_due_deliveries(
    *,
    batch_size: int | None = None,
    time_budget_seconds: float = 10.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Deliver everything due now (the safety net behind the Celery fast path).

    Works through batches until nothing is due or the time budget is spent, so
    a backlog (Redis was down) drains in one run instead of one batch per tick.
    ``should_stop`` is asked between deliveries (the relay is being stopped).
    """
    batch_size = batch_size or settings.REPORT_RELAY_BATCH
    started = time.monotonic()
    outcomes: dict[str, int] = {}
    while True:
        ids = list(
            Delivery.objects.due()
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        sent_before = outcomes.get("sent", 0)
        for delivery_id in ids:
            if should_stop():
                return outcomes
            outcome = deliver(delivery_id=delivery_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        # A sent message lets the corrections that waited for it go: look again.
        more = len(ids) == batch_size or outcomes.get("sent", 0) > sent_before
        if not more or time.monotonic() - started > time_budget_seconds:
            return outcomes


def _current_destination(delivery: Delivery) -> tuple[str, str] | None:
    """Where the delivery's destination receives reports today: (channel,
    address), None if nowhere.

    The rule that queues reports (_destinations): a recipient who has left, or a
    channel the client has switched off since, receives nothing. The
    destination is its mailbox, whatever field holds it now
    (destination_key()): an address moved from the PC field to the mobile one,
    or now another recipient's, still reads reports. Else what replaced it:
    the client's room, the recipient's new address in the delivery's field
    (after a bounce the client gives another one).
    """
    current = _destinations(delivery.call)
    mailbox = destination_key(delivery.address)
    for channel, address, _recipient_id in current:
        if destination_key(address) == mailbox:
            return channel, address
    for channel, address, recipient_id in current:
        if channel == delivery.channel and (
            channel == Channel.CHATWORK or recipient_id == delivery.recipient_id
        ):
            return channel, address
    return None


@dataclasses.dataclass(frozen=True)
class ResendResult:
    """A failed delivery put back in the queue (``address``), or why not."""

    address: str = ""
    refused: str = ""

    @property
    def queued(self) -> bool:
        return not self.refused


def _not_failed() -> str:
    return _("この送信は失敗状態ではないため、再送しませんでした。")


@transaction.atomic
def resend(*, delivery_id: int) -> ResendResult:
    """Put a failed delivery back in the queue, as an admin asked.

    Only failed ones: a sent report is never sent again by this button. It goes
    to the destination's current address: after a bounce the client gives a new
    one, and the report that bounced must reach it. Never to a destination that
    queuing would skip today (a recipient who left, a channel switched off), and
    never the report of a call corrected to sales since (sales calls are not
    reported).
    """
    delivery = (
        Delivery.objects.filter(pk=delivery_id, status=Status.FAILED)
        .select_related("recipient", "client", "call__client")
        .first()
    )
    if delivery is None:
        return ResendResult(refused=_not_failed())
    if delivery.kind == Delivery.Kind.REPORT and not delivery.call.is_reported:
        return ResendResult(
            refused=_(
                "この受電はその後、営業電話に訂正されたため、報告は再送しませんでした。"
            )
        )
    if delivery.call.personal_data_erased_at is not None:
        # Its text went with the caller's data: it would go out blank.
        return ResendResult(
            refused=_(
                "保存期間を過ぎてこの受電のお客様の情報を消去したため、"
                "報告は再送しませんでした。"
            )
        )
    destination = _current_destination(delivery)
    if destination is None:
        return ResendResult(
            refused=_(
                "この宛先は今は報告先ではないため（終了した報告先、または止めた"
                "報告方法）、再送しませんでした。"
            )
        )
    channel, address = destination
    # That address has this call already (or is being sent it): a correction
    # queued after this failure went out as the corrected call. What a failed
    # correction corrects is no reason: only a later message carries its
    # changes (as the corrected call, _as_first_message).
    already_there = (
        Delivery.objects.filter(call_id=delivery.call_id)
        .to_destination(address)
        .exclude(status=Status.FAILED)
    )
    if delivery.kind == Delivery.Kind.CORRECTION:
        already_there = already_there.filter(id__gt=delivery.pk)
    if already_there.exists():
        return ResendResult(
            refused=_(
                "この宛先（%(address)s）にはこの受電の報告をその後の訂正で送っている"
                "（または送信待ちの）ため、再送しませんでした。"
            )
            % {"address": address}
        )
    text = {}
    corrected_since = CallRevision.objects.filter(
        call_id=delivery.call_id, changed_at__gt=delivery.created_at
    ).exists()
    if corrected_since or channel != delivery.channel:
        # Corrected since this was queued: what it says is out of date (a wrong
        # callback number, say). It goes out as the call is now. A mailbox now
        # in the other field gets that field's text (the full one for a PC, the
        # short one for a mobile), as queuing would give it today: the call as
        # it is now, as a report, or, a correction, as the corrected content.
        text = _call_as_it_is_now(
            delivery,
            channel=channel,
            corrected=corrected_since or delivery.kind == Delivery.Kind.CORRECTION,
        )
        if delivery.is_email and (text["subject"], text["body"]) != (
            delivery.subject,
            delivery.body,
        ):
            # The failed text may have arrived all the same (an answer lost
            # after DATA), and mailboxes (Gmail) drop a message whose
            # Message-ID they have seen: the new text needs a new one. The
            # same text keeps its own, so a mailbox that has it shows it once.
            text["message_id"] = new_message_id()
    updated = Delivery.objects.filter(pk=delivery_id, status=Status.FAILED).update(
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        failed_at=None,
        bounced=False,
        channel=channel,
        address=address,
        **text,
    )
    if not updated:  # resent by someone else meanwhile
        return ResendResult(refused=_not_failed())
    if settings.CELERY_BROKER_URL:
        transaction.on_commit(lambda: publish([delivery_id]))
    return ResendResult(address=address)


# --- personal data retention --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ErasureResult:
    before: dt.datetime
    calls: int
    deliveries: int


# No transaction around both steps: the calls are erased in batches that each
# commit, and the deliveries in one statement; a rerun finishes an interrupted run.
def erase_old_personal_data(
    *,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ErasureResult:
    """Blank callers' personal data older than the retention period, in the calls
    and in the report texts that quoted them. Billing keeps what it needs (the
    call's client, time, category and surcharge)."""
    now = now or timezone.now()
    before = personal_data_cutoff(now=now)
    calls = erase_caller_data(before=before, now=now, progress=progress)
    if progress:
        progress(_("報告本文から個人情報を消去しています…"))
    deliveries = _report_texts_before(before).update(subject="", body="")
    return ErasureResult(before=before, calls=calls, deliveries=deliveries)


def count_old_personal_data(*, now: dt.datetime | None = None) -> ErasureResult:
    """What ``erase_old_personal_data`` would erase now, erasing nothing: the
    admin checks it before the first run, which cannot be undone."""
    before = personal_data_cutoff(now=now)
    return ErasureResult(
        before=before,
        calls=Call.objects.with_caller_data_before(before).count(),
        deliveries=_report_texts_before(before).count(),
    )


def _report_texts_before(before: dt.datetime) -> QuerySet[Delivery]:
    """Reports of calls received before ``before`` that still hold their text."""
    return Delivery.objects.filter(call__received_at__lt=before).exclude(body="")
