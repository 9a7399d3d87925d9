"""The report benchmark's Celery app: ``config.celery``'s app, plus worker
settings the benchmark measures before they are proposed for config/settings.py.

``BENCH_CELERY_DB_REUSE_MAX=N`` sets CELERY_DB_REUSE_MAX: Celery's Django fixup
then keeps a worker's database connection for N tasks instead of closing it
before and after every task (a new PostgreSQL connection per report).
"""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

if os.environ.get("BENCH_CELERY_DB_REUSE_MAX"):
    settings.CELERY_DB_REUSE_MAX = int(os.environ["BENCH_CELERY_DB_REUSE_MAX"])

from config.celery import app  # noqa: E402

__all__ = ["app"]
