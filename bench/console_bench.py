#!/usr/bin/env python
"""Benchmark of the operator console on PostgreSQL, served by gunicorn, driven by wrk.

It measures, in one run against one database:
  1. the console page (screen pop with caller history) of a client with 100,000 past
     calls,
  2. saving a normal call (logged-in session, CSRF, validation, the call row and
     its report delivery rows: the client has two report recipients, one with a PC
     and a mobile address, so every save queues three deliveries),
  3. a bare Django view inserting one row into a table of the same database,
  4. a logged-in operator's POST that does nothing (session, user, CSRF): the
     ceiling for any logged-in write, to read the save's ratio against,
and prints requests per second, p50/p95 latency and the save / bare-insert ratio.
The page and the save are then timed once more one request at a time: the wait of
an operator while the server is not saturated.
Targets: save >= 40 % of the bare insert's throughput; console page p95 < 50 ms.

Usage (from the repository root, after ``make install``):
    .venv/bin/python bench/console_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/h_ops_bench

Needs ``wrk`` (Debian/Ubuntu: ``apt-get install -y wrk``). The database is created
when missing and reused between runs (seeding 100,000 calls happens once).
"""

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

from pg_database import ensure_database  # bench/, this script's folder

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-2026"
OPERATOR = "bench-operator"
CLIENT_NAME = "ベンチ株式会社"
DIALED = "+81355500000"
REPEAT_CALLER = "+819010000007"
SAVE_FORM = {
    "category": "normal",
    "caller_name": "山田太郎",
    "caller_company": "山田商事株式会社",
    "callback_number": "090-1234-5678",
    "purpose": "見積りの件で折り返しをお願いしたい",
    "addressee": "佐藤",
    "is_urgent": "on",
    "demeanour_note": "",
    "surcharge_yen": "",
    "received_at": "",
    "caller_number": "+819012345678",
    "dialed_number": DIALED,
}

