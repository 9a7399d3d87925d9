import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting.models import Delivery
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db


def _column_headers(html: str) -> list[str]:
    """The headers of the admin's result list, as read on the page."""
    table = html[html.index('id="result_list"') :]
    table = table[: table.index("</thead>")]
    cells = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table, flags=re.S)
    return [re.sub(r"<[^>]+>|\s+", "", cell) for cell in cells]


def test_the_delivery_list_has_japanese_column_headers(admin_client):
    client, _recipients = client_with_recipients(1)
    call, _deliveries = save_reported_call(client=client)
    page = admin_client.get("/admin/reporting/delivery/").content.decode()
    headers = _column_headers(page)
    assert "受電" in headers
    assert "Callid" not in headers
    sorted_page = admin_client.get("/admin/reporting/delivery/?o=4")
    assert sorted_page.status_code == 200  # the column still sorts


def test_the_delivery_list_says_its_flags_in_the_status_column(admin_client):
    """The list lost its 試行回数, 重複送信の可能性 and 不達 columns to fit a
    1366 px laptop: a delivery that bounced, may have gone twice or was tried
    again still says so, beside its status; one that went plainly says only
    that. The channel reads above the address."""
    client, _recipients = client_with_recipients(1)
    _call, deliveries = save_reported_call(client=client)
    flagged = next(d for d in deliveries if d.channel == Delivery.Channel.EMAIL_PC)
    Delivery.objects.filter(pk=flagged.pk).update(
        status=Delivery.Status.FAILED, bounced=True, possible_duplicate=True, attempts=3
    )
    page = admin_client.get("/admin/reporting/delivery/").content.decode()
    statuses = re.findall(r'<td class="field-status_shown">(.*?)</td>', page)
    assert "送信失敗<br>不達<br>重複の恐れ<br>試行 3回" in statuses
    assert "送信待ち" in statuses
    assert f"メール（PC）<br>{flagged.address}" in page
    headers = _column_headers(page)
    assert "不達（恒久的なエラー）" not in headers and "状態" in headers


def test_the_delivery_list_and_pages_name_the_call_as_a_person_would(
    admin_client, django_assert_max_num_queries
):
    client, _recipients = client_with_recipients(1)
    # 16:33 UTC on the 27th is 01:33 on the 28th in Tokyo.
    call, deliveries = save_reported_call(
        client=client,
        caller_name="鈴木一郎",
        received_at=dt.datetime(2026, 11, 27, 16, 33, tzinfo=dt.UTC),
    )
    for _ in range(3):
        save_reported_call(client=client)
    named = "2026年11月28日 01:33 鈴木一郎様"

    with django_assert_max_num_queries(12):  # not one more per row
        page = admin_client.get("/admin/reporting/delivery/").content.decode()
    assert f'<td class="field-call_shown">{named}</td>' in page
    assert f'<td class="field-call_shown">{call.pk}</td>' not in page

    change = f"/admin/reporting/delivery/{deliveries[0].pk}/change/"
    title = re.search(
        r"<title>(.*?)</title>", admin_client.get(change).content.decode()
    )
    assert title is not None
    assert title.group(1).startswith(f"報告 {named} → ")
    assert f"#{call.pk}" not in title.group(1)


def test_a_deliverys_error_reads_as_on_the_failed_deliveries_page(admin_client):
    """The time services._failed writes first has its own column on the failed
    deliveries' page (failures.explain strips it); the admin showed it inline."""
    client, recipients = client_with_recipients(1)
    _call, deliveries = save_reported_call(client=client)
    delivery = deliveries[0]
    error = "SMTP 550 (RCPT): 5.1.1 user unknown"
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED,
        failed_at=timezone.now(),
        bounced=True,
        last_error=f"2026-11-27 10:15:42 {error}",
    )
    failed_page = admin_client.get(reverse("reporting:failed")).content.decode()
    change_page = admin_client.get(
        reverse("admin:reporting_delivery_change", args=[delivery.pk])
    ).content.decode()
    client_page = admin_client.get(
        reverse("admin:clients_client_change", args=[client.pk])
    ).content.decode()

    for page in (failed_page, change_page, client_page):
        assert error in page
        assert "2026-11-27 10:15:42" not in page
    # The delivery's own page shows it once, read-only.
    assert 'name="last_error"' not in change_page
    assert change_page.count(error) == 2  # its field, and the client's bounces


def test_the_delivery_list_is_searched_by_client_name_or_part_of_an_address(
    admin_client,
):
    acme, _recipients = client_with_recipients(1, name="アクメ株式会社")
    _call, to_acme = save_reported_call(client=acme)
    other, _recipients = client_with_recipients(1)
    _call, to_other = save_reported_call(client=other)
    one_address = to_other[0].address

    def found(q: str) -> set[int]:
        response = admin_client.get("/admin/reporting/delivery/", {"q": q})
        assert response.status_code == 200
        return {delivery.pk for delivery in response.context["cl"].result_list}

    assert found("アクメ") == {d.pk for d in to_acme}
    # Typed in half-width kana, as the portal's search finds it too.
    assert found("ｱｸﾒ") == {d.pk for d in to_acme}
    assert found(one_address.split("@")[0].upper()) == {
        d.pk for d in to_other if d.address == one_address
    }
    assert found("アクメ " + one_address) == set()
    # A Message-ID pasted whole from a mail the client forwards.
    mail = next(d for d in to_acme if d.message_id)
    assert found(f"  {mail.message_id} ") == {mail.pk}
    assert found(mail.message_id[:-1]) == set()
