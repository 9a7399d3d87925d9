"""The app served for real for browser journeys: gunicorn on a free port.

The Redis, Celery worker and SMTP peer come from the reporting tests' helpers.
"""

import os
import socket
import subprocess
import sys
import time

from django.conf import settings

from tests.reporting.peers import free_port
from tests.reporting.workers import test_database_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class AppServer:
    """gunicorn serving ``config.wsgi`` against the pytest-django test database."""

    def __init__(self, *, broker_url: str, smtp_url: str) -> None:
        self.port = free_port()
        self.broker_url = broker_url
        self.smtp_url = smtp_url
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "AppServer":
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": test_database_url(),
                # Connections are not kept: the tests flush tables between journeys.
                "DATABASE_CONN_MAX_AGE": "0",
                "CELERY_BROKER_URL": self.broker_url,
                "EMAIL_URL": self.smtp_url,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_DEBUG": "true",
                "LOG_LEVEL": "WARNING",
            }
        )
        log = open(os.environ.get("E2E_SERVER_LOG", os.devnull), "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--timeout",
                "60",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited; set E2E_SERVER_LOG to see why")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
