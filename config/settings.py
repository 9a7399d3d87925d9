"""Settings for the telephone answering service.

Everything that differs between a laptop and a server comes from the environment
(django-environ). With nothing set, the project runs on the embedded default: a
SQLite file under ``var/``, no Redis (reports go out through the database relay
process that ``make run`` starts), and e-mail written to files under ``var/mail``.
"""

import os
import re
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class _Env(environ.Env):
    """django-environ naming the variable when its value cannot be read: a bad
    EMAIL_TIMEOUT said only "invalid literal for int()"."""

    def get_value(self, var, *args, **kwargs):
        try:
            return super().get_value(var, *args, **kwargs)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var}: {exc}") from exc

    def email_url(self, var="EMAIL_URL", *args, **kwargs):
        try:
            return super().email_url(var, *args, **kwargs)
        except (ValueError, ImproperlyConfigured) as exc:
            raise ImproperlyConfigured(
                f"{var} cannot be read ({exc}): use smtp+tls://user:password@host:587."
            ) from exc


env = _Env()


def _at_least(var: str, value: float, minimum: float) -> float:
    """``value`` of ``var``, refused below ``minimum``: 0 months of retention
    would erase every caller's data, 0 Chatwork posts stop every report."""
    if value < minimum:
        raise ImproperlyConfigured(f"{var} must be at least {minimum} (got {value}).")
    return value


environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env(
        "DJANGO_SECRET_KEY", default="insecure-embedded-default-key-for-laptops-only"
    )
else:
    SECRET_KEY = env(
        "DJANGO_SECRET_KEY"
    )  # required outside debug: fails loudly when unset
    if not SECRET_KEY.strip():
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is empty: set a long random string (see .env.example)."
        )
_LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=_LOCAL_HOSTS if DEBUG else [])
if "DJANGO_DEBUG" not in os.environ and set(ALLOWED_HOSTS) - {
    *_LOCAL_HOSTS,
    "testserver",
}:
    # A server's host names with debug left at its laptop default: tracebacks
    # with callers' data for anyone, and the published laptop key.
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS names a server but DJANGO_DEBUG is not set: set "
        "DJANGO_DEBUG=False in production (or DJANGO_DEBUG=True to debug on purpose)."
    )
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.AdminConfig",  # django.contrib.admin with config.admin_site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "config.apps.AxesConfig",  # django-axes
    "simple_history",
    "clients",
    "answering",
    "reporting",
    "billing",
    "console",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside every middleware that may answer by itself (CSRF failure, lockout).
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    ),
}
if "ENGINE" not in DATABASES["default"]:
    raise ImproperlyConfigured(
        "DATABASE_URL cannot be read: use postgres://user:password@host:5432/name."
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)  # the embedded default's database lives here
    # The embedded default has a web server and a relay process writing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters travel apart from the SQL, and a statement run a few times on a
    # connection is prepared once: PostgreSQL then skips parsing it (its CPU per
    # call save went from 3.0 to 1.6 ms in bench/console_bench.py). Each run is
    # still planned for its own values: a generic plan made the portal's search
    # for a text that matches nothing 3x slower (bench/portal_bench.py). 0 turns
    # preparing off, for a pooler in transaction mode that cannot keep prepared
    # statements. Every list of ids sent as parameters must stay under 65,535.
    _prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["server_side_binding"] = True
    _options["prepare_threshold"] = _prepare_threshold or None
    if _prepare_threshold:
        _options["options"] = "-c plan_cache_mode=force_custom_plan"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "clients.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock out a username from an IP after repeated failures. Behind a reverse proxy
# the client address comes from X-Forwarded-For, trusting only our own proxies.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
# The lockout page says how long it lasts (clients.views.locked_out).
AXES_LOCKOUT_CALLABLE = "clients.views.locked_out"
# Password spraying (one password tried on many usernames) never meets the
# lockout above: once logins for this many different usernames failed from one
# address (an IPv6 /64) within the cool-off, it cannot log in until that ends.
# Usernames, not failures: an operator retrying a forgotten password counts
# once, so an office whose operators share one address is not shut out by her.
LOGIN_FAILED_USERNAMES_PER_ADDRESS = env.int(
    "LOGIN_FAILED_USERNAMES_PER_ADDRESS", default=20
)
if LOGIN_FAILED_USERNAMES_PER_ADDRESS < 2:
    raise ImproperlyConfigured(
        "LOGIN_FAILED_USERNAMES_PER_ADDRESS must be at least 2 "
        f"(got {LOGIN_FAILED_USERNAMES_PER_ADDRESS})."
    )

