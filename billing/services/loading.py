"""What a billing run reads: the month's billable clients, and everything their
invoices are built from, in a fixed number of grouped queries (never a query per
client)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, DateField, Q, QuerySet, Sum, Value, When

from answering.models import Call
from billing.models import (
    Adjustment,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    invoice_number_display,
)
from billing.pricing import (
    ClientMonth,
    Credit,
    HeldNumber,
    Surcharge,
    months_not_billed,
    price_on,
)
from billing.selectors import price_history_by_plan
from clients.models import Client, ClientPlan, NumberAssignment, billable_from
from clients.months import JST, month_bounds, month_end, month_start
from clients.selectors import fee_recipients_by_month


def billable_clients(*, month: dt.date) -> QuerySet[Client]:
    """Clients whose contract overlaps ``month`` (trial-only months drop out later)."""
    first, last = month_start(month), month_end(month)
    return Client.objects.filter(
        contract_started_on__isnull=False, contract_started_on__lte=last
    ).exclude(cancelled_on__lt=first)


def counted_calls_filter(*, late_starts: dict[int, dt.date]) -> Q:
    """Leave out calls before a client's first billed day (trial, pre-contract).

    ``late_starts`` maps client id -> first billed day for the few clients whose
    billing starts after the 1st. One OR term per distinct start day (at most
    31), so the grouped query stays one query whatever the number of clients.
    """
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for client_id, day in late_starts.items():
        by_day[day].append(client_id)
    condition = Q()
    for day, client_ids in sorted(by_day.items()):
        starts_at = dt.datetime.combine(day, dt.time.min, tzinfo=JST)
        condition &= ~Q(client_id__in=client_ids, received_at__lt=starts_at)
    return condition


def month_drafts(month: dt.date, clients: QuerySet[Client]) -> QuerySet[Invoice]:
    """The month's drafts of ``clients``, as a query rather than a list of ids."""
    return Invoice.objects.for_month(month).filter(
        status=InvoiceStatus.DRAFT, client__in=clients.values("id")
    )


def is_final_month(cancelled_on: dt.date | None, month: dt.date) -> bool:
    """Whether ``month`` is the last of a contract ending on ``cancelled_on``
    (a cancellation takes effect at the end of its month)."""
    return cancelled_on is not None and month_start(cancelled_on) == month


@dataclass(frozen=True)
class LoadedMonth:
    """What ``load_month`` read for a run."""

    billed: list[tuple[dict[str, Any], ClientMonth]]  # (client row, inputs)
    skipped: int
    live_invoices: dict[int, Any]  # by client id
    counted_calls: QuerySet[Call]  # of every client in the run


def load_month(
    *, month: dt.date, clients: QuerySet[Client], replaces: dict[int, int]
) -> LoadedMonth:
    """Everything needed to bill ``clients`` for ``month``, in a fixed number of
    queries. ``replaces`` maps a client to the invoice its new one reissues.

    A replaced invoice still issued is read as if it were void already: what
    its reissue would bill (``billing.selectors.invoices_differing_from_data``
    compares the two; ``void_and_reissue`` voids it first).
    """
    first = month_start(month)
    return load_months(clients=clients, replaces={first: replaces})[first]


def _month_of(months: list[dt.date]) -> Case:
    """A call's billing month (the first of ``months`` it was received in,
    Japan time), as a value the database groups by."""
    return Case(
        *(
            When(
                received_at__gte=month_bounds(month)[0],
                received_at__lt=month_bounds(month)[1],
                then=Value(month),
            )
            for month in months
        ),
        output_field=DateField(),
    )


