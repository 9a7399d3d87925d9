"""Two database sessions at once, for races that only PostgreSQL shows."""

import threading
import time

from django.db import connection, connections
from django.test import Client as Browser

from tests.factories import AdminFactory


class Session(threading.Thread):
    """Runs ``target`` in a thread on its own database connection, keeping any
    error for the test to report."""

    def __init__(self, target) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.error: Exception | None = None
        self.pid: int | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.connected.set()
            self.target()
        except Exception as error:  # reported by the test
            self.error = error
        finally:
            self.connected.set()
            connections.close_all()

    def wait_until_blocked(self, timeout: float = 10) -> None:
        """Return once this session waits for a lock held by another, or has
        ended (then it never needed one)."""
        self.connected.wait(timeout)
        deadline = time.monotonic() + timeout
        with connection.cursor() as cursor:
            while self.is_alive() and time.monotonic() < deadline:
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                    [self.pid],
                )
                row = cursor.fetchone()
                if row is not None and row[0] == "Lock":
                    return
                time.sleep(0.01)


def start(target) -> Session:
    session = Session(target)
    session.start()
    return session


def hold_first_call(monkeypatch, owner, name: str, timeout: float = 10):
    """Replace ``owner.name`` (a module's function or a class's method) so that
    its first caller, once it has run, stops there (under whatever locks it
    holds) until ``go_on`` is set: (``checked``, ``go_on``)."""
    checked, go_on = threading.Event(), threading.Event()
    original = getattr(owner, name)

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        if not checked.is_set():
            checked.set()
            go_on.wait(timeout=timeout)
        return result

    monkeypatch.setattr(owner, name, held)
    return checked, go_on


def admin_browser() -> Browser:
    """A browser logged in as an admin of its own: one per admin at the screen."""
    browser = Browser()
    browser.force_login(AdminFactory())
    return browser


def run_in_turn(first, second, checked, go_on) -> None:
    """``first`` until it stops at its hold (``hold_first_call``), then
    ``second`` until it waits for a lock (or ends), then both to their end."""
    one = start(first)
    assert checked.wait(timeout=10)
    two = start(second)
    two.wait_until_blocked()
    go_on.set()
    one.join(timeout=30)
    two.join(timeout=30)
    assert (one.error, two.error) == (None, None)