# Self-service password reset (パスワードをお忘れの方) and the admins' login
# invitation: the link in the mail works once, for this long (Django's default
# is 3 days; a mailbox read on a shared or lost phone should not keep a way in
# that long).
PASSWORD_RESET_TIMEOUT = int(
    _at_least("PASSWORD_RESET_HOURS", env.int("PASSWORD_RESET_HOURS", default=24), 1)
    * 60
    * 60
)
# So that nobody can flood an address with reset mails: requests per address
# typed, and per client address (an IPv6 /64), within one window. Counted in
# the cache (CACHE_URL): with the per-process default each web process counts
# on its own, so the real limit is this times the number of processes.
PASSWORD_RESET_WINDOW_MINUTES = 60
PASSWORD_RESET_PER_EMAIL = env.int("PASSWORD_RESET_PER_EMAIL", default=3)
PASSWORD_RESET_PER_IP = env.int("PASSWORD_RESET_PER_IP", default=20)

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
# Display formats of our own for Japanese (config/formats/ja/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
# Dates are typed year first in Japan. The ja locale brings no input formats of
# its own, and Django's defaults read 01/11/2026 as 11 January; these are read
# by every date and date-time field that sets none of its own (clients/dates.py).
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
DATETIME_INPUT_FORMATS = [
    f"{day}{separator}{time}"
    for day in DATE_INPUT_FORMATS
    for separator in (" ", "T")
    for time in ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M")
] + DATE_INPUT_FORMATS
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: files under var/mail on the embedded default so a newcomer can read
# every report that was sent; EMAIL_URL=smtp://user:pass@host:587 in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    # django-environ drops the leading "/" of filemail:///abs/path.
    _mail_path = EMAIL_CONFIG.get("EMAIL_FILE_PATH") or ""
    EMAIL_FILE_PATH = (
        f"/{_mail_path.lstrip('/')}" if _mail_path else str(VAR_DIR / "mail")
    )
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The answer to the end of a message (DATA's final "."), which servers give only
# after scanning and storing it (RFC 5321 allows 10 minutes). Keep it well below
# REPORT_LEASE_SECONDS, or another process takes the report over meanwhile.
EMAIL_DATA_TIMEOUT = env.float("EMAIL_DATA_TIMEOUT", default=90.0)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="report@example.jp")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Date headers in Japan time (+0900), as the mails' readers live: "-0000" says
# the sender's zone is unknown, and a mail program showing the header as
# written shows a report of 14:32 as sent at 05:32.
EMAIL_USE_LOCALTIME = True

# Celery. Without a broker URL no task is queued at all: the database relay
# (``manage.py run_relay``) delivers reports by itself.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default=""))
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep a worker's database connection between tasks (Celery otherwise reconnects
# for every task, which dominated report latency); reporting tasks drop broken or
# old connections with close_old_connections().
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must never hang a request for long when Redis is down.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 0,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
# Day of the month (Japan time) from which the invoice notices of the month's
# issued invoices go out (billing.notices): the company sends them around the
# 10th-15th. At most 28, so every month has it.
INVOICE_NOTICE_DAY = env.int("INVOICE_NOTICE_DAY", default=10)
if not 1 <= INVOICE_NOTICE_DAY <= 28:
    raise ImproperlyConfigured(
        f"INVOICE_NOTICE_DAY must be a day from 1 to 28 (got {INVOICE_NOTICE_DAY})."
    )
