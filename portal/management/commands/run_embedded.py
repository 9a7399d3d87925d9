"""`make run`: migrate, seed the demo, then run the web server and the report
worker side by side until Ctrl-C.

On the embedded default (no CELERY_BROKER_URL) reports are delivered by the
database relay alone; with a broker set, a Celery worker and beat run as well.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from portal.management.commands.seed_demo import demo_logins_text


class Command(BaseCommand):
    help = (
        "デモ環境を準備して、Webサーバーと報告の送信処理を起動します（Ctrl-Cで停止）。"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--addr", default=os.environ.get("RUN_ADDR", "127.0.0.1:8000")
        )

    def handle(self, *args, addr: str, **options) -> None:
        settings.VAR_DIR.mkdir(exist_ok=True)
        self.stdout.write("データベースを準備しています…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
        python = sys.executable
        commands = [[python, "manage.py", "runserver", addr, "--noreload"]]
        if settings.CELERY_BROKER_URL:
            commands.append(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-B",
                    "-l",
                    "info",
                    "--concurrency",
                    "2",
                ]
            )
        elif "run_relay" in get_commands():
            commands.append([python, "manage.py", "run_relay"])
        # Stopped by Ctrl-C, SIGTERM or SIGHUP (an IDE's stop button, a closed
        # terminal) alike: the children are stopped too, never left holding the
        # port. SIGINT is set as well: a script's background job (`make run &`)
        # starts with it ignored, and then Ctrl-C stopped only the relay (which
        # sets its own), taken here for a failure to start. The children start
        # with these signals at their defaults.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.default_int_handler)
        # Each child in a process group of its own, so that Ctrl-C in the
        # terminal reaches this command alone, which stops each child once: a
        # second signal cut runserver's own stop short with a traceback, and
        # one while a child was still starting printed the traceback of its
        # imports.
        processes = [
            subprocess.Popen(
                cmd, cwd=settings.BASE_DIR, stdin=subprocess.DEVNULL, process_group=0
            )
            for cmd in commands
        ]
        try:
            time.sleep(1)
            if all(p.poll() is None for p in processes):
                self.stdout.write(
                    self.style.SUCCESS("\n電話代行システムを起動しました。")
                )
                self.stdout.write(demo_logins_text(f"http://{addr}/"))
                self.stdout.write("  停止するには Ctrl-C を押してください。\n")
                self.stdout.flush()
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            self.stderr.write(
                f"起動できなかったか、途中で止まった処理があります（{addr} が"
                "ほかのプログラムに使われていないか確かめてください）。停止します。"
            )
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes:
                if p.poll() is None:
                    # runserver stops at once, the relay and Celery after the
                    # send in progress.
                    p.terminate()
            for p in processes:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        stopped = (0, -signal.SIGINT, -signal.SIGTERM, None)
        failed = [p for p in processes if p.returncode not in stopped]
        if failed:
            sys.exit(1)
