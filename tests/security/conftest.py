import pytest

from reporting import services as reporting_services


@pytest.fixture(autouse=True)
def _no_broker(settings):
    # Saves made here queue deliveries in the database only; nothing is sent.
    settings.CELERY_BROKER_URL = ""
    reporting_services._broker_down_until = 0.0


# The reporting tests' real local peers, reused as they are.
from tests.reporting.conftest import chatwork_peer, smtp_peer  # noqa: E402, F401
