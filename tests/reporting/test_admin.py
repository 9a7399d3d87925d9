import re

import pytest

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
    assert f">{call.pk}<" in page  # the column still shows which call
    sorted_page = admin_client.get("/admin/reporting/delivery/?o=4")
    assert sorted_page.status_code == 200  # the column still sorts
