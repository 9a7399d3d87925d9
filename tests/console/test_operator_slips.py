"""Slips found by walking the console as an operator: each one lost or hid what
the operator typed, or showed the wrong thing."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from answering.models import Call, readable_changes
from clients.months import JST
from tests.console.test_views import FORM, NEW
from tests.console.test_views import save_form as _save
from tests.factories import PASSWORD, CallFactory, ClientFactory, answered_at
from tests.html_forms import form_values


@pytest.mark.parametrize(
    ("typed", "yen"), [("３００", 300), ("1,000", 1000), ("300円", 300), (" 200 ", 200)]
)
def test_a_surcharge_is_read_as_operators_type_it(operator_client, acme, typed, yen):
    response = _save(
        operator_client, acme, surcharge_yen=typed, surcharge_reason="長時間"
    )
    assert response.status_code == 302
    assert Call.objects.get().surcharge_yen == yen


# "1.000" is a slip for "1,000": Django's IntegerField read it as 1 yen.
@pytest.mark.parametrize("typed", ["300-", "２００ー", "三百", "1.000", "１．０００"])
def test_an_unreadable_surcharge_is_refused_with_what_was_typed(
    operator_client, acme, typed
):
    """A number input sent these as blank: the call was saved at 0 yen."""
    response = _save(
        operator_client, acme, surcharge_yen=typed, surcharge_reason="長時間"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "金額は数字で入れてください（例: 300）。" in page
    assert f'value="{typed}"' in page
    assert not Call.objects.exists()


def test_a_surcharge_reason_without_an_amount_is_refused(operator_client, acme):
    response = _save(operator_client, acme, surcharge_yen="", surcharge_reason="長時間")
    assert "割増の理由が入っています。金額を入れるか、理由を消してください。" in (
        response.content.decode()
    )
    assert not Call.objects.exists()


def test_a_partly_typed_received_time_is_stopped_in_the_browser(operator_client, acme):
    """The browser sends a half-filled datetime-local as blank, read as "now";
    console.js stops the submit with this message, carried on the field."""
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    assert (
        'data-bad-input="受電日時は日付と時刻の両方を入れてください（空欄なら電話を受けた時刻）。"'
        in page
    )


@pytest.mark.parametrize(
    "typed", ["03-1234-5678 ext 12", "03-1234-5678#12", "03-1234-5678 内線12"]
)
def test_a_callback_number_with_an_extension_is_refused_not_cut(
    operator_client, acme, typed
):
    response = _save(operator_client, acme, callback_number=typed)
    page = response.content.decode()
    assert "内線番号は入れられません。" in page
    assert not Call.objects.exists()


def test_an_earlier_days_calls_are_listed_and_can_be_opened(operator_client, acme):
    """A call logged late for yesterday was reachable only by typing its URL."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    call = CallFactory(
        client=acme,
        caller_name="昨日の発信者",
        received_at=dt.datetime.combine(yesterday, dt.time(10, 5), tzinfo=JST),
    )
    today = operator_client.get(reverse("console:home")).content.decode()
    assert "昨日の発信者" not in today
    assert f'href="?day={yesterday:%Y-%m-%d}"' in today  # 前の日
    page = operator_client.get(
        reverse("console:home"), {"day": f"{yesterday:%Y-%m-%d}"}
    ).content.decode()
    assert "の受電" in page and "本日の受電" not in page
    assert "昨日の発信者" in page
    assert reverse("console:call_edit", args=[call.pk]) in page


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-02-30", "x"])
def test_a_day_out_of_range_shows_today_and_says_why(operator_client, acme, day):
    response = operator_client.get(reverse("console:home"), {"day": day})
    assert response.status_code == 200
    assert "本日の受電" in response.content.decode()


def test_a_day_is_read_as_typed_in_japan(operator_client, acme):
    CallFactory(
        client=acme,
        caller_name="十一月二日の発信者",
        received_at=dt.datetime(2026, 11, 2, 10, tzinfo=JST),
    )
    page = operator_client.get(reverse("console:home"), {"day": "2026年11月2日"})
    assert "十一月二日の発信者" in page.content.decode()
    page = operator_client.get(reverse("console:home"), {"day": "02/11/2026"})
    assert "十一月二日の発信者" not in page.content.decode()
    assert "年・月・日の順で入力してください" in page.content.decode()


def test_the_caller_history_links_each_call_to_its_correction(operator_client, acme):
    earlier = CallFactory(client=acme, caller_number="+819011112222")
    page = operator_client.get(
        f"{NEW}?client={acme.pk}&caller=090-1111-2222"
    ).content.decode()
    assert reverse("console:call_edit", args=[earlier.pk]) in page


