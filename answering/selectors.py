"""Reads about calls that the operator console (and others) share."""

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from answering.models import REQUIRED_OR_REASON, Call, Category
from clients.models import Client, LentNumber, NumberAssignment
from clients.months import JST, japan_today
from clients.phones import format_phone
from clients.selectors import find_assignment_by_dialed
from clients.services import quarantine_ends_on

REPEAT_CALLER_LIMIT = 5
DAY_CALLS_LIMIT = 500


class DialedState(enum.Enum):
    ASSIGNED = "assigned"
    OWN_NUMBER = "own_number"  # a client's own number, forwarded to us
    SHARED_OWN_NUMBER = "shared_own_number"  # the own number of several clients
    UNREADABLE = "unreadable"  # not a phone number at all
    UNKNOWN = "unknown"  # a number the company does not own
    UNASSIGNED = "unassigned"  # ours, lent to nobody
    QUARANTINED = "quarantined"  # ours, released recently and resting


@dataclass(frozen=True)
class DialedLookup:
    """Who a dialed number reaches now, or why it reaches nobody."""

    state: DialedState
    e164: str | None
    assignment: NumberAssignment | None = None
    lent_number: LentNumber | None = None
    released_on: dt.date | None = None
    available_on: dt.date | None = None
    owner: Client | None = None  # whose own (forwarded) number it is

    @property
    def client(self) -> Client | None:
        return self.assignment.client if self.assignment else self.owner

    @property
    def is_fax(self) -> bool:
        """The number is lent to its client as a FAX line (the use decides, as
        billing's does): what rings there is probably a fax machine."""
        return (
            self.assignment is not None
            and self.assignment.use == NumberAssignment.Use.FAX
        )

    @property
    def warning(self) -> str:
        """What the operator must be told instead of showing a client."""
        messages = {
            DialedState.UNREADABLE: _(
                "着信番号を電話番号として読み取れません。顧客を検索してください。"
            ),
            DialedState.UNKNOWN: _(
                "この着信番号は当社の貸出番号に登録されていません。顧客を検索してください。"
            ),
            DialedState.UNASSIGNED: _(
                "この番号は現在どの顧客にも貸し出されていません。顧客を検索してください。"
            ),
            DialedState.QUARANTINED: _(
                "この番号は返却後の休止期間中で、現在どの顧客の番号でもありません"
                "（以前の貸出先あての電話の可能性があります）。顧客を検索してください。"
            ),
            DialedState.SHARED_OWN_NUMBER: _(
                "この着信番号は複数の顧客の転送元の番号として登録されています。"
                "顧客を検索してください。"
            ),
        }
        return str(messages.get(self.state, ""))


def lookup_dialed(*, dialed: str, today: dt.date | None = None) -> DialedLookup:
    """Screen pop: the client holding ``dialed`` now, never a former holder.

    A number that is not one of ours may be a client's own number (a PBX that
    passes on the number the caller dialed before it was forwarded to us): it
    reaches that client, unless several clients gave it.
    """
    e164, assignment = find_assignment_by_dialed(dialed=dialed)
    if e164 is None:
        return DialedLookup(state=DialedState.UNREADABLE, e164=None)
    if assignment is not None:
        return DialedLookup(
            state=DialedState.ASSIGNED,
            e164=e164,
            assignment=assignment,
            lent_number=assignment.number,
        )
    lent_number = LentNumber.objects.filter(number=e164).first()
    if lent_number is None:
        owners = list(Client.objects.filter(own_number=e164)[:2])
        if len(owners) == 1:
            return DialedLookup(
                state=DialedState.OWN_NUMBER, e164=e164, owner=owners[0]
            )
        if owners:
            return DialedLookup(state=DialedState.SHARED_OWN_NUMBER, e164=e164)
        return DialedLookup(state=DialedState.UNKNOWN, e164=e164)
    today = today or japan_today()
    available_on = quarantine_ends_on(lent_number)
    if available_on is not None and today < available_on:
        return DialedLookup(
            state=DialedState.QUARANTINED,
            e164=e164,
            lent_number=lent_number,
            available_on=available_on,
        )
    return DialedLookup(
        state=DialedState.UNASSIGNED, e164=e164, lent_number=lent_number
    )


# The reasons a call row reads its 無言 (Call.is_silent) from.
MISSING_REASON_FIELDS = tuple(f"{field}_missing_reason" for field in REQUIRED_OR_REASON)


@dataclass(frozen=True)
class CallerHistory:
    """What a number's earlier calls to a client tell the operator."""

    calls: list[Call]  # the last few, newest first
    nuisance_count: int  # all time


