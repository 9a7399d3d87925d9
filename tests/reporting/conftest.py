import pytest

from reporting import mail, services
from tests.reporting.peers import ChatworkPeer, SmtpPeer


@pytest.fixture(autouse=True)
def _no_broker(settings):
    # Tests publish to a broker only when they start their own Redis.
    settings.CELERY_BROKER_URL = ""
    services._broker_down_until = 0.0
    yield
    # A kept SMTP connection must not outlive the test's peers.
    mail.close_connection()


def use_smtp_peer(settings, peer: SmtpPeer) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = peer.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_peer(settings):
    peer = SmtpPeer().start()
    use_smtp_peer(settings, peer)
    yield peer
    peer.stop()


@pytest.fixture
def chatwork_peer(settings):
    peer = ChatworkPeer().start()
    settings.CHATWORK_API_BASE_URL = peer.base_url
    settings.CHATWORK_API_TOKEN = peer.token
    settings.CHATWORK_TIMEOUT_SECONDS = 3.0
    yield peer
    peer.stop()
