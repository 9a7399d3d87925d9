"""`make run`: migrate, seed the demo, then run the web server and the report
worker side by side until Ctrl-C.

On the embedded default (no CELERY_BROKER_URL) reports are delivered by the
database relay alone; with a broker set, a Celery worker and beat run as well.
"""

import ctypes
import errno
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re

from portal.management.commands.seed_demo import demo_logins_text

# Importing Django and running its checks takes a second or two; a busy laptop
# may take many times that, a hung server never answers.
STARTUP_TIMEOUT_SECONDS = 60.0

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _parse_addr(addr: str) -> tuple[str, int, bool]:
    """The host runserver binds for ``addr``, its port, and whether it is IPv6,
    read as runserver reads it (a bare port means 127.0.0.1)."""
    match = re.match(naiveip_re, addr)
    if match is None:
        raise CommandError(
            "RUN_ADDR（--addr）は 127.0.0.1:8000 のように指定してください"
            f"（指定された値: {addr}）。"
        )
    host = match["addr"] or "127.0.0.1"
    ipv6 = bool(match["ipv6"])
    if ipv6:
        host = host[1:-1]
    return host, int(match["port"]), ipv6


def _port_in_use(host: str, port: int, *, ipv6: bool) -> bool:
    """Whether runserver's bind would fail because something listens there.

    Bound as runserver binds (SO_REUSEADDR), so a port left in TIME_WAIT by a
    stopped server counts as free. Other errors (a privileged port, an address
    not on this machine) are left to runserver, which names them.
    """
    with socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _answers(host: str, port: int, *, ipv6: bool) -> bool:
    # A server bound to every address answers on the loopback one.
    if host in ("0", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    with socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET) as probe:
        probe.settimeout(0.5)
        try:
            return probe.connect_ex((host, port)) == 0
        except OSError:  # a host name that does not resolve
            return False


def _in_use_message(port: int) -> str:
    return (
        f"ポート {port} はほかのプログラムが使っています（前に起動した make run が"
        "残っていないか確かめてください）。そのプログラムを止めるか、"
        "RUN_ADDR=127.0.0.1:8001 make run のように別のポートを指定してください。"
    )


