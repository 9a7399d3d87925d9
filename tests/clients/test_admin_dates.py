"""Admins cannot save dates or ids that would break billing and the portal later."""

import datetime as dt

import pytest
from django.urls import reverse

from clients.models import Client, LentNumber, NumberAssignment, PlanPrice
from clients.months import japan_today
from tests.factories import (
    ClientFactory,
    LentNumberFactory,
    OperatorFactory,
    PlanFactory,
    PlanPriceFactory,
    ReportRecipientFactory,
)
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db
OUT_OF_RANGE = "2000-01-01 から 2100-12-31 までの日付を入力してください。"


def _add_client(admin_client, **fields):
    url = reverse("admin:clients_client_add")
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(
        {
            "name": "日付確認株式会社",
            "announce_name": "日付確認株式会社でございます",
            "status": "active",
            "trial_started_on": "2026-01-05",
            "contract_started_on": "2026-01-15",
            **fields,
        }
    )
    return admin_client.post(url, data)


def _errors(page, field: str) -> list[str]:
    return page.context["adminform"].form.errors.get(field, [])


def test_a_plausible_client_is_saved(admin_client):
    page = _add_client(admin_client, chatwork_room_id="123456")
    assert page.status_code == 302
    assert Client.objects.get().chatwork_room_id == "123456"


@pytest.mark.parametrize(
    "typed", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"]
)
@pytest.mark.parametrize(
    "field", ["trial_started_on", "contract_started_on", "cancelled_on"]
)
def test_an_implausible_client_date_is_refused_on_its_field(admin_client, field, typed):
    page = _add_client(admin_client, **{field: typed})
    assert page.status_code == 200
    assert _errors(page, field) == [OUT_OF_RANGE]
    assert OUT_OF_RANGE in page.content.decode()
    assert "日付確認株式会社" in page.content.decode()  # what was typed stays
    assert not Client.objects.exists()


def test_cancellation_before_the_contract_start_is_refused(admin_client):
    page = _add_client(
        admin_client,
        status="cancelled",
        trial_started_on="",
        cancelled_on="2025-12-31",
    )
    assert _errors(page, "cancelled_on") == ["解約日は契約開始日以降にしてください。"]
    assert not Client.objects.exists()


def test_a_trial_ended_without_a_contract_is_told_how_to_cancel(admin_client):
    """A client leaves in its trial, before the contract's start: a month end
    after that start would pass and bill the days from it. The admin is told
    to clear the contract's date instead, which then saves, billed nothing."""
    page = _add_client(
        admin_client,
        status="cancelled",
        trial_started_on="2026-01-25",
        contract_started_on="2026-02-04",
        cancelled_on="2026-01-31",
    )
    assert _errors(page, "cancelled_on") == [
        "解約日は契約開始日（2026年2月4日）以降にしてください。"
        "お試しだけで契約しない場合は、契約開始日を空欄にして"
        "保存してください（請求はありません）。"
    ]

    saved = _add_client(
        admin_client,
        status="cancelled",
        trial_started_on="2026-01-25",
        contract_started_on="",
        cancelled_on="2026-01-31",
    )
    assert saved.status_code == 302
    client = Client.objects.get()
    assert client.billing_starts_on is None


def test_a_client_under_contract_needs_its_contract_date(admin_client):
    """Without it the client was never billed, nor counted as skipped."""
    page = _add_client(admin_client, contract_started_on="")
    assert _errors(page, "contract_started_on") == [
        "契約中の顧客には契約開始日が必要です。"
    ]
    assert not Client.objects.exists()


def test_a_cancellation_takes_effect_at_a_month_end(admin_client):
    page = _add_client(admin_client, status="cancelled", cancelled_on="2026-10-15")
    assert _errors(page, "cancelled_on") == [
        "解約は月末に効力を生じます。解約日には月末日（2026年10月31日）を入れてください。"
    ]
    assert not Client.objects.exists()
    page = _add_client(admin_client, status="cancelled", cancelled_on="2026-10-31")
    assert page.status_code == 302
    assert Client.objects.get().cancelled_on == dt.date(2026, 10, 31)


