"""A client asks in the portal to end its contract (解約のお申し込み) at a
month end, after a summary of what happens; an admin sets the client's 解約日
through the client page's own rules, or closes the request with a reason."""

import datetime as dt
import re
import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.test import Client as Browser
from django.urls import reverse

from clients.models import Client, ClientPlan
from clients.months import japan_today, month_end, next_month
from clients.services import assign_number
from portal import services
from portal.models import (
    CANCELLATION_MONTHS_OFFERED,
    CancellationRequest,
    PlanChangeRequest,
    RequestStatus,
    SystemNote,
)
from tests.factories import (
    ClientFactory,
    ClientPlanFactory,
    ClientUserFactory,
    LentNumberFactory,
)
from tests.html_forms import form_values
from tests.portal.conftest import cancel_on_the_client_page
from tests.portal.factories import CancellationRequestFactory, PlanChangeRequestFactory

pytestmark = pytest.mark.django_db

URL = "portal:cancellation"


def _portal_browser(client: Client) -> Browser:
    """The client's own browser, apart from the admin's (admin_client)."""
    browser = Browser()
    browser.force_login(ClientUserFactory(client=client))
    return browser


def _this_month_end():
    return month_end(japan_today())


def _next_month_end():
    return month_end(next_month(japan_today()))


def _open(client) -> list[CancellationRequest]:
    return list(
        CancellationRequest.objects.filter(client=client, status=RequestStatus.OPEN)
    )


