"""Report latency benchmark: commit of a call -> the SMTP peer accepting its mail.

Saves calls at a steady rate (default 20/s for 60 s) with one Celery worker, a
real Redis (CELERY_BROKER_URL, required) and a local SMTP peer, then prints
p50/p95/p99 of commit->accepted and the sustained deliveries per second.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_rep \\
    .venv/bin/python bench/report_latency.py [--rate 20] [--seconds 60] \\
        [--concurrency 2] [--prefetch-multiplier N] [--db-reuse-max N]

The worker is a prefork worker with ``--concurrency`` processes (default 2) and
the project's Celery settings; ``--prefetch-multiplier`` and ``--db-reuse-max``
override CELERY_WORKER_PREFETCH_MULTIPLIER / CELERY_DB_REUSE_MAX for this run
only, to measure a proposed setting. The SMTP peer runs in its own process
(bench/smtp_sink.py), so it does not take the saver's CPU; it counts every
message it accepts, and copies of a Message-ID are reported as duplicates.

A throw-away database is created next to DATABASE_URL's (PostgreSQL) or in a
temporary SQLite file, and dropped at the end. Each call has one recipient with
a PC and a mobile address, so two deliveries per call.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def make_database(url: str) -> tuple[str, callable]:
    if url.startswith("postgres"):
        import psycopg

        parsed = urlparse(url)
        name = f"bench_reports_{os.getpid()}"
        admin = urlunparse(parsed._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return urlunparse(parsed._replace(path=f"/{name}")), drop
    directory = tempfile.mkdtemp(prefix="bench_reports_")
    return f"sqlite:///{directory}/bench.sqlite3", lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--prefetch-multiplier",
        type=int,
        default=None,
        help="worker --prefetch-multiplier (default: CELERY_WORKER_PREFETCH_MULTIPLIER)",
    )
    parser.add_argument(
        "--db-reuse-max",
        type=int,
        default=None,
        help="CELERY_DB_REUSE_MAX for the worker (default: the project's setting)",
    )
    args = parser.parse_args()

    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        sys.exit("CELERY_BROKER_URL (a real Redis) is required")
    db_url, drop_database = make_database(
        os.environ.get("DATABASE_URL", "sqlite:///unused")
    )

    from bench.smtp_sink import SmtpSink

    peer = SmtpSink().start()
    if args.db_reuse_max is not None:
        os.environ["BENCH_CELERY_DB_REUSE_MAX"] = str(args.db_reuse_max)
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "EMAIL_URL": peer.url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    from reporting import services
    from reporting.models import Delivery
    from tests.factories import CallFactory, ClientFactory, ReportRecipientFactory

    worker = None
    messages: list[tuple[str, float]] = []
    try:
        call_command("migrate", verbosity=0)
        client = ClientFactory()
        ReportRecipientFactory(client=client)
        prefetch = (
            args.prefetch_multiplier or settings.CELERY_WORKER_PREFETCH_MULTIPLIER
        )
        db_reuse = args.db_reuse_max or getattr(settings, "CELERY_DB_REUSE_MAX", None)
        print(
            f"worker: prefork, concurrency {args.concurrency}, "
            f"prefetch multiplier {prefetch}, "
            f"acks_late {settings.CELERY_TASK_ACKS_LATE}, "
            f"db_reuse_max {db_reuse or 'unset (new DB connection per task)'}; "
            f"SMTP peer in its own process"
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "--quiet",
                "-A",
                "bench.report_worker_app",
                "worker",
                "--pool=prefork",
                f"--concurrency={args.concurrency}",
                f"--prefetch-multiplier={prefetch}",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
            ],
            cwd=BASE_DIR,
            env=dict(os.environ),
        )
        # Warm-up: wait until the worker delivers one report.
        with transaction.atomic():
            services.queue_call_reports(call=CallFactory(client=client))
        deadline = time.monotonic() + 60
        while peer.count() < 2:
            if time.monotonic() > deadline:
                sys.exit("the worker did not start")
            time.sleep(0.1)
        Delivery.objects.all().delete()
        warm_up = peer.count()

        committed: dict[str, float] = {}
        total = int(args.rate * args.seconds)
        started = time.time()
        for i in range(total):
            delay = started + i / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
            with transaction.atomic():
                deliveries = services.queue_call_reports(
                    call=CallFactory(client=client)
                )
            at = time.time()  # the transaction has committed
            for d in deliveries:
                committed[d.message_id] = at
        generated_for = time.time() - started
        backlog_at_end = Delivery.objects.exclude(status="sent").count()

        deadline = time.monotonic() + 60
        while peer.count() - warm_up < len(committed) and time.monotonic() < deadline:
            time.sleep(0.1)
        backlog_after = Delivery.objects.exclude(status="sent").count()
        messages = peer.stop()
        ours = [(mid, at) for mid, at in messages if mid in committed]
        arrived: dict[str, float] = {}
        for mid, at in ours:
            arrived.setdefault(mid, at)  # the first copy counts for latency
        latencies = [
            arrived[mid] - at for mid, at in committed.items() if mid in arrived
        ]
        missing = len(committed) - len(latencies)
        last = max(arrived.values()) if arrived else started
        duplicates = len(ours) - len(arrived)

        print(
            f"calls saved:             {total} in {generated_for:.1f} s "
            f"({total / generated_for:.1f}/s)"
        )
        print(
            f"deliveries:              {len(committed)} "
            f"(arrived {len(latencies)}, missing {missing}, duplicates {duplicates}, "
            f"malformed {peer.malformed.value})"
        )
        if latencies:
            print(
                f"commit -> accepted p50:  {statistics.median(latencies) * 1000:.0f} ms"
            )
            print(f"commit -> accepted p95:  {percentile(latencies, 95) * 1000:.0f} ms")
            print(f"commit -> accepted p99:  {percentile(latencies, 99) * 1000:.0f} ms")
            print(f"commit -> accepted max:  {max(latencies) * 1000:.0f} ms")
            print(f"sustained deliveries/s:  {len(latencies) / (last - started):.1f}")
        print(f"backlog when saving stopped: {backlog_at_end} not yet sent")
        print(f"backlog at the end:      {backlog_after}")
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        peer.stop()
        from django.db import connections

        connections.close_all()
        drop_database()


if __name__ == "__main__":
    main()
