"""Phone numbers on admin pages read as people read them (03-5050-1001), not as
stored (+81350501001), and are read back from that form on save."""

from django.contrib.admin.models import LogEntry
from django.urls import reverse

from clients.models import Client, LentNumber
from tests.factories import ClientFactory, LentNumberFactory
from tests.html_forms import form_values


def test_a_lent_number_is_shown_hyphenated_and_saving_it_unchanged_changes_nothing(
    admin_client,
):
    number = LentNumberFactory(number="+81350501001")
    url = reverse("admin:clients_lentnumber_change", args=[number.pk])
    html = admin_client.get(url).content.decode()
    values = form_values(html, "lentnumber_form")
    assert values["number"] == "03-5050-1001"
    assert "+8135" not in html
    assert "E.164" not in html

    saved = admin_client.post(url, values)

    assert saved.status_code == 302
    number.refresh_from_db()
    assert number.number == "+81350501001"
    # Django's history of the page: nothing was changed.
    assert LogEntry.objects.get(object_id=str(number.pk)).get_change_message() == (
        "変更はありませんでした。"
    )


def test_a_lent_number_typed_hyphenated_is_stored_in_e164(admin_client):
    number = LentNumberFactory(number="+81350501001")
    url = reverse("admin:clients_lentnumber_change", args=[number.pk])
    values = form_values(admin_client.get(url).content.decode(), "lentnumber_form")

    admin_client.post(url, {**values, "number": "03-5050-1002"})

    number.refresh_from_db()
    assert number.number == "+81350501002"
    assert LentNumber.objects.count() == 1


def test_the_clients_own_number_is_shown_hyphenated_and_kept_on_save(admin_client):
    client = ClientFactory(own_number="+81332111001")
    url = reverse("admin:clients_client_change", args=[client.pk])
    html = admin_client.get(url).content.decode()
    values = form_values(html, "client_form")
    assert values["own_number"] == "03-3211-1001"
    assert "+81" not in html
    assert "E.164" not in html

    saved = admin_client.post(url, {**values, "operator_notes": "確認済み"})

    assert saved.status_code == 302
    assert Client.objects.get(pk=client.pk).own_number == "+81332111001"
    message = LogEntry.objects.get(object_id=str(client.pk)).get_change_message()
    assert "転送元" not in message


def test_the_lent_number_list_heads_its_numbers_in_japanese(admin_client):
    LentNumberFactory(number="+81350501001")

    html = admin_client.get(reverse("admin:clients_lentnumber_changelist")).content
    page = html.decode()

    assert ">番号<" in page
    assert "03-5050-1001" in page
    assert "Display" not in page


def test_a_number_typed_wrong_with_plus_is_shown_again_as_typed(admin_client):
    number = LentNumberFactory(number="+81350501001")
    url = reverse("admin:clients_lentnumber_change", args=[number.pk])
    values = form_values(admin_client.get(url).content.decode(), "lentnumber_form")

    refused = admin_client.post(url, {**values, "number": "+8135050"})

    assert refused.status_code == 200
    html = refused.content.decode()
    assert "有効な電話番号ではありません" in html
    assert form_values(html, "lentnumber_form")["number"] == "+8135050"
    number.refresh_from_db()
    assert number.number == "+81350501001"
