import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clients.models import ReportRecipient
from clients.months import japan_today
from clients.selectors import monthly_extras
from tests.factories import ClientFactory, ReportRecipientFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db
OCT = dt.date(2026, 10, 1)


def _end_on_its_page(admin_client, recipient: ReportRecipient, last_day: str):
    """An admin types 報告終了日 on the recipient's page (the client's page has
    the same row), the way a person stops receiving reports."""
    url = reverse("admin:clients_reportrecipient_change", args=[recipient.pk])
    typed = form_values(admin_client.get(url).content.decode(), "reportrecipient_form")
    return admin_client.post(url, {**typed, "active_to": last_day})


def test_ending_a_recipient_keeps_the_row_and_its_dates(admin_client):
    recipient = ReportRecipientFactory(active_from=dt.date(2026, 1, 1))
    assert _end_on_its_page(admin_client, recipient, "2026-10-15").status_code == 302
    recipient.refresh_from_db()
    assert recipient.active_to == dt.date(2026, 10, 15)
    assert recipient.is_active_on(dt.date(2026, 10, 15))
    assert not recipient.is_active_on(dt.date(2026, 10, 16))
    assert list(ReportRecipient.objects.active_on(dt.date(2026, 10, 16))) == []


def test_the_fee_counts_the_peak_of_persons_on_any_day_not_the_month_total():
    client = ClientFactory()
    # Three people all month, and two more who never overlap each other.
    for _ in range(3):
        ReportRecipientFactory(client=client, active_from=dt.date(2026, 1, 1))
    ReportRecipientFactory(
        client=client, active_from=dt.date(2026, 1, 1), active_to=dt.date(2026, 10, 10)
    )
    ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 20))
    extras = monthly_extras(client=client, month=OCT)
    assert extras.recipient_peak == 4
    assert extras.extra_recipients_yen == 210


def test_five_recipients_cost_two_extra_persons():
    client = ClientFactory()
    for _ in range(5):
        ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 31))
    assert monthly_extras(client=client, month=OCT).extra_recipients_yen == 420
    assert (
        monthly_extras(client=client, month=dt.date(2026, 9, 1)).extra_recipients_yen
        == 0
    )


def test_a_recipient_needs_at_least_one_address():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportRecipientFactory(pc_email="", mobile_email="")


def test_end_before_start_is_refused_with_a_japanese_message(admin_client):
    recipient = ReportRecipientFactory(active_from=dt.date(2026, 5, 1))
    page = _end_on_its_page(admin_client, recipient, "2026-04-30")
    assert page.status_code == 200  # the form again, with why
    assert page.context["adminform"].form.non_field_errors() == [
        "報告終了日は報告開始日以降にしてください。"
    ]
    recipient.refresh_from_db()
    assert recipient.active_to is None


def test_invalid_email_gets_a_japanese_error():
    recipient = ReportRecipient(
        client=ClientFactory(), name="山田", pc_email="yamada@", active_from=OCT
    )
    with pytest.raises(ValidationError) as excinfo:
        recipient.full_clean()
    assert "メールアドレス" in " ".join(excinfo.value.message_dict["pc_email"])