@pytest.mark.parametrize(
    "typed", ["abc", "12 34", "-1", "https://www.chatwork.com/#!rid12a"]
)
def test_a_chatwork_room_id_must_be_digits(admin_client, typed):
    page = _add_client(admin_client, report_by_chatwork="on", chatwork_room_id=typed)
    assert _errors(page, "chatwork_room_id") == [
        "チャットワークのルームIDは半角数字で入力してください。"
    ]
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    "typed",
    ["１２３４５６", " 123456 ", "https://www.chatwork.com/#!rid123456", "#!rid123456"],
)
def test_a_chatwork_room_id_is_kept_as_its_digits(admin_client, typed):
    """Full-width digits, or the room's address copied from Chatwork."""
    page = _add_client(admin_client, report_by_chatwork="on", chatwork_room_id=typed)
    assert page.status_code == 302
    assert Client.objects.get().chatwork_room_id == "123456"


def test_an_implausible_recipient_date_is_refused(admin_client):
    recipient = ReportRecipientFactory()
    url = reverse("admin:clients_reportrecipient_change", args=[recipient.pk])
    data = form_values(admin_client.get(url).content.decode(), "reportrecipient_form")
    data.update(active_from="0001-01-01", active_to="9999-12-31")
    page = admin_client.post(url, data)
    assert _errors(page, "active_from") == [OUT_OF_RANGE]
    assert _errors(page, "active_to") == [OUT_OF_RANGE]
    recipient.refresh_from_db()
    assert recipient.active_from == dt.date(2025, 1, 1)


def test_a_recipient_address_no_mail_can_carry_is_refused(admin_client):
    recipient = ReportRecipientFactory()
    url = reverse("admin:clients_reportrecipient_change", args=[recipient.pk])
    data = form_values(admin_client.get(url).content.decode(), "reportrecipient_form")
    data.update(mobile_email="taro@\u200b.example.jp")
    page = admin_client.post(url, data)
    assert _errors(page, "mobile_email") == [
        "このメールアドレスには送信できません。入力をご確認ください。"
    ]
    recipient.refresh_from_db()
    assert recipient.mobile_email != "taro@\u200b.example.jp"


def test_an_implausible_plan_price_date_is_refused(admin_client):
    plan = PlanFactory()
    url = reverse("admin:clients_plan_change", args=[plan.pk])
    data = form_values(admin_client.get(url).content.decode(), "plan_form")
    data.update(
        {
            "prices-TOTAL_FORMS": "1",
            "prices-0-valid_from": "9999-12-31",
            "prices-0-monthly_fee_yen": "2960",
            "prices-0-included_calls": "20",
            "prices-0-per_call_yen": "148",
        }
    )
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert OUT_OF_RANGE in page.content.decode()
    assert not PlanPrice.objects.exists()


def test_a_plan_price_past_any_real_plan_is_refused(admin_client):
    plan = PlanFactory()
    url = reverse("admin:clients_plan_change", args=[plan.pk])
    data = form_values(admin_client.get(url).content.decode(), "plan_form")
    data.update(
        {
            "prices-TOTAL_FORMS": "1",
            "prices-0-valid_from": "2026-01-01",
            "prices-0-monthly_fee_yen": "2147483647",
            "prices-0-included_calls": "0",
            "prices-0-per_call_yen": "2147483647",
        }
    )
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert "この値は 1000000 以下でなければなりません。" in page.content.decode()
    assert "この値は 10000 以下でなければなりません。" in page.content.decode()
    assert not PlanPrice.objects.exists()


def test_a_number_cannot_be_lent_from_an_implausible_date(admin_client):
    client = ClientFactory()
    number = LentNumberFactory(kind=LentNumber.Kind.TOKYO_03)
    page = admin_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "assign_number",
            "_selected_action": [client.pk],
            "number": number.pk,
            "use": "forwarding",
            "assigned_on": "9999-12-31",
            "apply": 1,
        },
    )
    assert page.status_code == 200
    assert OUT_OF_RANGE in page.content.decode()
    assert not NumberAssignment.objects.exists()


def test_a_number_is_lent_from_today(admin_client):
    client = ClientFactory()
    number = LentNumberFactory(kind=LentNumber.Kind.TOKYO_03)
    admin_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "assign_number",
            "_selected_action": [client.pk],
            "number": number.pk,
            "use": "forwarding",
            "assigned_on": japan_today().isoformat(),
            "apply": 1,
        },
    )
    assert NumberAssignment.objects.get().assigned_on == japan_today()


def test_a_users_recorded_dates_cannot_be_typed(admin_client):
    user = OperatorFactory()
    joined = user.date_joined
    url = reverse("admin:clients_user_change", args=[user.pk])
    data = form_values(admin_client.get(url).content.decode(), "user_form")
    assert "date_joined_0" not in data and "last_login_0" not in data
    data.update(date_joined_0="0001-01-01", date_joined_1="00:00:00")
    page = admin_client.post(url, data)
    assert page.status_code == 302
    user.refresh_from_db()
    assert user.date_joined == joined
    assert admin_client.get(reverse("admin:clients_user_changelist")).status_code == 200


