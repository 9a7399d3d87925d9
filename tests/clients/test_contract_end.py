"""Numbers and plans stop where the client's contract ends (at a month end)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clients.models import Client, ClientPlan, NumberAssignment
from clients.months import JST, japan_today, month_end, month_start, next_month
from clients.services import (
    assign_number,
    schedule_plan_change,
    set_plan,
    start_plan,
)
from portal.models import RequestStatus
from portal.services import apply_plan_change_request, request_plan_change
from tests.dates import ja_day
from tests.factories import ClientFactory, LentNumberFactory, NumberAssignmentFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:clients_client_changelist"


def _cancelled(*, last_day: dt.date, **fields) -> Client:
    return ClientFactory(
        name="解約済み株式会社",
        status=Client.Status.CANCELLED,
        cancelled_on=last_day,
        **fields,
    )


def _last_month_end() -> dt.date:
    return month_start(japan_today()) - dt.timedelta(days=1)


def _action(admin_client, action, clients, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in clients], **extra}
    return admin_client.post(reverse(CHANGELIST), data, follow=True)


def test_no_number_is_lent_after_the_contracts_last_day():
    client = _cancelled(last_day=_last_month_end())
    number = LentNumberFactory()
    with pytest.raises(ValidationError) as refused:
        assign_number(lent_number=number, client=client, use="listed")
    assert refused.value.messages == [
        f"解約済み株式会社 の契約は {ja_day(_last_month_end())} で終了しています。"
        "契約の終了後に番号を貸し出すことはできません。"
    ]
    assert not number.assignments.exists()
    # Up to its last day it still could be (a late entry of a lending).
    assign_number(
        lent_number=number, client=client, use="listed", assigned_on=_last_month_end()
    )


def test_a_client_cancelled_at_this_months_end_still_gets_a_number_today():
    client = _cancelled(last_day=month_end(japan_today()))
    assign_number(lent_number=LentNumberFactory(), client=client, use="listed")
    assert client.number_assignments.count() == 1


def test_the_lending_action_says_why_a_cancelled_client_gets_no_number(admin_client):
    client = _cancelled(last_day=_last_month_end())
    number = LentNumberFactory()
    page = _action(
        admin_client,
        "assign_number",
        [client],
        number=number.pk,
        use="listed",
        assigned_on=japan_today().isoformat(),
        apply=1,
    )
    assert page.status_code == 200
    assert "契約の終了後に番号を貸し出すことはできません" in page.content.decode()
    assert not NumberAssignment.objects.exists()


def test_no_plan_starts_after_the_contracts_last_day(plans):
    now = dt.datetime(2026, 10, 15, 12, tzinfo=JST)
    client = _cancelled(last_day=dt.date(2026, 10, 31))
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    with pytest.raises(ValidationError) as refused:
        schedule_plan_change(client=client, plan=plans["half"], now=now)
    assert refused.value.messages == [
        "解約済み株式会社 の契約は 2026年10月31日 で終了するため、"
        "2026年11月 からのプランは登録できません。"
    ]
    with pytest.raises(ValidationError):
        start_plan(
            client=_cancelled(last_day=dt.date(2026, 9, 30)),
            plan=plans["small"],
            first_month=dt.date(2026, 10, 1),
        )
    assert ClientPlan.objects.count() == 1


def test_the_plan_action_refuses_a_cancelled_client_and_goes_on_with_the_others(
    admin_client, plans
):
    ending = _cancelled(last_day=month_end(japan_today()))
    staying = ClientFactory(name="継続株式会社")
    for client in (ending, staying):
        start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    page = _action(
        admin_client,
        "schedule_plan_change",
        [ending, staying],
        plan=plans["half"].pk,
        apply=1,
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "解約済み株式会社 の契約は" in text and "プランは登録できません" in text
    effective = next_month(japan_today())
    assert not ending.plan_history.filter(effective_month=effective).exists()
    assert staying.plan_history.get(effective_month=effective).plan == plans["half"]


def test_a_first_plan_needs_a_contract_that_reaches_its_month(plans):
    client = _cancelled(
        last_day=_last_month_end(),
        trial_started_on=None,
        contract_started_on=month_start(_last_month_end()),
    )
    set_plan(client=client, plan=plans["small"])  # its one month: allowed
    assert client.plan_history.get().effective_month == month_start(_last_month_end())


def test_a_clients_request_is_not_applied_once_the_contract_ends_before_it(plans):
    client = ClientFactory(name="解約済み株式会社")
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    asked = request_plan_change(
        client=client,
        plan=plans["half"],
        now=dt.datetime(2026, 10, 15, 12, tzinfo=JST),
    )
    Client.objects.filter(pk=client.pk).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 10, 31)
    )
    with pytest.raises(ValidationError, match="プランは登録できません"):
        apply_plan_change_request(change_request=asked, now=timezone.now())
    asked.refresh_from_db()
    assert asked.status == RequestStatus.OPEN


def test_a_cancellation_cannot_end_before_a_number_lent_to_the_client(admin_client):
    today = japan_today()
    client = ClientFactory(contract_started_on=dt.date(2025, 1, 11))
    NumberAssignmentFactory(
        client=client, number__number="+81355550123", assigned_on=today
    )
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(status="cancelled", cancelled_on=_last_month_end().isoformat())
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["cancelled_on"] == [
        f"03-5555-0123 を {ja_day(today)} から貸し出しています。"
        f"解約日は {ja_day(month_end(today))} 以降の月末にしてください。"
    ]
    client.refresh_from_db()
    assert client.cancelled_on is None
    data.update(cancelled_on=month_end(today).isoformat())
    assert admin_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.cancelled_on == month_end(today)


def _plan_summary(page) -> str:
    text = page.content.decode()
    start = text.index("今月: ")
    return text[start : text.index("）", start) + 1]


def test_a_cancellation_before_a_scheduled_plan_change_drops_the_change(
    admin_client, plans
):
    """The page showed 来月: ハーフ for a client whose contract ended before it,
    and the change stayed registered for a month billed to no one."""
    today = japan_today()
    client = ClientFactory(contract_started_on=dt.date(2025, 1, 11))
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    set_plan(client=client, plan=plans["half"])  # from next month
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(status="cancelled", cancelled_on=month_end(today).isoformat())

    page = admin_client.post(url, data, follow=True)

    assert page.status_code == 200
    assert (
        f"解約日（{ja_day(month_end(today))}）より後の "
        f"{next_month(today):%Y年%-m月} からのプラン「ハーフ」は契約の終了後のため、"
        "登録を取り消しました。"
    ) in page.content.decode()
    client.refresh_from_db()
    assert client.cancelled_on == month_end(today)
    assert list(client.plan_history.values_list("plan__code", flat=True)) == ["small"]
    summary = _plan_summary(admin_client.get(url))
    assert summary.startswith("今月: スモール / 来月: —")


def test_a_cancellation_after_a_scheduled_plan_change_keeps_it(admin_client, plans):
    today = japan_today()
    client = ClientFactory(contract_started_on=dt.date(2025, 1, 11))
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    set_plan(client=client, plan=plans["half"])
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    last_day = month_end(next_month(today))  # the new plan's one month
    data.update(status="cancelled", cancelled_on=last_day.isoformat())

    page = admin_client.post(url, data, follow=True)

    assert "登録を取り消しました" not in page.content.decode()
    assert client.plan_history.count() == 2
    assert _plan_summary(admin_client.get(url)).startswith(
        "今月: スモール / 来月: ハーフ"
    )
