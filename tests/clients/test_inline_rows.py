"""A row of an inline (a client's recipient, a plan's price) entered again, as
a reload that posts the page again does: the form says so, where the database
refused it with a server error."""

import pytest
from django.urls import reverse

from clients.models import PlanPrice, ReportRecipient
from clients.months import japan_today
from tests.factories import ClientFactory, PlanFactory, ReportRecipientFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db


def _page_with_a_new_row(admin_client, url, form_id, prefix, row):
    data = form_values(admin_client.get(url).content.decode(), form_id)
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(total + 1)
    data.update({f"{prefix}-{total}-{name}": value for name, value in row.items()})
    return data


def test_a_recipient_entered_again_on_the_client_page_is_refused(admin_client):
    client = ClientFactory()
    url = reverse("admin:clients_client_change", args=[client.pk])
    row = {
        "name": "山田太郎",
        "pc_email": "yamada@example.jp",
        "active_from": japan_today().isoformat(),
    }
    data = _page_with_a_new_row(admin_client, url, "client_form", "recipients", row)
    assert admin_client.post(url, data).status_code == 302

    page = admin_client.post(url, data)  # the same page sent again

    assert page.status_code == 200
    assert "同じ報告先がすでに登録されています。" in page.content.decode()
    assert ReportRecipient.objects.filter(client=client).count() == 1


def test_another_clients_recipient_and_an_edited_row_are_not_duplicates(
    admin_client,
):
    """The rule looks at this client's rows, other than the row itself."""
    client = ClientFactory()
    day = japan_today()
    ReportRecipientFactory(
        client=ClientFactory(),
        name="山田太郎",
        pc_email="yamada@example.jp",
        mobile_email="",
        active_from=day,
    )
    kept = ReportRecipientFactory(client=client, name="佐藤花子")
    url = reverse("admin:clients_client_change", args=[client.pk])
    row = {"name": "山田太郎", "pc_email": "yamada@example.jp", "active_from": day}
    data = _page_with_a_new_row(admin_client, url, "client_form", "recipients", row)
    assert admin_client.post(url, data).status_code == 302
    kept.refresh_from_db()
    assert kept.name == "佐藤花子"
    assert client.recipients.count() == 2


def test_a_price_entered_again_on_the_plan_page_is_refused(admin_client):
    plan = PlanFactory()
    url = reverse("admin:clients_plan_change", args=[plan.pk])
    row = {
        "valid_from": japan_today().isoformat(),
        "monthly_fee_yen": "2960",
        "included_calls": "20",
        "per_call_yen": "148",
    }
    data = _page_with_a_new_row(admin_client, url, "plan_form", "prices", row)
    assert admin_client.post(url, data).status_code == 302

    page = admin_client.post(url, data)

    assert page.status_code == 200
    assert (
        "この プラン と 適用開始日 を持った プラン料金 が既に存在します。"
        in page.content.decode()
    )
    assert PlanPrice.objects.filter(plan=plan).count() == 1