def _admin_action(admin_client, action: str, change_request):
    response = admin_client.post(
        reverse("admin:portal_cancellationrequest_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [change_request.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_asked_confirmed_and_set_by_an_admin_the_contract_ends_that_day(
    plans, admin_client
):
    client = ClientFactory(name="株式会社解約")
    ClientPlanFactory(client=client, plan=plans["small"])
    number = LentNumberFactory()
    assign_number(lent_number=number, client=client, use="forwarding")
    portal = _portal_browser(client)
    day = _next_month_end()

    page = portal.get(reverse(URL)).content.decode()
    # The month ends offered, this month's first; the month is billed in full.
    assert f'value="{_this_month_end().isoformat()}"' in page
    assert page.count('name="last_day"') == CANCELLATION_MONTHS_OFFERED
    assert "その月は1か月分の料金をご請求します" in page

    response = portal.post(
        reverse(URL), {"last_day": day.isoformat(), "reason": "cost", "message": ""}
    )
    confirm = response.content.decode()
    # A summary first; nothing is sent yet.
    assert _open(client) == []
    day_text = f"{day.year}年{day.month}月{day.day}日"
    assert f"{day_text}までは、これまでどおりお電話をお受けし" in confirm
    assert f"{day.year}年{day.month}月分が最終のご請求書です" in confirm
    assert "保証金は、お支払いいただいていない料金がなければ" in confirm
    assert number.display in confirm
    assert f"{day_text}の翌日からつながらなくなります" in confirm
    assert "料金の負担" in confirm

    response = portal.post(
        reverse(URL),
        {"last_day": day.isoformat(), "reason": "cost", "message": "", "confirm": "1"},
        follow=True,
    )
    assert "解約のお申し込みを受け付けました。" in response.content.decode()
    (change_request,) = _open(client)
    assert change_request.last_day == day
    assert change_request.reason == "cost"
    # The contract is not ended until an admin sets it.
    client.refresh_from_db()
    assert client.cancelled_on is None
    home = portal.get(reverse("portal:home")).content.decode()
    assert "受付中のお申し込み 1件" in home
    listed = portal.get(reverse("portal:requests")).content.decode()
    assert reverse("portal:cancellation_request", args=[change_request.pk]) in listed

    said = _admin_action(admin_client, "apply", change_request)

    assert (
        f"株式会社解約: 解約日を {day.year}年{day.month}月{day.day}日 にしました。"
        in said
    )
    client.refresh_from_db()
    assert client.cancelled_on == day
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE
    page = portal.get(reverse(URL)).content.decode()
    assert f"ご契約は{day_text}で終了します。" in page
    assert 'name="last_day"' not in page
    # What happens still reads there: the final invoice, the numbers.
    assert f"{day.year}年{day.month}月分が最終のご請求書です" in page
    assert f"{day_text}の翌日からつながらなくなります" in page
    detail = portal.get(
        reverse("portal:cancellation_request", args=[change_request.pk])
    ).content.decode()
    assert "対応済み" in detail


FULL_MONTH = "1か月分の料金をご請求します（月の途中で解約しても日割りにはなりません）"


def _summary_of(portal, day) -> str:
    """The confirmation page's summary of a cancellation on ``day``."""
    page = portal.post(
        reverse(URL), {"last_day": day.isoformat(), "reason": "", "message": ""}
    ).content.decode()
    return page[page.index('id="cancellation-summary"') :]


def test_a_contract_ending_in_the_month_it_began_is_told_that_month_is_pro_rata(
    plans,
):
    """Begun on the 11th and ended at that month's end: billed by days from
    the 11th, while the summary said the whole month, never by days."""
    start = japan_today().replace(day=1) + dt.timedelta(days=10)
    client = ClientFactory(trial_started_on=None, contract_started_on=start)
    ClientPlanFactory(
        client=client, plan=plans["small"], effective_month=start.replace(day=1)
    )
    portal = _portal_browser(client)
    day = _this_month_end()

    summary = _summary_of(portal, day)

    assert (
        f"{day.year}年{day.month}月分は、ご契約の始まった月のため、料金のかかる"
        f"{start.year}年{start.month}月{start.day}日から"
        f"{day.year}年{day.month}月{day.day}日までの日割りでご請求します"
        "（基本料金内の件数も日割りです）。"
    ) in summary
    assert FULL_MONTH not in summary

    # Asked for, and once the day is set, the summary says the same.
    services.request_cancellation(client=client, last_day=day)
    open_page = portal.get(reverse(URL)).content.decode()
    assert "までの日割りでご請求します" in open_page
    assert FULL_MONTH not in open_page
    services.apply_cancellation_request(change_request=_open(client)[0])
    set_page = portal.get(reverse(URL)).content.decode()
    assert "までの日割りでご請求します" in set_page
    assert FULL_MONTH not in set_page


FULL_MONTH_INTRO = "その月は1か月分の料金をご請求します。"


def _choice_labels(page: str) -> list[str]:
    """The texts of the offered month ends, as read beside their buttons."""
    return [
        re.sub(r"<[^>]+>|\s+", "", label)
        for label in re.findall(
            r'<label[^>]*>\s*<input[^>]*name="last_day".*?</label>', page, re.S
        )
    ]


def test_the_form_tells_a_contract_begun_this_month_that_it_is_billed_by_days(
    plans,
):
    """Begun on the 11th: the intro and this month end's choice said the
    month is billed in full, while it is billed by days from the 11th."""
    start = japan_today().replace(day=1) + dt.timedelta(days=10)
    client = ClientFactory(trial_started_on=None, contract_started_on=start)
    ClientPlanFactory(
        client=client, plan=plans["small"], effective_month=start.replace(day=1)
    )
    page = _portal_browser(client).get(reverse(URL)).content.decode()

    assert (
        f"その月は1か月分の料金をご請求します。ただし、ご契約の始まった"
        f"{start.year}年{start.month}月分は、料金のかかる"
        f"{start.year}年{start.month}月{start.day}日からの日割りでご請求します。"
    ) in page
    day, later = _this_month_end(), _next_month_end()
    labels = _choice_labels(page)
    assert labels[0] == (
        f"{day.year}年{day.month}月{day.day}日（{day.year}年{day.month}月分まで、"
        f"{start.month}月{start.day}日からの日割り）"
    )
    assert labels[1] == (
        f"{later.year}年{later.month}月{later.day}日（{later.year}年{later.month}月分まで）"
    )


def test_the_form_of_a_contract_begun_earlier_reads_the_whole_month(portal):
    page = portal.get(reverse(URL)).content.decode()

    assert FULL_MONTH_INTRO + "</p>" in page
    assert "日割り" not in page
    day = _this_month_end()
    assert _choice_labels(page)[0] == (
        f"{day.year}年{day.month}月{day.day}日（{day.year}年{day.month}月分まで）"
    )


@pytest.mark.parametrize("begun_this_month", [True, False])
def test_a_later_month_is_still_told_it_is_billed_in_full(plans, begun_this_month):
    start = (
        japan_today().replace(day=1) + dt.timedelta(days=10)
        if begun_this_month
        else dt.date(2025, 1, 11)
    )
    client = ClientFactory(trial_started_on=None, contract_started_on=start)
    ClientPlanFactory(
        client=client, plan=plans["small"], effective_month=start.replace(day=1)
    )
    portal = _portal_browser(client)

    for day in (_next_month_end(), *([] if begun_this_month else [_this_month_end()])):
        summary = _summary_of(portal, day)
        assert f"{day.year}年{day.month}月分は、{FULL_MONTH}" in summary
        assert "日割りでご請求します" not in summary


def test_going_back_from_the_summary_keeps_what_was_chosen(portal, portal_user):
    day = _next_month_end()
    page = portal.post(
        reverse(URL),
        {
            "last_day": day.isoformat(),
            "reason": "other",
            "message": "移転",
            "back": "1",
        },
    ).content.decode()
    checked = re.findall(
        r'<input type="radio" name="last_day" value="([^"]+)"[^>]*checked', page
    )
    assert checked == [day.isoformat()]
    assert "移転" in page
    assert _open(portal_user.client) == []


def test_a_day_not_offered_is_refused(portal, portal_user):
    not_a_month_end = _this_month_end().replace(day=15)
    page = portal.post(
        reverse(URL), {"last_day": not_a_month_end.isoformat(), "confirm": "1"}
    ).content.decode()
    assert "表示されている月末日からお選びください" in page
    assert _open(portal_user.client) == []
    with pytest.raises(ValidationError):
        services.request_cancellation(
            client=portal_user.client, last_day=not_a_month_end
        )


def test_one_open_request_per_client(portal, portal_user):
    client = portal_user.client
    first = services.request_cancellation(client=client, last_day=_this_month_end())
    assert first.created

    again = services.request_cancellation(client=client, last_day=_this_month_end())
    assert not again.created
    assert again.change_request == first.change_request
    with pytest.raises(ValidationError, match="すでに受付中です"):
        services.request_cancellation(client=client, last_day=_next_month_end())
    assert len(_open(client)) == 1
    # The page shows the open one and a withdrawal, not another form.
    page = portal.get(reverse(URL)).content.decode()
    assert 'name="last_day"' not in page
    assert 'name="withdraw"' in page
    # The database holds the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        CancellationRequestFactory(client=client, last_day=_next_month_end())


def test_the_client_withdraws_its_open_request(portal, portal_user):
    client = portal_user.client
    change_request = services.request_cancellation(
        client=client, last_day=_this_month_end()
    ).change_request

    response = portal.post(reverse(URL), {"withdraw": "1"}, follow=True)

    page = response.content.decode()
    assert "解約のお申し込みを取り消しました。" in page
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.REJECTED
    assert change_request.system_note == SystemNote.WITHDRAWN
    assert 'name="last_day"' in page  # may ask again
    client.refresh_from_db()
    assert client.cancelled_on is None


def test_marked_done_only_once_the_clients_day_is_the_one_asked(plans, admin_client):
    client = ClientFactory(name="株式会社確認")
    ClientPlanFactory(client=client, plan=plans["small"])
    day = _next_month_end()
    change_request = CancellationRequestFactory(client=client, last_day=day)

    said = _admin_action(admin_client, "mark_done", change_request)

    assert "顧客の解約日が、お申し込みの" in said
    assert "「解約日を設定する」で設定してから対応済みにしてください。" in said
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN

    # Another day set on the client's page: still refused.
    cancel_on_the_client_page(client, _this_month_end())
    with pytest.raises(ValidationError, match="なっていません"):
        services.close_request(change_request=change_request, status=RequestStatus.DONE)

    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN
    services.close_request(change_request=change_request, status=RequestStatus.REJECTED)

    # The day asked for: marked done (as the client's page marks it done
    # itself, tests/portal/test_cancellation_on_client_page.py).
    change_request = CancellationRequestFactory(client=client, last_day=day)
    Client.objects.filter(pk=client.pk).update(cancelled_on=day)
    said = _admin_action(admin_client, "mark_done", change_request)
    assert "「対応済み」にしました。" in said
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE


def test_setting_the_day_closes_what_the_client_page_closes(plans, admin_client):
    """The same path as the client page's save: a plan change registered for
    next month is dropped, and the portal's plan request for it closed."""
    client = ClientFactory(name="株式会社同じ道")
    ClientPlanFactory(client=client, plan=plans["small"])
    ClientPlanFactory(
        client=client, plan=plans["half"], effective_month=next_month(japan_today())
    )
    plan_request = PlanChangeRequestFactory(
        client=client,
        plan=plans["standard"],
        effective_month=next_month(japan_today()),
    )
    change_request = CancellationRequestFactory(
        client=client, last_day=_this_month_end()
    )

    said = _admin_action(admin_client, "apply", change_request)

    assert "契約の終了後のため、登録を取り消しました。" in said
    assert "より後の月のため取り下げました" in said
    assert not ClientPlan.objects.filter(
        client=client, effective_month=next_month(japan_today())
    ).exists()
    plan_request = PlanChangeRequest.objects.get(pk=plan_request.pk)
    assert plan_request.status == RequestStatus.REJECTED
    assert plan_request.system_note == SystemNote.AFTER_CONTRACT_END


def test_setting_the_day_runs_the_client_pages_checks(plans, admin_client):
    """A day the client page refuses is refused here too, and the request
    stays open: the contract now starts after the day asked for."""
    client = ClientFactory(name="株式会社開始後")
    ClientPlanFactory(client=client, plan=plans["small"])
    change_request = CancellationRequestFactory(
        client=client, last_day=_this_month_end()
    )
    Client.objects.filter(pk=client.pk).update(
        contract_started_on=next_month(japan_today())
    )

    said = _admin_action(admin_client, "apply", change_request)

    assert "解約日は契約開始日" in said
    client.refresh_from_db()
    assert client.cancelled_on is None
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN


def test_the_admin_closes_it_with_a_reason_the_client_reads(admin_client, portal_user):
    client = portal_user.client
    change_request = services.request_cancellation(
        client=client, last_day=_this_month_end()
    ).change_request
    url = reverse("admin:portal_cancellationrequest_change", args=[change_request.pk])
    page = admin_client.get(url).content.decode()
    assert "解約日を設定する（お申し込みの月末日で）" in page

    data = form_values(page, "cancellationrequest_form")
    data.update(admin_note="お電話で継続のご意向を確認しました。", _operation="reject")
    admin_client.post(url, data, follow=True)

    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.REJECTED
    detail = (
        _portal_browser(client)
        .get(reverse("portal:cancellation_request", args=[change_request.pk]))
        .content.decode()
    )
    assert "お電話で継続のご意向を確認しました。" in detail


def test_another_clients_request_is_not_found(portal):
    others = CancellationRequestFactory(client=ClientFactory())
    response = portal.get(reverse("portal:cancellation_request", args=[others.pk]))
    assert response.status_code == 404


def test_a_client_already_cancelled_sees_its_end_and_cannot_ask(portal, portal_user):
    client = portal_user.client
    Client.objects.filter(pk=client.pk).update(cancelled_on=_next_month_end())
    day = _next_month_end()

    page = portal.get(reverse(URL)).content.decode()

    assert f"ご契約は{day.year}年{day.month}月{day.day}日で終了します。" in page
    assert 'name="last_day"' not in page
    response = portal.post(
        reverse(URL), {"last_day": _this_month_end().isoformat(), "confirm": "1"}
    )
    assert response.status_code == 200
    assert _open(client) == []


def _set_end_summary(portal) -> str:
    """The page's summary of the end an admin has set."""
    page = portal.get(reverse(URL)).content.decode()
    summary = page[page.index('id="cancellation-summary"') :]
    return summary[: summary.index("</ul>")]


def test_a_contract_set_to_end_in_its_trial_is_told_nothing_is_billed(
    portal, portal_user
):
    """An admin ended a contract in its free trial: the page read that the
    month was billed in full, on a final invoice that was never to come."""
    client = portal_user.client
    last_day = _this_month_end()
    began = last_day - dt.timedelta(days=2)  # the trial runs into next month
    Client.objects.filter(pk=client.pk).update(
        trial_started_on=began, contract_started_on=began, cancelled_on=last_day
    )

    summary = _set_end_summary(portal)

    assert "無料お試し期間中に終わるため、料金はかかりません。" in summary
    assert "ご請求書も発行しません。" in summary
    for wrong in ("1か月分", "日割り", "最終のご請求書", "保証金"):
        assert wrong not in summary
    # A contract billed in its last month still reads what it is billed.
    Client.objects.filter(pk=client.pk).update(
        trial_started_on=None, contract_started_on=last_day - dt.timedelta(days=40)
    )
    summary = _set_end_summary(portal)
    assert "1か月分の料金をご請求します" in summary
    assert "料金はかかりません" not in summary


def test_a_client_in_its_trial_is_told_nothing_is_billed(portal, portal_user):
    client = portal_user.client
    today = japan_today()
    Client.objects.filter(pk=client.pk).update(
        status=Client.Status.TRIAL, trial_started_on=today, contract_started_on=None
    )

    page = portal.get(reverse(URL)).content.decode()

    assert "無料お試し期間中" in page
    assert "解約のお申し込みはいりません" in page
    assert 'name="last_day"' not in page
    client.refresh_from_db()
    with pytest.raises(ValidationError):
        services.request_cancellation(client=client, last_day=_this_month_end())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_request_sent_twice_at_once_is_recorded_once(portal_user):
    """A double click: the second waits for the first under the client's lock,
    then finds it; neither hits the constraint."""
    client = portal_user.client
    errors = []
    results = []

    def send(barrier):
        try:
            barrier.wait(timeout=10)
            results.append(
                services.request_cancellation(client=client, last_day=_this_month_end())
            )
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=send, args=[barrier]) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(result.created for result in results) == [False, True]
    assert len(_open(client)) == 1


def test_withdrawn_while_the_admin_looks_the_day_is_not_set(admin_client, portal_user):
    """The client took its request back after the admin opened its page: the
    button is refused, and the contract goes on."""
    client = portal_user.client
    change_request = services.request_cancellation(
        client=client, last_day=_this_month_end()
    ).change_request
    url = reverse("admin:portal_cancellationrequest_change", args=[change_request.pk])
    data = form_values(
        admin_client.get(url).content.decode(), "cancellationrequest_form"
    )
    services.withdraw_cancellation(client=client)
    data.update(_operation="apply")

    response = admin_client.post(url, data)

    assert "このお申し込みはすでに処理済みです。" in response.content.decode()
    client.refresh_from_db()
    assert client.cancelled_on is None
    change_request.refresh_from_db()
    assert change_request.system_note == SystemNote.WITHDRAWN