# The portal's address as clients reach it, for links in e-mails (no trailing
# slash). Empty: the invoice notice names the portal without a link.
PORTAL_BASE_URL = env(
    "PORTAL_BASE_URL", default="http://localhost:8000" if DEBUG else ""
).rstrip("/")
CELERY_BEAT_SCHEDULE = {
    "relay-due-deliveries": {
        "task": "reporting.tasks.relay_due_deliveries",
        "schedule": 15.0,
    },
    "bill-previous-month": {
        "task": "billing.tasks.bill_previous_month",
        # Early on the 1st, Japan time (CELERY_TIMEZONE).
        "schedule": crontab(minute=30, hour=3, day_of_month=1),
    },
    "erase-old-personal-data": {
        "task": "reporting.tasks.erase_old_personal_data",
        "schedule": crontab(minute=0, hour=4),
    },
    # A contract ends at a month end (解約日): its numbers go back to the pool
    # in the first minutes of the next day, and within the hour when the
    # cancellation is entered after its date.
    "release-numbers-of-ended-contracts": {
        "task": "clients.tasks.release_numbers_of_ended_contracts",
        "schedule": crontab(minute=5),
    },
    # Tells each client its issued invoice is in the portal, and how to pay.
    # Daily: those due from INVOICE_NOTICE_DAY, and any issued later (a
    # reissue, a month issued late) or whose send failed, the next morning.
    "send-invoice-notices": {
        "task": "billing.tasks.send_invoice_notices",
        "schedule": crontab(minute=0, hour=9),
    },
    # Logins last SESSION_HOURS: their rows would pile up by the thousand.
    "clear-expired-sessions": {
        "task": "clients.tasks.clear_expired_sessions",
        "schedule": crontab(minute=30, hour=4),
    },
}

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Chatwork (API v2). The room id belongs to each client.
CHATWORK_API_TOKEN = env("CHATWORK_API_TOKEN", default="")
CHATWORK_API_BASE_URL = env(
    "CHATWORK_API_BASE_URL", default="https://api.chatwork.com/v2"
)
CHATWORK_TIMEOUT_SECONDS = env.float("CHATWORK_TIMEOUT_SECONDS", default=10.0)
# With no token in debug (the embedded default), Chatwork messages are written
# as files here, as e-mail goes to var/mail/. Empty: no token is an error.
CHATWORK_FILE_PATH = env(
    "CHATWORK_FILE_PATH",
    default=str(VAR_DIR / "chatwork") if DEBUG and not CHATWORK_API_TOKEN else "",
)

# The company, as printed on qualified invoices (適格請求書).
# Demo values, for `make run`: a server (DEBUG off) still carrying them is
# warned about by `check --deploy` and refuses to issue invoices
# (billing/company.py). Not refused here: the image build's collectstatic and
# CI start without them.
COMPANY_DEMO_VALUES = {
    "COMPANY_NAME": "株式会社デモ電話代行",
    "COMPANY_REGISTRATION_NUMBER": "T1234567890123",
    # Required even if every client pays by direct debit: an invoice copies it
    # whatever the method, a client may be switched to bank transfer at any
    # time, and a failed debit is paid by transfer.
    "COMPANY_BANK_ACCOUNT": "デモ銀行 本店 普通 1234567 カ）デモデンワダイコウ",
}
COMPANY_NAME = env("COMPANY_NAME", default=COMPANY_DEMO_VALUES["COMPANY_NAME"])
COMPANY_ADDRESS = env("COMPANY_ADDRESS", default="東京都千代田区神田1-1-1")
COMPANY_PHONE = env("COMPANY_PHONE", default="03-0000-0000")
# Where clients paying by bank transfer (銀行振込) send the money: free text as
# printed on invoices (bank, branch, account type and number, holder in kana).
COMPANY_BANK_ACCOUNT = env(
    "COMPANY_BANK_ACCOUNT", default=COMPANY_DEMO_VALUES["COMPANY_BANK_ACCOUNT"]
)
COMPANY_REGISTRATION_NUMBER = env(
    "COMPANY_REGISTRATION_NUMBER",
    default=COMPANY_DEMO_VALUES["COMPANY_REGISTRATION_NUMBER"],
)
# Every issued invoice copies it, and a client cannot deduct the tax of an
# invoice whose number is not one: T and 13 half-width digits, nothing else.
if not re.fullmatch(r"T[0-9]{13}", COMPANY_REGISTRATION_NUMBER):
    raise ImproperlyConfigured(
        "COMPANY_REGISTRATION_NUMBER must be T followed by 13 half-width digits "
        f"(got {COMPANY_REGISTRATION_NUMBER!r})."
    )

