"""A report's link to a call, opened while logged in as another client: still a
404 that tells nothing of the call, but the page says which account is logged
in and offers to log out and in as the account the report was for."""

import re

import pytest
from django.test import Client as Browser
from django.urls import reverse

from answering.models import Category
from tests.factories import CallFactory, ClientFactory, ClientUserFactory

pytestmark = pytest.mark.django_db

HELP = (
    "別のアカウントあての報告（メール・Chatwork）のリンクから開いた場合は、"
    "いったんログアウトして、そのアカウントでログインし直してください。"
)


@pytest.fixture
def other_call():
    other = ClientFactory(name="株式会社ほかの会社")
    return CallFactory(client=other, caller_name="ほかの会社の発信者")


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_another_clients_call_names_the_login_and_offers_to_log_out(
    portal, portal_user, other_call
):
    url = reverse("portal:call", args=[other_call.pk])
    response = portal.get(url)
    assert response.status_code == 404
    page = _text(response)
    assert (
        "現在、株式会社ポータル のアカウント"
        f"（ログインID: {portal_user.username}）でログインしています。"
    ) in page
    assert HELP in page
    assert (
        f'<form method="post" action="{reverse("logout")}">' in page
        and "ログアウトして別のアカウントでログイン</button>" in page
    )
    # Nothing of the other client or its call.
    assert "株式会社ほかの会社" not in page
    assert "ほかの会社の発信者" not in page


def test_the_page_is_the_same_whether_the_call_exists_or_not(
    portal, portal_user, other_call
):
    own_sales = CallFactory(client=portal_user.client, category=Category.SALES)
    missing = other_call.pk + own_sales.pk + 1000
    pages = []
    for call_id in (other_call.pk, own_sales.pk, missing):
        response = portal.get(reverse("portal:call", args=[call_id]))
        assert response.status_code == 404
        # The logout form and the language switch lead back to the address
        # asked for, with its id.
        text = _text(response).replace(f"%2F{call_id}%2F", "%2FID%2F")
        text = text.replace(f"/{call_id}/", "/ID/")
        # The form's CSRF token differs per response.
        pages.append(re.sub(r'value="[^"]{40,}"', 'value="TOKEN"', text))
    assert pages[0] == pages[1] == pages[2]


def test_logging_out_from_it_leads_to_the_call_as_the_other_account(portal, other_call):
    url = reverse("portal:call", args=[other_call.pk])
    response = portal.get(url)
    next_value = re.search(r'name="next" value="([^"]*)"', response.content.decode())
    response = portal.post(
        reverse("logout"), {"next": next_value[1].replace("&amp;", "&")}
    )
    login_url = response.url
    assert portal.get(url).status_code == 302  # logged out
    other_user = ClientUserFactory(client=other_call.client)
    other_user.set_password("pass-word-123")
    other_user.save()
    login = portal.get(login_url)
    assert login.status_code == 200
    response = portal.post(
        login_url, {"username": other_user.username, "password": "pass-word-123"}
    )
    assert response.status_code == 302 and response.url == url
    assert "ほかの会社の発信者" in portal.get(url).content.decode()


def test_other_portal_pages_keep_the_plain_404(portal):
    response = portal.get(reverse("portal:invoice", args=[999_999]))
    assert response.status_code == 404
    assert "ログインしています" not in response.content.decode()
    assert HELP not in response.content.decode()


def test_staff_and_visitors_never_see_it(operator_client, other_call):
    url = reverse("portal:call", args=[other_call.pk])
    assert operator_client.get(url).status_code == 403
    visitor = Browser().get(url)
    assert visitor.status_code == 302 and visitor.url.startswith(reverse("login"))
