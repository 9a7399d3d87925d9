import pytest
from django.conf import settings
from django.core import mail  # noqa: F401
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import translation

from tests import factories
from tests.reporting.peers import SmtpPeer


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in Japanese: a request in English leaves English active on
    the thread, and data made outside a request (plan names) would follow it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


# The company the tests issue invoices from.
TEST_COMPANY_NAME = "株式会社テスト電話秘書"
TEST_COMPANY_REGISTRATION_NUMBER = "T5010001234567"
TEST_COMPANY_BANK_ACCOUNT = "テスト銀行 本店 普通 7654321 カ）テストデンワヒシヨ"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters kept in the cache (password reset requests) start from nothing
    in each test: the default cache lives as long as the test process."""
    cache.clear()


@pytest.fixture(autouse=True)
def _company(settings):
    """pytest-django runs each test with DEBUG off, as on a server, where no
    invoice is issued from the demo company (billing/company.py): the tests
    have a company of their own."""
    settings.COMPANY_NAME = TEST_COMPANY_NAME
    settings.COMPANY_REGISTRATION_NUMBER = TEST_COMPANY_REGISTRATION_NUMBER
    settings.COMPANY_BANK_ACCOUNT = TEST_COMPANY_BANK_ACCOUNT


@pytest.fixture
def demo_company(_company, settings):
    """The company left at `make run`'s demo values: the only one, with DEBUG
    off, on which seed_demo (--force) makes the demo (its invoices stay
    drafts)."""
    for name, demo in settings.COMPANY_DEMO_VALUES.items():
        setattr(settings, name, demo)


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """A test marked ``postgres`` is skipped on SQLite: mostly races, which
    SQLite cannot show since it serializes writers by itself."""
    marker = request.node.get_closest_marker("postgres")
    if marker is not None and connection.vendor != "postgresql":
        pytest.skip(
            marker.kwargs.get(
                "reason", "needs PostgreSQL: SQLite serializes writers by itself"
            )
        )


@pytest.fixture
def executor(settings):
    """For the data migrations' tests (tests/migrations.py)."""
    settings.MIGRATION_MODULES = {}  # the project's own migrations, not none
    return MigrationExecutor(connection)


@pytest.fixture
def plans(db):
    return factories.make_plans()


@pytest.fixture
def operator(db):
    return factories.OperatorFactory()


@pytest.fixture
def admin_user(db):
    return factories.AdminFactory()


@pytest.fixture
def client_user(db):
    return factories.ClientUserFactory()


# Each role's browser is its own Client, not pytest-django's one ``client``: a
# test asking for both would otherwise be logged in as whichever ran last and
# could pass while checking the wrong role.
@pytest.fixture
def operator_client(operator):
    browser = Client()
    browser.force_login(operator)
    return browser


@pytest.fixture
def admin_client(admin_user):
    browser = Client()
    browser.force_login(admin_user)
    return browser


@pytest.fixture
def smtp_peer(settings):
    """An SMTP server in the test process, which Django's SMTP backend sends to
    (reports, invoice notices)."""
    peer = SmtpPeer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = peer.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield peer
    peer.stop()
