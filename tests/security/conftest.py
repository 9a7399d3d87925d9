import pytest

from reporting import services as reporting_services


@pytest.fixture(autouse=True)
def _no_broker(settings):
    # Saves made here queue deliveries in the database only; nothing is sent.
    settings.CELERY_BROKER_URL = ""
    reporting_services._broker_down_until = 0.0


# The reporting tests' Chatwork peer, reused as it is (smtp_peer is in
# tests/conftest.py).
from tests.reporting.conftest import chatwork_peer  # noqa: E402, F401