def test_a_recipient_cannot_be_moved_to_another_client(admin_client):
    recipient = ReportRecipientFactory(active_from=dt.date(2025, 1, 1))
    owner, other = recipient.client, ClientFactory()
    url = reverse("admin:clients_reportrecipient_change", args=[recipient.pk])
    page = admin_client.get(url).content.decode()
    data = form_values(page, "reportrecipient_form")
    assert "client" not in data  # shown as text, not as a choice
    assert owner.name in page
    data.update(client=str(other.pk), name="新しい名前")
    assert admin_client.post(url, data).status_code == 302
    recipient.refresh_from_db()
    assert (recipient.client, recipient.name) == (owner, "新しい名前")


def test_a_price_in_force_can_be_neither_edited_nor_deleted(admin_client):
    """Months were billed with it: a change of price is a new row from today on."""
    price = PlanPriceFactory()  # since 2024-04-01
    url = reverse("admin:clients_plan_change", args=[price.plan.pk])
    data = form_values(admin_client.get(url).content.decode(), "plan_form")
    data.update({"prices-0-monthly_fee_yen": "3300", "prices-0-DELETE": "on"})
    assert admin_client.post(url, data).status_code == 302
    price.refresh_from_db()
    assert price.monthly_fee_yen == 2960

    data = form_values(admin_client.get(url).content.decode(), "plan_form")
    new_row = {
        "prices-TOTAL_FORMS": "2",
        "prices-1-monthly_fee_yen": "3000",
        "prices-1-included_calls": "20",
        "prices-1-per_call_yen": "150",
    }
    past = admin_client.post(
        url, {**data, **new_row, "prices-1-valid_from": "2026-01-01"}
    )
    assert "新しい料金の適用開始日は今日以降にしてください" in past.content.decode()
    later = japan_today() + dt.timedelta(days=10)
    admin_client.post(url, {**data, **new_row, "prices-1-valid_from": f"{later}"})
    assert list(
        PlanPrice.objects.filter(plan=price.plan)
        .order_by("valid_from")
        .values_list("monthly_fee_yen", flat=True)
    ) == [2960, 3000]


def test_a_recipient_sent_twice_is_saved_once(admin_client):
    client = ClientFactory()
    url = reverse("admin:clients_reportrecipient_add")
    data = {
        "client": str(client.pk),
        "name": "佐藤一郎",
        "pc_email": "sato@example.jp",
        "mobile_email": "",
        "active_from": "2026-11-01",
        "active_to": "",
    }
    assert admin_client.post(url, data).status_code == 302
    again = admin_client.post(url, data)
    assert "同じ報告先がすでに登録されています。" in again.content.decode()
    assert client.recipients.count() == 1


@pytest.mark.parametrize(
    "field", ["trial_started_on", "contract_started_on", "cancelled_on"]
)
def test_an_implausible_date_on_a_clients_change_page_is_refused(admin_client, field):
    # The page shows this month's fees worked out from the dates on the form: a
    # refused date must not break them (the day after 9999-12-31 overflows).
    client = ClientFactory(
        trial_started_on=dt.date(2026, 1, 5), contract_started_on=dt.date(2026, 1, 15)
    )
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    page = admin_client.post(url, {**data, field: "9999-12-31"})
    assert page.status_code == 200
    assert _errors(page, field) == [OUT_OF_RANGE]
    client.refresh_from_db()
    assert client.trial_started_on == dt.date(2026, 1, 5)


def test_a_trial_after_the_contract_start_is_refused_and_kept(admin_client):
    """A trial typed a year late (2027 for 2026) moved the first billed day a
    year on: the months between would have been billed nothing."""
    page = _add_client(admin_client, trial_started_on="2027-01-05")
    assert page.status_code == 200
    assert _errors(page, "trial_started_on") == [
        "お試し開始日は契約開始日（2026年1月15日）以前の日付にしてください"
        "（お試しの後に契約が始まります）。"
    ]
    assert 'value="2027-01-05"' in page.content.decode()
    assert not Client.objects.exists()


def test_a_trial_from_the_contracts_first_day_is_saved(admin_client):
    page = _add_client(
        admin_client, trial_started_on="2026-01-15", contract_started_on="2026-01-15"
    )
    assert page.status_code == 302
