"""Reads behind the portal pages. Every function takes the client explicitly:
nothing here can return another client's rows."""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from answering.models import (
    REPORTED_CATEGORIES,
    Call,
    CallRevision,
    Category,
    readable_changes,
)
from answering.services import REPORTED_FIELDS
from billing.models import Invoice
from clients.models import Client, ClientPerson, PlanPrice
from clients.months import JST, japan_today, month_start, previous_month
from clients.phones import partial_number_condition, try_normalize_phone
from clients.selectors import plan_in_force, width_variants
from config.row_ids import parse_row_id
from reporting.models import Delivery
from reporting.selectors import BouncingAddress, bouncing_addresses

PAGE_SIZE = 50

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# The longest micros part of a cursor we make: signed micros of any timedelta.
_MAX_MICROS_DIGITS = 1 + len(str(dt.timedelta.max // dt.timedelta(microseconds=1)))


@dataclass(frozen=True)
class HistoryFilters:
    """What the client filtered the history on (all optional)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    category: str = ""
    addressee: str = ""
    text: str = ""


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first history: the (received_at, id) of a row."""

    received_at: dt.datetime
    call_id: int

    def encode(self) -> str:
        micros = (self.received_at - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}-{self.call_id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor | None":
        """None for anything that is not a cursor we made (never an error)."""
        # A call before 1970 has negative micros: "-123-45".
        micros_text, _, id_text = (text or "").rpartition("-")
        call_id = parse_row_id(id_text)
        # int() refuses thousands of digits; no cursor we make is that long.
        if (
            call_id is None
            or not micros_text.removeprefix("-").isdecimal()
            or len(micros_text) > _MAX_MICROS_DIGITS
        ):
            return None
        try:
            received_at = _EPOCH + dt.timedelta(microseconds=int(micros_text))
        except OverflowError:
            return None
        return cls(received_at=received_at, call_id=call_id)

    @classmethod
    def of(cls, call: Call) -> "Cursor":
        return cls(received_at=call.received_at, call_id=call.pk)


@dataclass(frozen=True)
class HistoryPage:
    calls: list[Call]
    older: Cursor | None  # pass as ?before= to see older calls
    newer: Cursor | None  # pass as ?after= to see newer calls


def _text_condition(text: str, *fields: str) -> Q:
    """``text`` in any of ``fields``, in whichever width it was typed or stored."""
    variants = width_variants(text)
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains_any": variants})
    return condition


def filtered_calls(*, client: Client, filters: HistoryFilters):
    """The client's reported calls (never sales calls) matching the filters."""
    calls = Call.objects.filter(client=client).reported()
    if filters.date_from:
        calls = calls.filter(
            received_at__gte=dt.datetime.combine(
                filters.date_from, dt.time.min, tzinfo=JST
            )
        )
    if filters.date_to:
        calls = calls.filter(
            received_at__lt=dt.datetime.combine(
                filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=JST
            )
        )
    if filters.category:
        calls = calls.filter(category=filters.category)
    if filters.addressee:
        calls = calls.filter(_text_condition(filters.addressee, "addressee"))
    text = filters.text.strip()
    if text:
        e164 = try_normalize_phone(text)
        if e164:
            # A whole phone number: match the stored E.164 only (cheap equality).
            calls = calls.filter(Q(callback_number=e164) | Q(caller_number=e164))
        else:
            condition = _text_condition(
                text, "caller_name", "caller_company", "purpose"
            )
            # Part of a number: on PostgreSQL the trigram index call_number_trgm
            # (answering/0010) serves it, as call_search_trgm serves the text.
            number = partial_number_condition(text, "callback_number", "caller_number")
            if number is not None:
                condition |= number
            calls = calls.filter(condition)
    return calls


def call_history(
    *,
    client: Client,
    filters: HistoryFilters,
    before: Cursor | None = None,
    after: Cursor | None = None,
    page_size: int = PAGE_SIZE,
) -> HistoryPage:
    """One page of the history, newest first, by keyset on (received_at, id).

    A deep page costs the same as the first one: the index on
    (client, -received_at, -id) is entered at the cursor instead of counting
    past an OFFSET of rows. One query; no total count (it would scan every row).
    """
    # Whether each call's report was corrected (its page lists the
    # corrections, call_corrections): in the same query, not one per row.
    calls = filtered_calls(client=client, filters=filters).annotate(
        corrected=Exists(
            CallRevision.objects.filter(
                call=OuterRef("pk"), changes__has_any_keys=list(REPORTED_FIELDS)
            )
        )
    )
    if after is not None:
        # Newer page: walk up from the cursor, then show it newest first.
        rows = list(
            calls.filter(received_at__gte=after.received_at)
            .exclude(received_at=after.received_at, id__lte=after.call_id)
            .order_by("received_at", "id")[: page_size + 1]
        )
        if rows:
            has_newer = len(rows) > page_size
            rows = rows[:page_size][::-1]
            return HistoryPage(
                calls=rows,
                newer=Cursor.of(rows[0]) if has_newer else None,
                older=Cursor.of(rows[-1]),
            )
        # Nothing newer any more: show the first page.
    if before is not None:
        calls = calls.filter(received_at__lte=before.received_at).exclude(
            received_at=before.received_at, id__gte=before.call_id
        )
    rows = list(calls.order_by("-received_at", "-id")[: page_size + 1])
    has_older = len(rows) > page_size
    rows = rows[:page_size]
    return HistoryPage(
        calls=rows,
        older=Cursor.of(rows[-1]) if has_older else None,
        newer=Cursor.of(rows[0]) if before is not None and rows else None,
    )


def calls_for_export(
    *, client: Client, filters: HistoryFilters, fields: tuple[str, ...]
) -> Iterator[tuple]:
    """Every matching call as a tuple of ``fields``, streamed in chunks (a
    server-side cursor on PostgreSQL), so memory does not grow with the rows."""
    return (
        filtered_calls(client=client, filters=filters)
        .order_by("-received_at", "-id")
        .values_list(*fields)
        .iterator(chunk_size=2000)
    )


def month_of_invoice_in_preparation(
    *, client: Client, invoices: Iterable[Invoice], today: dt.date | None = None
) -> dt.date | None:
    """Last month, while the client waits for its invoice, else None.

    The month has ended and the client is billed for some day of it (not a
    trial-only month, nor one after its contract ended: ``billable_from``, as
    the monthly run reads it), but no invoice of it is shown yet: drafts never
    are, and a void one means the month was issued (its reissue comes with
    it). ``invoices``: those the portal lists, already read (no query here).
    """
    month = previous_month(month_start(today or japan_today()))
    if client.first_billed_day(month) is None:
        return None
    if any(invoice.billing_month == month for invoice in invoices):
        return None
    return month


def addressee_suggestions(*, client: Client) -> list[str]:
    """Names callers ask for, from the client's people (cheap: no scan of calls)."""
    return list(
        ClientPerson.objects.filter(client=client)
        .order_by("display_order", "id")
        .values_list("name", flat=True)
    )


@dataclass(frozen=True)
class MonthUsage:
    month: dt.date
    counted_calls: int
    sales_calls: int
    plan_name: str
    included_calls: int | None

    @property
    def meter_percent(self) -> int:
        """How full the included calls are, capped at 100 for the bar."""
        if not self.included_calls:
            return 100 if self.counted_calls else 0
        return min(100, self.counted_calls * 100 // self.included_calls)

    @property
    def over_included(self) -> int:
        if self.included_calls is None:
            return 0
        return max(0, self.counted_calls - self.included_calls)

    @property
    def remaining_included(self) -> int:
        if self.included_calls is None:
            return 0
        return max(0, self.included_calls - self.counted_calls)


def month_usage(*, client: Client, today: dt.date | None = None) -> MonthUsage:
    """This month so far (Japan time): counted calls against the plan, sales calls."""
    today = today or japan_today()
    month = month_start(today)
    client_plan = plan_in_force(client=client, month=month)
    included = None
    plan_name = ""
    if client_plan is not None:
        plan_name = client_plan.plan.name
        try:
            included = client_plan.plan.price_on(month).included_calls
        except PlanPrice.DoesNotExist:
            included = None
    month_calls = Call.objects.filter(client=client).in_month(month)
    return MonthUsage(
        month=month,
        counted_calls=month_calls.counted().count(),
        sales_calls=month_calls.filter(category=Category.SALES).count(),
        plan_name=plan_name,
        included_calls=included,
    )


@dataclass(frozen=True)
class UndeliveredReports:
    """Reports of this client's calls that could not be delivered."""

    failed_count: int
    recent: list[Delivery]
    bouncing: list[BouncingAddress]


def undelivered_reports(*, client: Client, limit: int = 10) -> UndeliveredReports:
    # Of calls the client is shown: not one corrected to sales since its report
    # failed (sales calls never reach the client, and its page is a 404).
    failed = Delivery.objects.filter(
        client=client,
        status=Delivery.Status.FAILED,
        call__category__in=REPORTED_CATEGORIES,
    )
    return UndeliveredReports(
        failed_count=failed.count(),
        recent=list(
            failed.select_related("call").order_by("-failed_at", "-id")[:limit]
        ),
        bouncing=bouncing_addresses(client),
    )


def call_deliveries(*, call: Call) -> list[Delivery]:
    return list(call.deliveries.order_by("created_at", "id"))


@dataclass(frozen=True)
class Correction:
    changed_at: dt.datetime
    changes: dict[str, tuple[str, str]]  # {label: (old, new)}, readable


def call_corrections(*, call: Call) -> list[Correction]:
    """What corrections changed in the call's report, newest first, as the
    correction reports say it (``reporting.services.record_correction``): the
    operator's own memo left out. None once the caller's data was erased (its
    revisions are emptied with it)."""
    corrections = []
    # Newest first, as the console's history: the last correction is the one
    # a reader most often looks for.
    for revision in call.revisions.order_by("-changed_at", "-id"):
        reported = {
            field: pair
            for field, pair in revision.changes.items()
            if field in REPORTED_FIELDS
        }
        if reported:
            corrections.append(
                Correction(
                    changed_at=revision.changed_at, changes=readable_changes(reported)
                )
            )
    return corrections


@dataclass(frozen=True)
class ContractTerm:
    """Where the client's contract stands today, as the portal tells it."""

    # The contract's last day has passed (解約日 before today).
    ended: bool
    # A cancellation saved ahead (解約日 to come, the status maybe still
    # 契約中): the last day calls are answered and reported.
    ends_on: dt.date | None
    # The free trial's last day, while it runs.
    trial_ends_on: dt.date | None


def contract_term(*, client: Client, today: dt.date) -> ContractTerm:
    ended = client.contract_ended_before(today)
    in_trial = (
        client.trial_started_on is not None
        and client.trial_ends_on is not None
        and client.trial_started_on <= today <= client.trial_ends_on
    )
    return ContractTerm(
        ended=ended,
        ends_on=None if ended else client.cancelled_on,
        trial_ends_on=client.trial_ends_on if in_trial else None,
    )
