import datetime as dt
import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from clients.models import Client, PlanPrice
from clients.months import japan_today, month_end, month_start, next_month
from clients.selectors import plan_in_force
from clients.services import set_plan
from portal import services
from portal.models import PlanChangeRequest, RequestStatus, SystemNote
from tests import concurrency
from tests.dates import ja_day
from tests.factories import AdminFactory
from tests.portal.conftest import (
    cancel_on_the_client_page,
    jst,
    post_while_a_cancellation_is_saved,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("now", "effective"),
    [
        (jst(2026, 11, 30, 23, 59), dt.date(2026, 12, 1)),
        # Already December in Japan, still November 30 in UTC.
        (jst(2026, 12, 1, 0, 30), dt.date(2027, 1, 1)),
    ],
)
def test_a_request_takes_effect_on_the_first_of_next_month_in_japan(
    portal_user, plans, now, effective
):
    change_request = services.request_plan_change(
        client=portal_user.client, plan=plans["half"], requested_by=portal_user, now=now
    )
    assert change_request.effective_month == effective
    assert change_request.status == RequestStatus.OPEN


def test_the_last_request_in_a_month_wins(portal_user, plans):
    client = portal_user.client
    first = services.request_plan_change(
        client=client, plan=plans["half"], now=jst(2026, 11, 3, 10)
    )
    second = services.request_plan_change(
        client=client, plan=plans["standard"], now=jst(2026, 11, 20, 10)
    )
    first.refresh_from_db()
    assert first.status == RequestStatus.REJECTED
    assert first.system_note == SystemNote.SUPERSEDED
    open_requests = PlanChangeRequest.objects.filter(client=client, status="open")
    assert list(open_requests) == [second]


def test_the_plan_page_says_when_the_change_applies_and_creates_a_request(
    portal, portal_user, plans
):
    url = reverse("portal:plan")
    body = portal.get(url).content.decode()
    assert "スモール" in body
    next_month = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(
        day=1
    )
    assert f"{next_month.year}年{next_month.month}月1日から" in body
    assert "ご遠慮ください" in body  # seasonal switching is discouraged
    response = portal.post(url, {"plan": plans["half"].pk, "message": "繁忙期のため"})
    assert response.status_code == 302
    change_request = PlanChangeRequest.objects.get(client=portal_user.client)
    assert change_request.plan == plans["half"]
    assert change_request.effective_month == next_month
    assert change_request.requested_by == portal_user
    assert change_request.message == "繁忙期のため"
    body = portal.get(url).content.decode()
    assert "受付中" in body


def test_choosing_the_scheduled_plan_again_withdraws_the_open_request(
    portal, portal_user, plans
):
    """The last wish in a month wins: a client who asked for ハーフ and then
    wants to stay on スモール was refused, and ハーフ stayed pending."""
    url = reverse("portal:plan")
    portal.post(url, {"plan": plans["half"].pk})
    response = portal.post(url, {"plan": plans["small"].pk}, follow=True)
    body = response.content.decode()
    assert "お申し込みを取り消しました。" in body
    assert "「スモール」のままです" in body
    asked = PlanChangeRequest.objects.get(client=portal_user.client)
    assert asked.status == RequestStatus.REJECTED
    assert asked.system_note == SystemNote.WITHDRAWN
    assert not PlanChangeRequest.objects.filter(status="open").exists()


def test_asking_for_the_plan_already_coming_is_an_error(portal, portal_user, plans):
    response = portal.post(
        reverse("portal:plan"), {"plan": plans["small"].pk, "message": "メモ"}
    )
    assert response.status_code == 200
    assert "すでに「スモール」です" in response.content.decode()
    assert "メモ" in response.content.decode()
    assert not PlanChangeRequest.objects.exists()


def test_a_missing_or_unknown_plan_is_a_form_error(portal):
    for data in [{}, {"plan": "999999"}, {"plan": "abc"}]:
        response = portal.post(reverse("portal:plan"), data)
        assert response.status_code == 200
        assert response.context["form"].errors


def test_admin_applies_a_request_for_the_month_promised(
    admin_client, portal_user, plans
):
    client = portal_user.client
    change_request = services.request_plan_change(
        client=client, plan=plans["standard"], now=jst(2026, 11, 30, 22)
    )
    # The admin gets to it on December 1st: it still applies from December.
    response = admin_client.post(
        reverse("admin:portal_planchangerequest_changelist"),
        {"action": "apply", ACTION_CHECKBOX_NAME: [change_request.pk]},
        follow=True,
    )
    assert response.status_code == 200
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE
    assert change_request.processed_by is not None
    assert (
        plan_in_force(client=client, month=dt.date(2026, 12, 1)).plan
        == plans["standard"]
    )
    assert (
        plan_in_force(client=client, month=dt.date(2026, 11, 1)).plan == plans["small"]
    )


