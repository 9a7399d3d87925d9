"""A silent call (無言): logged in one step, reported once as 無言電話.

It needed three "why not obtained" reasons, none of them true, and the client
then read 「伺えませんでした（お伺いする前に切られた）」 three times."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from answering.models import Call, Category, MissingReason
from reporting.report_text import chatwork_body, email_body, subject
from tests.factories import CallFactory, ClientUserFactory, NumberAssignmentFactory

NEW = reverse("console:call_new")
SILENT_REASON = "無言（お声がありませんでした）"
SILENT_TEXT = "無言電話（お声がありませんでした）"
CALLER = "+819011112222"

pytestmark = pytest.mark.django_db


@pytest.fixture
def screen_pop(operator_client):
    """The call form opened by a ring on 03-5555-0001 from 090-1111-2222."""
    assignment = NumberAssignmentFactory(number__number="+81355550001")
    page = operator_client.get(NEW, {"dialed": "0355550001", "caller": "09011112222"})
    return assignment.client, page.content.decode()


def _send(operator_client, client, **fields):
    data = {
        "category": "nuisance",
        "caller_name": "",
        "caller_company": "",
        # What the screen pop put there: the caller's number.
        "callback_number": "090-1111-2222",
        "purpose": "",
        "caller_number": CALLER,
        "dialed_number": "+81355550001",
        **fields,
    }
    return operator_client.post(f"{NEW}?client={client.pk}", data)


def test_the_silent_tick_is_offered_with_its_key(operator_client, screen_pop):
    _client, page = screen_pop
    assert 'name="is_silent"' in page
    assert f"<kbd>5</kbd> {SILENT_REASON}" in page
    assert "数字キー 1〜5" in page  # the category legend counts it


def test_one_tick_saves_a_silent_nuisance_call(operator_client, screen_pop):
    client, _page = screen_pop
    response = _send(operator_client, client, is_silent="on")
    assert response.status_code == 302, response.content.decode()[:3000]
    call = Call.objects.get()
    assert call.category == Category.NUISANCE
    assert call.is_silent
    assert (call.caller_name, call.callback_number, call.purpose) == ("", "", "")
    assert (
        call.caller_name_missing_reason,
        call.callback_number_missing_reason,
        call.purpose_missing_reason,
    ) == (MissingReason.SILENT,) * 3
    # The number the phone system showed stays: it counts the repeats.
    assert call.caller_number == CALLER


def test_without_the_tick_a_nuisance_call_still_needs_the_three_answers(
    operator_client, screen_pop
):
    client, _page = screen_pop
    page = _send(operator_client, client).content.decode()
    assert "お名前を入力するか、伺えなかった理由を選んでください。" in page
    assert not Call.objects.exists()


@pytest.mark.parametrize("category", ["normal", "grey", "sales"])
def test_the_silent_tick_is_refused_for_another_category(
    operator_client, screen_pop, category
):
    client, _page = screen_pop
    response = _send(
        operator_client, client, category=category, is_silent="on", purpose="見積り"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "「無言」は分類が「いたずら・嫌がらせ・無言」のときだけ選べます。" in page
    assert 'id="id_is_silent-errors"' in page
    # What was typed stays.
    assert "見積り</textarea>" in page
    assert not Call.objects.exists()


def test_silent_is_not_a_reason_chosen_item_by_item(operator_client, screen_pop):
    client, page = screen_pop
    assert 'option value="silent"' not in page
    response = _send(
        operator_client,
        client,
        caller_name_missing_reason="silent",
        callback_number="",
        callback_number_missing_reason="silent",
        purpose_missing_reason="silent",
    )
    assert response.status_code == 200
    assert not Call.objects.exists()


def test_a_correction_of_a_silent_call_shows_the_tick_ticked(operator_client):
    call = CallFactory(
        category=Category.NUISANCE,
        caller_name="",
        caller_name_missing_reason=MissingReason.SILENT,
        callback_number="",
        callback_number_missing_reason=MissingReason.SILENT,
        purpose="",
        purpose_missing_reason=MissingReason.SILENT,
    )
    url = reverse("console:call_edit", args=[call.pk])
    page = operator_client.get(url).content.decode()
    assert 'id="id_is_silent" data-key="5" checked' in page
    assert "is-nuisance is-silent" in page


def _silent_call(**kwargs):
    return CallFactory(
        **{
            "received_at": timezone.make_aware(dt.datetime(2026, 10, 5, 10, 30)),
            **kwargs,
        },
        category=Category.NUISANCE,
        caller_number=CALLER,
        caller_name="",
        caller_name_missing_reason=MissingReason.SILENT,
        caller_company="",
        callback_number="",
        callback_number_missing_reason=MissingReason.SILENT,
        purpose="",
        purpose_missing_reason=MissingReason.SILENT,
    )


def test_the_report_says_silent_call_once_and_keeps_the_repeat_count():
    call = _silent_call()
    pc = email_body(call, nuisance_ordinal=3)
    mobile = email_body(call, mobile=True, nuisance_ordinal=3)
    # Its title is the e-mail's subject (checked below).
    chatwork = chatwork_body(call, nuisance_ordinal=3).split("[/title]")[1]
    repeat = "この番号からのいたずら・嫌がらせ・無言は 3 件目です"
    for body in (pc, mobile, chatwork):
        assert body.count("無言電話") == 1, body
        assert SILENT_REASON not in body
        assert "伺えなかった" not in body
        assert "お名前不明" not in body
        assert "090-1111-2222" in body
        assert repeat in body
    assert f"■お電話: {SILENT_TEXT}" in pc
    assert f"お電話: {SILENT_TEXT}" in chatwork
    assert SILENT_TEXT in mobile
    assert subject(call) == f"【要注意】無言電話 10/5 10:30［{call.client.name}］"


def test_a_note_on_a_silent_call_still_reaches_the_report():
    call = _silent_call(missing_note="受話器の向こうで物音")
    for body in (email_body(call), email_body(call, mobile=True), chatwork_body(call)):
        assert "補足: 受話器の向こうで物音" in body


def test_the_portal_detail_says_silent_call_once(client):
    call = _silent_call()
    client.force_login(ClientUserFactory(client=call.client))
    page = client.get(reverse("portal:call", args=[call.pk])).content.decode()
    assert page.count(SILENT_TEXT) == 1
    assert "伺えませんでした" not in page
    assert SILENT_REASON not in page
    assert "090-1111-2222" in page


def test_the_call_itself_refuses_silent_outside_the_nuisance_category():
    """The admin saves through the model's rules, not the console form."""
    call = _silent_call()
    call.category = Category.NORMAL
    with pytest.raises(ValidationError) as raised:
        call.clean()
    assert "「無言」は分類が" in raised.value.message_dict["category"][0]


