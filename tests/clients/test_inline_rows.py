"""A row of an inline (a client's recipient, a plan's price) entered again, as
a reload that posts the page again does: the form says so, where the database
refused it with a server error."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from clients.models import PlanPrice, ReportRecipient
from clients.months import japan_today
from tests.factories import (
    ClientFactory,
    ClientPersonFactory,
    ClientPlanFactory,
    NumberAssignmentFactory,
    OperatorNoticeFactory,
    PlanFactory,
    ReportRecipientFactory,
)
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


def _table_of(page: str, prefix: str) -> str:
    """The HTML of one inline table of a change page."""
    start = page.index(f'id="{prefix}-group"')
    return page[start : page.index("</fieldset>", start)]


def test_the_client_pages_number_and_plan_rows_do_not_repeat_the_clients_name(
    admin_client, plans
):
    """Each row had a line above it naming the row, the client's long name
    first (株式会社… → 03-5050-0001（転送利用）): a line per row that said
    again what the row's columns say. A number still lent keeps its way to
    the page where it is returned."""
    client = ClientFactory(
        name="株式会社グローバルコミュニケーションソリューションズ東京本社"
    )
    lent = NumberAssignmentFactory(client=client, assigned_on=dt.date(2025, 1, 1))
    returned = NumberAssignmentFactory(
        client=client,
        use="listed",
        assigned_on=dt.date(2025, 1, 1),
        released_on=dt.date(2025, 3, 31),
    )
    ClientPlanFactory(client=client, plan=plans["small"])
    url = reverse("admin:clients_client_change", args=[client.pk])

    page = admin_client.get(url).content.decode()

    numbers = _table_of(page, "number_assignments")
    plans_table = _table_of(page, "plan_history")
    assert client.name not in numbers
    assert client.name not in plans_table
    assert "（転送利用）" not in numbers  # the rows' own names
    assert "2025年1月〜 スモール" not in plans_table
    assert lent.number.display in numbers and returned.number.display in numbers
    assert "スモール" in plans_table
    lent_page = reverse("admin:clients_numberassignment_change", args=[lent.pk])
    returned_page = reverse("admin:clients_numberassignment_change", args=[returned.pk])
    assert f'<a href="{lent_page}">返却する</a>' in numbers
    assert returned_page not in numbers


def test_the_client_pages_notice_rows_do_not_repeat_the_clients_name(admin_client):
    """Each notice opened with a line naming it, the client's long name and
    the notice's days (株式会社… 2026年12月28日〜2027年1月4日), above the
    columns that show those days."""
    client = ClientFactory(
        name="株式会社グローバルコミュニケーションソリューションズ東京本社"
    )
    OperatorNoticeFactory(
        client=client,
        text="年末年始は休業です",
        first_day=dt.date(2026, 12, 28),
        last_day=dt.date(2027, 1, 4),
    )
    url = reverse("admin:clients_client_change", args=[client.pk])

    notices = _table_of(admin_client.get(url).content.decode(), "operator_notices")

    assert client.name not in notices
    assert "〜" not in notices
    assert "年末年始は休業です" in notices
    assert notices.count("2026年12月28日") == 1  # its 開始日 column


def test_the_client_pages_people_and_recipients_are_named_once_a_row(admin_client):
    """A person's and a recipient's row opened with a line naming it (佐藤 健
    (代表取締役), 営業部 山田) above the boxes holding the same words."""
    client = ClientFactory()
    ClientPersonFactory(client=client, name="佐藤 健", title="代表取締役")
    ReportRecipientFactory(client=client, name="営業部 山田")
    url = reverse("admin:clients_client_change", args=[client.pk])

    page = admin_client.get(url).content.decode()

    # A box's tooltip (its title) repeats its value: not a line on the page.
    people = re.sub(r' title="[^"]*"', "", _table_of(page, "people"))
    recipients = re.sub(r' title="[^"]*"', "", _table_of(page, "recipients"))
    assert people.count("佐藤 健") == 1  # the name's box
    assert people.count("代表取締役") == 1
    assert recipients.count("営業部 山田") == 1


def test_the_client_pages_plan_rows_read_the_month_a_plan_applies_from(
    admin_client, plans
):
    """The plan history's first column read 2025年6月1日, a day on which
    nothing happened; a plan applies from a month."""
    client = ClientFactory()
    ClientPlanFactory(
        client=client, plan=plans["half"], effective_month=dt.date(2025, 6, 1)
    )
    url = reverse("admin:clients_client_change", args=[client.pk])

    plans_table = _table_of(admin_client.get(url).content.decode(), "plan_history")

    assert "2025年6月〜" in plans_table
    assert "2025年6月1日" not in plans_table


def test_the_plan_pages_price_rows_are_not_named_a_line_each(admin_client, plans):
    """Each price row opened with a line naming it (スモール 2024年4月1日〜
    2,960円) above the boxes holding the same day and fee."""
    plan = plans["small"]
    url = reverse("admin:clients_plan_change", args=[plan.pk])

    prices = _table_of(admin_client.get(url).content.decode(), "prices")

    assert plan.name not in prices
    assert "2,960円" not in prices
    assert 'value="2960"' in prices  # the row's fee, in its box
