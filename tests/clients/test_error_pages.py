"""Error pages in production (DEBUG off) speak the site's language and lead back."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from billing.services import bill_month
from clients import views as client_views
from clients.models import User
from clients.services import start_plan
from portal import views as portal_views
from tests.factories import CallFactory, ClientFactory, ClientUserFactory


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def _assert_page(response, status: int, *texts: str) -> None:
    assert response.status_code == status
    body = response.content.decode()
    for text in texts:
        assert text in body
    assert 'href="/"' in body  # a way back to the start page
    assert "Not Found" not in body and "Forbidden" not in body


@pytest.mark.django_db
def test_another_clients_invoice_is_a_japanese_404(client, plans):
    owner = ClientUserFactory()
    start_plan(
        client=owner.client, plan=plans["small"], first_month=dt.date(2025, 1, 1)
    )
    CallFactory(client=owner.client)
    bill_month(
        month=dt.date(2026, 10, 1),
        client_ids=[owner.client.pk],
        issue=True,
        today=dt.date(2026, 11, 2),
    )
    invoice = owner.client.invoices.get()
    client.force_login(ClientUserFactory())
    response = client.get(reverse("portal:invoice", args=[invoice.pk]))
    _assert_page(response, 404, "ページが見つかりません")
    assert "<title>" in response.content.decode()


@pytest.mark.django_db
def test_the_404_page_follows_the_language_of_the_browser(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    _assert_page(response, 404, "Page not found")


@pytest.mark.django_db
def test_an_operator_on_the_billing_page_gets_a_japanese_403(operator_client):
    response = operator_client.get(reverse("billing:month"))
    _assert_page(response, 403, "この画面を開く権限がありません", "管理者専用")


@pytest.mark.django_db
def test_a_client_user_refused_a_staff_page_is_led_back_to_its_portal(client, settings):
    """A client has no 管理者 to ask: the page leads back to its portal and
    names the company to call should it think this a mistake."""
    settings.COMPANY_NAME = "株式会社テスト電話代行"
    settings.COMPANY_PHONE = "03-1234-5678"
    client.force_login(ClientUserFactory())
    response = client.get(reverse("console:home"))
    _assert_page(
        response,
        403,
        "この画面はオペレーターと管理者専用です。",
        "お心当たりのない場合は、株式会社テスト電話代行（03-1234-5678）"
        "までお問い合わせください。",
        f'<a href="{reverse("portal:home")}">お客様ページへ戻る</a>',
    )
    body = response.content.decode()
    assert "管理者にお問い合わせ" not in body
    assert "トップページへ戻る" not in body  # the portal link is the way back


@pytest.mark.django_db
def test_staff_refused_a_page_are_told_to_ask_their_admin(operator, admin_user):
    for user, url in (
        (operator, reverse("billing:month")),
        (admin_user, reverse("portal:home")),
    ):
        browser = HttpClient()
        browser.force_login(user)
        response = browser.get(url)
        _assert_page(response, 403, "必要な場合は管理者にお問い合わせください。")
        body = response.content.decode()
        assert "お客様ページへ戻る" not in body and "お心当たり" not in body
        assert '<a href="/">トップページへ戻る</a>' in body


@pytest.mark.django_db
def test_a_bad_request_is_a_japanese_400(client):
    response = client.get("/", HTTP_HOST="not-allowed.example")
    _assert_page(response, 400, "リクエストを処理できませんでした")


@pytest.mark.django_db
def test_a_form_posted_without_its_csrf_token_gets_a_japanese_403(client):
    browser = HttpClient(enforce_csrf_checks=True)
    response = browser.post(reverse("login"), {"username": "a", "password": "b"})
    _assert_page(response, 403, "送信できませんでした")
    assert "CSRF verification failed" not in response.content.decode()


def test_the_500_page_is_japanese_without_database_or_context():
    # No database access: the page must render while the database is down.
    request = RequestFactory().get("/")
    response = server_error(request)
    _assert_page(response, 500, "システムエラーが発生しました")
    assert "Server Error" not in response.content.decode()


def test_the_500_page_in_english():
    with translation.override("en"):
        response = server_error(RequestFactory().get("/"))
    _assert_page(response, 500, "A system error occurred")


def test_the_icon_browsers_ask_for_is_there_not_a_logged_404(client):
    """Every admin page asked for /favicon.ico: a 404 in the log per page view."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, static("favicon.svg"))
    assert "<svg" in Path(finders.find("favicon.svg")).read_text()
    page = client.get("/login/").content.decode()
    assert 'rel="icon"' in page


def test_a_refused_page_is_logged_once_on_the_embedded_default():
    """Django's own console handler (in debug) printed each 403 and 404 a
    second time beside the project's."""
    import subprocess
    import sys

    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('Forbidden: /operator/')"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL"))
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "True",
        },
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr.count("Forbidden: /operator/") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("linked", [False, True], ids=["no-client", "client-as-staff"])
@pytest.mark.parametrize("view", [portal_views.home, client_views.home])
def test_a_client_login_the_portal_refuses_is_told_to_call_not_looped(
    settings, linked, view
):
    """The 403 page led to the portal (and "/" leads there too), which refused
    the login again: a loop that never said what was wrong.

    The database's constraints keep such a row from being saved, so the user is
    built in memory: the state the portal's own check guards against."""
    settings.COMPANY_NAME = "株式会社テスト電話代行"
    settings.COMPANY_PHONE = "03-1234-5678"
    user = User(username="未設定", role=User.Role.CLIENT)
    if linked:
        user.client = ClientFactory()
        user.is_staff = True
    request = RequestFactory().get(reverse("portal:home"))
    request.user = user
    request.session = {}
    try:
        response = view(request)
    except PermissionDenied as exc:
        response = client_views.permission_denied(request, exc)
    else:
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:home")
        with pytest.raises(PermissionDenied) as refused:
            portal_views.home(request)
        response = client_views.permission_denied(request, refused.value)
    assert response.status_code == 403
    body = response.content.decode()
    assert (
        "このログインは、まだご契約に結びついていないため、お客様ページを"
        "ご利用いただけません。お手数ですが、株式会社テスト電話代行"
        "（03-1234-5678）までお電話ください。"
    ) in body
    assert f'<form method="post" action="{reverse("logout")}">' in body
    assert "ログアウト</button>" in body
    assert reverse("portal:home") not in body and 'href="/"' not in body
    assert "権限がありません" not in body
