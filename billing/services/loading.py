"""What a billing run reads: the month's billable clients, and everything their
invoices are built from, in a fixed number of grouped queries (never a query per
client)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

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
from clients.months import JST, month_end, month_start
from clients.selectors import fee_recipients


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
    first, last = month_start(month), month_end(month)
    client_rows: list[Any] = list(
        clients.values(
            "id",
            "name",
            "trial_started_on",
            "contract_started_on",
            "cancelled_on",
        ).order_by("id")
    )
    ids = clients.values("id")  # a subquery: no parameter list, whatever the size

    replaced = list(replaces.values())
    live_invoices = {
        row["client_id"]: row
        for row in Invoice.objects.for_month(first)
        .exclude(status=InvoiceStatus.VOID)
        .exclude(pk__in=replaced)
        .filter(client__in=ids)
        .values("id", "client_id", "status", "replaces_id")
    }
    draft_ids = month_drafts(first, clients).values("id")  # rebuilt by this run

    plan_of: dict[int, tuple[int, str]] = {}
    for plan_row in (
        ClientPlan.objects.filter(client__in=ids, effective_month__lte=first)
        .order_by("client_id", "effective_month")
        .values("client_id", "plan_id", "plan__name")
    ):
        plan_of[plan_row["client_id"]] = (plan_row["plan_id"], plan_row["plan__name"])

    prices = price_history_by_plan()

    recipients = fee_recipients(clients=clients, month=first)

    starts: dict[int, dt.date] = {}
    skipped = 0
    for client_row in client_rows:
        start = billable_from(
            month=first,
            trial_started_on=client_row["trial_started_on"],
            contract_started_on=client_row["contract_started_on"],
            cancelled_on=client_row["cancelled_on"],
        )
        if start is not None:
            starts[client_row["id"]] = start

    numbers: dict[int, list[HeldNumber]] = defaultdict(list)
    for number_row in (
        NumberAssignment.objects.filter(client__in=ids)
        .held_during(first, last)
        .order_by("assigned_on", "id")
        .values("client_id", "number_id", "number__number", "use", "released_on")
    ):
        # Nothing is billed in the free trial: a number given back before the
        # first billed day costs nothing that month.
        released_on = number_row["released_on"]
        start = starts.get(number_row["client_id"], first)
        if released_on is not None and released_on < start:
            continue
        held = numbers[number_row["client_id"]]
        if all(h.number_id != number_row["number_id"] for h in held):
            held.append(
                HeldNumber(
                    number_id=number_row["number_id"],
                    number=number_row["number__number"],
                    use=number_row["use"],
                )
            )

    late_starts = {cid: day for cid, day in starts.items() if day > first}
    calls = (
        Call.objects.counted()
        .in_month(first)
        .filter(client__in=ids)
        .filter(counted_calls_filter(late_starts=late_starts))
    )
    counts = {
        row["client_id"]: row["n"]
        for row in calls.order_by().values("client_id").annotate(n=Count("id"))
    }
    surcharges: dict[int, list[Surcharge]] = defaultdict(list)
    for call_row in calls.filter(surcharge_yen__gt=0).values(
        "id", "client_id", "received_at", "surcharge_yen", "surcharge_reason"
    ):
        surcharges[call_row["client_id"]].append(
            Surcharge(
                call_id=call_row["id"],
                received_at=call_row["received_at"],
                amount_yen=call_row["surcharge_yen"],
                reason=call_row["surcharge_reason"],
            )
        )

    # Deposits on other live invoices (this month's drafts are being rebuilt).
    deposit_billed: set[int] = set()
    deposit_held: dict[int, int] = defaultdict(int)
    for line_row in (
        InvoiceLine.objects.filter(
            invoice__client__in=ids,
            kind__in=[LineKind.DEPOSIT, LineKind.DEPOSIT_RETURN],
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .exclude(invoice_id__in=draft_ids)
        .exclude(invoice_id__in=replaced)
        .order_by()
        .values("invoice__client_id", "kind")
        .annotate(total=Sum("amount_yen"))
    ):
        client_id = line_row["invoice__client_id"]
        if line_row["kind"] == LineKind.DEPOSIT:
            deposit_billed.add(client_id)
        deposit_held[client_id] += line_row["total"]

    # The final invoice returns the deposit only when nothing is owed: while an
    # earlier invoice is issued and unpaid, or an earlier month is still a
    # draft (a charge still to come: not issued yet, or held back by the issue
    # check), the deposit stays held against it. Once that is issued and paid,
    # the final invoice's reissue returns it (the billing pages say so:
    # ``billing.selectors.unsettled_cancellations``). Earlier months only: a
    # run bills one month, and this month's own draft is the one being built
    # again (or compared, when issuing). An issued invoice of 0 yen or less
    # (credits, a refund) asks for no payment: nothing is owed on it.
    owing = set(
        Invoice.objects.owing()
        .filter(client__in=ids, billing_month__lt=first)
        .values_list("client_id", flat=True)
    )
    # So is an earlier month with billed days and no invoice at all (built out
    # of order: months are billed one run each, in any order an admin runs
    # them). Only for the clients whose final month this is.
    earlier_months: dict[int, set[dt.date]] = defaultdict(set)
    for client_id, billing_month in (
        Invoice.objects.exclude(status=InvoiceStatus.VOID)
        .filter(
            client__in=clients.filter(
                cancelled_on__gte=first, cancelled_on__lte=last
            ).values("id"),
            billing_month__lt=first,
        )
        .values_list("client_id", "billing_month")
    ):
        earlier_months[client_id].add(billing_month)
    for client_row in client_rows:
        if months_not_billed(
            billed=earlier_months.get(client_row["id"], set()),
            before=first,
            trial_started_on=client_row["trial_started_on"],
            contract_started_on=client_row["contract_started_on"],
            cancelled_on=client_row["cancelled_on"],
        ):
            owing.add(client_row["id"])

    # A credit goes on a later month's invoice than the one it corrects, and a
    # reissue carries exactly the credits of the invoice it replaces: one made
    # to fix a name must not pick up a credit meant for a later invoice. The
    # reissue of a final month is the exception: no later invoice will come, so
    # it settles every credit still waiting too (a cancellation recorded after
    # the month was issued left them with nowhere to go).
    credits_due = (
        Q(applied_to__isnull=True) & Q(corrects_invoice__billing_month__lt=first)
    ) | Q(applied_to_id__in=draft_ids)
    if replaces:
        final_reissues = [
            row["id"]
            for row in client_rows
            if row["id"] in replaces and is_final_month(row["cancelled_on"], first)
        ]
        credits_due = (
            (credits_due & ~Q(client_id__in=list(replaces)))
            | Q(applied_to_id__in=list(replaces.values()))
            | Q(
                client_id__in=final_reissues,
                applied_to__isnull=True,
                corrects_invoice__billing_month__lte=first,
            )
        )
    credits: dict[int, list[Credit]] = defaultdict(list)
    for adjustment_row in (
        Adjustment.objects.filter(client__in=ids)
        .filter(credits_due)
        .order_by("created_at", "id")
        .values(
            "id",
            "client_id",
            "amount_yen",
            "reason",
            "corrects_invoice__number",
            "corrects_invoice__billing_month",
        )
    ):
        number = adjustment_row["corrects_invoice__number"]
        credits[adjustment_row["client_id"]].append(
            Credit(
                adjustment_id=adjustment_row["id"],
                amount_yen=adjustment_row["amount_yen"],
                reason=adjustment_row["reason"],
                corrects_number=invoice_number_display(number),
                corrects_month=adjustment_row["corrects_invoice__billing_month"],
            )
        )

    result: list[tuple[dict[str, Any], ClientMonth]] = []
    for client_row in client_rows:
        client_id = client_row["id"]
        start = starts.get(client_id)
        live = live_invoices.get(client_id)
        plan = plan_of.get(client_id)
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
                    counted_calls=counts.get(client_id, 0),
                    held_numbers=numbers.get(client_id, []),
                    recipients=recipients.get(client_id, []),
                    surcharges=surcharges.get(client_id, []),
                    bill_deposit=client_id not in deposit_billed,
                    deposit_held_yen=deposit_held.get(client_id, 0),
                    return_deposit=is_final and client_id not in owing,
                    credits=credits.get(client_id, []),
                ),
            )
        )
    return LoadedMonth(
        billed=result, skipped=skipped, live_invoices=live_invoices, counted_calls=calls
    )
