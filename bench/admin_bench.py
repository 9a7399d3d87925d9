"""Admin list pages at production volume, on PostgreSQL.

Usage (creates, migrates and seeds the database on the first run, then reuses
the data; seeding takes a few minutes and prints its progress):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_admin \\
        .venv/bin/python bench/admin_bench.py [--calls 1000000] [--runs 15]

Seeds with SQL (INSERT ... SELECT generate_series): 300 clients, the calls
spread over 3 years (most to a few big clients), 3 report deliveries per call,
36 months of invoices per client, 3 report recipients per client, recipient
change requests. Then measures in-process through Django's test Client, logged
in as an admin (middleware, session, template rendering included), the admin's
list pages (default order, a month's drill-down, a filter, searches, page 2, a
far page) and two change pages, printing p50/p95 and the SQL queries per page.
Target: p95 < 300 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from pg_database import ensure_database  # bench/, this script's folder

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_admin"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_BROKER_URL", "")
os.environ.setdefault("LOG_LEVEL", "WARNING")

CLIENTS = 300
TARGET_P95_MS = 300


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    return parser.parse_args()


# Read before the database is touched: --help or a bad option changes nothing.
ARGS = parse_args()
ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from answering.models import Call  # noqa: E402
from clients.models import Client, User  # noqa: E402
from reporting.models import Delivery  # noqa: E402

# The rows of one statement each; {calls} and {first}/{last} are filled in.
SEED_CLIENTS = f"""
INSERT INTO clients_client (name, name_kana, announce_name, status, own_number,
    report_by_email, report_by_chatwork, chatwork_room_id, operator_notes,
    created_at, payment_method, billing_email)
SELECT '株式会社ベンチ' || lpad(g::text, 3, '0'), 'ベンチ' || g,
    '株式会社ベンチ' || lpad(g::text, 3, '0'), 'active', '',
    true, false, '', '', now() - interval '3 years', 'bank_transfer', ''
FROM generate_series(1, {CLIENTS}) g
"""
SEED_RECIPIENTS = """
INSERT INTO clients_reportrecipient (name, pc_email, mobile_email, active_from,
    client_id)
SELECT '担当' || k, 'r' || k || '-' || c.id || '@example.jp', '',
    (now() - interval '3 years')::date, c.id
FROM clients_client c CROSS JOIN generate_series(1, 3) k
"""
# Most calls go to a few big clients (the square skews towards the first).
SEED_CALLS = f"""
INSERT INTO answering_call (client_id, received_at, category, dialed_number,
    caller_number, caller_name, caller_name_missing_reason, caller_company,
    callback_number, callback_number_missing_reason, purpose,
    purpose_missing_reason, missing_note, addressee, is_urgent, is_angry,
    is_troubled, demeanour_note, note, surcharge_yen, surcharge_reason,
    created_at, updated_at)
SELECT c.first + floor(power((g % 997) / 997.0, 2) * {CLIENTS})::int, t.at,
    CASE WHEN g % 100 < 6 THEN 'sales' WHEN g % 100 < 9 THEN 'grey'
         WHEN g % 100 < 11 THEN 'nuisance' ELSE 'normal' END,
    '+81355550000',
    '+81901' || lpad(((g::bigint * 7919) % 30000)::text, 7, '0'),
    (ARRAY['山田','中村','小林','加藤','吉田','山本','松本','井上','木村','林'])
        [g % 10 + 1] || (g % 997),
    '', '株式会社取引先' || (g % 1500),
    '+81901' || lpad(((g::bigint * 7919) % 30000)::text, 7, '0'), '',
    '見積書の件で折り返しをお願いしたい', '', '', '田中', g % 10 = 0, false,
    false, '', '', 0, '', t.at, t.at
FROM generate_series({{first}}, {{last}}) g,
    LATERAL (SELECT now() - g * (interval '3 years' / {{calls}}) AS at) t,
    (SELECT min(id) AS first FROM clients_client) c
"""
SEED_DELIVERIES = """
INSERT INTO reporting_delivery (call_id, client_id, kind, channel, address,
    subject, body, status, attempts, next_attempt_at, message_id,
    provider_message_id, last_error, bounced, possible_duplicate, created_at,
    sent_at, failed_at)
