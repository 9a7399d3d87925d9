"""The database relay: deliver every due report, poll, repeat until Ctrl-C.

On the embedded default (no Redis) this is the only sender; with Celery it is
the same service the periodic task runs.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from reporting.services import relay_due_deliveries

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "送信予定の報告を送ります（--once で1回だけ、通常はCtrl-Cまで繰り返し）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="1回だけ送って終了")
        parser.add_argument(
            "--interval",
            type=float,
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
        # A process manager stops us with SIGTERM: leave like Ctrl-C, between sends.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while True:
                close_old_connections()
                try:
                    outcomes = relay_due_deliveries()
                except Exception:
                    # The database may be restarting: every client's reports
                    # wait on this loop, so it logs the error and tries again.
                    logger.exception(
                        "報告の送信に失敗しました。次の確認で再試行します。"
                    )
                    outcomes = {}
                if outcomes:
                    self._report(outcomes)
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("報告の送信を停止しました。")

    def _report(self, outcomes: dict[str, int]) -> None:
        summary = ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
        self.stdout.write(summary or "送信予定の報告はありません。")
