"""`make run` (manage.py run_embedded): it says it started only once the web
server answers, says which port is taken instead, stops quietly on Ctrl-C (a
second one included, and one during the migrate or the demo seed), and leaves
nothing running however it is stopped.

Ctrl-C reaches the terminal's whole process group: run_embedded, its web
server and its relay. Each test starts the command in a process group (and
session) of its own and sends SIGINT to that group, as the terminal does.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.reporting.peers import free_port

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 120  # migrate, seed, and two Django processes on a busy machine
STARTED = "起動しました"
STOPPED = "停止しました。"  # the command's own last line (the relay says more)


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


def _kill_session(session_id: int) -> list[int]:
    left = _session(session_id)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def _wait_for_session_to_end(session_id: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while _session(session_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _kill_session(session_id)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _env(database: Path, port: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(database.parent)),
        "DATABASE_URL": f"sqlite:///{database}",
        "RUN_ADDR": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }


def _manage(database: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=settings.BASE_DIR,
        env=_env(database, 0),
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("migrated") / "db.sqlite3"
    _manage(database, "migrate", "-v0").check_returncode()
    return database


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory, migrated_database) -> Path:
    """A database migrated and seeded once (a second `make run`): each test's
    start then takes seconds instead of a first migrate's ten or more."""
    database = tmp_path_factory.mktemp("seeded") / "db.sqlite3"
    shutil.copy(migrated_database, database)
    _manage(database, "seed_demo").check_returncode()
    return database


def _start(
    tmp_path: Path,
    database_to_copy: Path | None,
    *,
    port: int | None = None,
    sigint_ignored: bool = False,
    runserver_delay_seconds: float = 0,
    sitecustomize: str = "",
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, int]:
    """run_embedded on a copy of ``database_to_copy`` (None: a first `make
    run`, on no database yet); ``sitecustomize``: code its processes run first."""
    database = tmp_path / "db.sqlite3"
    if database_to_copy is not None:
        shutil.copy(database_to_copy, database)
    port = port or free_port()
    full_env = _env(database, port) | (env or {})
    if runserver_delay_seconds:
        # A busy laptop: the web server takes a while to import Django.
        sitecustomize += (
            "import sys, time\n"
            "if 'runserver' in sys.argv:\n"
            f"    time.sleep({runserver_delay_seconds})\n"
        )
    if sitecustomize:
        (tmp_path / "sitecustomize.py").write_text(sitecustomize)
        full_env["PYTHONPATH"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded"],
        cwd=settings.BASE_DIR,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_sigint(signal.SIG_IGN if sigint_ignored else signal.SIG_DFL),
    )
    return process, port


class _Output:
    """What the command prints, read by a thread as it comes: a line read with
    select() and readline() could wait in the pipe's buffer after the select."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._reader = threading.Thread(
            target=self._read, args=(process.stdout,), daemon=True
        )
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def __str__(self) -> str:
        return "".join(self.lines)

    def closed(self, timeout: float) -> str:
        """All of it, once every process that holds the pipe has ended."""
        self._reader.join(timeout)
        return str(self)


def _read_until(process: subprocess.Popen, output: _Output, done) -> None:
    """Waits until ``done()``, or fails the test when the command ends or takes
    too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not done():
        if time.monotonic() > deadline or process.poll() is not None:
            _kill_session(process.pid)
            pytest.fail(f"run_embedded did not start:\n{output}")
        time.sleep(0.1)


def _run_until_started(tmp_path: Path, seeded_database: Path, **options):
    process, port = _start(tmp_path, seeded_database, **options)
    output = _Output(process)
    _read_until(
        process,
        output,
        lambda: "報告の送信を開始しました" in str(output) and _answers(port),
    )
    return process, port, output


@pytest.mark.parametrize(
    "sigint_ignored",
    [
        pytest.param(False, id="in-a-terminal"),
        pytest.param(True, id="background-job-of-a-script"),
    ],
)
def test_ctrl_c_stops_everything_without_a_failure_message(
    tmp_path, seeded_database, sigint_ignored
):
    process, port, output = _run_until_started(
        tmp_path, seeded_database, sigint_ignored=sigint_ignored
    )

    pressed_at = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
        log = output.closed(timeout=10)
    finally:
        left = _kill_session(process.pid)

    assert "起動できなかった" not in log
    assert "Traceback" not in log
    assert STOPPED in log.splitlines()
    assert process.returncode == 0, log
    # Stopped at once, not after the 10 s it gives a child before killing it.
    assert time.monotonic() - pressed_at < 8, log
    assert left == [], "processes left running"
    assert not _answers(port)


# The relay, stopped, takes a few seconds to end, as after a send in progress.
RELAY_SLOW_TO_END = """
import atexit, sys, time
if "run_relay" in sys.argv:
    atexit.register(time.sleep, 4)
"""


