"""Reads about clients that other apps and pages share."""

import bisect
import datetime as dt
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import (
    PROTECT,
    RESTRICT,
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from clients.forms import as_katakana, normalize_typed_email
from clients.models import (
    EXTRA_NUMBER_FEE_YEN,
    EXTRA_RECIPIENT_FEE_YEN,
    FREE_RECIPIENT_PERSONS,
    Client,
    ClientPlan,
    NumberAssignment,
    ReportRecipient,
)
from clients.months import JST, japan_today, month_bounds, month_end, month_start
from clients.phones import partial_number_condition, try_normalize_phone

T = TypeVar("T")


def plan_in_force(*, client: Client, month: dt.date) -> ClientPlan | None:
    return (
        ClientPlan.objects.select_related("plan")
        .filter(client=client)
        .in_force_for(month_start(month))
        .first()
    )


def _relations_keeping_clients() -> list:
    """The relations to Client that keep a client from being deleted."""
    return [
        relation
        for relation in Client._meta.related_objects
        if relation.on_delete in (PROTECT, RESTRICT)
    ]


def records_keeping_client(*, client: Client) -> list[str]:
    """The kinds of record (their plural names: 報告先, 受電, 請求書, ...) that
    refer to ``client`` and keep it from being deleted.

    Every table that refers to a client does so with PROTECT (calls, invoices,
    deliveries, recipients, plan history, numbers lent, portal requests and
    users): a client is deleted only when created by mistake, before any of
    them. Its people (担当者) go with it. Read from the model's relations, so a
    new table that refers to clients counts without being listed here.
    """
    relations = _relations_keeping_clients()
    # One query, whatever the number of tables: one EXISTS per relation.
    found = (
        Client.objects.filter(pk=client.pk)
        .values_list(
            *(
                Exists(
                    relation.related_model._default_manager.filter(
                        **{relation.field.name: OuterRef("pk")}
                    )
                )
                for relation in relations
            )
        )
        .first()
    )
    if found is None:  # deleted meanwhile: nothing left to keep it
        return []
    return [
        str(relation.related_model._meta.verbose_name_plural)
        for relation, kept in zip(relations, found, strict=True)
        if kept
    ]


def clients_with_records(*, clients: QuerySet[Client]) -> QuerySet[Client]:
    """Those of ``clients`` that records keep from being deleted
    (``records_keeping_client``), in one query whatever their number."""
    kept = Q(pk__in=[])
    for relation in _relations_keeping_clients():
        kept |= Q(
            pk__in=relation.related_model._default_manager.values(
                relation.field.attname
            )
        )
    return clients.filter(kept)


def recipients_left_full_width(
    *, client: Client | None = None
) -> list[ReportRecipient]:
    """Recipients still reporting (now or later) whose address was kept as
    typed full-width (ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ): no report reaches it.
    Migration clients/0010 left them so when the half-width address would make
    them a copy of another recipient of their client (recipient_entered_once).
    Without a client, every client's (with the client)."""
    # Read in the database only where an address has a non-ASCII character:
    # width is then judged as the forms read an address.
    non_ascii = r"[^\x01-\x7f]"
    recipients = ReportRecipient.objects.filter(
        Q(pc_email__regex=non_ascii) | Q(mobile_email__regex=non_ascii),
        Q(active_to__isnull=True) | Q(active_to__gte=japan_today()),
    )
    if client is not None:
        recipients = recipients.filter(client=client)
    else:
        recipients = recipients.select_related("client")
    return [
        recipient
        for recipient in recipients.order_by("client__name", "client_id", "id")
        if any(
            address and normalize_typed_email(address) != address
            for address in (recipient.pc_email, recipient.mobile_email)
        )
    ]


def recipient_peak(
    *,
    recipients: list[ReportRecipient],
    month: dt.date,
    first_day: dt.date | None = None,
) -> int:
    """Highest number of persons active on any single day of the month, from
    ``first_day`` (a month's first billed day: none of the free trial) or the
    1st.

    The count only changes on a day someone starts, so it is enough to look at
    the first day and at each start day after it.
    """
    first, last = first_day or month_start(month), month_end(month)
    in_month = [
        r
        for r in recipients
        if r.active_from <= last and (r.active_to is None or r.active_to >= first)
    ]
    days = {first} | {r.active_from for r in in_month if r.active_from > first}
    return max(
        (sum(1 for r in in_month if r.is_active_on(day)) for day in days), default=0
    )


def numbers_held_in_month(
    *, client: Client, month: dt.date, first_day: dt.date | None = None
) -> list[NumberAssignment]:
    """Assignments held on a day of the month from ``first_day`` (or the 1st)."""
    first, last = first_day or month_start(month), month_end(month)
    return list(
        NumberAssignment.objects.filter(client=client)
        .held_during(first, last)
        .select_related("number")
        .order_by("assigned_on", "id")
    )


DayRun = tuple[dt.date, dt.date]  # first and last day, both included


def days_switched_on(
    changes: Sequence[tuple[dt.datetime, bool]],
    *,
    first: dt.date,
    last: dt.date,
    before: bool,
) -> list[DayRun]:
    """The runs of days from ``first`` to ``last`` on which a client setting
    was on at some moment (Japan time), from its recorded values: ``changes``
    is (when, value from then on), oldest first, as the setting's history
    holds them. Before its first record nothing says what it was (a row made
    before history was kept, or changed without it): ``before`` is taken, the
    value the row has now.

    Like a plan's ``effective_month`` or a price's ``valid_from``: what held in
    the month, not what holds today.
    """
    times = [when for when, _value in changes]
    runs: list[DayRun] = []
    day = first
    while day <= last:
        starts = dt.datetime.combine(day, dt.time.min, tzinfo=JST)
        ends = starts + dt.timedelta(days=1)
        at_start = bisect.bisect_right(times, starts) - 1
        on = (changes[at_start][1] if at_start >= 0 else before) or any(
            value for when, value in changes if starts < when < ends
        )
        if on:
            if runs and runs[-1][1] == day - dt.timedelta(days=1):
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        day += dt.timedelta(days=1)
    return runs


def recipients_within(
    recipients: Sequence[ReportRecipient], runs: Sequence[DayRun]
) -> list[ReportRecipient]:
    """``recipients`` cut to the days of ``runs`` (unsaved rows, for counting
    persons day by day): a person counts only on days reports went by e-mail."""
    cut: list[ReportRecipient] = []
    for recipient in recipients:
        for run_first, run_last in runs:
            active_from = max(recipient.active_from, run_first)
            active_to = min(recipient.active_to or run_last, run_last)
            if active_from <= active_to:
                cut.append(
                    ReportRecipient(
                        client_id=recipient.client_id,
                        active_from=active_from,
                        active_to=active_to,
                    )
                )
    return cut


def fee_recipients(
    *, clients: QuerySet[Client], month: dt.date
) -> dict[int, list[ReportRecipient]]:
    """The report recipients each of ``clients`` pays for in ``month``, by client
    id: only on the days it reported by e-mail. What invoices bill, and what the
    pages showing a month's fee count (``monthly_extras``).

    A client on Chatwork alone is not billed for people who receive nothing.
    The setting has no dates of its own: for a client that changed it since the
    month began, its history says which days of the month it was on (a reissue
    or a late run bills the month as it was, not as it is today; a page shows
    the days before a switch as they were). Subqueries only: no statement grows
    with the number of clients.
    """
    first = month_start(month)
    return fee_recipients_by_month(clients=clients, months=[first])[first]


def fee_recipients_by_month(
    *, clients: QuerySet[Client], months: Sequence[dt.date]
) -> dict[dt.date, dict[int, list[ReportRecipient]]]:
    """``fee_recipients`` of each of ``months`` (firsts of months), in two
    queries whatever the number of months or clients."""
    result: dict[dt.date, dict[int, list[ReportRecipient]]] = {
        month_start(month): defaultdict(list) for month in months
    }
    if not result:
        return result
    earliest, latest = min(result), month_end(max(result))
    ids = clients.values("id")
    historical = Client.history.model
    # Changed since the earliest month began: the clients whose history
    # might say another month's days differ (each month narrows it below).
    changed = historical.objects.filter(
        id__in=ids, history_date__gte=month_bounds(earliest)[0]
    ).values("id")
    report_changes: dict[int, list[tuple[dt.datetime, bool]]] = defaultdict(list)
    for client_id, history_date, by_email in (
        historical.objects.filter(id__in=changed)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "report_by_email")
    ):
        report_changes[client_id].append((history_date, by_email))
    held: list[ReportRecipient] = list(
        ReportRecipient.objects.filter(client__in=ids, active_from__lte=latest)
        .filter(Q(client__report_by_email=True) | Q(client__in=changed))
        .filter(Q(active_to__isnull=True) | Q(active_to__gte=earliest))
        .annotate(by_email_now=F("client__report_by_email"))
        .only("id", "client_id", "active_from", "active_to")
    )
    for first, recipients in result.items():
        last = month_end(first)
        month_starts_at = month_bounds(first)[0]
        changed_since = {
            client_id
            for client_id, changes in report_changes.items()
            if changes[-1][0] >= month_starts_at
        }
        by_email_now: dict[int, bool] = {}
        for recipient in held:
            if recipient.active_from > last or (
                recipient.active_to is not None and recipient.active_to < first
            ):
                continue
            by_email_now[recipient.client_id] = recipient.by_email_now  # type: ignore[attr-defined]
            if recipient.by_email_now or recipient.client_id in changed_since:  # type: ignore[attr-defined]
                recipients[recipient.client_id].append(recipient)
        for client_id in changed_since:
            if client_id in recipients:
                recipients[client_id] = recipients_within(
                    recipients[client_id],
                    days_switched_on(
                        report_changes[client_id],
                        first=first,
                        last=last,
                        before=by_email_now[client_id],
                    ),
                )
    return result