SELECT c.id, c.client_id, 'report', 'email_pc',
    'r' || k || '-' || c.client_id || '@example.jp', '受電報告', '受電報告',
    CASE WHEN c.id % 200 = 0 THEN 'failed' ELSE 'sent' END, 1,
    c.received_at, '', '', '', false, false, c.received_at + interval '5 s',
    CASE WHEN c.id % 200 = 0 THEN NULL ELSE c.received_at + interval '5 s' END,
    CASE WHEN c.id % 200 = 0 THEN c.received_at + interval '5 s' END
FROM answering_call c CROSS JOIN generate_series(1, 3) k
WHERE c.id BETWEEN {first} AND {last}
"""
SEED_INVOICES = """
INSERT INTO billing_invoice (client_id, billing_month, status, number,
    client_name, company_name, company_registration_number,
    company_bank_account, period_start, period_end, issued_on, due_on, paid_on,
    taxable_10_yen, tax_10_yen, non_taxable_yen, total_yen, void_reason,
    calls_recorded, payment_method, created_at, updated_at)
SELECT c.id, m::date, CASE WHEN m < now() - interval '2 months' THEN 'paid'
        ELSE 'issued' END,
    row_number() OVER (ORDER BY m, c.id), c.name, 'ベンチ電話秘書',
    'T5010001234567', '', m::date, (m + interval '1 month - 1 day')::date,
    (m + interval '1 month')::date, (m + interval '2 months - 1 day')::date,
    CASE WHEN m < now() - interval '2 months'
        THEN (m + interval '40 days')::date END,
    10000, 1000, 0, 11000, '', true, 'bank_transfer', m, m
FROM clients_client c, generate_series(date_trunc('month', now())
    - interval '36 months', date_trunc('month', now()) - interval '1 month',
    interval '1 month') m
"""
SEED_REQUESTS = """
INSERT INTO portal_recipientchangerequest (client_id, requested_at, message,
    status, admin_note, system_note, kind, name, pc_email, mobile_email)
SELECT c.id, now() - k * interval '5 days', '', CASE WHEN k = 1 THEN 'open'
        ELSE 'done' END, '', '', 'add', '新任' || k,
    'new' || k || '-' || c.id || '@example.jp', ''
