"""The client's billing address (請求書送付先メールアドレス), set on its admin
page: invoice notices go there instead of to the report recipients."""

import pytest
from django.urls import reverse

from tests.factories import ClientFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db


def _client_page(admin_client, client) -> tuple[str, str]:
    url = reverse("admin:clients_client_change", args=[client.pk])
    return url, admin_client.get(url).content.decode()


def test_the_billing_address_is_set_on_the_clients_admin_page(admin_client):
    client = ClientFactory()
    url, page = _client_page(admin_client, client)
    assert "請求書送付先メールアドレス" in page
    assert "空欄のときは、報告先のPCメールアドレスに送ります" in page

    data = form_values(page, "client_form")
    # As a Japanese keyboard may type it: full-width letters and ＠.
    data["billing_email"] = "ｋｅｉｒｉ＠ｅｘａｍｐｌｅ．ｊｐ"
    assert admin_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.billing_email == "keiri@example.jp"

    _url, page = _client_page(admin_client, client)
    data = form_values(page, "client_form")
    assert data["billing_email"] == "keiri@example.jp"
    data["billing_email"] = ""  # back to the report recipients
    assert admin_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.billing_email == ""


def test_a_billing_address_that_is_no_address_is_refused_and_kept(admin_client):
    client = ClientFactory(billing_email="keiri@example.jp")
    url, page = _client_page(admin_client, client)
    data = form_values(page, "client_form")
    data["billing_email"] = "keiri＠example"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    text = response.content.decode()
    assert "有効なメールアドレスを入力してください" in text
    assert form_values(text, "client_form")["billing_email"] == "keiri＠example"
    client.refresh_from_db()
    assert client.billing_email == "keiri@example.jp"