LUA = r"""
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
function response(status, headers, body)
  if status == {expected} then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok"); wrong = wrong + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, ' ..
    '"expected": %d, "unexpected": %d, "socket_errors": %d}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, good, wrong,
    e.connect + e.read + e.write + e.timeout))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_ops_bench"
        ),
        help="PostgreSQL database for the run (created when missing)",
    )
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help="concurrent connections (default: one per gunicorn worker, so the "
        "latency is the server's, not the time spent queueing in its backlog)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=max(2, (os.cpu_count() or 1) * 2)
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument(
        "--drop-middleware",
        default="",
        help="comma-separated middleware class names to leave out (to measure a "
        "settings change before proposing it), e.g. HistoryRequestMiddleware",
    )
    parser.add_argument(
        "--session-engine",
        default="",
        help="SESSION_ENGINE for the run, e.g. django.contrib.sessions.backends."
        "cached_db (default: the product's)",
    )
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(calls: int) -> dict:
    """Client with ``calls`` past calls, its lent number and people, an operator."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from answering.models import Call, Category
    from clients.models import (
        Client,
        ClientPerson,
        LentNumber,
        NumberAssignment,
        ReportRecipient,
    )

    client, _ = Client.objects.get_or_create(
        name=CLIENT_NAME,
        defaults={
            "name_kana": "ベンチカブシキガイシャ",
            "announce_name": "ベンチ株式会社でございます",
            "status": Client.Status.ACTIVE,
            "operator_notes": "代表は佐藤。見積りの依頼は必ず折り返し先を伺う。\n"
            "土日のお問い合わせは月曜に折り返し。",
        },
    )
    if not client.people.exists():
        for i, (name, title) in enumerate(
            [("佐藤一郎", "代表"), ("鈴木花子", "営業"), ("高橋次郎", "経理")]
        ):
            ClientPerson.objects.create(
                client=client, name=name, title=title, display_order=i
            )
    # Reports by e-mail to two people: each save queues three deliveries.
    if not client.report_by_email:
        client.report_by_email = True
        client.save(update_fields=["report_by_email"])
    if not ReportRecipient.objects.filter(client=client).exists():
        ReportRecipient.objects.create(
            client=client,
            name="佐藤一郎",
            pc_email="sato@bench.example.jp",
            mobile_email="sato-mobile@bench.example.jp",
            active_from=dt.date(2024, 1, 1),
        )
        ReportRecipient.objects.create(
            client=client,
            name="鈴木花子",
            pc_email="suzuki@bench.example.jp",
            active_from=dt.date(2024, 1, 1),
        )
    number, _ = LentNumber.objects.get_or_create(
        number=DIALED, defaults={"kind": LentNumber.Kind.TOKYO_03}
    )
    if not NumberAssignment.objects.current().filter(number=number).exists():
        NumberAssignment.objects.create(
            number=number,
            client=client,
            use=NumberAssignment.Use.FORWARDING,
            assigned_on=dt.date(2024, 1, 1),
        )
    user_model = get_user_model()
    operator, created = user_model.objects.get_or_create(
        username=OPERATOR, defaults={"role": "operator"}
    )
    if created:
        operator.set_password(PASSWORD)
        operator.save()

    have = Call.objects.filter(client=client).count()
    if have < calls:
        print(f"seeding {calls - have:,} past calls ...", flush=True)
        now = timezone.now()
        categories = [Category.NORMAL] * 17 + [
            Category.SALES,
            Category.GREY,
            Category.NUISANCE,
        ]
        batch = []
        for i in range(have, calls):
            # 5,000 different callers, 20 calls each, spread over two years.
            batch.append(
                Call(
                    client=client,
                    received_at=now - dt.timedelta(minutes=7 * (i + 1)),
                    category=categories[i % len(categories)],
                    caller_number=f"+81901{i % 5000:07d}",
                    caller_name=f"発信者{i % 5000}",
                    callback_number=f"+81901{i % 5000:07d}",
                    purpose="折り返しのお願い",
                    logged_by=operator,
                )
            )
            if len(batch) == 10_000:
                Call.objects.bulk_create(batch)
                batch = []
        if batch:
            Call.objects.bulk_create(batch)
    return {"client_id": client.pk}