# Business rules that are settings rather than code.
NUMBER_QUARANTINE_DAYS = int(
    _at_least(
        "NUMBER_QUARANTINE_DAYS", env.int("NUMBER_QUARANTINE_DAYS", default=90), 0
    )
)
CALLER_DATA_RETENTION_MONTHS = int(
    _at_least(
        "CALLER_DATA_RETENTION_MONTHS",
        env.int("CALLER_DATA_RETENTION_MONTHS", default=24),
        1,
    )
)

SESSION_COOKIE_HTTPONLY = True
# Operators share PCs: a login lasts one shift, not Django's two weeks. Expiry
# counts from the last write to the session, which is the login (or a password
# change): no page writes to it, so no activity stretches a login past a shift.
_session_hours = env.int("SESSION_HOURS", default=12)
if _session_hours < 1:
    raise ImproperlyConfigured(
        f"SESSION_HOURS must be a whole number of hours, at least 1 (got {_session_hours})."
    )
SESSION_COOKIE_AGE = _session_hours * 60 * 60
# And at once when the browser closes: whoever sits down next at a shared PC must
# log in, instead of logging calls under the previous operator's name. Browsers
# that restore the last session keep such a cookie, hence the server-side limit.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int(
        "DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden": {"()": "config.forbidden_log.ForbiddenOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # django-axes logs every successful login at INFO; lockouts are WARNING.
        "axes": {"level": "WARNING"},
        # Through the root handler only: Django's own console handler (in debug)
        # printed every 403 and 404 a second time.
        "django": {"handlers": [], "propagate": True},
        # A 403 is expected: one line (who, path, why), no traceback.
        "django.request": {"filters": ["forbidden"]},
        "django.security.csrf": {"filters": ["forbidden"]},
    },
}

# --- answering (operator console) settings ---

# --- reporting settings ---
# Retries of failed report deliveries: 10 s, 20 s, 40 s ... capped at 30 minutes.
REPORT_RETRY_BASE_SECONDS = env.float("REPORT_RETRY_BASE_SECONDS", default=10.0)
REPORT_RETRY_MAX_SECONDS = env.float("REPORT_RETRY_MAX_SECONDS", default=1800.0)
REPORT_MAX_ATTEMPTS = int(
    _at_least("REPORT_MAX_ATTEMPTS", env.int("REPORT_MAX_ATTEMPTS", default=12), 1)
)
# How long a claimed delivery may stay "sending" before another process takes
# it over (and flags it as a possible duplicate). Longer than any send can take.
REPORT_LEASE_SECONDS = env.float("REPORT_LEASE_SECONDS", default=120.0)
REPORT_RELAY_BATCH = int(
    _at_least("REPORT_RELAY_BATCH", env.int("REPORT_RELAY_BATCH", default=200), 1)
)
REPORT_RELAY_INTERVAL_SECONDS = env.float("REPORT_RELAY_INTERVAL_SECONDS", default=1.0)
# After a failed publish to the broker, skip it for this long (the relay sends).
REPORT_BROKER_PAUSE_SECONDS = env.float("REPORT_BROKER_PAUSE_SECONDS", default=5.0)
# Chatwork limits: (requests, seconds) per room and per API token.
CHATWORK_ROOM_LIMIT = (
    int(
        _at_least(
            "CHATWORK_ROOM_LIMIT_COUNT",
            env.int("CHATWORK_ROOM_LIMIT_COUNT", default=10),
            1,
        )
    ),
    _at_least(
        "CHATWORK_ROOM_LIMIT_SECONDS",
        env.float("CHATWORK_ROOM_LIMIT_SECONDS", default=10.0),
        0.001,
    ),
)
CHATWORK_TOKEN_LIMIT = (
    int(
        _at_least(
            "CHATWORK_TOKEN_LIMIT_COUNT",
            env.int("CHATWORK_TOKEN_LIMIT_COUNT", default=300),
            1,
        )
    ),
    _at_least(
        "CHATWORK_TOKEN_LIMIT_SECONDS",
        env.float("CHATWORK_TOKEN_LIMIT_SECONDS", default=300.0),
        0.001,
    ),
)

# --- billing settings ---
# The 1st-of-month job builds drafts for admins to review; True also issues them.
BILLING_AUTO_ISSUE = env.bool("BILLING_AUTO_ISSUE", default=False)

# --- portal settings ---
