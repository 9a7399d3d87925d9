import pytest

from reporting import mail, services
from tests.reporting.peers import ChatworkPeer


@pytest.fixture(autouse=True)
def _no_broker(settings):
    # Tests publish to a broker only when they start their own Redis.
    settings.CELERY_BROKER_URL = ""
    services._broker_down_until = 0.0
    yield
    # A kept SMTP connection must not outlive the test's peers.
    mail.close_connection()


@pytest.fixture
def chatwork_peer(settings):
    peer = ChatworkPeer().start()
    settings.CHATWORK_API_BASE_URL = peer.base_url
    settings.CHATWORK_API_TOKEN = peer.token
    settings.CHATWORK_TIMEOUT_SECONDS = 3.0
    yield peer
    peer.stop()