def _errors_on(html: str) -> str:
    return " ".join(re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def test_editing_a_recipient_into_a_copy_of_another_is_refused_not_a_500(admin_client):
    """On the recipient's change page the client is read-only, so Django skips
    the recipient_entered_once check and the database refuses the save: 500."""
    client = ClientFactory()
    ReportRecipientFactory(
        client=client,
        name="山田",
        pc_email="yamada@example.jp",
        mobile_email="",
        active_from=dt.date(2026, 10, 1),
    )
    other = ReportRecipientFactory(
        client=client,
        name="山田 太郎",
        pc_email="yamada@example.jp",
        mobile_email="",
        active_from=dt.date(2026, 10, 1),
    )
    admin_client.raise_request_exception = False
    response = admin_client.post(
        reverse("admin:clients_reportrecipient_change", args=[other.pk]),
        {
            "name": "山田",  # the admin shortens the name: now a copy of the first
            "pc_email": "yamada@example.jp",
            "mobile_email": "",
            "active_from": "2026-10-01",
            "active_to": "",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "同じ報告先がすでに登録されています。" in response.content.decode()
    assert ReportRecipient.objects.filter(name="山田 太郎").exists()


def test_adding_a_recipient_without_a_client_says_it_once_in_plain_words(
    admin_client,
):
    """On the add page the client is a field: left blank, the model's own check
    ran as well and added 「このフィールドには NULL を指定できません。」."""
    admin_client.raise_request_exception = False
    response = admin_client.post(
        reverse("admin:clients_reportrecipient_add"),
        {
            "client": "",
            "name": "山田",
            "pc_email": "yamada@example.jp",
            "mobile_email": "",
            "active_from": "2026-10-01",
            "active_to": "",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    page = response.content.decode()
    assert "このフィールドは必須です。" in page
    assert "NULL" not in page
    assert not ReportRecipient.objects.exists()


def test_a_duplicate_recipient_row_on_the_client_page_is_explained_in_japanese(
    admin_client,
):
    """Two identical recipient rows on the client page: the error names the
    fields by their code names (name, pc_email, mobile_email, active_from)."""
    client = ClientFactory()
    response = admin_client.post(
        reverse("admin:clients_client_change", args=[client.pk]),
        {
            "name": client.name,
            "name_kana": client.name_kana,
            "announce_name": client.announce_name,
            "status": "active",
            "operator_notes": "",
            "trial_started_on": "2025-01-01",
            "contract_started_on": "2025-01-11",
            "cancelled_on": "",
            "report_by_email": "on",
            "chatwork_room_id": "",
            "own_number": "",
            "people-TOTAL_FORMS": "0",
            "people-INITIAL_FORMS": "0",
            "recipients-TOTAL_FORMS": "2",
            "recipients-INITIAL_FORMS": "0",
            "recipients-0-name": "山田",
            "recipients-0-pc_email": "yamada@example.jp",
            "recipients-0-active_from": "2026-10-01",
            "recipients-1-name": "山田",
            "recipients-1-pc_email": "yamada@example.jp",
            "recipients-1-active_from": "2026-10-01",
            "number_assignments-TOTAL_FORMS": "0",
            "number_assignments-INITIAL_FORMS": "0",
            "plan_history-TOTAL_FORMS": "0",
            "plan_history-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    errors = _errors_on(response.content.decode())
    assert "重複" in errors  # the duplicate is refused ...
    for code_name in ("pc_email", "mobile_email", "active_from"):
        assert code_name not in errors  # ... in words an admin reads
    assert "氏名・" in errors
    assert not ReportRecipient.objects.filter(client=client).exists()


# An address typed on a Japanese keyboard is read as the portal's form reads it.


def test_the_client_page_reads_a_full_width_address_as_half_width(admin_client):
    """taro@ＥＸＡＭＰＬＥ.jp was saved as typed (another mailbox than
    taro@example.jp to the reports), and ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ refused,
    where the portal's request form reads both as half-width."""
    client = ClientFactory()
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    row = int(data["recipients-TOTAL_FORMS"])
    data["recipients-TOTAL_FORMS"] = str(row + 1)
    data.update(
        {
            f"recipients-{row}-name": "山田太郎",
            f"recipients-{row}-pc_email": "taro@ＥＸＡＭＰＬＥ.jp",
            f"recipients-{row}-mobile_email": "ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ",
            f"recipients-{row}-active_from": f"{japan_today():%Y-%m-%d}",
        }
    )
    assert admin_client.post(url, data).status_code == 302
    recipient = client.recipients.get()
    # Half-width: the mailbox of taro@example.jp, whatever the case.
    assert (recipient.pc_email, recipient.mobile_email) == (
        "taro@EXAMPLE.jp",
        "taro@docomo.ne.jp",
    )


def test_the_recipient_page_reads_a_full_width_address_as_half_width(admin_client):
    recipient = ReportRecipientFactory(active_from=dt.date(2026, 1, 1))
    url = reverse("admin:clients_reportrecipient_change", args=[recipient.pk])
    typed = form_values(admin_client.get(url).content.decode(), "reportrecipient_form")
    typed.update(
        pc_email="taro@ＥＸＡＭＰＬＥ.jp",
        mobile_email="ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ",
    )
    response = admin_client.post(url, typed)
    assert response.status_code == 302
    recipient.refresh_from_db()
    # Half-width: the mailbox of taro@example.jp, whatever the case.
    assert (recipient.pc_email, recipient.mobile_email) == (
        "taro@EXAMPLE.jp",
        "taro@docomo.ne.jp",
    )


# The client page's address boxes are text areas (clients.widgets.AddressBox):
# a line break reaches the server when the page's script did not run, and a
# space where the script turned one into it.


@pytest.mark.parametrize(
    "typed",
    [
        "yamada@example.jp\r\nsato@example.jp",  # two addresses pasted, lines kept
        "yamada@example.jp sato@example.jp",  # their line break made a space
        "yamada@example\r\n.jp",  # one address pasted over two lines
        "yamada@",
    ],
)
def test_an_address_box_with_a_line_break_or_no_address_gets_a_japanese_error(
    admin_client, typed
):
    recipient = ReportRecipientFactory(pc_email="taro@example.jp")
    url = reverse("admin:clients_client_change", args=[recipient.client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    admin_client.raise_request_exception = False

    response = admin_client.post(url, {**data, "recipients-0-pc_email": typed})

    assert response.status_code == 200  # the page again, not a 500
    assert "有効なメールアドレスを入力してください。" in _errors_on(
        response.content.decode()
    )
    recipient.refresh_from_db()
    assert recipient.pc_email == "taro@example.jp"


def test_an_address_pasted_with_its_line_break_is_saved_without_it(admin_client):
    recipient = ReportRecipientFactory(pc_email="taro@example.jp")
    url = reverse("admin:clients_client_change", args=[recipient.client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")

    response = admin_client.post(
        url, {**data, "recipients-0-pc_email": "hanako@example.jp\r\n"}
    )

    assert response.status_code == 302
    recipient.refresh_from_db()
    assert recipient.pc_email == "hanako@example.jp"
