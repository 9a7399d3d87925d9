"""The readings (カナ) an admin types for a client and its people: kept in
full-width katakana, which the client list is sorted by and the console
searches; romaji or kanji are refused on the field, with what was typed."""

import pytest
from django.urls import reverse

from clients.models import Client, ClientPerson
from clients.selectors import search_clients
from tests.factories import ClientFactory, ClientPersonFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

NOT_KANA = (
    "カナはカタカナかひらがなで入力してください（ローマ字・漢字・記号は使えません）。"
)


def _add_client(admin_client, **fields):
    url = reverse("admin:clients_client_add")
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(
        {
            "name": "株式会社あおば",
            "announce_name": "あおばでございます",
            "status": "trial",
            "trial_started_on": "2026-01-05",
            "people-TOTAL_FORMS": "1",
            "people-0-name": "青葉 太郎",
            "people-0-display_order": "0",
            **fields,
        }
    )
    return admin_client.post(url, data)


def test_kana_typed_in_hiragana_or_half_width_is_kept_in_katakana(admin_client):
    page = _add_client(
        admin_client,
        name_kana="かぶしきがいしゃ　ｱｵﾊﾞ",
        **{"people-0-name_kana": "あおば たろう"},
    )
    assert page.status_code == 302
    client = Client.objects.get()
    assert client.name_kana == "カブシキガイシャ アオバ"
    assert ClientPerson.objects.get().name_kana == "アオバ タロウ"
    # The operator finds the client by its reading.
    assert search_clients(text="アオバ") == [client]


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("name_kana", "aoba shouji"),
        ("name_kana", "アオバ商事"),
        ("people-0-name_kana", "Aoba Taro"),
    ],
)
def test_kana_in_romaji_or_kanji_is_refused_and_kept_as_typed(
    admin_client, field, typed
):
    page = _add_client(admin_client, **{field: typed})

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count(NOT_KANA) == 1
    assert f'value="{typed}"' in html  # nothing typed is lost
    assert 'value="株式会社あおば"' in html
    assert not Client.objects.exists()


def test_a_reading_saved_before_the_rule_does_not_block_the_page(admin_client):
    """An old client whose kana was typed in romaji: its page is still saved
    for what the admin changed, the reading left as it was."""
    client = ClientFactory(name_kana="aoba")
    person = ClientPersonFactory(client=client, name_kana="taro")
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data["operator_notes"] = "営業電話はお断り"

    assert admin_client.post(url, data).status_code == 302

    client.refresh_from_db()
    person.refresh_from_db()
    assert (client.operator_notes, client.name_kana) == ("営業電話はお断り", "aoba")
    assert person.name_kana == "taro"