def test_a_caller_is_kept_from_an_unknown_number_to_the_client_picked(
    operator_client, acme
):
    page = operator_client.get(
        f"{NEW}?dialed=0399990000&caller=090-1111-2222"
    ).content.decode()
    assert 'name="caller" value="+819011112222"' in page
    assert 'data-caller="+819011112222"' in page
    found = operator_client.get(
        reverse("console:search"), {"q": "アクメ", "caller": "+819011112222"}
    ).json()
    assert (
        found["results"][0]["url"] == f"{NEW}?client={acme.pk}&caller=%2B819011112222"
    )
    opened = operator_client.get(
        reverse("console:home"), {"q": "アクメ", "caller": "+819011112222"}
    )
    assert opened["Location"] == f"{NEW}?client={acme.pk}&caller=%2B819011112222"
    form = operator_client.get(opened["Location"]).content.decode()
    assert "090-1111-2222" in form


def test_the_saved_banner_shows_the_date_of_a_call_logged_for_another_day(
    operator_client, acme
):
    yesterday = answered_at(timezone.now() - dt.timedelta(days=1))
    response = _save(operator_client, acme, received_at=f"{yesterday:%Y-%m-%dT%H:%M}")
    page = operator_client.get(response["Location"]).content.decode()
    local = timezone.localtime(yesterday)
    assert f"/{local.day}（" in page and f"） {local:%H:%M}" in page


def test_english_screens_have_no_japanese_left_in_these_places(operator_client, acme):
    cancelled = ClientFactory(
        status="cancelled",
        contract_started_on=dt.date(2026, 1, 1),
        cancelled_on=dt.date(2026, 9, 30),
    )
    operator_client.cookies.load({"django_language": "en"})
    home = operator_client.get(reverse("console:home")).content.decode()
    assert 'placeholder="03-1234-5678 / company name / kana"' in home
    form = operator_client.get(f"{NEW}?client={cancelled.pk}").content.decode()
    assert "Cancelled (Sept. 30, 2026)" in form
    with translation.override("en"):
        assert readable_changes({"surcharge_yen": [0, 200]}) == {
            "Surcharge": ("¥0", "¥200")
        }


def test_the_client_knows_is_a_reason_for_a_number_only(operator_client, acme):
    """「番号はご存じとのこと」 was offered for a name and a purpose, and reported so."""
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()

    def options(name):
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
        return re.findall(r'<option value="([^"]*)"', select)

    assert "client_knows" in options("callback_number_missing_reason")
    assert "client_knows" not in options("caller_name_missing_reason")
    assert "client_knows" not in options("purpose_missing_reason")
    response = _save(
        operator_client,
        acme,
        caller_name="",
        caller_name_missing_reason="client_knows",
        purpose="見積り",
    )
    assert response.status_code == 200
    assert not Call.objects.exists()


def _log_in_again(browser, user):
    """Through the login page, as an operator does (force_login starts a new
    session)."""
    return browser.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}
    )


def test_a_call_sent_after_the_login_ended_comes_back_after_logging_in(
    client, operator, acme
):
    """The shift's login ran out while the call was typed: the save went to the
    login page, and after it to a blank form. The call was lost."""
    url = f"{NEW}?client={acme.pk}"
    client.force_login(operator)
    typed = {
        **form_values(client.get(url).content.decode(), "call-form"),
        **FORM,
        "is_angry": "on",
        "callback_number_missing_reason": "",
    }
    client.logout()  # the login ran out (or ended in another tab)
    response = client.post(url, typed)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Call.objects.exists()
    _log_in_again(client, operator)
    page = client.get(url).content.decode()
    assert "この受電はまだ保存されていません" in page
    shown = form_values(page, "call-form")
    for name in ("caller_name", "purpose", "submission_id", "started_at"):
        assert shown[name] == typed[name], name
    assert shown["is_angry"] == "on"
    assert not Call.objects.exists()  # shown back, saved by the operator
    assert client.post(url, shown).status_code == 302
    assert Call.objects.get().caller_name == FORM["caller_name"]
    # Shown once: the next blank form is blank.
    assert "まだ保存されていません" not in client.get(url).content.decode()


def test_a_correction_sent_after_the_login_ended_comes_back_on_its_version(
    client, operator, acme
):
    call = CallFactory(client=acme, purpose="見積り")
    url = reverse("console:call_edit", args=[call.pk])
    client.force_login(operator)
    typed = {
        **form_values(client.get(url).content.decode(), "call-form"),
        "purpose": "見積りと納期",
    }
    client.logout()
    client.post(url, typed)
    _log_in_again(client, operator)
    page = client.get(url).content.decode()
    shown = form_values(page, "call-form")
    assert "まだ保存されていません" in page
    assert (shown["purpose"], shown["seen_version"]) == (
        "見積りと納期",
        typed["seen_version"],
    )
    call.refresh_from_db()
    assert call.purpose == "見積り"


def test_a_blank_received_time_is_folded_behind_one_button(operator_client, acme):
    """Tab from メモ went through the time's six parts before 保存: a blank
    time (the usual case) has a 日時を変更 button that console.js shows instead
    of the field; a typed time, or one with an error, stays open."""
    button = 'id="received-at-change" aria-controls="id_received_at" hidden>日時を変更'
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    assert button in page
    refused = _save(operator_client, acme, received_at="2026/11/01").content.decode()
    assert "受電日時" in refused and button not in refused
    call = CallFactory(client=acme)
    edit = operator_client.get(reverse("console:call_edit", args=[call.pk]))
    assert button not in edit.content.decode()
