"""Japanese by default; English for a browser that asks for it, or at a click."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from clients.phones import normalize_phone
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

TITLE = "電話代行システム"  # in the header of every page
CALL_FORM_LABEL = "折り返し先"  # a label of the console's call form


def _english(text: str) -> str:
    with translation.override("en"):
        english = translation.gettext(text)
    assert english != text, f"no English for {text!r}"
    return english


def test_pages_are_japanese_by_default(client):
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="ja">' in page
    assert TITLE in page
    assert ">English</button>" in page


def test_a_browser_asking_for_english_gets_english(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    text = page.content.decode()
    assert '<html lang="en">' in text
    assert _english(TITLE) in text
    assert TITLE not in text
    assert ">日本語</button>" in text


def test_the_switch_turns_the_console_english_and_back(operator_client):
    response = operator_client.post(
        reverse("set_language"), {"language": "en", "next": reverse("console:home")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:home")
    assert operator_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    home = operator_client.get(reverse("console:home")).content.decode()
    assert _english(TITLE) in home
    assert TITLE not in home

    operator_client.post(reverse("set_language"), {"language": "ja"})
    assert TITLE in operator_client.get(reverse("console:home")).content.decode()


def test_the_call_form_speaks_english_too(operator_client):
    acme = ClientFactory()
    url = reverse("console:call_new") + f"?client={acme.pk}"
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _english(CALL_FORM_LABEL) in operator_client.get(url).content.decode()
    # An invalid number is refused in English, and what was typed stays.
    response = operator_client.post(
        url, {"category": "normal", "caller_name": "Smith", "callback_number": "12345"}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert 'value="Smith"' in text
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        normalize_phone("12345")
    message = " ".join(refused.value.messages)
    assert message.isascii()
    assert escape(message) in text


def test_the_switch_after_a_form_error_returns_to_the_page_of_the_form(
    operator_client,
):
    client = ClientFactory()
    form_page = f"{reverse('console:call_new')}?client={client.pk}"
    answer = operator_client.post(form_page, {"category": "normal"})
    assert answer.status_code == 200  # the form again, with its errors
    # A page that answers a POST names no URL to return to: some take POST only.
    assert 'name="next"' not in answer.content.decode()
    assert 'name="next"' in operator_client.get(form_page).content.decode()
    switched = operator_client.post(
        reverse("set_language"), {"language": "en"}, HTTP_REFERER=form_page
    )
    assert switched["Location"] == form_page


def test_the_admin_start_page_names_the_login_records_in_japanese(admin_client):
    """django-axes ships no Japanese: its section read "Axes", "Access attempts",
    "Access failures", "Access logs" on a Japanese page."""
    page = admin_client.get(reverse("admin:index")).content.decode()
    for english in ("Access attempts", "Access failures", "Access logs", ">Axes<"):
        assert english not in page
    assert "ログインの記録" in page and "ログイン試行" in page
    assert "ログイン失敗" in page
    attempts = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert "試行日時" in attempts.content.decode()


def test_the_login_page_says_whom_to_call_about_a_forgotten_password(client, settings):
    """Beside the link to a reset by e-mail, for a user without an address:
    the page names the office and its number, in the page's language."""
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    settings.COMPANY_PHONE = "03-1234-5678"
    page = client.get(reverse("login")).content.decode()
    assert (
        "メールアドレスをご登録でない場合は、株式会社東京電話秘書（03-1234-5678）"
        "までお電話ください。"
    ) in page

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("login")).content.decode()
    with translation.override("en"):
        line = translation.gettext(
            "メールアドレスをご登録でない場合は、%(name)s（%(phone)s）までお電話ください。"
        ) % {"name": "株式会社東京電話秘書", "phone": "03-1234-5678"}
    assert escape(line) in english
