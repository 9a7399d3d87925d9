"""A sliding-window rate limiter shared by every process through the database.

Each key has a bucket row; taking a slot locks the buckets (``SELECT ... FOR
UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises
writers), counts the hits inside each window and records a hit for every key
only when all of them have room. Works the same for the relay, any number of
Celery workers and the embedded SQLite default.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from reporting.models import RateLimitBucket, RateLimitHit

Limit = tuple[str, int, float]  # key, max hits, window in seconds


@transaction.atomic
def try_acquire(*, limits: list[Limit], now: dt.datetime | None = None) -> float:
    """Take one slot under every limit, or none.

    Returns 0 when the slot was taken, else the seconds until one frees up.
    """
    now = now or timezone.now()
    keys = sorted({key for key, _, _ in limits})
    existing = set(
        RateLimitBucket.objects.filter(key__in=keys).values_list("key", flat=True)
    )
    if len(existing) < len(keys):
        RateLimitBucket.objects.bulk_create(
            [RateLimitBucket(key=k) for k in keys if k not in existing],
            ignore_conflicts=True,
        )
    # Lock in key order so two processes never wait on each other crosswise.
    list(
        RateLimitBucket.objects.select_for_update().filter(key__in=keys).order_by("key")
    )

    wait = 0.0
    longest = max(window for _, _, window in limits)
    for key, count, window in limits:
        since = now - dt.timedelta(seconds=window)
        hits = list(
            RateLimitHit.objects.filter(key=key, at__gt=since)
            .order_by("-at")
            .values_list("at", flat=True)[:count]
        )
        if len(hits) >= count:
            # The oldest of the last ``count`` hits must leave the window first.
            frees_at = hits[-1] + dt.timedelta(seconds=window)
            wait = max(wait, (frees_at - now).total_seconds())
    if wait > 0:
        return wait
    RateLimitHit.objects.bulk_create([RateLimitHit(key=key, at=now) for key in keys])
    RateLimitHit.objects.filter(
        key__in=keys, at__lt=now - dt.timedelta(seconds=longest)
    ).delete()
    return 0.0


def count_from(*, keys: list[str], taken_at: dt.datetime, now: dt.datetime) -> None:
    """Count the request that took its slot at ``taken_at`` from ``now`` instead.

    The provider counts a request when it arrives, some time after its slot was
    taken, and how long varies (a new connection, a busy machine). A slot freed
    by the first of a slow and a fast request would let the next one arrive too
    soon. Once the answer is back, the request has surely arrived: counting it
    from then is never earlier than the provider's own count.
    """
    RateLimitHit.objects.filter(key__in=keys, at=taken_at).update(at=now)
