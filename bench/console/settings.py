"""The product's settings plus the bare-insert baseline, for the benchmark only."""

import os

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, LOGGING

INSTALLED_APPS = [*INSTALLED_APPS, "bench.console"]
ROOT_URLCONF = "bench.console.urls"

# Plain HTTP on 127.0.0.1: no HTTPS redirect, cookies without the Secure flag.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# No collectstatic needed for the run; {% static %} must still resolve.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}

# Settings variants to measure before proposing them for config/settings.py
# (bench/console_bench.py --drop-middleware ... --session-engine ...).
_DROP = {
    name.strip()
    for name in os.environ.get("BENCH_DROP_MIDDLEWARE", "").split(",")
    if name.strip()
}
MIDDLEWARE = [m for m in MIDDLEWARE if m.rsplit(".", 1)[-1] not in _DROP]  # noqa: F405
if os.environ.get("BENCH_SESSION_ENGINE"):
    SESSION_ENGINE = os.environ["BENCH_SESSION_ENGINE"]
