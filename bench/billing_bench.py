"""Benchmark: bill 10,000 clients with 1,000,000 calls in one month on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_billing \
        .venv/bin/python bench/billing_bench.py [--clients 10000] [--calls 1000000]

It works in a throwaway database (Django's test database, ``test_<name>``),
created and dropped here, so it never touches real data. It prints the time of
the whole ``bill_month`` run, the time of the floor (one grouped count over the
same calls), their ratio, and the number of queries of the run; then the same
for a second run (refreshing every draft) and for a run over 100 clients, to
show that the number of queries does not follow the number of clients.
"""

import argparse
import os
import sys
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import datetime as dt  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from answering.models import Call  # noqa: E402
from billing.selectors import calls_changed_since_built  # noqa: E402
from billing.services import bill_month, issue_invoices  # noqa: E402
from clients.models import (  # noqa: E402
    Client,
    ClientPlan,
    LentNumber,
    NumberAssignment,
    Plan,
    ReportRecipient,
)

MONTH = dt.date(2026, 10, 1)


def create_data(client_count: int, call_count: int) -> None:
    # The public price list's three plans, as migration clients/0007 seeds them.
    plans = list(Plan.objects.filter(code__in=["small", "half", "standard"]))
    assert len(plans) == 3, "the plans that migration clients/0007 seeds are missing"
    clients = Client.objects.bulk_create(
        [
            Client(
                name=f"ベンチ株式会社{i}",
                name_kana=f"ベンチ{i:05d}",
                announce_name=f"ベンチ株式会社{i}でございます",
                status=Client.Status.ACTIVE,
                trial_started_on=dt.date(2025, 1, 1),
                contract_started_on=dt.date(2025, 1, 11),
            )
            for i in range(client_count)
        ],
        batch_size=5000,
    )
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    ClientPlan.objects.bulk_create(
        [
            ClientPlan(
                client=c,
                plan=plans[i % 3],
                effective_month=dt.date(2025, 1, 1),
                requested_at=now,
            )
            for i, c in enumerate(clients)
        ],
        batch_size=5000,
    )
    # One number each, a second one for every 10th client.
    extra = [c for i, c in enumerate(clients) if i % 10 == 0]
    numbers = LentNumber.objects.bulk_create(
        [
            LentNumber(number=f"+8150{i:08d}", kind=LentNumber.Kind.IP_050)
            for i in range(len(clients) + len(extra))
        ],
        batch_size=5000,
    )
    NumberAssignment.objects.bulk_create(
        [
            NumberAssignment(
                number=n,
                client=c,
                use=NumberAssignment.Use.FORWARDING,
                assigned_on=dt.date(2025, 1, 1),
            )
            for n, c in zip(numbers, clients + extra, strict=True)
        ],
        batch_size=5000,
    )
    # Two recipients each, five for every 20th client.
    ReportRecipient.objects.bulk_create(
        [
            ReportRecipient(
                client=c,
                name="報告先",
                pc_email=f"r{i}-{k}@example.jp",
                active_from=dt.date(2025, 1, 1),
            )
            for i, c in enumerate(clients)
            for k in range(5 if i % 20 == 0 else 2)
        ],
        batch_size=5000,
    )
    # The calls, generated inside PostgreSQL: spread over the month (Japan
    # time), 10% sales, 10% grey, one in 1,000 with a surcharge.
    first_id = clients[0].pk
    overrides = {
        "client_id": f"{first_id} + (g %% {client_count})",
        "received_at": "timestamptz '2026-10-01 00:00:00+09'"
        " + (g %% (31 * 86400)) * interval '1 second'",
        "category": "CASE g %% 10 WHEN 0 THEN 'sales' WHEN 1 THEN 'grey'"
        " ELSE 'normal' END",
        "caller_name": "'発信者'",
        "callback_number": "'+819012345678'",
        "purpose": "'折り返しのお願い'",
        "surcharge_yen": "CASE WHEN g %% 1000 = 7 THEN 300 ELSE 0 END",
        "surcharge_reason": "CASE WHEN g %% 1000 = 7 THEN '長時間の対応' ELSE '' END",
        # Logged as they were received, as in a real month: the check for
        # calls logged after the invoices were built then finds none.
        "created_at": "timestamptz '2026-10-01 00:00:00+09'"
        " + (g %% (31 * 86400)) * interval '1 second'",
        "updated_at": "now()",
    }
    columns, values, params = [], [], []
    for field in Call._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(f'"{field.column}"')
        if field.attname in overrides:
            values.append(overrides[field.attname])
        elif field.null and not field.has_default():
            values.append("NULL")
        else:
            values.append("%s")
            params.append(field.get_default())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Call._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM generate_series(1, {call_count}) AS g",
            params,
        )
        cursor.execute("ANALYZE")


def timed(function):  # type: ignore[no-untyped-def]
    # The query log keeps 9,000 entries; start empty so a count never wraps.
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
    return result, elapsed, len(captured)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://...).")

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        create_data(args.clients, args.calls)
        print(
            f"data: {args.clients:,} clients, {args.calls:,} calls "
            f"in {time.perf_counter() - started:.1f} s"
        )

        def floor():  # type: ignore[no-untyped-def]
            return list(
                Call.objects.counted()
                .in_month(MONTH)
                .order_by()
                .values("client_id")
                .annotate(n=Count("id"))
            )

        floor()  # warm the cache the same way the run will find it
        _rows, floor_s, _q = timed(floor)

        out = StringIO()
        _r, run_s, run_q = timed(
            lambda: call_command("bill_month", f"{MONTH:%Y-%m}", stdout=out)
        )
        print(out.getvalue().strip().splitlines()[-1])
        _r, rerun_s, rerun_q = timed(lambda: bill_month(month=MONTH))
        some = list(Client.objects.order_by("id").values_list("id", flat=True)[:100])
        _r, small_s, small_q = timed(lambda: bill_month(month=MONTH, client_ids=some))

        issue, issue_s, issue_q = timed(lambda: issue_invoices(month=MONTH))
        issued = issue.issued
        # The month page's check for calls logged or corrected since the
        # invoices were built (none here: it reads the month's calls once).
        changed, check_s, check_q = timed(
            lambda: calls_changed_since_built(month=MONTH)
        )

        print(f"floor (one grouped count over the calls): {floor_s:.3f} s")
        print(
            f"bill_month {MONTH:%Y-%m} ({args.clients:,} clients): {run_s:.3f} s, "
            f"{run_q} queries, ratio to floor {run_s / floor_s:.1f}x"
        )
        print(f"rerun (refresh all drafts): {rerun_s:.3f} s, {rerun_q} queries")
        print(f"run for 100 clients: {small_s:.3f} s, {small_q} queries")
        print(f"issue {issued:,} drafts: {issue_s:.3f} s, {issue_q} queries")
        print(
            f"calls changed since built (the month page's check): "
            f"{check_s:.3f} s, {check_q} queries, {len(changed)} invoices changed"
        )
        print("target: whole run under 10 s: " + ("OK" if run_s < 10 else "MISSED"))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
