"""In-process profile of the console's call save (what bench/console_bench.py times).

Runs the save through Django's full request handler (middleware, session, CSRF)
against the benchmark database, and prints the SQL of one save plus the CPU time
per save; ``--pyinstrument`` prints a call tree (``pip install pyinstrument``).
``--page`` does the same for the console page the benchmark opens (the screen pop
of a client with 100,000 past calls, with a caller who called before).

Usage, after one run of bench/console_bench.py has seeded the database:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_perfc_bench \
        .venv/bin/python bench/console/profile_save.py [--page] [--pyinstrument] [-n 500]
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
ROOT = Path(__file__).resolve().parent.parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument(
        "--page",
        action="store_true",
        help="the console page (screen pop) instead of the save",
    )
    parser.add_argument(
        "--count-calls",
        action="store_true",
        help="Python function calls per request: unlike CPU time, it does not "
        "change with other load on the machine",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))  # console_bench imports its neighbours
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.console.settings")
    os.environ.setdefault("DJANGO_DEBUG", "False")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdef")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("CELERY_BROKER_URL", "")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from answering.models import Call
    from bench.console.models import BareRow
    from bench.console_bench import CLIENT_NAME, OPERATOR, REPEAT_CALLER, SAVE_FORM
    from clients.models import Client, User
    from reporting.models import Delivery

    client = Client.objects.get(name=CLIENT_NAME)
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(User.objects.get(username=OPERATOR))
    page = browser.get(f"/operator/calls/new?client={client.pk}")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    # Posted as wrk posts it: urlencoded, not multipart.
    body = urlencode({**SAVE_FORM, "csrfmiddlewaretoken": token.group(1).decode()})
    url = f"/operator/calls/new?client={client.pk}"
    first = (Call.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1

    def save() -> None:
        response = browser.post(url, body, content_type=FORM_CONTENT_TYPE)
        assert response.status_code == 302, response.status_code

    page_url = "/operator/calls/new?" + urlencode(
        {"dialed": "03-5550-0000", "caller": REPEAT_CALLER}
    )

    def page() -> None:
        response = browser.get(page_url)
        assert response.status_code == 200, response.status_code

    measured, name = (page, "page") if args.page else (save, "save")
    for _ in range(20):
        measured()
    with CaptureQueriesContext(connection) as queries:
        measured()
    print(f"{len(queries)} queries in one {name}:")
    for q in queries:
        print("  ", q["sql"][:160])

    profiler = None
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
    elif args.cprofile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stat = Path(f"/proc/{backend}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def db_cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    def bare() -> None:
        response = browser.post(
            "/bench/insert", "payload=bench", content_type=FORM_CONTENT_TYPE
        )
        assert response.status_code == 201, response.status_code

    for label, request in [("bare insert", bare), (name, measured)]:
        if args.count_calls:
            import cProfile
            import pstats

            counter = cProfile.Profile()
            counter.enable()
            for _ in range(100):
                request()
            counter.disable()
            calls = pstats.Stats(counter).total_calls  # type: ignore[attr-defined]
            print(f"{label}: {calls / 100:,.0f} Python function calls per request")
            continue
        if profiler is not None and label != name:
            continue
        request()
        started, db_started = time.process_time(), db_cpu()
        for _ in range(args.n):
            request()
        cpu, db = time.process_time() - started, db_cpu() - db_started
        print(
            f"{label}: CPU per request {1000 * (cpu + db) / args.n:.2f} ms "
            f"(Python {1000 * cpu / args.n:.2f} + PostgreSQL {1000 * db / args.n:.2f})"
        )
    if args.pyinstrument:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    elif args.cprofile:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    Delivery.objects.filter(call_id__gte=first).delete()
    Call.objects.filter(pk__gte=first).delete()
    BareRow.objects.all().delete()


if __name__ == "__main__":
    main()
