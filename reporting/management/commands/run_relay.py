"""The database relay: deliver every due report, poll, repeat until Ctrl-C.

On the embedded default (no Redis) this is the only sender; with Celery it is
the same service the periodic task runs.
"""

import argparse
import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from reporting.services import relay_due_deliveries

logger = logging.getLogger(__name__)


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan; 0 would query the database in a loop
        raise argparse.ArgumentTypeError("0より大きい秒数を指定してください。")
    return value


class Command(BaseCommand):
    help = "送信予定の報告を送ります（--once で1回だけ、通常はCtrl-Cまで繰り返し）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="1回だけ送って終了")
        parser.add_argument(
            "--interval",
            type=_seconds,
            default=settings.REPORT_RELAY_INTERVAL_SECONDS,
            help="送信予定を確認する間隔（秒）",
        )

    def handle(self, *args, once: bool, interval: float, **options) -> None:
        if once:
            self._report(relay_due_deliveries())
            return
        self.stdout.write(
            f"報告の送信を開始しました（{interval}秒ごと、Ctrl-Cで停止）。"
        )
        # Ctrl-C, or SIGTERM from a process manager, stops the loop between two
        # sends: cut inside one, a report the server never accepted would stay
        # "sending" and later be resent flagged as a possible duplicate. A
        # second signal a moment later leaves at once; one within the second
        # is the same stop (a supervisor in the terminal's process group that
        # passes Ctrl-C on to the relay sends it a second one at once).
        stopping: list[float] = []

        def stop(signum: int, frame: object) -> None:
            if stopping and time.monotonic() - stopping[0] > 1.0:
                raise KeyboardInterrupt
            if not stopping:
                stopping.append(time.monotonic())

        previous = {
            signum: signal.signal(signum, stop)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stopping:
                close_old_connections()
                try:
                    outcomes = relay_due_deliveries(should_stop=lambda: bool(stopping))
                except Exception:
                    # The database may be restarting: every client's reports
                    # wait on this loop, so it logs the error and tries again.
                    logger.exception(
                        "報告の送信に失敗しました。次の確認で再試行します。"
                    )
                    outcomes = {}
                if outcomes:
                    self._report(outcomes)
                slept = 0.0
                while not stopping and slept < interval:
                    time.sleep(min(0.2, interval - slept))
                    slept += 0.2
        except KeyboardInterrupt:
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("報告の送信を停止しました。")

    def _report(self, outcomes: dict[str, int]) -> None:
        summary = ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
        self.stdout.write(summary or "送信予定の報告はありません。")
