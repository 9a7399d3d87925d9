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
    assert "報告終了日を入れ" in warning
    recipient_url = reverse("admin:clients_reportrecipient_change", args=[copy.pk])
    assert f'<a href="{recipient_url}">この報告先の画面</a>' in page

    # Done as the warning says, the warning goes and the page saves again.
    form = form_values(
        admin_client.get(recipient_url).content.decode(), "reportrecipient_form"
    )
    response = admin_client.post(
        recipient_url,
        {**form, "name": "山田（重複）", "active_to": form["active_from"]},
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.pc_email == "taro@example.jp"
    page = admin_client.get(url).content.decode()
    assert not [w for w in _warnings(page) if "全角" in w]
    assert admin_client.post(url, form_values(page, "client_form")).status_code == 302


def test_the_failed_deliveries_page_lists_them(admin_client, twins):
    client, _copy = twins
    page = admin_client.get(reverse("reporting:failed")).content.decode()
    assert "全角のまま残っているメールアドレス" in page
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
