"""Recipients whose address migration clients/0010 kept full-width (made
half-width, it would have repeated another recipient of the client): no report
reaches them, so the admin is told where to look and what to do."""

import html
import re

import pytest
from django.urls import reverse

from tests.factories import ClientFactory, ReportRecipientFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

FULL_WIDTH = "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"


def _warnings(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", text))
        for text in re.findall(r'<li class="warning">(.*?)</li>', page, flags=re.S)
    ]


@pytest.fixture
def twins():
    """A recipient and its full-width copy, as 0010 left it; beside them a
    recipient with a Japanese domain (sendable) and an ended full-width one."""
    client = ClientFactory(name="株式会社さくら不動産")
    first = ReportRecipientFactory(
        client=client, name="山田", pc_email="taro@example.jp", mobile_email=""
    )
    copy = ReportRecipientFactory(
        client=client, name="山田", pc_email=FULL_WIDTH, mobile_email=""
    )
    ReportRecipientFactory(client=client, name="佐藤", pc_email="info@例え.jp")
    ReportRecipientFactory(
        client=client,
        name="鈴木",
        pc_email="ｊｉｒｏ＠ｅｘａｍｐｌｅ．ｊｐ",
        active_to=first.active_from,
    )
    return client, copy


def test_the_clients_page_names_the_recipient_and_what_to_do(admin_client, twins):
    client, copy = twins
    url = reverse("admin:clients_client_change", args=[client.pk])
    page = admin_client.get(url).content.decode()

    [warning] = [w for w in _warnings(page) if "全角" in w]
    assert f"報告先「山田」のメールアドレス（{FULL_WIDTH}）は全角のため" in warning
    assert "報告終了日を入れて保存してください" in warning
    assert "氏名とアドレスはそのままでかまいません" in warning
    recipient_url = reverse("admin:clients_reportrecipient_change", args=[copy.pk])
    assert f'<a href="{recipient_url}">この報告先の画面</a>' in page

    # Done as the warning says, the warning goes and the page saves again.
    form = form_values(
        admin_client.get(recipient_url).content.decode(), "reportrecipient_form"
    )
    response = admin_client.post(
        recipient_url, {**form, "active_to": form["active_from"]}
    )
    assert response.status_code == 302
    page = admin_client.get(url).content.decode()
    assert not [w for w in _warnings(page) if "全角" in w]
    assert admin_client.post(url, form_values(page, "client_form")).status_code == 302


def test_the_failed_deliveries_page_lists_them(admin_client, twins):
    client, _copy = twins
    page = admin_client.get(reverse("reporting:failed")).content.decode()
    assert "全角のまま残っているメールアドレス" in page
    assert "顧客の管理画面で、その報告先の報告終了日を入れて保存してください。" in page
    client_url = reverse("admin:clients_client_change", args=[client.pk])
    assert (
        f'<a href="{client_url}">株式会社さくら不動産</a></strong>: 山田 {FULL_WIDTH}'
        in page
    )
    assert "ｊｉｒｏ" not in page  # ended: no report goes there
    assert "info@例え.jp" not in page


def test_without_them_the_failed_deliveries_page_says_nothing(admin_client):
    ReportRecipientFactory(pc_email="taro@example.jp")
    page = admin_client.get(reverse("reporting:failed")).content.decode()
    assert "全角のまま残っているメールアドレス" not in page


def _row_of(form: dict[str, str], recipient) -> str:
    """The prefix of ``recipient``'s inline row on its client's page."""
    [prefix] = [
        key.removesuffix("-id")
        for key, value in form.items()
        if key.startswith("recipients-") and key.endswith("-id")
        if value == str(recipient.pk)
    ]
    return prefix


def test_the_clients_page_saves_with_the_copy_left_as_it_is(admin_client, twins):
    """Only the client's notes edited: the copy's row, untouched, is no new
    duplicate and stays as stored."""
    client, copy = twins
    url = reverse("admin:clients_client_change", args=[client.pk])
    form = form_values(admin_client.get(url).content.decode(), "client_form")

    response = admin_client.post(url, {**form, "operator_notes": "午後は外出"})

    assert response.status_code == 302, _warnings(response.content.decode())
    client.refresh_from_db()
    assert client.operator_notes == "午後は外出"
    copy.refresh_from_db()
    assert (copy.name, copy.pc_email, copy.active_to) == ("山田", FULL_WIDTH, None)


def test_the_copy_ends_with_its_end_date_on_the_clients_page(admin_client, twins):
    client, copy = twins
    url = reverse("admin:clients_client_change", args=[client.pk])
    form = form_values(admin_client.get(url).content.decode(), "client_form")
    row = _row_of(form, copy)

    response = admin_client.post(
        url, {**form, f"{row}-active_to": form[f"{row}-active_from"]}
    )

    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.active_to == copy.active_from
    assert copy.name == "山田"  # not renamed
    page = admin_client.get(url).content.decode()
    assert not [w for w in _warnings(page) if "全角" in w]


def test_the_copy_ends_with_its_end_date_on_its_own_page(admin_client, twins):
    _client, copy = twins
    url = reverse("admin:clients_reportrecipient_change", args=[copy.pk])
    form = form_values(admin_client.get(url).content.decode(), "reportrecipient_form")

    response = admin_client.post(url, {**form, "active_to": form["active_from"]})

    assert response.status_code == 302
    copy.refresh_from_db()
    assert (copy.name, copy.active_to) == ("山田", copy.active_from)


def test_the_copys_address_typed_half_width_is_still_refused(admin_client, twins):
    """Typed anew, the address is read half-width: then it is the first
    recipient again, and the page says so as for any duplicate."""
    client, copy = twins
    url = reverse("admin:clients_client_change", args=[client.pk])
    form = form_values(admin_client.get(url).content.decode(), "client_form")
    row = _row_of(form, copy)

    response = admin_client.post(url, {**form, f"{row}-pc_email": "taro@example.jp"})

    assert response.status_code == 200
    assert "同じ報告先がすでに登録されています。" in response.content.decode()
    copy.refresh_from_db()
    assert copy.pc_email == FULL_WIDTH
