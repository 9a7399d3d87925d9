import os

import pytest
from django.db import connection

from tests.e2e.servers import CHROMIUM, CHROMIUM_ARGS, AppServer
from tests.factories import PASSWORD
from tests.reporting.peers import SmtpPeer
from tests.reporting.workers import RedisServer, start_worker, stop_worker


def _why_not_here() -> str | None:
    if connection.vendor != "postgresql":
        return (
            "browser journeys serve the app from other processes, which need the "
            "PostgreSQL test database (the SQLite test database is in memory); "
            "run with DATABASE_URL=postgres://..."
        )
    # CI installs the browser first (.ci/system-packages): there it must run.
    if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
        return f"no browser at {CHROMIUM}: apt-get install chromium"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _why_not_here()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    """Redis, a Celery worker, the SMTP peer and gunicorn, for the whole module."""
    redis = RedisServer().start()
    smtp = SmtpPeer().start()
    worker = start_worker(broker_url=redis.url, smtp_url=smtp.url)
    server = AppServer(broker_url=redis.url, smtp_url=smtp.url)
    try:
        server.start()
        yield {"server": server, "smtp": smtp, "redis": redis}
    finally:
        server.stop()
        stop_worker(worker)
        smtp.stop()
        redis.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the
    # tests make between browser steps are plain synchronous code all the same.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


@pytest.fixture
def live(stack, transactional_db):
    stack["smtp"].messages.clear()
    return stack


@pytest.fixture
def open_as(browser, live):
    """``open_as(user)`` -> a logged-in page in a fresh browser context."""
    contexts = []

    def _open(user):
        context = browser.new_context(accept_downloads=True, locale="ja-JP")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live['server'].url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "/login/" not in page.url, page.content()[:2000]
        return page

    yield _open
    for context in contexts:
        context.close()
