"""Use cases on calls: logging a call and correcting it afterwards.

Both run in one transaction and never talk to the outside world, so the lead can
add the call's report deliveries in the same transaction and a save never waits
on e-mail or Chatwork.
"""

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from answering.models import Call, CallRevision
from clients.locks import hold_billing_lock
from clients.models import Client, User
from clients.months import japan_today, month_bounds, month_start, previous_month
from clients.phones import normalize_phone, try_normalize_phone

# What an operator or admin may set when logging or correcting a call.
EDITABLE_FIELDS = (
    "received_at",
    "category",
    "caller_name",
    "caller_name_missing_reason",
    "caller_company",
    "callback_number",
    "callback_number_missing_reason",
    "purpose",
    "purpose_missing_reason",
    "missing_note",
    "addressee",
    "is_urgent",
    "is_angry",
    "is_troubled",
    "demeanour_note",
    "note",
    "surcharge_yen",
    "surcharge_reason",
)
# What a call report shows: every editable field but the operator's own memo.
REPORTED_FIELDS = tuple(field for field in EDITABLE_FIELDS if field != "note")
LOGGED_ONLY_FIELDS = ("dialed_number", "caller_number", "submission_id")

# Validated by the caller or by the database, not by full_clean (that would query).
_NOT_CLEANED = ["client", "logged_by"]


def _normalize_numbers(call: Call) -> None:
    """Callback numbers are stored in E.164; an unreadable one is an error."""
    if call.callback_number:
        try:
            call.callback_number = normalize_phone(call.callback_number)
        except ValidationError as exc:
            raise ValidationError({"callback_number": exc.messages}) from exc
    # Numbers from the PBX may be "anonymous" or unreadable: keep only real ones.
    call.caller_number = try_normalize_phone(call.caller_number or "") or ""
    call.dialed_number = try_normalize_phone(call.dialed_number or "") or ""


def _validate(call: Call, *, now: dt.datetime, check_time: bool = True) -> None:
    errors: dict[str, list[str]] = {}
    steps = [
        lambda: _normalize_numbers(call),
        lambda: call.full_clean(
            exclude=_NOT_CLEANED, validate_unique=False, validate_constraints=False
        ),
    ]
    if check_time:
        steps.append(lambda: call.validate_received_at(now=now))
    for step in steps:
        try:
            step()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def log_call(
    *,
    client: Client,
    logged_by: User | None,
    received_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    **fields: Any,
) -> Call:
    """Record one answered call.

    ``received_at`` defaults to ``now``; it may be set back for late logging but
    never into the future. Raises ValidationError (keyed by field) when a rule is
    broken; nothing is written then.
    """
    now = now or timezone.now()
    unknown = set(fields) - set(EDITABLE_FIELDS) - set(LOGGED_ONLY_FIELDS)
    if unknown:
        raise TypeError(f"log_call() got unexpected fields: {sorted(unknown)}")
    call = Call(
        client=client,
        logged_by=logged_by,
        received_at=received_at or now,
        **fields,
    )
    # Validation runs no query, so it needs no transaction: a broken rule raises
    # before anything is written, and never marks a caller's transaction.
    _validate(call, now=now)
    _insert_call(call, now=now)
    return call


# One INSERT: no savepoint. Saving a call is the hot path, and inside the
# console's transaction (record_call) a savepoint would cost two round trips.
# A failed INSERT marks the enclosing transaction for rollback, as Model.save does.
@transaction.atomic(savepoint=False)
def _insert_call(call: Call, *, now: dt.datetime) -> None:
    if _in_an_ended_month(call.received_at, now=now):
        # Logged late into a month that has ended, as a correction of one of
        # its calls (correct_call): wait for a billing run issuing that month,
        # so that the invoice it issues has the call, or the call is listed
        # against the issued invoice. A call of this month (the operators'
        # hot path) is in no invoice yet, and never waits: no query for it.
        hold_billing_lock(shared=True)
    call.save(force_insert=True)


