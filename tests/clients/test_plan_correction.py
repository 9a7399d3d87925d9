"""A plan registered by mistake is corrected while none of its months has been
billed; a plan the client changes applies from next month, as before."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import Invoice
from billing.services import bill_month
from clients.months import japan_today, month_start, next_month
from clients.selectors import plan_in_force
from clients.services import correct_plan, schedule_plan_change, start_plan
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:clients_client_changelist"
OCTOBER = dt.date(2026, 10, 1)


def _action(admin_client, action, clients, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in clients], **extra}
    return admin_client.post(reverse(CHANGELIST), data, follow=True)


def _new_client(**fields):
    """Contract from the 1st of this month (no trial): nothing billed yet."""
    return ClientFactory(
        name="新規株式会社",
        trial_started_on=None,
        contract_started_on=month_start(japan_today()),
        **fields,
    )


def test_a_wrong_first_plan_is_corrected_on_its_first_day(admin_client, plans):
    """The plan action only ever scheduled a change from next month: the first
    month was billed on the plan chosen by mistake."""
    client = _new_client()
    _action(
        admin_client, "schedule_plan_change", [client], plan=plans["small"].pk, apply=1
    )
    page = _action(admin_client, "correct_plan", [client])
    text = page.content.decode()
    assert "今月のプラン: <strong>スモール</strong>" in text
    assert "訂正できません" not in text
    done = _action(
        admin_client, "correct_plan", [client], plan=plans["standard"].pk, apply=1
    )
    this_month = month_start(japan_today())
    assert (
        f"新規株式会社: {this_month.year}年{this_month.month}月 からのプランを"
        "「スモール」から「スタンダード」に訂正しました。"
    ) in done.content.decode()
    assert client.plan_history.get().plan == plans["standard"]
    assert plan_in_force(client=client, month=this_month).plan == plans["standard"]


def test_the_corrected_plan_is_the_one_the_first_month_is_billed_on(plans):
    client = ClientFactory(trial_started_on=None, contract_started_on=OCTOBER)
    start_plan(client=client, plan=plans["small"], first_month=OCTOBER)
    correct_plan(client=client, plan=plans["standard"], today=dt.date(2026, 10, 31))
    bill_month(month=OCTOBER, today=dt.date(2026, 11, 2))
    invoice = Invoice.objects.get(client=client)
    assert invoice.lines.get(kind="plan_fee").amount_yen == 11040


def test_a_trial_month_plan_is_still_corrected_in_the_contracts_first_month(plans):
    client = ClientFactory(
        trial_started_on=dt.date(2026, 9, 25), contract_started_on=dt.date(2026, 10, 5)
    )
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2026, 9, 1))
    correct_plan(client=client, plan=plans["half"], today=dt.date(2026, 10, 3))
    assert client.plan_history.get().plan == plans["half"]


def test_a_plan_whose_ended_month_was_all_free_trial_is_still_corrected(plans):
    """Trial and contract from 25 October: October is not billed (the trial runs
    into November), yet the plan was refused as "used for October's invoice"."""
    client = ClientFactory(
        trial_started_on=dt.date(2026, 10, 25),
        contract_started_on=dt.date(2026, 10, 25),
    )
    start_plan(client=client, plan=plans["small"], first_month=OCTOBER)
    assert bill_month(month=OCTOBER, today=dt.date(2026, 11, 1)) is not None
    assert not Invoice.objects.filter(client=client).exists()
    correct_plan(client=client, plan=plans["standard"], today=dt.date(2026, 11, 27))
    assert client.plan_history.get().plan == plans["standard"]


def test_a_plan_billed_for_an_ended_month_is_not_corrected(admin_client, plans):
    client = ClientFactory(
        name="継続株式会社", contract_started_on=dt.date(2025, 1, 11)
    )
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    page = _action(admin_client, "correct_plan", [client])
    assert "すでに終わった月の請求に使われるため" in page.content.decode()
    done = _action(
        admin_client, "correct_plan", [client], plan=plans["half"].pk, apply=1
    )
    assert (
        "継続株式会社 の「スモール」は 2025年1月 の請求に使われるため訂正できません。"
    ) in done.content.decode()
    assert client.plan_history.get().plan == plans["small"]


def test_a_change_that_took_effect_this_month_can_be_corrected(plans):
    """A change registered last month with the wrong plan, noticed now."""
    client = ClientFactory(contract_started_on=dt.date(2025, 1, 11))
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    schedule_plan_change(
        client=client,
        plan=plans["half"],
        now=dt.datetime(2026, 9, 20, 12, tzinfo=dt.UTC),
    )
    row, previous = correct_plan(
        client=client, plan=plans["standard"], today=dt.date(2026, 10, 2)
    )
    assert (row.effective_month, previous, row.plan) == (
        OCTOBER,
        plans["half"],
        plans["standard"],
    )
    # The plan in force before it is left as billed.
    assert (
        plan_in_force(client=client, month=dt.date(2026, 9, 1)).plan == (plans["small"])
    )


@pytest.mark.parametrize("state", ["no_plan", "same_plan"])
def test_a_correction_with_nothing_to_correct_says_so(plans, state):
    client = _new_client()
    if state == "same_plan":
        start_plan(client=client, plan=plans["small"], first_month=japan_today())
    with pytest.raises(ValidationError) as refused:
        correct_plan(client=client, plan=plans["small"])
    expected = {
        "no_plan": "新規株式会社 には今月のプランがありません。",
        "same_plan": "新規株式会社 の今月のプランはすでに「スモール」です。",
    }[state]
    assert refused.value.messages[0].startswith(expected)


def test_the_change_page_points_to_the_correction_while_it_is_possible(
    admin_client, plans
):
    new = _new_client()
    start_plan(client=new, plan=plans["small"], first_month=japan_today())
    old = ClientFactory(contract_started_on=dt.date(2025, 1, 11))
    start_plan(client=old, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    hint = "変更ではなく「今月のプランを訂正する」"
    assert hint in _action(admin_client, "schedule_plan_change", [new]).content.decode()
    assert hint not in (
        _action(admin_client, "schedule_plan_change", [old]).content.decode()
    )


def test_the_correction_is_made_for_one_client_at_a_time(admin_client, plans):
    clients = [_new_client(), _new_client()]
    page = _action(admin_client, "correct_plan", clients)
    assert "1件だけ選んで" in page.content.decode()


def test_a_plan_with_no_price_from_the_month_is_not_the_correction(admin_client, plans):
    """Billing cannot price the month on it: the admin is told which price to
    register, and the plan stays as it was."""
    client = _new_client()
    this_month = month_start(japan_today())
    start_plan(client=client, plan=plans["small"], first_month=this_month)
    plans["half"].prices.update(valid_from=next_month(this_month))

    done = _action(
        admin_client, "correct_plan", [client], plan=plans["half"].pk, apply=1
    )

    assert (
        f"新規株式会社: 「ハーフ」には {this_month.year}年{this_month.month}月1日 に"
        "適用される料金がないため、登録できません。"
    ) in done.content.decode()
    assert client.plan_history.get().plan == plans["small"]