@dataclass(frozen=True)
class MonthlyExtras:
    """What extra numbers and recipients add to a client's monthly fee."""

    numbers_held: int
    extra_numbers: int
    extra_numbers_yen: int
    recipient_peak: int
    extra_recipients: int
    extra_recipients_yen: int

    @property
    def included_numbers(self) -> int:
        """0 or 1: the number the plan includes (see ``charged_numbers``)."""
        return self.numbers_held - self.extra_numbers

    @property
    def total_yen(self) -> int:
        return self.extra_numbers_yen + self.extra_recipients_yen


def extra_recipient_persons(peak: int) -> int:
    """Persons beyond the free ones: the monthly fee counts these."""
    return max(peak - FREE_RECIPIENT_PERSONS, 0)


def charged_numbers(held: Sequence[T], *, is_fax: Callable[[T], bool]) -> list[T]:
    """The numbers of a month that cost extra, in the order given (of lending).

    Every number held on a day of the month counts. One is included in the plan:
    the first phone number. A FAX never is, even one lent first or alone.
    """
    included = next((number for number in held if not is_fax(number)), None)
    return [number for number in held if number is not included]


def monthly_extras(
    *, client: Client, month: dt.date, first_day: dt.date | None = None
) -> MonthlyExtras:
    """Extra numbers and recipients of ``month``, counted from ``first_day`` (the
    first billed day, when the free trial or the contract starts later) or the
    1st."""
    by_number = {
        a.number_id: a
        for a in numbers_held_in_month(client=client, month=month, first_day=first_day)
    }
    held = len(by_number)
    extra_numbers = len(
        charged_numbers(
            list(by_number.values()),
            is_fax=lambda a: a.use == NumberAssignment.Use.FAX,
        )
    )
    # As invoices count them: on the days the client reported by e-mail.
    recipients = fee_recipients(
        clients=Client.objects.filter(pk=client.pk), month=month
    ).get(client.pk, [])
    peak = recipient_peak(recipients=recipients, month=month, first_day=first_day)
    extra_recipients = extra_recipient_persons(peak)
    return MonthlyExtras(
        numbers_held=held,
        extra_numbers=extra_numbers,
        extra_numbers_yen=extra_numbers * EXTRA_NUMBER_FEE_YEN,
        recipient_peak=peak,
        extra_recipients=extra_recipients,
        extra_recipients_yen=extra_recipients * EXTRA_RECIPIENT_FEE_YEN,
    )


