"""The database relay: deliver every due report, poll, repeat until Ctrl-C.

On the embedded default (no Redis) this is the only sender; with Celery it is
the same service the periodic task runs.
"""

import logging
import math
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from reporting.services import relay_due_deliveries

logger = logging.getLogger(__name__)


# Reports are promised within minutes, and on the embedded default this loop is
# their only sender: a longer wait is a typo (inf would never look again).
MAX_INTERVAL_SECONDS = 3600.0


def _interval_seconds(value: str | float, *, name: str) -> float:
    """The wait between two passes, or a CommandError naming ``name``."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    # 0 or less would query the database in a loop; nan and inf never wait right.
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise CommandError(
            f"{name} には0より大きく{MAX_INTERVAL_SECONDS:g}以下の秒数を"
            f"指定してください（指定された値: {value}）。"
        )
    return seconds


class Command(BaseCommand):
    help = "送信予定の報告を送ります（--once で1回だけ、通常はCtrl-Cまで繰り返し）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="1回だけ送って終了")
        parser.add_argument(
            "--interval",
            help=(
                "送信予定を確認する間隔（秒、0より大きく"
                f"{MAX_INTERVAL_SECONDS:g}以下。省略時は"
                "REPORT_RELAY_INTERVAL_SECONDS）"
            ),
        )

    def handle(self, *args, once: bool, interval: str | None, **options) -> None:
        # Checked here, not by argparse, so a bad value is a CommandError like
        # the other commands' (argparse's own message is English), and so the
        # setting is checked too when it stands in for the option.
        if interval is None:
            seconds = _interval_seconds(
                settings.REPORT_RELAY_INTERVAL_SECONDS,
                name="REPORT_RELAY_INTERVAL_SECONDS",
            )
        else:
            seconds = _interval_seconds(interval, name="--interval")
        if once:
            self._report(relay_due_deliveries())
            return
        self.stdout.write(
            f"報告の送信を開始しました（{seconds:g}秒ごと、Ctrl-Cで停止）。"
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
                while not stopping and slept < seconds:
                    time.sleep(min(0.2, seconds - slept))
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