def _queries(browser, url, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = browser.get(url, params)
    assert response.status_code == 200
    return response, len(ctx.captured_queries)


def test_the_console_lists_say_silent_not_a_dash(operator_client):
    """The day's list and the caller's earlier calls showed 「—」 for a silent
    call, as for a call whose purpose was merely left blank."""
    now = timezone.now()
    silent = _silent_call(received_at=now - dt.timedelta(minutes=5))
    client = silent.client
    home = reverse("console:home")
    page, before = _queries(operator_client, home)
    assert "<td>無言</td>" in page.content.decode()
    # The screen pop from the same number, and the number typed as a callback.
    form = f"{NEW}?client={client.pk}&caller=09011112222"
    pop, pop_before = _queries(operator_client, form)
    history = pop.content.decode().split("caller-history")[1].split("</section>")[0]
    assert "<td>無言</td>" in history
    typed = operator_client.get(
        reverse("console:phone"), {"number": "09011112222", "client": client.pk}
    ).json()
    assert [c["purpose"] for c in typed["calls"]] == ["無言"]
    # A call with a purpose still shows it.
    CallFactory(client=client, caller_number=CALLER, purpose="見積りの件")
    assert "<td>見積りの件</td>" in operator_client.get(home).content.decode()
    # Read with the list's one query: more silent calls, no more queries.
    for minutes in range(3):
        _silent_call(client=client, received_at=now - dt.timedelta(minutes=minutes))
    assert _queries(operator_client, home)[1] == before
    assert _queries(operator_client, form)[1] == pop_before
