"""Billing test helpers on top of the shared factories."""

import datetime as dt
import threading

from answering.models import Category
from clients.months import JST
from tests.factories import (
    CallFactory,
    ClientFactory,
    ClientPlanFactory,
    NumberAssignmentFactory,
)

OCTOBER = dt.date(2026, 10, 1)
# A day on which every month the tests bill has ended: a month is billed only
# once it is over, and the tests must not depend on the day they run.
LATER = dt.date(2027, 2, 1)


def void_confirmed(reason):
    """The void-and-reissue form as its confirmation step's 実行する sends it
    (the first post only shows that step: test_views checks the step's form
    sends just this)."""
    return {"void-reason": reason, "void-confirmed": "True"}


def jst(year, month, day, hour=12, minute=0, second=0):
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=JST)


def contracted_client(plan, *, effective_month=dt.date(2025, 1, 1), **fields):
    """An active client on ``plan`` since ``effective_month`` with one number."""
    client = ClientFactory(**fields)
    ClientPlanFactory(client=client, plan=plan, effective_month=effective_month)
    NumberAssignmentFactory(client=client, assigned_on=dt.date(2025, 1, 1))
    return client


def calls(client, count, *, category=Category.NORMAL, at=None, **fields):
    at = at or jst(2026, 10, 15)
    return [
        CallFactory(client=client, received_at=at, category=category, **fields)
        for _ in range(count)
    ]


class HoldOnceLoaded:
    """A billing run's ``progress``: holds the run once it has read the month
    (the message after its load), so that another connection can act between
    the run's reads and its writes. ``loaded`` is set then; the run goes on when
    ``go_on`` is set."""

    def __init__(self, timeout: float = 15) -> None:
        self.loaded, self.go_on = threading.Event(), threading.Event()
        self.messages: list[str] = []
        self.timeout = timeout

    def __call__(self, message: str) -> None:
        self.messages.append(message)
        if len(self.messages) == 2:
            self.loaded.set()
            self.go_on.wait(timeout=self.timeout)