def stored_value(value: Any) -> Any:
    """A field's value as a revision stores it (JSON)."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    return value


@transaction.atomic
def correct_call(
    *,
    call: Call,
    corrected_by: User | None,
    changes: dict[str, Any],
    now: dt.datetime | None = None,
    seen_updated_at: dt.datetime | None = None,
) -> CallRevision | None:
    """Correct a saved call and keep what it said before (who, when, old → new).

    Returns the revision, or None when nothing actually changed. Reclassifying a
    call as sales takes it out of billing, because billing counts
    ``Call.objects.counted()``. ``seen_updated_at`` is the version of the call
    the corrector was looking at: when someone saved it since, nothing is
    written (the form sends every field, and would revert their change).
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"correct_call() got unexpected fields: {sorted(unknown)}")
    # Lock the row: two people correcting at once must not lose either change.
    locked = Call.objects.select_for_update(no_key=True).get(pk=call.pk)
    if _in_an_ended_month(locked.received_at, changes.get("received_at"), now=now):
        # Billed (or about to be): wait for a billing run issuing that month,
        # which compares its drafts with the calls, so that the invoice it
        # issues matches them when it commits; a correction committed after
        # it is listed against the issued invoice. This month's calls are in
        # no invoice yet: their corrections never wait for billing.
        hold_billing_lock(shared=True)
    # Taken once the lock is held: revisions then follow the versions they
    # replace (selectors.values_before finds them by this time).
    now = now or timezone.now()
    if seen_updated_at is not None and locked.updated_at != seen_updated_at:
        if _says_already(locked, changes, now=now):
            # The same correction sent twice (a double press, a resend after a
            # slow answer): saved by the first, not someone else's change. The
            # caller's object shows it saved (updated_at tells it was, by then).
            _show_saved(locked, on=call)
            return None
        if locked.personal_data_erased_at == locked.updated_at:  # the last change
            message = _(
                "この受電は、画面を開いている間に保存期間を過ぎ、お客様の情報を"
                "消去しました。画面に反映しましたので、確かめてからもう一度保存してください。"
            )
        else:
            message = _changed_meanwhile(locked)
        raise ValidationError({NON_FIELD_ERRORS: [message]})
    before = {field: getattr(locked, field) for field in EDITABLE_FIELDS}
    if locked.personal_data_erased_at is not None and any(
        changes[field] != before[field]
        for field in FIXED_ONCE_ERASED_FIELDS
        if field in changes
    ):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _(
                        "保存期間を過ぎたため、この受電のお客様の情報は消去済みです。"
                        "お名前・番号・用件などと、伺えなかった理由は変えられません。"
                    )
                ]
            }
        )
    _apply(locked, changes)
    # An old call may still be corrected: only a time that changes is checked.
    _validate(locked, now=now, check_time=locked.received_at != before["received_at"])
    diff = {
        field: [stored_value(before[field]), stored_value(getattr(locked, field))]
        for field in EDITABLE_FIELDS
        if before[field] != getattr(locked, field)
    }
    if not diff:
        return None
    locked.save(update_fields=[*diff, "updated_at"])
    # The caller's object shows the call as saved, with what others corrected
    # while this one waited for the lock.
    _show_saved(locked, on=call)
    return CallRevision.objects.create(
        call=locked, changed_by=corrected_by, changed_at=now, changes=diff
    )


def _in_an_ended_month(*received: dt.datetime | None, now: dt.datetime | None) -> bool:
    """Whether any of the ``received`` times lies before this month in Japan
    time (a month is billed only once it has ended)."""
    this_month_starts_at = month_bounds(month_start(japan_today(now)))[0]
    return any(at is not None and at < this_month_starts_at for at in received)


def _apply(call: Call, changes: dict[str, Any]) -> None:
    """Write ``changes`` on ``call``; a blank received time keeps the call's own."""
    received_at = call.received_at
    for field, value in changes.items():
        setattr(call, field, value)
    if call.received_at is None:
        call.received_at = received_at