def load_months(
    *, clients: QuerySet[Client], replaces: dict[dt.date, dict[int, int]]
) -> dict[dt.date, LoadedMonth]:
    """``load_month`` for each month in ``replaces`` (firsts of months, each
    with what its reissues replace), in one query per kind of data whatever
    the number of months: the months a client's saved page compares are as
    many as the months it has been with us. Each month bills those of
    ``clients`` whose contract overlaps it (``billable_clients``)."""
    months = sorted(replaces)
    earliest, latest = months[0], month_end(months[-1])
    all_rows: list[Any] = list(
        clients.values(
            "id",
            "name",
            "trial_started_on",
            "contract_started_on",
            "cancelled_on",
        ).order_by("id")
    )
    ids = clients.values("id")  # a subquery: no parameter list, whatever the size
    all_replaced = {i for of_month in replaces.values() for i in of_month.values()}

    client_rows: dict[dt.date, list[Any]] = {}
    starts: dict[dt.date, dict[int, dt.date]] = {}
    for first in months:
        last = month_end(first)
        # billable_clients, for each month.
        client_rows[first] = [
            row
            for row in all_rows
            if row["contract_started_on"] is not None
            and row["contract_started_on"] <= last
            and not (row["cancelled_on"] is not None and row["cancelled_on"] < first)
        ]
        starts[first] = {}
        for client_row in client_rows[first]:
            start = billable_from(
                month=first,
                trial_started_on=client_row["trial_started_on"],
                contract_started_on=client_row["contract_started_on"],
                cancelled_on=client_row["cancelled_on"],
            )
            if start is not None:
                starts[first][client_row["id"]] = start

    live_invoices: dict[dt.date, dict[int, Any]] = {first: {} for first in months}
    draft_ids: dict[dt.date, set[int]] = defaultdict(set)  # rebuilt by this run
    for invoice_row in (
        Invoice.objects.filter(billing_month__in=months, client__in=ids)
        .exclude(status=InvoiceStatus.VOID)
        .values("id", "client_id", "status", "replaces_id", "billing_month")
    ):
        first = invoice_row["billing_month"]
        if invoice_row["status"] == InvoiceStatus.DRAFT:
            draft_ids[first].add(invoice_row["id"])
        if invoice_row["id"] not in replaces[first].values():
            live_invoices[first][invoice_row["client_id"]] = invoice_row

    plans: dict[int, list[tuple[dt.date, int, str]]] = defaultdict(list)
    for plan_row in (
        ClientPlan.objects.filter(client__in=ids, effective_month__lte=months[-1])
        .order_by("client_id", "effective_month")
        .values("client_id", "effective_month", "plan_id", "plan__name")
    ):
        plans[plan_row["client_id"]].append(
            (plan_row["effective_month"], plan_row["plan_id"], plan_row["plan__name"])
        )

    prices = price_history_by_plan()

    recipients = fee_recipients_by_month(clients=clients, months=months)

    assignments = list(
        NumberAssignment.objects.filter(client__in=ids)
        .held_during(earliest, latest)
        .order_by("assigned_on", "id")
        .values(
            "client_id",
            "number_id",
            "number__number",
            "use",
            "assigned_on",
            "released_on",
        )
    )
    numbers: dict[dt.date, dict[int, list[HeldNumber]]] = {}
    for first in months:
        last = month_end(first)
        numbers[first] = defaultdict(list)
        for number_row in assignments:
            released_on = number_row["released_on"]
            # held_during, for each month.
            if number_row["assigned_on"] > last or (
                released_on is not None and released_on < first
            ):
                continue
            # Nothing is billed in the free trial: a number given back before
            # the first billed day costs nothing that month.
            start = starts[first].get(number_row["client_id"], first)
            if released_on is not None and released_on < start:
                continue
            held = numbers[first][number_row["client_id"]]
            if all(h.number_id != number_row["number_id"] for h in held):
                held.append(
                    HeldNumber(
                        number_id=number_row["number_id"],
                        number=number_row["number__number"],
                        use=number_row["use"],
                    )
                )

    counted = Call.objects.counted().filter(client__in=ids)
    month_calls: dict[dt.date, QuerySet[Call]] = {}
    of_any_month = Q()
    for first in months:
        late_starts = {cid: day for cid, day in starts[first].items() if day > first}
        month_calls[first] = counted.in_month(first).filter(
            counted_calls_filter(late_starts=late_starts)
        )
        starts_at, ends_at = month_bounds(first)
        of_any_month |= Q(
            Q(received_at__gte=starts_at, received_at__lt=ends_at),
            counted_calls_filter(late_starts=late_starts),
        )
    calls = counted.filter(of_any_month).annotate(billing_month=_month_of(months))
    counts: dict[tuple[dt.date, int], int] = {
        (row["billing_month"], row["client_id"]): row["n"]
        for row in calls.order_by()
        .values("billing_month", "client_id")
        .annotate(n=Count("id"))
    }
    surcharges: dict[tuple[dt.date, int], list[Surcharge]] = defaultdict(list)
    for call_row in calls.filter(surcharge_yen__gt=0).values(
        "id",
        "client_id",
        "billing_month",
        "received_at",
        "surcharge_yen",
        "surcharge_reason",
    ):
        surcharges[call_row["billing_month"], call_row["client_id"]].append(
            Surcharge(
                call_id=call_row["id"],
                received_at=call_row["received_at"],
                amount_yen=call_row["surcharge_yen"],
                reason=call_row["surcharge_reason"],
            )
        )

    # Deposits on other live invoices (the month's drafts are being rebuilt,
    # and the invoices its reissues replace are read as void).
    deposit_rows = list(
        InvoiceLine.objects.filter(
            invoice__client__in=ids,
            kind__in=[LineKind.DEPOSIT, LineKind.DEPOSIT_RETURN],
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .order_by()
        .values("invoice_id", "invoice__client_id", "kind")
        .annotate(total=Sum("amount_yen"))
    )
    deposit_billed: dict[dt.date, set[int]] = {}
    deposit_held: dict[dt.date, dict[int, int]] = {}
    for first in months:
        deposit_billed[first] = set()
        deposit_held[first] = defaultdict(int)
        left_out = draft_ids[first] | set(replaces[first].values())
        for line_row in deposit_rows:
            if line_row["invoice_id"] in left_out:
                continue
            client_id = line_row["invoice__client_id"]
            if line_row["kind"] == LineKind.DEPOSIT:
                deposit_billed[first].add(client_id)
            deposit_held[first][client_id] += line_row["total"]

    # The final invoice returns the deposit only when nothing is owed: while an
    # earlier invoice is issued and unpaid, or an earlier month is still a
    # draft (a charge still to come: not issued yet, or held back by the issue
    # check), the deposit stays held against it. Once that is issued and paid,
    # the final invoice's reissue returns it (the billing pages say so:
    # ``billing.selectors.unsettled_cancellations``). Earlier months only: a
    # run bills one month, and this month's own draft is the one being built
    # again (or compared, when issuing). An issued invoice of 0 yen or less
    # (credits, a refund) asks for no payment: nothing is owed on it.
    owing_months = list(
        Invoice.objects.owing()
        .filter(client__in=ids, billing_month__lt=months[-1])
        .values_list("client_id", "billing_month")
    )
    # So is an earlier month with billed days and no invoice at all (built out
    # of order: months are billed one run each, in any order an admin runs
    # them). Only for the clients whose final month one of the months is.
    invoiced_before = list(
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(
            client__in=clients.filter(
                cancelled_on__gte=earliest, cancelled_on__lte=latest
            ).values("id"),
            billing_month__lt=months[-1],
        )
        .values_list("client_id", "billing_month")
    )
    owing: dict[dt.date, set[int]] = {}
    for first in months:
        owing[first] = {cid for cid, month in owing_months if month < first}
        earlier_months: dict[int, set[dt.date]] = defaultdict(set)
        for client_id, billing_month in invoiced_before:
            if billing_month < first:
                earlier_months[client_id].add(billing_month)
        for client_row in client_rows[first]:
            if not is_final_month(client_row["cancelled_on"], first):
                continue
            if months_not_billed(
                billed=earlier_months.get(client_row["id"], set()),
                before=first,
                trial_started_on=client_row["trial_started_on"],
                contract_started_on=client_row["contract_started_on"],
                cancelled_on=client_row["cancelled_on"],
            ):
                owing[first].add(client_row["id"])

    # A credit goes on a later month's invoice than the one it corrects, and a
    # reissue carries exactly the credits of the invoice it replaces: one made
    # to fix a name must not pick up a credit meant for a later invoice. The
    # reissue of a final month is the exception: no later invoice will come, so
    # it settles every credit still waiting too (a cancellation recorded after
    # the month was issued left them with nowhere to go).
    adjustment_rows = list(
        Adjustment.objects.filter(client__in=ids)
        .filter(
            Q(applied_to__isnull=True)
            | Q(
                applied_to__status=InvoiceStatus.DRAFT,
                applied_to__billing_month__in=months,
            )
            | Q(applied_to_id__in=sorted(all_replaced))
        )
        .order_by("created_at", "id")
        .values(
            "id",
            "client_id",
            "amount_yen",
            "reason",
            "applied_to_id",
            "corrects_invoice__number",
            "corrects_invoice__billing_month",
        )
    )
    credits: dict[dt.date, dict[int, list[Credit]]] = {}
    for first in months:
        credits[first] = defaultdict(list)
        replaced = set(replaces[first].values())
        final_reissues = {
            row["id"]
            for row in client_rows[first]
            if row["id"] in replaces[first]
            and is_final_month(row["cancelled_on"], first)
        }
        for adjustment_row in adjustment_rows:
            client_id = adjustment_row["client_id"]
            applied_to = adjustment_row["applied_to_id"]
            corrects_month = adjustment_row["corrects_invoice__billing_month"]
            waiting = applied_to is None and corrects_month is not None
            due = (waiting and corrects_month < first) or applied_to in draft_ids[first]
            if replaces[first]:
                due = (
                    (due and client_id not in replaces[first])
                    or applied_to in replaced
                    or (
                        client_id in final_reissues
                        and waiting
                        and corrects_month <= first
                    )
                )
            if not due:
                continue
            number = adjustment_row["corrects_invoice__number"]
            credits[first][client_id].append(
                Credit(
                    adjustment_id=adjustment_row["id"],
                    amount_yen=adjustment_row["amount_yen"],
                    reason=adjustment_row["reason"],
                    corrects_number=invoice_number_display(number),
                    corrects_month=corrects_month,
                )
            )

    loaded: dict[dt.date, LoadedMonth] = {}
    for first in months:
        result: list[tuple[dict[str, Any], ClientMonth]] = []
        skipped = 0
        for client_row in client_rows[first]:
            client_id = client_row["id"]
            start = starts[first].get(client_id)
            live = live_invoices[first].get(client_id)
            in_force = [p for p in plans[client_id] if p[0] <= first]
            plan = in_force[-1][1:] if in_force else None
            snapshot = price_on(prices[plan[0]], start) if plan and start else None
            if (
                start is None
                or snapshot is None
                or (live is not None and live["status"] != InvoiceStatus.DRAFT)
            ):
                skipped += 1
                continue
            assert plan is not None
            is_final = is_final_month(client_row["cancelled_on"], first)
            result.append(
                (
                    client_row,
                    ClientMonth(
                        month=first,
                        billable_from=start,
                        plan_name=plan[1],
                        price=snapshot,
                        counted_calls=counts.get((first, client_id), 0),
                        held_numbers=numbers[first].get(client_id, []),
                        recipients=recipients[first].get(client_id, []),
                        surcharges=surcharges.get((first, client_id), []),
                        bill_deposit=client_id not in deposit_billed[first],
                        deposit_held_yen=deposit_held[first].get(client_id, 0),
                        return_deposit=is_final and client_id not in owing[first],
                        credits=credits[first].get(client_id, []),
                    ),
                )
            )
        loaded[first] = LoadedMonth(
            billed=result,
            skipped=skipped,
            live_invoices=live_invoices[first],
            counted_calls=month_calls[first],
        )
    return loaded