def _stopped_with_this_process() -> Callable[[], None] | None:
    """A preexec_fn after which the child is sent SIGTERM when this process
    dies, however it dies (kill -9 included), or None where that is not
    available.

    The children run in process groups of their own, so nothing else stops
    them: left behind, runserver kept the port and the next `make run` could not
    start. SIGTERM, not SIGKILL, so the relay still finishes the send in
    progress. Linux only (prctl); elsewhere a parent killed with -9 still leaves
    its children running, as any program's do.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent_pid = os.getpid()

    def preexec() -> None:
        # Resolved above, in the parent: the child between fork and exec should
        # do as little as possible.
        prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM), 0, 0, 0)
        # Died between the fork and the prctl: no signal will come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _timeout_seconds(value: str | float) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise CommandError(
            "RUN_STARTUP_TIMEOUT（--startup-timeout）には0より大きい秒数を"
            f"指定してください（指定された値: {value}）。"
        )
    return seconds


class _StopOnSignal:
    """The handler of the signals that stop `make run`: the first one raises
    KeyboardInterrupt wherever the command is (a migrate, the seed, the wait
    for the children); any later one is ignored, as the stop is under way."""

    def __init__(self) -> None:
        self.signalled = False
        self.requested = False  # set too when the command stops by itself

    def __call__(self, signum: int, frame: object) -> None:
        if self.requested:
            return
        self.signalled = self.requested = True
        raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "デモ環境を準備して、Webサーバーと報告の送信処理を起動します（Ctrl-Cで停止）。"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--addr",
            default=os.environ.get("RUN_ADDR", "127.0.0.1:8000"),
            help=(
                "Webサーバーのアドレスとポート（例: 127.0.0.1:8000。"
                "省略時は RUN_ADDR か 127.0.0.1:8000）"
            ),
        )
        parser.add_argument(
            "--startup-timeout",
            default=os.environ.get("RUN_STARTUP_TIMEOUT", STARTUP_TIMEOUT_SECONDS),
            help="Webサーバーの応答を待つ秒数（省略時は RUN_STARTUP_TIMEOUT か 60）",
        )

    def handle(self, *args, addr: str, startup_timeout: str | float, **options) -> None:
        host, port, ipv6 = _parse_addr(addr)
        timeout_seconds = _timeout_seconds(startup_timeout)
        # Stopped by Ctrl-C, SIGTERM or SIGHUP (an IDE's stop button, a closed
        # terminal) alike, from the first migrate on: the children are stopped
        # too, never left holding the port. SIGINT is set as well: a script's
        # background job (`make run &`) starts with it ignored, and then Ctrl-C
        # stopped only the relay (which sets its own), taken here for a failure
        # to start. The children start with these signals at their defaults.
        stop = _StopOnSignal()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
        processes: list[subprocess.Popen] = []
        try:
            self._run(processes, addr, host, port, ipv6, timeout_seconds)
        except KeyboardInterrupt:
            pass
        finally:
            # From here on a signal is a second one, which waits for the same
            # stop: it cut the waits below short with a traceback.
            stop.requested = True
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
        if stop.signalled:
            self.stdout.write("停止しました。")

    def _run(
        self,
        processes: list[subprocess.Popen],
        addr: str,
        host: str,
        port: int,
        ipv6: bool,
        timeout_seconds: float,
    ) -> None:
        """Prepare the demo, start the children into ``processes`` and watch
        them until one ends (or a signal interrupts)."""
        # Said at once, not after a first migrate's wait.
        if _port_in_use(host, port, ipv6=ipv6):
            raise CommandError(_in_use_message(port))
        settings.VAR_DIR.mkdir(exist_ok=True)
        self.stdout.write("データベースを準備しています…")
        # Interrupted, each migration and the seed's steps roll back whole (a
        # transaction each): the next `make run` starts them again.
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
        # Asked again: another program may have taken the port during the
        # migrate, and "started" would then be printed for its answer.
        if _port_in_use(host, port, ipv6=ipv6):
            raise CommandError(_in_use_message(port))
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
        # Each child in a process group of its own, so that Ctrl-C in the
        # terminal reaches this command alone, which stops each child once: a
        # second signal cut runserver's own stop short with a traceback, and
        # one while a child was still starting printed the traceback of its
        # imports. Nothing else stops them if this command is killed hard, hence
        # the preexec_fn.
        preexec_fn = _stopped_with_this_process()
        for cmd in commands:
            # One at a time: interrupted between two, the first is stopped too.
            processes.append(
                subprocess.Popen(
                    cmd,
                    cwd=settings.BASE_DIR,
                    stdin=subprocess.DEVNULL,
                    process_group=0,
                    preexec_fn=preexec_fn,
                )
            )
        # "Started" only once the web server answers: a newcomer who opens
        # the URL at once must not get a connection refused.
        deadline = time.monotonic() + timeout_seconds
        while all(p.poll() is None for p in processes) and not _answers(
            host, port, ipv6=ipv6
        ):
            if time.monotonic() > deadline:
                self.stderr.write(
                    f"Webサーバーが{timeout_seconds:g}秒たってもポート {port} で"
                    "応答しません。上に表示されたエラーを確かめてください"
                    "（パソコンが混み合っているだけなら、"
                    "RUN_STARTUP_TIMEOUT=180 make run のように待つ秒数を"
                    "延ばせます）。停止します。"
                )
                sys.exit(1)
            time.sleep(0.2)
        if all(p.poll() is None for p in processes):
            self.stdout.write(self.style.SUCCESS("\n電話代行システムを起動しました。"))
            self.stdout.write(demo_logins_text(f"http://{addr}/"))
            self.stdout.write("  停止するには Ctrl-C を押してください。\n")
            self.stdout.flush()
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        self.stderr.write(
            f"起動できなかったか、途中で止まった処理があります（{addr} が"
            "ほかのプログラムに使われていないか確かめてください）。停止します。"
        )