def _says_already(call: Call, changes: dict[str, Any], *, now: dt.datetime) -> bool:
    """Whether the call already says all that ``changes`` would write, once
    written as a save writes it (numbers normalised, a reason dropped for a
    value: a form sends the reason still selected beside the value)."""
    wanted = copy.copy(call)
    _apply(wanted, changes)
    try:
        _validate(wanted, now=now, check_time=False)
    except ValidationError:
        return False
    return all(getattr(wanted, field) == getattr(call, field) for field in changes)


def _show_saved(saved: Call, *, on: Call) -> None:
    """Bring the saved version's values onto the caller's object."""
    # With the erasure too: the reports of the correction are written from the
    # caller's object, which may have been read before the call was erased.
    for field in [*EDITABLE_FIELDS, "updated_at", "personal_data_erased_at"]:
        setattr(on, field, getattr(saved, field))


def _changed_meanwhile(call: Call) -> str:
    last = call.revisions.select_related("changed_by").order_by("-id").first()
    who = str(last.changed_by) if last and last.changed_by else _("別の人")
    return _(
        "この受電は、画面を開いている間に%(who)sが訂正しました（%(time)s）。"
        "その訂正を画面に取り込みました（同じ項目をあなたも変えていた場合は、"
        "あなたの入力を残しています）。訂正履歴で確かめてから、もう一度保存してください。"
    ) % {
        "who": who,
        "time": f"{timezone.localtime(call.updated_at):%H:%M:%S}",
    }


# What identifies or describes a caller. Category, time, client, surcharge and
# who logged the call stay: billing and its history need them.
CALLER_PERSONAL_FIELDS = (
    "caller_name",
    "caller_company",
    "callback_number",
    "caller_number",
    "purpose",
    "missing_note",
    "addressee",
    "demeanour_note",
    "note",
)
# What an erased call can no longer have changed: its caller's data, and why
# some of it was not obtained. Those reasons describe the caller as much as the
# erased values do, and nothing is left to check a new one against: "other"
# with its note erased, or a reason for a value that was obtained and erased.
FIXED_ONCE_ERASED_FIELDS = (
    *CALLER_PERSONAL_FIELDS,
    "caller_name_missing_reason",
    "callback_number_missing_reason",
    "purpose_missing_reason",
)


def personal_data_cutoff(*, now: dt.datetime | None = None) -> dt.datetime:
    """Calls received before this moment are past the retention period: the 1st
    of the month CALLER_DATA_RETENTION_MONTHS months ago, Japan time (whole
    months, so a call's month is erased at once, never half of it)."""
    month = month_start(japan_today(now))
    for _month in range(settings.CALLER_DATA_RETENTION_MONTHS):
        month = previous_month(month)
    return month_bounds(month)[0]


# Calls erased per statement: the first run after a long gap may find years of
# calls, and PostgreSQL takes at most 65,535 parameters per statement.
ERASE_BATCH_SIZE = 5000


def erase_caller_data(
    *,
    before: dt.datetime,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Blank callers' names, numbers and purposes of calls received before
    ``before``; returns how many calls were erased now.

    Each batch commits on its own: an interrupted run keeps what it erased, and
    the next run goes on from there. ``progress`` hears after each batch how far
    the run is.
    """
    now = now or timezone.now()
    to_erase = Call.objects.with_caller_data_before(before)
    total = to_erase.count() if progress else 0
    erased = 0
    while True:
        with transaction.atomic():
            call_ids = list(
                to_erase.order_by("pk").values_list("pk", flat=True)[:ERASE_BATCH_SIZE]
            )
            if not call_ids:
                return erased
            Call.objects.filter(pk__in=call_ids).update(
                personal_data_erased_at=now,
                updated_at=now,  # an edit form opened before must not write back
                **dict.fromkeys(CALLER_PERSONAL_FIELDS, ""),
            )
            # Corrections hold old and new values; keep who and when, drop values.
            CallRevision.objects.filter(call_id__in=call_ids).update(changes={})
        erased += len(call_ids)
        if progress:
            # Another run at the same time erases some of the same calls.
            progress(
                _("受電 %(done)s / %(total)s 件の発信者情報を消去しました…")
                % {"done": f"{erased:,}", "total": f"{max(total, erased):,}"}
            )
