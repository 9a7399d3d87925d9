"""`make run` (manage.py run_embedded) stopped by Ctrl-C once everything runs:
it stops quietly, every process with it, and says nothing about a failed start.

Ctrl-C reaches the terminal's whole process group: run_embedded, its web
server and its relay. Each test starts the command in a process group of its
own and sends SIGINT to that group, as the terminal does.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.reporting.peers import free_port

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 120  # migrate, seed, and two Django processes on a busy machine


def _sigint(disposition):
    # Whatever the test runner's own is: a terminal's shell starts a command with
    # SIGINT at its default, a script's background job (`make run &`) with it
    # ignored.
    return lambda: signal.signal(signal.SIGINT, disposition)


def _session(session_id: int) -> list[int]:
    """The processes still running in a session (Linux /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp session ...: comm may hold spaces.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _run_until_started(tmp_path: Path, *, sigint_ignored: bool):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "RUN_ADDR": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_sigint(signal.SIG_IGN if sigint_ignored else signal.SIG_DFL),
    )
    output = []
    deadline = time.monotonic() + STARTUP_SECONDS
    relay_started = False
    assert process.stdout is not None
    while not (relay_started and _answers(port)):
        if time.monotonic() > deadline or process.poll() is not None:
            for pid in _session(process.pid):
                os.kill(pid, signal.SIGKILL)
            pytest.fail("run_embedded did not start:\n" + "".join(output))
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            output.append(line)
            relay_started = relay_started or "報告の送信を開始しました" in line
    return process, port, output


@pytest.mark.parametrize(
    "sigint_ignored",
    [
        pytest.param(False, id="in-a-terminal"),
        pytest.param(True, id="background-job-of-a-script"),
    ],
)
def test_ctrl_c_stops_everything_without_a_failure_message(tmp_path, sigint_ignored):
    process, port, output = _run_until_started(tmp_path, sigint_ignored=sigint_ignored)

    pressed_at = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=30)
    finally:
        left = _session(process.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    log = "".join(output) + rest

    assert "起動できなかった" not in log
    assert "Traceback" not in log
    assert process.returncode == 0, log
    # Stopped at once, not after the 10 s it gives a child before killing it.
    assert time.monotonic() - pressed_at < 8, log
    assert left == [], "processes left running"
    assert not _answers(port)