def find_assignment_by_dialed(
    *, dialed: str
) -> tuple[str | None, NumberAssignment | None]:
    """Who holds the dialed number now: (E.164 or None when unreadable, assignment)."""
    e164 = try_normalize_phone(dialed)
    if e164 is None:
        return None, None
    # A number has at most one open assignment (number_one_open_assignment):
    # no ordering to choose by, and none to compile on every screen pop.
    found = (
        NumberAssignment.objects.current()
        .filter(number__number=e164)
        .select_related("client", "number")
        .order_by()[:1]
    )
    return e164, next(iter(found), None)


# Printable ASCII to its full-width form (ＡＢＣ, １２３); space to the ideographic one.
_TO_FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)} | {0x20: 0x3000}


def _half_width_kana_table() -> dict[int, str]:
    """Katakana and the marks typed with it (ー, 。) to their half-width forms:
    NFKC goes the other way only. A voiced kana is two characters there
    (ガ -> ｶﾞ, パ -> ﾊﾟ); the few kana without a half-width form stay as they are."""
    table = {
        ord(unicodedata.normalize("NFKC", chr(code))): chr(code)
        for code in range(0xFF61, 0xFFA0)  # ｡ to ﾟ
    }
    for code in range(ord("ァ"), ord("ヺ") + 1):
        decomposed = unicodedata.normalize("NFD", chr(code))  # ガ: カ + U+3099
        base, marks = decomposed[0], decomposed[1:]
        if marks and ord(base) in table:
            table[code] = table[ord(base)] + "".join(table[ord(m)] for m in marks)
    return table