def caller_history(
    *,
    client: Client,
    caller_number: str,
    limit: int = REPEAT_CALLER_LIMIT,
    other_than: int | None = None,
) -> CallerHistory:
    """The last few calls this number made to this client, and how many of all its
    calls were nuisance calls: one query, as the console page opens on every call.
    ``other_than``: the id of the call being corrected, which is not one of its
    own earlier calls."""
    if not caller_number:
        return CallerHistory(calls=[], nuisance_count=0)
    from_caller = Call.objects.filter(client=client, caller_number=caller_number)
    nuisances = Call.objects.nuisance_to(client_id=client.pk)
    if other_than is not None:
        from_caller = from_caller.exclude(pk=other_than)
        nuisances = nuisances.exclude(pk=other_than)
    nuisance_count = (
        nuisances.filter(caller_number=caller_number)
        .order_by()
        .values("client_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    calls = list(
        from_caller
        # Only what the history shows.
        .only(
            *("id", "client_id", "received_at", "category", "purpose"),
            *MISSING_REASON_FIELDS,
        )
        .annotate(nuisance_count=Subquery(nuisance_count))
        .order_by("-received_at", "-id")[:limit]
    )
    # No earlier call at all means no nuisance call either.
    return CallerHistory(
        calls=[*calls], nuisance_count=(calls[0].nuisance_count or 0) if calls else 0
    )


def nuisance_ordinal(call: Call) -> int:
    """Which of its number's nuisance calls to the client ``call`` is (3 for the
    third), counted in the order received; 0 for any other call or a withheld
    number. One query, and only for a nuisance call: reports are rendered in
    the operator's save."""
    if not call.is_nuisance or not call.caller_number:
        return 0
    return (
        Call.objects.nuisance_to(client_id=call.client_id)
        .filter(caller_number=call.caller_number)
        .up_to(call)
        .count()
    )


def nuisance_counts(*, client_id: int, caller_numbers: Iterable[str]) -> dict[str, int]:
    """How many nuisance calls each of ``caller_numbers`` made to the client, all
    time, in one query (numbers with none are left out)."""
    numbers = {number for number in caller_numbers if number}
    if not numbers:
        return {}
    return _counts_by_number(
        Call.objects.nuisance_to(client_id=client_id).filter(caller_number__in=numbers)
    )


def nuisance_counts_among(*, client_id: int, calls: QuerySet[Call]) -> dict[str, int]:
    """``nuisance_counts`` of the numbers of the nuisance calls among ``calls``
    (a CSV's, however many rows): one query, the numbers read in a subquery."""
    numbers = (
        calls.filter(category=Category.NUISANCE).order_by().values("caller_number")
    )
    return _counts_by_number(
        Call.objects.nuisance_to(client_id=client_id).filter(caller_number__in=numbers)
    )


def _counts_by_number(nuisance_calls: QuerySet[Call]) -> dict[str, int]:
    return dict(
        nuisance_calls.order_by()
        .values("caller_number")
        .annotate(n=Count("id"))
        .values_list("caller_number", "n")
    )


@dataclass(frozen=True)
class NuisanceCaller:
    caller_number: str
    call_count: int
    last_received_at: dt.datetime

    @property
    def display(self) -> str:
        return format_phone(self.caller_number)


TOP_NUISANCE_CALLERS = 10


def top_nuisance_callers(
    *, client_id: int, limit: int = TOP_NUISANCE_CALLERS
) -> list[NuisanceCaller]:
    """The numbers that made the most nuisance calls to the client (most first,
    then the latest), with their last call: one query."""
    rows = (
        Call.objects.nuisance_to(client_id=client_id)
        .order_by()
        .values("caller_number")
        .annotate(n=Count("id"), last=Max("received_at"))
        .order_by("-n", "-last", "caller_number")[:limit]
    )
    return [
        NuisanceCaller(
            caller_number=row["caller_number"],
            call_count=row["n"],
            last_received_at=row["last"],
        )
        for row in rows
    ]


def calls_on_day(
    *,
    day: dt.date | None = None,
    client_id: int | None = None,
    category: str | None = None,
    limit: int = DAY_CALLS_LIMIT,
) -> list[Call]:
    """Calls received on ``day`` (default today, Japan time), all clients unless
    filtered."""
    day = day or japan_today()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=JST)
    calls = (
        Call.objects.between(start, start + dt.timedelta(days=1))
        .select_related("client", "logged_by")
        # What the list shows, and no more: it can hold hundreds of rows.
        .only(
            *("received_at", "category", "caller_name", "caller_company"),
            *("callback_number", "purpose", "client__name", "logged_by__username"),
            *MISSING_REASON_FIELDS,
        )
    )
    if client_id:
        calls = calls.filter(client_id=client_id)
    if category in Category.values:
        calls = calls.filter(category=category)
    return list(calls.order_by("-received_at", "-id")[:limit])


def clients_called_on(*, day: dt.date | None = None) -> list[Client]:
    """Clients with at least one call on ``day``, for the filter of its calls."""
    day = day or japan_today()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=JST)
    ids = Call.objects.between(start, start + dt.timedelta(days=1)).values("client_id")
    return list(Client.objects.filter(pk__in=ids).order_by("name_kana", "name"))


def values_before(call: Call, *, version: dt.datetime) -> dict[str, Any]:
    """What each field corrected after ``version`` of the call said at that
    version, as revisions store values."""
    seen: dict[str, Any] = {}
    revisions = call.revisions.filter(changed_at__gt=version).order_by("-id")
    for changes in revisions.values_list("changes", flat=True):
        for field, (old, _new) in changes.items():
            seen[field] = old  # the earliest revision after the version wins
    return seen
