"""The billing lock: what writes invoices, and what changes what they bill.

Here, at the bottom of the apps, because both billing (which holds it while it
builds or issues invoices) and answering (whose corrections of a billed month's
calls, and calls logged late into one, wait for it) take it.

The one lock order: a client's row (``ClientQuerySet.lock``), then a lent
number's or an invoice's row, then this lock. A holder of the billing lock never
waits for a client or an issued invoice; a call's row may be locked before it.
"""

from django.db import connection

# The PostgreSQL advisory lock all billing runs queue behind (any fixed number
# no other code uses as its key; this one spells "bill").
BILLING_LOCK_KEY = 0x62696C6C


def hold_billing_lock(*, shared: bool = False) -> None:
    """Wait for whatever writes invoices now, and hold them off until commit.

    ``shared``: for a change to what invoices bill (a call corrected in, or
    logged late into, a month that has ended). Such changes do not wait for one another, only for a
    billing run, and a run waits for them: a run reads the calls as committed
    and none changes until the run has committed.
    """
    assert connection.in_atomic_block, "the lock lasts until the transaction ends"
    if connection.vendor == "postgresql":
        # Until commit or rollback. SQLite needs none: its transactions start
        # IMMEDIATE (config/settings.py), one writer at a time.
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [BILLING_LOCK_KEY])