_TO_HALF_WIDTH_KANA = _half_width_kana_table()


def width_variants(text: str) -> list[str]:
    """``text`` as typed, in half width and in full width: the forms a name
    written with letters, digits or katakana may be stored in (ＡＢＣ商事 or
    ABC商事, サトウ or ｻﾄｳ), whichever way the IME was set when it was typed.
    Text without them (山田) has one form, and costs one condition."""
    half = unicodedata.normalize("NFKC", text)  # letters half, katakana full width
    # In capitals and in small letters (ＡＢＣ, ｓｏｌｕｔｉｏｎｓ): SQLite matches
    # only ASCII letters whatever their case (PostgreSQL ignores any case).
    full = [
        half.upper().translate(_TO_FULL_WIDTH),
        half.lower().translate(_TO_FULL_WIDTH),
    ]
    # Half-width kana mode types letters and digits in half width too (ABCｼｮｳｼﾞ).
    # Only for katakana: each form is one more condition per field, and ー or 、
    # in a hiragana or kanji text (らーめん) is no reason to look for ｰ or ､.
    forms = [text, half, *full]
    if any("ァ" <= ch <= "ヺ" for ch in half):
        forms.append(half.translate(_TO_HALF_WIDTH_KANA))
    return list(dict.fromkeys(forms))


def search_clients(*, text: str, limit: int = 20) -> list[Client]:
    """Clients by lent number, own (forwarded) number, name or kana."""
    text = text.strip()
    if not text:
        return []
    variants = width_variants(text)
    # Kana fields typed in half-width kana mode hold ｻﾄｳ, not サトウ.
    kana_variants = width_variants(as_katakana(text))
    condition = (
        Q(name_kana__icontains_any=kana_variants)
        # A name written in kana is also found by the kana typed in hiragana.
        | Q(name__icontains_any=[*variants, *kana_variants])
        | Q(announce_name__icontains_any=variants)
    )
    e164 = try_normalize_phone(text)
    if e164:
        condition |= Q(own_number=e164) | Q(
            number_assignments__number__number=e164,
            number_assignments__released_on__isnull=True,
        )
    own = partial_number_condition(text, "own_number")
    lent = partial_number_condition(text, "number_assignments__number__number")
    if own is not None and lent is not None:
        condition |= own | (lent & Q(number_assignments__released_on__isnull=True))
    # A cancelled client last: the first one listed is opened by Enter.
    return list(
        Client.objects.filter(condition)
        .annotate(
            cancelled_last=Case(
                When(status=Client.Status.CANCELLED, then=Value(1)), default=Value(0)
            )
        )
        .order_by("cancelled_last", "name_kana", "name", "id")
        .distinct()[:limit]
    )