def vacuum() -> None:
    """The tables as autovacuum keeps them. This server may run without it
    (a test server's setting): then every run's deleted calls and deliveries
    stay in the indexes as dead rows, and each run reads slower than the one
    before (page CPU 14 -> 17 -> 22 ms per request in three runs)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "answering_call",
            "reporting_delivery",
            "bench_console_barerow",
            "django_session",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


def wait_for(base: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited early; see the messages above.")
        try:
            requests.get(f"{base}/login/", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    sys.exit("gunicorn did not answer in time.")


def log_in(base: str) -> tuple[str, str]:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=5)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        sys.exit("no CSRF token on the login page")
    response = session.post(
        f"{base}/login/",
        data={
            "username": OPERATOR,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
        timeout=5,
        allow_redirects=False,
    )
    if "sessionid" not in session.cookies:
        sys.exit(f"login failed ({response.status_code})")
    # The form token of a page, as a browser would post it.
    form_page = session.get(f"{base}/operator/", timeout=5)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.text)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return cookie, token.group(1) if token else ""


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def server_cpu_seconds(gunicorn_pid: int, database: str) -> tuple[float, float]:
    """CPU used so far by the gunicorn workers, and by their PostgreSQL backends.

    Other work on the machine slows every run down; CPU per request does not
    depend on it, so the script prints both.
    """
    children = Path(f"/proc/{gunicorn_pid}/task/{gunicorn_pid}/children")
    pids = [gunicorn_pid, *map(int, children.read_text().split())]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()",
            [database],
        )
        backends = [row[0] for row in cursor.fetchall()]
    return (
        sum(_process_cpu_seconds(pid) for pid in pids),
        sum(_process_cpu_seconds(pid) for pid in backends),
    )


def run_wrk(
    args: argparse.Namespace,
    url: str,
    *,
    method: str,
    cookie: str,
    body: str = "",
    expected: int,
    duration: int,
    connections: int = 0,
) -> dict:
    connections = connections or args.connections
    script = LUA.format(
        method=method, body=json.dumps(body), cookie=cookie, expected=expected
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(args.threads, connections)}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "5s",
                "-s",
                path,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(path)
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    result = json.loads(line[len("BENCH ") :])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    args = parse_args()
    args.connections = args.connections or args.workers
    if shutil.which("wrk") is None:
        sys.exit(
            "wrk is not installed. Install it with: apt-get install -y wrk "
            "(Debian/Ubuntu; as root or with sudo)."
        )
    ensure_database(args.database_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.console.settings",
        "DATABASE_URL": args.database_url,
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "PYTHONPATH": str(ROOT),
        # Workers keep their database connection for the whole run: a backend that
        # is replaced takes its CPU time with it, and the CPU-per-request figure
        # would come out short (even negative).
        "DATABASE_CONN_MAX_AGE": "3600",
        "BENCH_DROP_MIDDLEWARE": args.drop_middleware,
        "BENCH_SESSION_ENGINE": args.session_engine,
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--run-syncdb", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )

    import django

    django.setup()
    from answering.models import Call
    from bench.console.models import BareRow
    from reporting.models import Delivery

    info = seed(args.calls)
    vacuum()
    client_id = info["client_id"]
    first_new_call = (
        Call.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ) + 1
    from django.db import connection

    connection.close()

    database = urlparse(args.database_url).path.lstrip("/")
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = shutil.which("gunicorn", path=str(Path(python).parent)) or "gunicorn"
    proc = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(base, proc)
        cookie, token = log_in(base)
        page_url = f"{base}/operator/calls/new?" + urlencode(
            {"dialed": "03-5550-0000", "caller": REPEAT_CALLER}
        )
        save_url = f"{base}/operator/calls/new?client={client_id}"
        save_body = urlencode({**SAVE_FORM, "csrfmiddlewaretoken": token})
        insert_url = f"{base}/bench/insert"
        noop_url = f"{base}/bench/noop"
        noop_body = urlencode({"csrfmiddlewaretoken": token})

        runs = [
            ("console page (100k calls)", page_url, "GET", "", 200),
            ("call save", save_url, "POST", save_body, 302),
            ("bare insert", insert_url, "POST", "payload=bench", 201),
            ("logged-in no-op", noop_url, "POST", noop_body, 204),
        ]
        for _label, url, method, body, expected in runs:
            # A short warm-up so every worker has its connection and caches.
            run_wrk(
                args,
                url,
                method=method,
                cookie=cookie,
                body=body,
                expected=expected,
                duration=2,
            )
        # Rounds interleave the three runs, so a burst of other load on the machine
        # hits all of them alike; the round with the median save/insert ratio is kept.
        rounds = []
        for number in range(1, args.rounds + 1):
            results = {}
            for label, url, method, body, expected in runs:
                cpu_before = server_cpu_seconds(proc.pid, database)
                results[label] = run_wrk(
                    args,
                    url,
                    method=method,
                    cookie=cookie,
                    body=body,
                    expected=expected,
                    duration=args.duration,
                )
                cpu_after = server_cpu_seconds(proc.pid, database)
                requests_done = max(results[label]["requests"], 1)
                app_ms, db_ms = (
                    1000 * (after - before) / requests_done
                    for before, after in zip(cpu_before, cpu_after, strict=True)
                )
                results[label].update(
                    cpu_ms=app_ms + db_ms, app_cpu_ms=app_ms, db_cpu_ms=db_ms
                )
            rounds.append(results)
            print(
                f"round {number}: "
                + ", ".join(f"{k} {v['rps']:.0f} req/s" for k, v in results.items()),
                flush=True,
            )
        # What one operator waits for while the server is not saturated: a whole
        # call centre logs a few calls a second, far below the runs above.
        alone = {
            label: run_wrk(
                args,
                url,
                method=method,
                cookie=cookie,
                body=body,
                expected=expected,
                duration=args.duration,
                connections=1,
            )
            for label, url, method, body, expected in runs[:2]
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    saved = Call.objects.filter(pk__gte=first_new_call, client_id=client_id).count()
    deliveries = Delivery.objects.filter(call_id__gte=first_new_call).count()
    history = Call.objects.filter(client_id=client_id, pk__lt=first_new_call).count()
    # Keep the seeded history at its size for the next run.
    Delivery.objects.filter(call_id__gte=first_new_call).delete()
    Call.objects.filter(pk__gte=first_new_call).delete()
    BareRow.objects.all().delete()
    vacuum()

    rounds.sort(key=lambda r: r["call save"]["rps"] / r["bare insert"]["rps"])
    results = rounds[len(rounds) // 2]
    print()
    variant = ", ".join(
        f"{name} {value}"
        for name, value in [
            ("without middleware", args.drop_middleware),
            ("SESSION_ENGINE", args.session_engine),
        ]
        if value
    )
    if variant:
        print(f"settings variant: {variant}")
    print(
        f"median of {len(rounds)} rounds; "
        f"gunicorn {args.workers} sync workers, wrk {args.threads} threads "
        f"{args.connections} connections {args.duration}s, "
        f"{os.cpu_count()} CPUs, client history {history:,} calls"
    )
    print(
        f"{'':28} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'bad':>5} "
        f"{'server CPU ms/req':>18} {'(app':>6} {'+ db)':>6}"
    )
    for label, r in results.items():
        bad = r["unexpected"] + r["socket_errors"]
        print(
            f"{label:28} {r['rps']:9.1f} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} "
            f"{bad:5d} {r['cpu_ms']:18.2f} {r['app_cpu_ms']:6.2f} {r['db_cpu_ms']:6.2f}"
        )
    save, bare = results["call save"], results["bare insert"]
    page = results["console page (100k calls)"]
    ratio = save["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(
        f"call rows written by the save runs: {saved:,}, "
        f"delivery rows: {deliveries:,} ({deliveries / max(saved, 1):.1f} per call)"
    )
    cpu_ratio = bare["cpu_ms"] / save["cpu_ms"] if save["cpu_ms"] else 0.0
    print(
        f"save / bare insert by server CPU per request (independent of other load "
        f"on the machine): {cpu_ratio:.0%}"
    )
    print(
        f"save / bare insert throughput: {ratio:.0%} (target >= 40%) "
        f"{'OK' if ratio >= 0.40 else 'MISSED'}"
    )
    print(
        f"console page p95: {page['p95_ms']:.1f} ms (target < 50 ms) "
        f"{'OK' if page['p95_ms'] < 50 else 'MISSED'}"
    )
    print("one request at a time (the wait of one operator on an idle server):")
    for label, r in alone.items():
        bad = r["unexpected"] + r["socket_errors"]
        print(
            f"  {label:26} p50 {r['p50_ms']:6.2f} ms, p95 {r['p95_ms']:6.2f} ms"
            + (f", {bad} unexpected" if bad else "")
        )
    noop = results["logged-in no-op"]
    print(
        f"logged-in no-op / bare insert (session, user and CSRF alone, the ceiling "
        f"for any logged-in write): {noop['rps'] / bare['rps']:.0%} throughput, "
        f"{bare['cpu_ms'] / noop['cpu_ms']:.0%} by CPU"
    )
    if any(r["unexpected"] or r["socket_errors"] for r in results.values()):
        print("WARNING: some responses had an unexpected status; see 'bad'.")


if __name__ == "__main__":
    main()
