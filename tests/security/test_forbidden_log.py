"""A 403 is an expected event: the server log gets one line (who, path, why),
while a real error keeps its traceback."""

import logging

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from tests.factories import ClientUserFactory


@pytest.fixture
def server_log(caplog):
    caplog.set_level(logging.WARNING)
    return caplog


@pytest.mark.django_db
def test_a_client_user_on_an_operator_page_is_one_line_naming_who_and_why(
    client, server_log
):
    user = ClientUserFactory(username="sakura-keiri")
    client.force_login(user)

    response = client.get(reverse("console:call_new"))

    assert response.status_code == 403
    assert "Traceback" not in server_log.text
    (line,) = server_log.text.splitlines()
    assert reverse("console:call_new") in line
    assert f"sakura-keiri (id {user.pk}, client)" in line
    assert "この画面はオペレーターと管理者専用です。" in line


@pytest.mark.django_db
def test_an_operator_in_the_portal_is_one_line(operator_client, operator, server_log):
    response = operator_client.get(reverse("portal:home"))

    assert response.status_code == 403
    assert "Traceback" not in server_log.text
    (line,) = server_log.text.splitlines()
    assert reverse("portal:home") in line
    assert f"{operator.username} (id {operator.pk}, operator)" in line


@pytest.mark.django_db
def test_a_csrf_failure_is_one_line_naming_who_and_why(server_log):
    user = ClientUserFactory(username="sakura-keiri")
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(reverse("portal:plan"), {})

    assert response.status_code == 403
    (line,) = server_log.text.splitlines()
    assert "CSRF cookie not set" in line
    assert reverse("portal:plan") in line
    assert "sakura-keiri" in line


@pytest.mark.django_db
def test_an_anonymous_csrf_failure_names_the_address(server_log):
    browser = HttpClient(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")

    browser.post(reverse("login"), {"username": "a", "password": "b"})

    (line,) = server_log.text.splitlines()
    assert "anonymous from 203.0.113.7" in line


@pytest.mark.django_db
def test_a_real_error_keeps_its_traceback(client, client_user, server_log, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the month's figures could not be read")

    monkeypatch.setattr("portal.views.month_to_date_usage", broken)
    client.raise_request_exception = False
    client.force_login(client_user)

    response = client.get(reverse("portal:home"))

    assert response.status_code == 500
    assert "Traceback" in server_log.text
    assert "RuntimeError: the month's figures could not be read" in server_log.text