FROM clients_client c CROSS JOIN generate_series(1, 10) k
"""


def execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def seed(calls: int) -> None:
    """All or nothing: a seed stopped midway leaves no rows to be taken as
    seeded on the next run."""
    if Client.objects.exists():
        return
    with transaction.atomic():
        # The rows are consistent by construction: their foreign keys are not
        # checked row by row (deferred to the commit, that took longer than
        # the inserts). Needs a superuser, as the local postgres is.
        execute("SET LOCAL session_replication_role = replica")
        _seed(calls)


def _seed(calls: int) -> None:
    started = time.perf_counter()
    for sql in (SEED_CLIENTS, SEED_RECIPIENTS, SEED_INVOICES, SEED_REQUESTS):
        execute(sql)
    print(f"seeded clients, recipients, invoices, requests: {_since(started)}")
    chunk = 100_000
    for first in range(1, calls + 1, chunk):
        last = min(first + chunk - 1, calls)
        execute(SEED_CALLS.format(first=first, last=last, calls=calls))
        print(f"  calls {last:,}/{calls:,}: {_since(started)}", flush=True)
    low = Call.objects.order_by("id").values_list("id", flat=True).first()
    for first in range(low, low + calls, chunk):
        execute(SEED_DELIVERIES.format(first=first, last=first + chunk - 1))
        done = min(first + chunk - low, calls)
        print(f"  deliveries of {done:,} calls: {_since(started)}", flush=True)
    print(f"seeded in {_since(started)}")


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.0f} s"


def measure(http: HttpClient, url: str, runs: int) -> dict:
    response = http.get(url)  # warm up caches and the connection
    assert response.status_code == 200, (url, response.status_code)
    timings, db_timings, queries = [], [], set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = http.get(url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        timings.append(elapsed * 1000)
        db_timings.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        queries.add(len(ctx.captured_queries))
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[max(int(len(timings) * 0.95) - 1, 0)],
        "db": statistics.median(db_timings),
        "queries": max(queries),
    }


def cases() -> list[tuple[str, str]]:
    big = Client.objects.order_by("id").first()
    assert big is not None
    call = Call.objects.filter(client=big).order_by("-received_at")[500]
    local = timezone.localtime(call.received_at)
    drill = f"received_at__year={local.year}&received_at__month={local.month}"
    drill_d = f"created_at__year={local.year}&created_at__month={local.month}"
    number = call.callback_number_display  # 090-0001-2345, as an admin types it
    far = 5000
    return [
        ("calls", "/admin/answering/call/"),
        ("calls: page 2", "/admin/answering/call/?p=2"),
        ("calls: far page", f"/admin/answering/call/?p={far}"),
        ("calls: a month", f"/admin/answering/call/?{drill}"),
        ("calls: category=nuisance", "/admin/answering/call/?category__exact=nuisance"),
        ("calls: a client's", f"/admin/answering/call/?client__id__exact={big.pk}"),
        ("calls: search client name", f"/admin/answering/call/?q={big.name}"),
        ("calls: search phone number", f"/admin/answering/call/?q={number}"),
        ("calls: search caller name", f"/admin/answering/call/?q={call.caller_name}"),
        ("call: change page", f"/admin/answering/call/{call.pk}/change/"),
        ("deliveries", "/admin/reporting/delivery/"),
        ("deliveries: page 2", "/admin/reporting/delivery/?p=2"),
        ("deliveries: far page", f"/admin/reporting/delivery/?p={far}"),
        ("deliveries: a month", f"/admin/reporting/delivery/?{drill_d}"),
        (
            "deliveries: status=failed",
            "/admin/reporting/delivery/?status__exact=failed",
        ),
        ("deliveries: search client name", f"/admin/reporting/delivery/?q={big.name}"),
        (
            "deliveries: search address",
            f"/admin/reporting/delivery/?q=r1-{big.pk}@example.jp",
        ),
        ("invoices", "/admin/billing/invoice/"),
        ("invoices: page 2", "/admin/billing/invoice/?p=2"),
        ("invoices: status=issued", "/admin/billing/invoice/?status=issued"),
        ("invoices: search client name", f"/admin/billing/invoice/?q={big.name}"),
        ("clients", "/admin/clients/client/"),
        ("clients: page 2", "/admin/clients/client/?p=2"),
        ("clients: search name", f"/admin/clients/client/?q={big.name}"),
        ("client: change page (most calls)", f"/admin/clients/client/{big.pk}/change/"),
        ("recipients", "/admin/clients/reportrecipient/"),
        ("recipients: page 2", "/admin/clients/reportrecipient/?p=2"),
        ("recipients: search", f"/admin/clients/reportrecipient/?q={big.name}"),
        ("change requests", "/admin/portal/recipientchangerequest/"),
        (
            "change requests: open",
            "/admin/portal/recipientchangerequest/?status__exact=open",
        ),
        (
            "change requests: search",
            f"/admin/portal/recipientchangerequest/?q={big.name}",
        ),
    ]


def main(args: argparse.Namespace) -> None:
    assert connection.vendor == "postgresql", "the benchmark needs PostgreSQL"
    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query log growing during the runs
    seed(args.calls)
    # The tables as autovacuum keeps them (this server may run without it).
    for table in ("answering_call", "reporting_delivery", "billing_invoice"):
        execute(f"VACUUM ANALYZE {table}")
    admin, _ = User.objects.get_or_create(
        username="bench-admin",
        defaults={"role": User.Role.ADMIN, "is_staff": True, "is_superuser": True},
    )
    http = HttpClient(HTTP_HOST="localhost")
    http.force_login(admin)
    print(
        f"{Client.objects.count():,} clients, {Call.objects.count():,} calls, "
        f"{Delivery.objects.count():,} deliveries, PostgreSQL"
    )
    slow = 0
    # SQL ms: the median time in the database, which a busy machine's other
    # work (rendering, other processes) affects less than the page's time.
    print(f"\n{'page':<40} {'p50 ms':>8} {'p95 ms':>8} {'SQL ms':>8} {'queries':>8}")
    for name, url in cases():
        r = measure(http, url, args.runs)
        over = r["p95"] > TARGET_P95_MS
        slow += over
        flag = "  <-- over target" if over else ""
        print(
            f"{name:<40} {r['p50']:8.1f} {r['p95']:8.1f} {r['db']:8.1f} "
            f"{r['queries']:8d}{flag}"
        )
    print(
        f"\n{slow} pages over p95 {TARGET_P95_MS} ms" if slow else "\nALL UNDER TARGET"
    )


if __name__ == "__main__":
    main(ARGS)