def test_a_second_ctrl_c_while_stopping_waits_for_the_same_stop(
    tmp_path, seeded_database
):
    process, port, output = _run_until_started(
        tmp_path, seeded_database, sitecustomize=RELAY_SLOW_TO_END
    )

    os.killpg(process.pid, signal.SIGINT)
    _read_until(process, output, lambda: "報告の送信を停止しました" in str(output))
    os.killpg(process.pid, signal.SIGINT)  # impatient: "is it stopping?"
    try:
        process.wait(timeout=30)
        log = output.closed(timeout=10)
    finally:
        left = _wait_for_session_to_end(process.pid, 10)

    assert "Traceback" not in log
    assert STOPPED in log.splitlines()
    assert process.returncode == 0, log
    assert left == [], "processes left running"
    assert not _answers(port)


# The first migration applied waits, as a long one would, before it is recorded.
MIGRATION_IN_PROGRESS = """
import sys, time
if "run_embedded" in sys.argv:
    from django.db.migrations.migration import Migration
    _apply = Migration.apply
    def apply(self, *args, **kwargs):
        state = _apply(self, *args, **kwargs)
        print("migration applied, not recorded", flush=True)
        time.sleep(60)
        return state
    Migration.apply = apply
"""
# Says when the demo data starts to be made (which takes seconds).
SEED_STARTS = """
import sys
if "run_embedded" in sys.argv:
    from django.core import management
    _call_command = management.call_command
    def call_command(name, *args, **kwargs):
        if name == "seed_demo":
            print("seeding", flush=True)
        return _call_command(name, *args, **kwargs)
    management.call_command = call_command
"""


@pytest.mark.parametrize(
    ("database", "sitecustomize", "marker"),
    [
        pytest.param(None, MIGRATION_IN_PROGRESS, "not recorded", id="migrate"),
        pytest.param("migrated", SEED_STARTS, "seeding", id="seed"),
    ],
)
def test_ctrl_c_while_preparing_stops_quietly_and_the_next_run_starts(
    request, tmp_path, database, sitecustomize, marker
):
    copied = request.getfixturevalue("migrated_database") if database else None
    process, port = _start(tmp_path, copied, sitecustomize=sitecustomize)
    output = _Output(process)
    _read_until(process, output, lambda: marker in str(output))

    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
        log = output.closed(timeout=10)
    finally:
        left = _kill_session(process.pid)

    assert "Traceback" not in log
    assert "デモデータを用意しました" not in log  # stopped before the end
    assert STOPPED in log.splitlines()
    assert process.returncode == 0, log
    assert left == [], "processes left running"
    assert not _answers(port)
    # Nothing half done: what was interrupted rolled back, and is done again.
    database_file = tmp_path / "db.sqlite3"
    migrated = _manage(database_file, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    seeded = _manage(database_file, "seed_demo")
    assert "デモデータを用意しました" in seeded.stdout, seeded.stderr


def test_started_is_said_once_the_web_server_answers(tmp_path, seeded_database):
    process, port = _start(tmp_path, seeded_database, runserver_delay_seconds=3)
    output = _Output(process)
    try:
        _read_until(process, output, lambda: STARTED in str(output))
        # The newcomer opens the URL it gives at once: it must answer.
        assert _answers(port), str(output)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    finally:
        _kill_session(process.pid)


def test_a_busy_port_is_named_instead_of_started(tmp_path, seeded_database):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        # A web server slow to start on a busy laptop, as the newcomer's may be.
        process, _ = _start(
            tmp_path, seeded_database, port=port, runserver_delay_seconds=2
        )
        try:
            log, _ = process.communicate(timeout=STARTUP_SECONDS)
        finally:
            left = _kill_session(process.pid)

    assert STARTED not in log
    assert f"ポート {port} はほかのプログラムが使っています" in log
    assert "RUN_ADDR=" in log  # what to do about it
    assert process.returncode == 1
    assert left == [], "processes left running"


def test_a_web_server_that_never_answers_is_given_up_on(tmp_path, seeded_database):
    process, port = _start(
        tmp_path,
        seeded_database,
        runserver_delay_seconds=600,
        env={"RUN_STARTUP_TIMEOUT": "3"},
    )
    try:
        log, _ = process.communicate(timeout=STARTUP_SECONDS)
    finally:
        left = _kill_session(process.pid)

    assert STARTED not in log
    assert f"3秒たってもポート {port} で応答しません" in log
    assert "RUN_STARTUP_TIMEOUT=" in log  # what to do about it
    assert process.returncode == 1
    assert left == [], "processes left running"


def test_killed_hard_it_leaves_nothing_running(tmp_path, seeded_database):
    """kill -9, or a crash: the children, in process groups of their own, get
    no signal from the terminal and used to keep the port."""
    process, port, output = _run_until_started(tmp_path, seeded_database)

    process.kill()
    process.wait()
    left = _wait_for_session_to_end(process.pid, 10)

    assert left == [], "processes left running"
    assert not _answers(port)