def test_admin_sees_the_request_list(admin_client, portal_user, plans):
    services.request_plan_change(client=portal_user.client, plan=plans["half"])
    body = admin_client.get(
        reverse("admin:portal_planchangerequest_changelist")
    ).content.decode()
    assert portal_user.client.name in body
    assert "ハーフ" in body


def test_a_processed_request_cannot_be_applied_twice(portal_user, plans):
    change_request = services.request_plan_change(
        client=portal_user.client, plan=plans["half"]
    )
    services.apply_plan_change_request(change_request=change_request)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.apply_plan_change_request(change_request=change_request)


def test_an_older_request_does_not_overwrite_a_newer_change(portal_user, plans):
    """The client asked for ハーフ on the 5th, then phoned on the 10th for
    スタンダード, which an admin registered: applying the 5th's request later
    would have put ハーフ back."""
    from django.core.exceptions import ValidationError

    from clients.services import schedule_plan_change

    client = portal_user.client
    asked = services.request_plan_change(
        client=client, plan=plans["half"], now=jst(2026, 11, 5, 10)
    )
    schedule_plan_change(
        client=client, plan=plans["standard"], now=jst(2026, 11, 10, 10)
    )
    with pytest.raises(ValidationError, match="スタンダード"):
        services.apply_plan_change_request(change_request=asked)
    assert (
        plan_in_force(client=client, month=dt.date(2026, 12, 1)).plan
        == (plans["standard"])
    )
    asked.refresh_from_db()
    assert asked.status == RequestStatus.OPEN


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_leaves_one_open_request_and_no_error(portal_user, plans):
    client = portal_user.client
    now = jst(2026, 11, 20, 10)
    errors = []

    def send(plan, barrier):
        try:
            barrier.wait(timeout=10)
            services.request_plan_change(client=client, plan=plan, now=now)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    for round_number in range(5):
        # The first round starts with no open request; the others with one.
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=send, args=[plans[name], barrier])
            for name in ("half", "standard")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [], f"round {round_number}"
        requests = PlanChangeRequest.objects.filter(client=client)
        assert requests.count() == 2 * (round_number + 1)
        assert requests.filter(status=RequestStatus.OPEN).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_admins_change_made_while_an_older_request_is_applied_wins(
    portal_user, plans, monkeypatch
):
    """The client asked for ハーフ on the 3rd. On the 20th one admin applies that
    request while another, on the phone, sets スタンダード: the phone call's
    change comes last and is the one billed, not overwritten by the request."""
    client = portal_user.client
    now = jst(2026, 11, 20, 10)
    asked = services.request_plan_change(
        client=client, plan=plans["half"], now=jst(2026, 11, 3, 10)
    )
    admin = AdminFactory()
    checked, go_on = threading.Event(), threading.Event()
    schedule = services.schedule_plan_change

    def after_the_check(**kwargs):
        checked.set()  # "is there a newer change?" found none
        go_on.wait(timeout=10)
        return schedule(**kwargs)

    monkeypatch.setattr(services, "schedule_plan_change", after_the_check)
    applying = concurrency.start(
        lambda: services.apply_plan_change_request(
            change_request=asked, processed_by=admin, now=now
        )
    )
    assert checked.wait(timeout=10)
    setting = concurrency.start(
        lambda: set_plan(
            client=client, plan=plans["standard"], requested_by=admin, now=now
        )
    )
    setting.wait_until_blocked()
    go_on.set()
    applying.join(timeout=30)
    setting.join(timeout=30)
    assert (applying.error, setting.error) == (None, None)
    assert (
        plan_in_force(client=client, month=dt.date(2026, 12, 1)).plan
        == plans["standard"]
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_request_while_an_admin_applies_the_last_one_is_no_deadlock(
    portal_user, plans, monkeypatch
):
    """Both take the client's lock first. Applying used to lock the request,
    then the client (the ClientPlan foreign key's check, at commit), while a new
    request locks the client, then the open request: PostgreSQL then found a
    deadlock and one of the two users got a 500."""
    client = portal_user.client
    first = services.request_plan_change(
        client=client, plan=plans["half"], now=jst(2026, 11, 3, 10)
    )
    scheduled, go_on = threading.Event(), threading.Event()
    schedule = services.schedule_plan_change

    def before_commit(**kwargs):
        result = schedule(**kwargs)
        scheduled.set()
        go_on.wait(timeout=10)
        return result

    monkeypatch.setattr(services, "schedule_plan_change", before_commit)
    applying = concurrency.start(
        lambda: services.apply_plan_change_request(
            change_request=first, now=jst(2026, 11, 20, 10)
        )
    )
    assert scheduled.wait(timeout=10)
    asking = concurrency.start(
        lambda: services.request_plan_change(
            client=client, plan=plans["standard"], now=jst(2026, 11, 20, 10, 1)
        )
    )
    asking.wait_until_blocked()
    go_on.set()
    applying.join(timeout=30)
    asking.join(timeout=30)
    assert (applying.error, asking.error) == (None, None)
    first.refresh_from_db()
    assert first.status == RequestStatus.DONE
    assert (
        plan_in_force(client=client, month=dt.date(2026, 12, 1)).plan == plans["half"]
    )
    second = PlanChangeRequest.objects.get(status=RequestStatus.OPEN)
    assert second.plan == plans["standard"]


@pytest.fixture
def cancelled_last_month(portal_user):
    client = portal_user.client
    client.status = client.Status.CANCELLED
    client.cancelled_on = month_start(japan_today()) - dt.timedelta(days=1)
    client.save()
    return client


def test_a_client_whose_contract_ended_is_not_told_it_is_in_a_free_trial(
    portal, cancelled_last_month
):
    body = portal.get(reverse("portal:home")).content.decode()
    assert "無料お試し期間中" not in body
    day = cancelled_last_month.cancelled_on
    assert f"ご契約は{day.year}年{day.month}月{day.day}日で終了しました" in body


def test_a_client_whose_contract_ended_cannot_ask_for_another_plan(
    portal, cancelled_last_month, plans
):
    """The plan page showed the old plan as ご契約中 and took a change for a month
    the contract does not reach: admins got a request for nothing."""
    page = portal.get(reverse("portal:plan")).content.decode()
    assert "ご契約中" not in page
    assert "プランの変更はお申し込みいただけません" in page
    assert 'name="plan"' not in page
    portal.post(reverse("portal:plan"), {"plan": plans["half"].pk, "message": ""})
    assert not PlanChangeRequest.objects.filter(client=cancelled_last_month).exists()
    with pytest.raises(ValidationError):
        services.request_plan_change(client=cancelled_last_month, plan=plans["half"])


def test_after_the_end_the_plan_page_names_the_plan_the_contract_ended_on(
    portal, cancelled_last_month
):
    """It was titled 「現在のプラン」 with no plan under it, as if one were in force."""
    page = portal.get(reverse("portal:plan")).content.decode()
    assert "現在のプラン" not in page
    assert "契約終了時のプラン" in page
    assert '<p class="big">スモール</p>' in page


def test_after_the_end_home_offers_no_change_of_plan_or_recipients(
    portal, cancelled_last_month
):
    """Its buttons still said 「プランの確認・変更」 and 「報告先の確認・変更」,
    leading to pages that take no change."""
    page = portal.get(reverse("portal:home")).content.decode()
    assert "の確認・変更" not in page
    assert f'href="{reverse("portal:plan")}">契約終了時のプラン</a>' in page
    assert f'href="{reverse("portal:recipients")}">契約終了時の報告先</a>' in page


def test_a_contract_ending_this_month_takes_no_plan_change_for_next_month(
    portal, portal_user, plans
):
    client = portal_user.client
    client.cancelled_on = month_end(japan_today())
    client.save()
    page = portal.get(reverse("portal:plan")).content.decode()
    assert "ご契約中" in page  # still in force this month
    assert "プランの変更はお申し込みいただけません" in page
    portal.post(reverse("portal:plan"), {"plan": plans["half"].pk, "message": ""})
    assert not PlanChangeRequest.objects.filter(client=client).exists()


def test_a_cancellation_before_the_month_a_client_asked_for_closes_the_request(
    portal, portal_user, plans
):
    """The request stayed open for a month the contract no longer reaches: the
    admin could not apply it, and the client waited for an answer."""
    client = portal_user.client
    portal.post(reverse("portal:plan"), {"plan": plans["half"].pk, "message": ""})
    asked = PlanChangeRequest.objects.get(client=client)
    last_day = month_end(japan_today())

    page = cancel_on_the_client_page(client, last_day)

    assert page.status_code == 200
    assert (
        f"お客様の {asked.effective_month:%Y年%-m月} からのプラン「ハーフ」への"
        f"お申し込みは、解約日（{ja_day(last_day)}）より後の月のため取り下げました"
    ) in page.content.decode()
    asked.refresh_from_db()
    assert asked.status == RequestStatus.REJECTED
    assert asked.processed_by is None  # nobody processed it: the contract ended
    detail = portal.get(reverse("portal:plan_request", args=[asked.pk]))
    assert "解約日より後の月のため取り下げました。" in detail.content.decode()


def test_a_cancellation_after_the_month_a_client_asked_for_keeps_the_request(
    portal, portal_user, plans
):
    client = portal_user.client
    portal.post(reverse("portal:plan"), {"plan": plans["half"].pk, "message": ""})
    asked = PlanChangeRequest.objects.get(client=client)

    page = cancel_on_the_client_page(client, month_end(asked.effective_month))

    assert "取り下げました" not in page.content.decode()
    asked.refresh_from_db()
    assert asked.status == RequestStatus.OPEN


def test_a_request_sent_as_a_cancellation_is_saved_is_refused_with_why(
    portal, portal_user, plans, monkeypatch
):
    """The page read the contract before an admin's cancellation was saved: the
    request was recorded for a month the contract does not reach."""
    client = portal_user.client
    last_day = month_end(japan_today())
    request_plan_change = services.request_plan_change

    def cancelled_meanwhile(**kwargs):
        Client.objects.filter(pk=client.pk).update(
            status=Client.Status.CANCELLED, cancelled_on=last_day
        )
        return request_plan_change(**kwargs)

    monkeypatch.setattr(services, "request_plan_change", cancelled_meanwhile)

    page = portal.post(
        reverse("portal:plan"), {"plan": plans["half"].pk, "message": ""}
    )

    assert page.status_code == 200  # the form again, with why
    day = last_day
    assert (
        f"ご契約は{day.year}年{day.month}月{day.day}日で終了するため、"
        "プランは変更できません。"
    ) in page.content.decode()
    assert not PlanChangeRequest.objects.filter(client=client).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_sent_while_an_admin_saves_a_cancellation_is_refused(
    portal_user, plans, monkeypatch
):
    """The portal read the contract before the admin's save committed, and
    recorded a request for a month the contract does not reach, after the
    admin's page had closed the open ones."""
    client = portal_user.client
    last_day = month_end(japan_today())
    asked = post_while_a_cancellation_is_saved(
        portal_user,
        monkeypatch,
        last_day=last_day,
        url=reverse("portal:plan"),
        data={"plan": plans["half"].pk, "message": ""},
    )
    assert asked.status_code == 200  # the form again, with why
    assert "プランは変更できません。" in asked.content.decode()
    assert not PlanChangeRequest.objects.filter(
        client=client, status=RequestStatus.OPEN
    ).exists()


def test_the_plan_table_shows_the_prices_of_the_month_a_change_applies_from(
    portal, plans
):
    """A change asked for today is billed from the 1st of next month: a price
    starting then was hidden behind today's, which the client would never pay."""
    effective = next_month(month_start(japan_today()))
    PlanPrice.objects.create(
        plan=plans["half"],
        valid_from=effective,
        monthly_fee_yen=6000,
        included_calls=45,
        per_call_yen=150,
    )

    body = portal.get(reverse("portal:plan")).content.decode()

    table = body[body.index("<caption>") : body.index("</table>")]
    assert f"{effective.year}年{effective.month}月分からの料金" in table
    half = table[table.index("ハーフ") : table.index("スタンダード")]
    assert "6,000円" in half
    assert "45件" in half
    assert "150円" in half
    assert "5,720円" not in half


def test_a_plan_with_no_price_in_the_change_month_is_not_offered(
    portal, portal_user, plans
):
    """The page shows the prices of the month a change applies from; a plan
    with none then (here a new plan whose prices start later) would be a
    request billing cannot price."""
    effective = next_month(month_start(japan_today()))
    PlanPrice.objects.filter(plan=plans["half"]).update(
        valid_from=next_month(effective)
    )
    url = reverse("portal:plan")

    body = portal.get(url).content.decode()
    asked = portal.post(url, {"plan": plans["half"].pk})

    offered = body[body.index("プラン変更のお申し込み") :]
    assert "スモール" in offered
    assert "ハーフ" not in offered
    assert asked.status_code == 200
    assert "このプランは今はお申し込みいただけません。" in asked.content.decode()
    assert not PlanChangeRequest.objects.filter(client=portal_user.client).exists()


def test_an_ended_contracts_plan_page_offers_no_prices_nor_advice(
    portal, cancelled_last_month
):
    """It listed next month's prices and advised which plan to choose for the
    year, to a client whose contract had ended, and said the contract ends
    (終了する) when it had."""
    page = portal.get(reverse("portal:plan")).content.decode()
    assert "分からの料金" not in page
    assert "プランの見直し" not in page
    assert "で終了するため" not in page
    assert "ご契約が終了したため、プランの変更はお申し込みいただけません。" in page


def test_a_contract_ending_this_month_is_shown_no_prices_for_a_month_it_does_not_reach(
    portal, portal_user
):
    client = portal_user.client
    client.cancelled_on = month_end(japan_today())
    client.save()
    page = portal.get(reverse("portal:plan")).content.decode()
    assert "ご契約中" in page
    assert "分からの料金" not in page
    assert "プランの見直し" not in page
    day = client.cancelled_on
    assert (
        f"ご契約は{day.year}年{day.month}月{day.day}日で終了するため、"
        "プランの変更はお申し込みいただけません。"
    ) in page
