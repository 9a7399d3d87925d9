import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from answering import selectors
from answering.models import (
    REQUIRED_OR_REASON,
    Call,
    CallRevision,
    Category,
    MissingReason,
)
from clients.models import NOTICE_MAX_OPEN, LentNumber, NumberAssignment
from clients.months import JST, japan_today
from tests.dates import ja_day
from tests.factories import (
    CallFactory,
    ClientFactory,
    ClientPersonFactory,
    ClientUserFactory,
    LentNumberFactory,
    NumberAssignmentFactory,
    OperatorFactory,
    OperatorNoticeFactory,
    ReportRecipientFactory,
    answered_at,
)
from tests.html_a11y import headings, table_headers
from tests.html_forms import form_values

NEW = reverse("console:call_new")

FORM = {
    "category": "normal",
    "caller_name": "山田",
    "caller_company": "山田商事",
    "callback_number": "0312345678",
    "purpose": "見積りの件",
    "addressee": "佐藤",
    "surcharge_yen": "",
    "received_at": "",
}


def form_action(page):
    """Where the page's call form is sent: the address shown after an error."""
    tag = re.search(r'<form [^>]*id="call-form"[^>]*>', page).group(0)
    return html.unescape(re.search(r'action="([^"]*)"', tag).group(1))


def save_form(browser, client, **fields):
    """The console's call form for ``client``, sent with ``FORM`` and ``fields``."""
    return browser.post(f"{NEW}?client={client.pk}", {**FORM, **fields})


@pytest.fixture
def acme(db):
    client = ClientFactory(
        name="アクメ株式会社",
        name_kana="アクメ",
        announce_name="アクメ株式会社でございます",
        operator_notes="社長は佐藤。土日の問い合わせは月曜折り返し。",
        own_number="+81298765432",
    )
    NumberAssignmentFactory(client=client, number__number="+81355550001")
    ClientPersonFactory(client=client, name="佐藤一郎", title="代表")
    return client


# --- permissions -------------------------------------------------------------


def _urls(call):
    return [
        reverse("console:home"),
        reverse("console:search") + "?q=a",
        reverse("console:phone") + "?number=0312345678",
        f"{NEW}?client={call.client_id}",
        reverse("console:call_edit", args=[call.pk]),
    ]


@pytest.mark.django_db
def test_anonymous_users_go_to_the_login_page(client):
    for url in _urls(CallFactory()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_client_users_are_refused(client):
    call = CallFactory()
    client.force_login(ClientUserFactory(client=call.client))
    for url in _urls(call):
        assert client.get(url).status_code == 403
    assert client.post(f"{NEW}?client={call.client_id}", FORM).status_code == 403
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_operators_and_admins_may_use_the_console(operator_client, admin_client):
    call = CallFactory()
    for url in _urls(call):
        assert operator_client.get(url).status_code == 200
        assert admin_client.get(url).status_code == 200


# --- home: search and today's calls -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "03-5555-0001",
        "0355550001",
        "+81355550001",
        "029-876-5432",
        "アクメ",
        "アクメ株式",
    ],
)
def test_search_finds_the_client_by_number_name_or_kana(operator_client, acme, text):
    ClientFactory(name="別会社", name_kana="ベツ")
    data = operator_client.get(reverse("console:search"), {"q": text}).json()
    assert [r["id"] for r in data["results"]] == [acme.pk]
    assert data["results"][0]["url"] == f"{NEW}?client={acme.pk}"
    assert data["results"][0]["numbers"] == ["03-5555-0001"]
    # Without JavaScript (or with Enter pressed before the list appeared) the
    # same search is a plain form, and its one match opens at once.
    page = operator_client.get(reverse("console:home"), {"q": text})
    assert (page.status_code, page["Location"]) == (302, f"{NEW}?client={acme.pk}")


@pytest.mark.parametrize(
    "typed", ["03-5555", "０３５５５５", "+81355", "0001", "5550001"]
)
def test_search_finds_a_number_as_it_is_typed(operator_client, acme, typed):
    """Only a whole number found its client: the list stayed empty while the
    operator typed it."""
    ClientFactory(name="別会社", name_kana="ベツ", own_number="+81312340001")
    data = operator_client.get(reverse("console:search"), {"q": typed}).json()
    assert acme.pk in [r["id"] for r in data["results"]]


def test_search_by_part_of_a_number_finds_a_clients_own_number(operator_client, acme):
    other = ClientFactory(name="別会社", name_kana="ベツ", own_number="+81312340001")
    data = operator_client.get(reverse("console:search"), {"q": "03-1234"}).json()
    assert [r["id"] for r in data["results"]] == [other.pk]
    # A number given back does not find its former client.
    NumberAssignmentFactory(
        # A kana of its own: the factory's numbered kana (…1233) would match
        # the three digits below once enough clients were made before.
        client=ClientFactory(name="返却済み", name_kana="ヘンキャクズミ"),
        number__number="+81399990001",
        assigned_on=dt.date(2025, 1, 11),
        released_on=dt.date(2025, 6, 30),
    )
    search = reverse("console:search")
    assert not operator_client.get(search, {"q": "03-9999"}).json()["results"]
    # Three digits are too few to look up.
    assert not operator_client.get(search, {"q": "123"}).json()["results"]


@pytest.mark.parametrize("typed", ["トウキョウ", "とうきょう", "ﾄｳｷｮｳ", "ｼｮｳｼﾞ"])
def test_search_by_kana_as_a_japanese_keyboard_types_it(operator_client, db, typed):
    tokyo = ClientFactory(name="東京商事株式会社", name_kana="トウキョウショウジ")
    ClientFactory(name="大阪物産", name_kana="オオサカブッサン")
    data = operator_client.get(reverse("console:search"), {"q": typed}).json()
    assert [r["id"] for r in data["results"]] == [tokyo.pk]


@pytest.mark.parametrize(
    ("name", "name_kana", "typed"),
    [
        # Kana registered in half-width kana mode.
        ("佐藤物産", "ｻﾄｳﾌﾞｯｻﾝ", "サトウ"),
        ("佐藤物産", "ｻﾄｳﾌﾞｯｻﾝ", "さとうぶっさん"),
        ("佐藤物産", "ｻﾄｳﾌﾞｯｻﾝ", "ｻﾄｳ"),
        # A name written in katakana, in the other width.
        ("ｶﾜｸﾞﾁ商店", "", "カワグチ"),
        ("ｶﾜｸﾞﾁ商店", "", "かわぐち"),
        ("カワグチ商店", "", "ｶﾜｸﾞﾁ"),
    ],
)
def test_katakana_is_found_in_either_width(operator_client, db, name, name_kana, typed):
    """ｻﾄｳ stored was not found by サトウ typed: there was no half-width form."""
    wanted = ClientFactory(name=name, name_kana=name_kana, announce_name="")
    ClientFactory(name="大阪物産", name_kana="オオサカブッサン")
    data = operator_client.get(reverse("console:search"), {"q": typed}).json()
    assert [r["id"] for r in data["results"]] == [wanted.pk]


def test_a_cancelled_client_is_listed_after_the_others(operator_client, db):
    """Listed first, it was the one Enter opened."""
    old = ClientFactory(
        name="株式会社あおぞら",
        name_kana="アオゾラ",
        status="cancelled",
        cancelled_on=dt.date(2025, 12, 31),
    )
    current = ClientFactory(name="株式会社みどり", name_kana="ミドリ")
    data = operator_client.get(reverse("console:search"), {"q": "株式会社"}).json()
    assert [r["id"] for r in data["results"]] == [current.pk, old.pk]


def test_bad_search_and_filter_input_is_ignored_not_an_error(operator_client, acme):
    CallFactory(client=acme, caller_name="今日の山田", received_at=timezone.now())
    search = operator_client.get(reverse("console:search"), {"q": "a\x00"})
    assert search.status_code == 200 and search.json()["results"] == []
    for bad in ("99999999999999999999999", "abc", "-1"):
        page = operator_client.get(reverse("console:home"), {"client": bad})
        assert page.status_code == 200
        assert "今日の山田" in page.content.decode()


def test_home_lists_todays_calls_of_all_clients_with_filters(operator_client, acme):
    other = ClientFactory(name="ベータ商会")
    now = timezone.now()
    CallFactory(client=acme, caller_name="今日の山田", received_at=now)
    CallFactory(
        client=other,
        caller_name="今日の無言",
        category=Category.NUISANCE,
        received_at=now,
    )
    CallFactory(
        client=acme, caller_name="昨日の人", received_at=now - dt.timedelta(days=2)
    )
    home = reverse("console:home")
    page = operator_client.get(home).content.decode()
    assert "今日の山田" in page and "今日の無言" in page and "昨日の人" not in page
    assert page.count('class="row-nuisance"') == 1  # harassment stands out
    page = operator_client.get(home, {"client": acme.pk}).content.decode()
    assert "今日の山田" in page and "今日の無言" not in page
    page = operator_client.get(home, {"category": "nuisance"}).content.decode()
    assert "今日の山田" not in page and "今日の無言" in page
    # Nonsense filters never break the page.
    assert (
        operator_client.get(home, {"client": "x", "category": "?"}).status_code == 200
    )


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"client": "abc"}, "顧客: その顧客は見つかりません。"),
        ({"client": "99999999999999999999"}, "顧客: その顧客は見つかりません。"),
        ({"category": "xxx"}, "分類: "),
    ],
)
def test_one_bad_filter_is_named_and_the_others_still_apply(
    operator_client, acme, bad, named
):
    """One bad value dropped every filter without a word: today's list of every
    client came up instead of the day asked for."""
    day = japan_today() - dt.timedelta(days=3)
    CallFactory(
        client=acme,
        caller_name="三日前の人",
        received_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10))),
    )
    CallFactory(client=acme, caller_name="今日の人", received_at=timezone.now())
    page = operator_client.get(
        reverse("console:home"), {"day": f"{day:%Y-%m-%d}", **bad}
    ).content.decode()
    assert "三日前の人" in page and "今日の人" not in page
    assert f'<p class="msg-warning" role="alert">{named}' in page


def test_a_day_after_today_links_back_to_today(operator_client, acme):
    home = reverse("console:home")
    later = japan_today() + dt.timedelta(days=30)
    page = operator_client.get(home, {"day": f"{later:%Y-%m-%d}"}).content.decode()
    assert f'<a href="{home}">本日</a>' in page


def test_an_empty_filtered_list_says_nothing_matches(operator_client, acme):
    """ "本日の受電はまだありません" above a filter read as a quiet day."""
    CallFactory(client=acme, received_at=timezone.now())
    home = reverse("console:home")
    page = operator_client.get(home, {"category": "nuisance"}).content.decode()
    assert "絞り込みに合う受電はありません。" in page
    assert "本日の受電はまだありません。" not in page


def test_moving_to_another_day_keeps_the_client_and_category(operator_client, acme):
    """The ← 前の日 / 次の日 → links dropped the filters: back to every client."""
    home = reverse("console:home")
    today = japan_today()
    page = operator_client.get(
        home, {"client": acme.pk, "category": "nuisance"}
    ).content.decode()
    previous = re.search(r'<p class="day-nav"><a href="\?([^"]+)"', page).group(1)
    assert previous == (
        f"day={today - dt.timedelta(days=1):%Y-%m-%d}&amp;client={acme.pk}"
        "&amp;category=nuisance"
    )
    # On a day without its calls, the client filtered on stays selected.
    page = operator_client.get(
        home, {"day": "2026-01-05", "client": acme.pk}
    ).content.decode()
    assert f'<option value="{acme.pk}" selected>アクメ株式会社</option>' in page
    assert f'href="{home}?client={acme.pk}"' in page  # 本日, still filtered


def test_the_edit_page_leads_back_to_the_list_it_was_opened_from(operator_client, acme):
    """オペレーター画面へ戻る went to today's list of every client: the operator
    correcting calls of one client on an earlier day lost her place each time."""
    home = reverse("console:home")
    day = japan_today() - dt.timedelta(days=3)
    call = CallFactory(
        client=acme,
        caller_name="三日前の人",
        received_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10))),
    )
    page = operator_client.get(
        home, {"day": f"{day:%Y-%m-%d}", "client": acme.pk, "category": "normal"}
    ).content.decode()
    edit_url = re.search(rf'href="([^"]*/calls/{call.pk}/[^"]*)"', page).group(1)
    edit_url = edit_url.replace("&amp;", "&")
    back = f"{home}?day={day:%Y-%m-%d}&amp;client={acme.pk}&amp;category=normal"
    assert f'<a href="{back}">オペレーター画面へ戻る</a>' in (
        operator_client.get(edit_url).content.decode()
    )
    # Still there after the correction is saved.
    data = form_values(operator_client.get(edit_url).content.decode(), "call-form")
    response = operator_client.post(edit_url, {**data, "purpose": "訂正した用件"})
    assert response.status_code == 302
    page = operator_client.get(response.url).content.decode()
    assert "訂正を保存しました" in page
    assert f'<a href="{back}">オペレーター画面へ戻る</a>' in page
    # Today's list leads back to today's list; a made-up way back to anywhere
    # but the list is not followed.
    plain = reverse("console:call_edit", args=[call.pk])
    page = operator_client.get(plain, {"back": "//evil.example/x"}).content.decode()
    assert f'<a href="{home}">オペレーター画面へ戻る</a>' in page
    page = operator_client.get(
        plain, {"back": "day=2026-01-05&next=https://evil.example/"}
    ).content.decode()
    assert f'<a href="{home}?day=2026-01-05">オペレーター画面へ戻る</a>' in page


# --- screen pop --------------------------------------------------------------


def test_screen_pop_opens_the_form_of_the_client_holding_the_number(
    operator_client, acme
):
    response = operator_client.get(
        NEW, {"dialed": "03-5555-0001", "caller": "09012345678"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "アクメ株式会社でございます" in page
    assert "社長は佐藤" in page
    assert "佐藤一郎" in page
    assert "携帯番号は絶対にお伝えしない" in page
    # The caller's number is prefilled, hyphenated for reading back.
    assert 'value="090-1234-5678"' in page

    # Another client picked in the side search box keeps the caller.
    assert 'data-caller="+819012345678"' in page
    assert 'name="caller" value="+819012345678"' in page


@pytest.mark.parametrize(
    "params", [{"caller": "09012345678"}, {"dialed": "", "caller": "09012345678"}]
)
def test_a_screen_pop_without_the_dialed_number_keeps_the_caller(
    operator_client, acme, params
):
    """A PBX that passes no dialed number: the operator searches for the client,
    and the caller's number went missing on the way."""
    response = operator_client.get(NEW, params, follow=True)
    assert (
        response.redirect_chain[-1][0]
        == f"{reverse('console:home')}?caller=%2B819012345678"
    )
    page = response.content.decode()
    assert 'data-caller="+819012345678"' in page
    assert 'name="caller" value="+819012345678"' in page


def test_screen_pop_by_the_clients_own_forwarded_number(operator_client, acme):
    ClientFactory(announce_name="別の会社でございます")
    page = operator_client.get(
        NEW, {"dialed": "029-876-5432", "caller": "09012345678"}
    ).content.decode()
    assert "アクメ株式会社でございます" in page
    assert "別の会社でございます" not in page
    assert 'value="090-1234-5678"' in page
    assert form_values(page, "call-form")["dialed_number"] == "+81298765432"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setup", "dialed", "expected"),
    [
        (None, "abc", "読み取れません"),
        (None, "0399998888", "登録されていません"),
        ("unassigned", "0355559999", "どの顧客にも貸し出されていません"),
        ("quarantined", "0355559999", "休止期間中"),
        ("shared own number", "0355559999", "複数の顧客の転送元"),
    ],
)
def test_screen_pop_warns_instead_of_showing_a_wrong_client(
    operator_client, setup, dialed, expected
):
    if setup == "unassigned":
        LentNumberFactory(number="+81355559999")
    elif setup == "quarantined":
        NumberAssignmentFactory(
            number__number="+81355559999",
            client__announce_name="旧顧客でございます",
            released_on=timezone.localdate() - dt.timedelta(days=3),
        )
    elif setup == "shared own number":
        ClientFactory.create_batch(
            2, own_number="+81355559999", announce_name="転送元でございます"
        )
    response = operator_client.get(NEW, {"dialed": dialed, "caller": "09012345678"})
    page = response.content.decode()
    assert expected in page
    assert "でございます" not in page
    assert 'id="call-form"' not in page
    assert 'id="console-search"' in page


def test_a_resting_number_says_from_when_it_can_be_lent(operator_client, settings):
    released = timezone.localdate() - dt.timedelta(days=3)
    NumberAssignmentFactory(number__number="+81355559999", released_on=released)
    page = operator_client.get(NEW, {"dialed": "0355559999"}).content.decode()
    lendable = released + dt.timedelta(days=settings.NUMBER_QUARANTINE_DAYS + 1)
    assert f"休止中（{ja_day(lendable)} から貸出可）" in page


def test_trial_and_cancelled_clients_are_flagged(operator_client, db):
    trial = ClientFactory(status="trial")
    cancelled = ClientFactory(status="cancelled", cancelled_on=dt.date(2026, 1, 31))
    assert (
        "無料お試し中"
        in operator_client.get(NEW, {"client": trial.pk}).content.decode()
    )
    assert (
        "解約済み（2026年1月31日）"
        in operator_client.get(NEW, {"client": cancelled.pk}).content.decode()
    )
    # Cancelled at a month end still to come: a client till then, not "cancelled".
    month_end = japan_today().replace(day=28) + dt.timedelta(days=4)
    month_end -= dt.timedelta(days=month_end.day)
    leaving = ClientFactory(status="cancelled", cancelled_on=month_end)
    page = operator_client.get(NEW, {"client": leaving.pk}).content.decode()
    assert f"解約予定（{ja_day(month_end)} まで契約中）" in page
    assert "解約済み" not in page


def test_unknown_client_ids_are_a_404_not_a_500(operator_client, db):
    assert operator_client.get(NEW, {"client": "999999"}).status_code == 404
    assert operator_client.get(NEW, {"client": "abc"}).status_code == 404


def test_repeat_callers_show_their_last_calls_with_nuisance_highlighted(
    operator_client, acme
):
    CallFactory(
        client=acme,
        caller_number="+819012345678",
        purpose="先月の請求の件",
        received_at=timezone.now() - dt.timedelta(days=3),
    )
    nuisance = CallFactory(
        client=acme,
        caller_number="+819012345678",
        category=Category.NUISANCE,
        purpose="無言",
        received_at=timezone.now() - dt.timedelta(days=1),
    )
    page = operator_client.get(
        NEW, {"dialed": "0355550001", "caller": "090-1234-5678"}
    ).content.decode()
    assert "先月の請求の件" in page
    # Each earlier call opens for correction from its row.
    edit = reverse("console:call_edit", args=[nuisance.pk])
    assert f'<a href="{edit}" title="開いて訂正する">' in page
    assert 'class="row-nuisance"' in page
    assert "いたずら・嫌がらせ電話が 1 件" in page
    first_time = operator_client.get(
        NEW, {"dialed": "0355550001", "caller": "08011112222"}
    ).content.decode()
    assert "初めて" in first_time and "先月の請求の件" not in first_time


def test_a_typed_number_is_read_back_hyphenated_with_its_history(operator_client, acme):
    CallFactory(
        client=acme,
        caller_number="+819012345678",
        category=Category.NUISANCE,
        purpose="無言電話",
    )
    url = reverse("console:phone")
    data = operator_client.get(url, {"number": "09012345678", "client": acme.pk}).json()
    assert data["ok"] and data["display"] == "090-1234-5678"
    assert [(c["purpose"], c["nuisance"]) for c in data["calls"]] == [
        ("無言電話", True)
    ]
    assert data["nuisance_count"] == 1
    bad = operator_client.get(url, {"number": "03-1234"}).json()
    assert not bad["ok"] and "電話番号" in bad["error"]


def test_a_corrections_number_check_does_not_list_the_call_being_corrected(
    operator_client, acme
):
    """On a correction's page the callback number's check listed the call being
    corrected among "earlier calls from this number", and counted it as an
    earlier nuisance call: a first-time caller read as a repeat offender."""
    earlier = CallFactory(client=acme, caller_number="+819012345678", purpose="見積り")
    corrected = CallFactory(
        client=acme,
        caller_number="+819012345678",
        category=Category.NUISANCE,
        purpose="怒鳴られた",
    )
    page = operator_client.get(
        reverse("console:call_edit", args=[corrected.pk])
    ).content.decode()
    assert f'data-call="{corrected.pk}"' in page  # what console.js sends as call=
    data = operator_client.get(
        reverse("console:phone"),
        {"number": "09012345678", "client": acme.pk, "call": corrected.pk},
    ).json()
    assert [c["purpose"] for c in data["calls"]] == [earlier.purpose]
    assert data["nuisance_count"] == 0
    # On a new call's form, every call from the number is an earlier one.
    data = operator_client.get(
        reverse("console:phone"), {"number": "09012345678", "client": acme.pk}
    ).json()
    assert len(data["calls"]) == 2 and data["nuisance_count"] == 1


def test_a_ring_from_a_withheld_number_says_so(operator_client, acme):
    """The phone system's "anonymous" left the form as if opened by hand:
    nothing said the caller's number was hidden and had to be asked for."""
    for caller in ("anonymous", "非通知"):
        page = operator_client.get(
            NEW, {"client": acme.pk, "caller": caller}
        ).content.decode()
        assert "非通知" in page
        assert "折り返し先を必ず伺ってください" in page
    for params in ({}, {"caller": "09012345678"}):
        page = operator_client.get(NEW, {"client": acme.pk, **params}).content.decode()
        assert "非通知" not in page


def test_a_withheld_number_is_still_said_when_the_form_comes_back(
    operator_client, acme
):
    """The 非通知 note went with the first error: the form sent back no trace of
    the ring, and the operator was no longer told to ask for a number."""
    url = f"{NEW}?client={acme.pk}"
    for caller in ("anonymous", "非通知"):
        opened = operator_client.get(NEW, {"client": acme.pk, "caller": caller})
        sent = {
            **form_values(opened.content.decode(), "call-form"),
            **FORM,
            "caller_name": "",
        }
        page = operator_client.post(url, sent).content.decode()
        assert "お名前を入力するか" in page
        assert "非通知" in page
        assert "折り返し先を必ず伺ってください" in page
        # Saved, it keeps no caller's number.
        response = operator_client.post(url, {**sent, "caller_name": "山田"})
        assert response.status_code == 302
        assert Call.objects.get(submission_id=sent["submission_id"]).caller_number == ""
    # A form opened by hand says nothing of a hidden number after an error.
    opened = operator_client.get(NEW, {"client": acme.pk})
    sent = {**form_values(opened.content.decode(), "call-form"), **FORM}
    page = operator_client.post(url, {**sent, "caller_name": ""}).content.decode()
    assert "お名前を入力するか" in page
    assert "非通知" not in page


def test_a_garbled_caller_number_is_said_unreadable_not_withheld(operator_client, acme):
    """Digits from the phone system too short to be a number ("0312") read as
    非通知: the operator took the caller for one who hid the number."""
    CallFactory(client=acme, caller_number="", purpose="番号なしの以前の着信")
    opened = operator_client.get(NEW, {"dialed": "0355550001", "caller": "0312"})
    page = opened.content.decode()
    assert "発信者番号を読み取れません（0312）" in page
    assert "非通知" not in page
    assert "折り返し先を必ず伺ってください" in page
    # Neither the callback number nor a history of earlier calls.
    assert form_values(page, "call-form")["callback_number"] == ""
    assert "この番号から" not in page.split('id="call-form"')[0]
    assert "番号なしの以前の着信" not in page
    # Still said when the form comes back with an error; saved, no number.
    sent = {**form_values(page, "call-form"), **FORM, "caller_name": ""}
    again = operator_client.post(form_action(page), sent).content.decode()
    assert "お名前を入力するか" in again
    assert "発信者番号を読み取れません（0312）" in again
    assert "非通知" not in again
    response = operator_client.post(form_action(page), {**sent, "caller_name": "山田"})
    assert response.status_code == 302
    assert Call.objects.get(submission_id=sent["submission_id"]).caller_number == ""
    # A hidden number is still 非通知.
    withheld = operator_client.get(
        NEW, {"dialed": "0355550001", "caller": "anonymous"}
    ).content.decode()
    assert "非通知" in withheld
    assert "読み取れません" not in withheld


@pytest.mark.parametrize(
    "pop",
    [
        {"caller": "0312"},  # no dialed number: the search page
        {"dialed": "0399990000", "caller": "0312"},  # a number that finds no client
    ],
)
def test_a_garbled_caller_number_goes_on_through_the_search(operator_client, acme, pop):
    """A screen pop that found no client dropped a garbled caller ID: the call
    form of the client then picked said nothing, and the operator did not know
    the phone system had sent a number it could not read."""
    page = operator_client.get(NEW, pop, follow=True).content.decode()
    if "dialed" in pop:
        assert "発信者番号を読み取れません（0312）" in page
    assert 'name="caller" value="0312"' in page
    # The client picked from the search (the list, or as the operator types).
    found = operator_client.get(
        reverse("console:home"), {"q": "アクメ", "caller": "0312"}, follow=True
    )
    typed = operator_client.get(
        reverse("console:search"), {"q": "アクメ", "caller": "0312"}
    ).json()["results"][0]["url"]
    for form in (found.content.decode(), operator_client.get(typed).content.decode()):
        assert "アクメ株式会社でございます" in form
        assert "発信者番号を読み取れません（0312）" in form
        assert "非通知" not in form
        assert form_values(form, "call-form")["callback_number"] == ""


def test_a_withheld_number_goes_on_through_the_search(operator_client, acme):
    """The same for a hidden number: 非通知 on the page of the client picked."""
    page = operator_client.get(
        NEW, {"dialed": "0399990000", "caller": "anonymous"}
    ).content.decode()
    assert "発信者番号: <strong>非通知</strong>" in page
    form = operator_client.get(
        reverse("console:home"), {"q": "アクメ", "caller": "anonymous"}, follow=True
    ).content.decode()
    assert "番号が通知されていません" in form


def test_a_form_error_keeps_the_screen_pop_in_the_pages_address(operator_client, acme):
    """The form was sent to ?client= alone: the page shown after an error had
    lost the dialed and caller numbers from its address, and reloaded it came
    back as a form opened by hand, the caller's number gone."""
    opened = operator_client.get(
        NEW, {"dialed": "03-5555-0001", "caller": "09012345678"}
    ).content.decode()
    sent = {**form_values(opened, "call-form"), **FORM, "caller_name": ""}
    shown_after_error = form_action(opened)
    page = operator_client.post(shown_after_error, sent).content.decode()
    assert "お名前を入力するか" in page
    for shown in (page, operator_client.get(shown_after_error).content.decode()):
        assert "アクメ株式会社でございます" in shown
        assert "着信 03-5555-0001" in shown
        assert "発信者番号 090-1234-5678" in shown
    reloaded = operator_client.get(shown_after_error).content.decode()
    assert form_values(reloaded, "call-form")["callback_number"] == "090-1234-5678"
    assert form_action(page) == shown_after_error
    # Corrected, the call is saved with both numbers.
    response = operator_client.post(form_action(page), {**sent, "caller_name": "山田"})
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.client, call.caller_number, call.dialed_number) == (
        acme,
        "+819012345678",
        "+81355550001",
    )


def test_a_typed_number_counts_every_earlier_nuisance_call(operator_client, acme):
    """The typed number's history showed its last few calls only: nuisance
    calls older than those went unmentioned, unlike in the screen pop."""
    old = timezone.now() - dt.timedelta(days=30)
    for days in range(2):
        CallFactory(
            client=acme,
            caller_number="+819012345678",
            category=Category.NUISANCE,
            received_at=old - dt.timedelta(days=days),
        )
    for minutes in range(selectors.REPEAT_CALLER_LIMIT):
        CallFactory(
            client=acme,
            caller_number="+819012345678",
            received_at=timezone.now() - dt.timedelta(minutes=minutes + 1),
        )
    data = operator_client.get(
        reverse("console:phone"), {"number": "090-1234-5678", "client": acme.pk}
    ).json()
    assert not any(c["nuisance"] for c in data["calls"])
    assert data["nuisance_count"] == 2
    # The page carries the sentence the script fills in.
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    assert 'data-nuisance="この番号からの過去のいたずら・嫌がらせ電話: {n} 件"' in page


# --- saving ------------------------------------------------------------------


def test_saving_a_call_returns_a_blank_form_with_what_was_saved(
    operator_client, acme, operator
):
    response = operator_client.post(
        f"{NEW}?client={acme.pk}",
        {**FORM, "caller_number": "+819012345678", "dialed_number": "+81355550001"},
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{NEW}?client={acme.pk}&saved={call.pk}"
    assert call.client == acme and call.logged_by == operator
    assert call.callback_number == "+81312345678"
    assert call.caller_number == "+819012345678"
    assert call.dialed_number == "+81355550001"
    page = operator_client.get(response["Location"]).content.decode()
    assert "保存しました" in page
    assert "03-1234-5678" in page
    assert 'value="山田"' not in page  # the form is blank for the next call


def test_the_saved_banner_shows_who_the_call_is_for_and_how_it_was_marked(
    operator_client, acme
):
    """The banner showed the name, number and purpose only: whether the call
    went to the right person, as urgent, with its surcharge, could not be
    checked without opening it again."""
    call = CallFactory(
        client=acme,
        addressee="佐藤",
        is_urgent=True,
        surcharge_yen=1500,
        surcharge_reason="長時間",
    )
    page = operator_client.get(
        NEW, {"client": acme.pk, "saved": call.pk}
    ).content.decode()
    banner = page.split('id="saved-banner"')[1].split("</section>")[0]
    assert "佐藤様宛" in banner
    assert "お急ぎ" in banner
    assert "割増 1,500円" in banner
    assert "無言" not in banner

    silent = CallFactory(
        client=acme,
        category=Category.NUISANCE,
        caller_name="",
        callback_number="",
        purpose="",
        **{f"{f}_missing_reason": MissingReason.SILENT for f in REQUIRED_OR_REASON},
    )
    page = operator_client.get(
        NEW, {"client": acme.pk, "saved": silent.pk}
    ).content.decode()
    banner = page.split('id="saved-banner"')[1].split("</section>")[0]
    # Said beside the category (いたずら・嫌がらせ・無言), which names it too.
    assert banner.count("無言") == 2
    assert "様宛" not in banner and "割増" not in banner


def test_a_bad_value_the_page_or_phone_system_set_never_blocks_the_save(
    operator_client, acme
):
    """A malformed hidden value (a PBX link, a script) showed "fix the red
    items" with nothing red: the call could not be saved."""
    response = save_form(
        operator_client,
        acme,
        submission_id="not-a-uuid",
        caller_number="😀",
        dialed_number="x" * 1000,
        started_at="y" * 100,
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.caller_name, call.caller_number, call.dialed_number) == (
        "山田",
        "",
        "",
    )


def test_a_sales_call_needs_only_the_category(operator_client, acme):
    response = operator_client.post(f"{NEW}?client={acme.pk}", {"category": "sales"})
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.category == Category.SALES and not call.is_counted


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "1900-01-01T09:00"])
def test_a_received_time_from_long_ago_is_refused_and_kept(
    operator_client, acme, typed
):
    response = operator_client.post(
        f"{NEW}?client={acme.pk}", {**FORM, "received_at": typed}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "受電日時が31日以上前になっています" in page
    assert form_values(page, "call-form")["received_at"] == typed
    assert not Call.objects.exists()


def test_what_a_sales_call_hides_cannot_block_it(operator_client, acme):
    # The operator started a normal call, then pressed 2: the half-typed fields
    # are hidden, so they are neither checked nor saved.
    response = operator_client.post(
        f"{NEW}?client={acme.pk}",
        {
            **FORM,
            "category": "sales",
            "callback_number": "03-1234",
            "caller_name": "",
            "caller_name_missing_reason": "other",
            "surcharge_yen": "300",
            "note": "回線の営業",
        },
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.category == Category.SALES and call.note == "回線の営業"
    assert (call.callback_number, call.caller_name, call.surcharge_yen) == ("", "", 0)


def test_a_call_reclassified_as_sales_keeps_what_it_said(operator_client, acme):
    call = CallFactory(client=acme, callback_number="+81312345678", surcharge_yen=0)
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    # Pressing 2 hides the other fields; what was typed into them is not saved.
    response = operator_client.post(
        url, {**values, "category": "sales", "callback_number": "03-99"}
    )
    assert response.status_code == 302
    assert CallRevision.objects.get().changes == {"category": ["normal", "sales"]}
    call.refresh_from_db()
    assert call.callback_number == "+81312345678" and call.caller_name


def test_a_validation_error_keeps_everything_typed_with_clear_messages(
    operator_client, acme
):
    typed = {
        **FORM,
        "caller_name": "",
        "callback_number": "03-1234-567",
        "purpose": "長い用件をここに書いた",
        "surcharge_yen": "300",
        "surcharge_reason": "",
        "is_urgent": "on",
        "caller_number": "+819012345678",
    }
    response = operator_client.post(f"{NEW}?client={acme.pk}", typed)
    page = response.content.decode()
    assert response.status_code == 200
    assert not Call.objects.exists()
    assert "保存できませんでした" in page
    assert "お名前を入力するか、伺えなかった理由を選んでください。" in page
    assert "有効な電話番号ではありません" in page
    assert "割増料金を入れたときは、理由を書いてください。" in page
    for kept in (
        'value="03-1234-567"',
        "長い用件をここに書いた",
        'value="300"',
        'value="山田商事"',
    ):
        assert kept in page
    assert 'name="is_urgent" id="id_is_urgent" checked' in page
    assert 'data-focus="caller_name"' in page
    # A screen reader reads each field's error with the field.
    described = re.findall(r'aria-describedby="([^"]+)"', page)
    assert {"id_caller_name-errors", "id_callback_number-errors"} <= set(described)
    for error_id in described:
        assert f'id="{error_id}"' in page


def test_a_future_received_time_is_refused(operator_client, acme):
    later = timezone.localtime() + dt.timedelta(hours=1)
    response = operator_client.post(
        f"{NEW}?client={acme.pk}",
        {**FORM, "received_at": later.strftime("%Y-%m-%dT%H:%M")},
    )
    assert "未来" in response.content.decode()
    assert not Call.objects.exists()


def test_a_late_call_keeps_the_time_it_was_received(operator_client, acme):
    earlier = answered_at(timezone.now() - dt.timedelta(hours=1))
    operator_client.post(
        f"{NEW}?client={acme.pk}",
        {**FORM, "received_at": earlier.strftime("%Y-%m-%dT%H:%M")},
    )
    assert Call.objects.get().received_at == earlier.replace(second=0, microsecond=0)


def test_the_rule_banner_uses_the_company_s_script(operator_client, acme):
    """The seeds' words: the person is out and we will call back, never "away
    from the desk", which an answering service cannot know."""
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    assert "「担当外出中により、こちらより折り返しご連絡いたします」" in page
    assert "席を外して" not in page


def test_refused_reads_right_beside_every_item(operator_client, acme):
    """The name, the callback number and the purpose share one "refused"."""
    page = operator_client.get(f"{NEW}?client={acme.pk}").content.decode()
    assert page.count("お聞きしましたが、お伝えいただけませんでした") == 3
    assert "名乗らなかった" not in page


# --- corrections -------------------------------------------------------------


def test_a_correction_is_saved_and_its_history_shown(operator_client, acme, operator):
    call = CallFactory(client=acme, callback_number="+81312345678")
    url = reverse("console:call_edit", args=[call.pk])
    page = operator_client.get(url).content.decode()
    assert 'value="03-1234-5678"' in page
    data = {
        "category": "grey",
        "caller_name": call.caller_name,
        "caller_company": call.caller_company,
        "callback_number": "090-2222-3333",
        "purpose": call.purpose,
        "received_at": timezone.localtime(call.received_at).strftime("%Y-%m-%dT%H:%M"),
    }
    response = operator_client.post(url, data)
    assert response.status_code == 302
    revision = CallRevision.objects.get()
    assert revision.changed_by == operator
    assert revision.changes["callback_number"] == ["+81312345678", "+819022223333"]
    assert revision.changes["category"] == ["normal", "grey"]
    page = operator_client.get(url).content.decode()
    assert "訂正を保存しました" in page
    # The history panel: what each field said before and after.
    assert (
        '<td class="old">03-1234-5678</td><td>→</td><td class="new">090-2222-3333</td>'
        in page
    )
    assert (
        '<td class="old">通常</td><td>→</td><td class="new">営業の可能性あり</td>'
        in page
    )


def test_two_operators_correcting_one_call_never_revert_each_other(acme):
    from django.test import Client as Browser

    call = CallFactory(client=acme, callback_number="+81312345678", purpose="見積り")
    url = reverse("console:call_edit", args=[call.pk])
    first, second = Browser(), Browser()
    first.force_login(OperatorFactory(username="sato-hanako"))
    second.force_login(OperatorFactory())
    seen_by_first = form_values(first.get(url).content.decode(), "call-form")
    seen_by_second = form_values(second.get(url).content.decode(), "call-form")

    fixed = {**seen_by_first, "callback_number": "090-2222-3333"}
    assert first.post(url, fixed).status_code == 302
    # The second operator saves the page opened before: it still shows the old
    # number, which must not come back.
    response = second.post(url, {**seen_by_second, "purpose": "見積りと納期"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "画面を開いている間にsato-hanakoが訂正しました" in page
    call.refresh_from_db()
    assert (call.callback_number, call.purpose) == ("+819022223333", "見積り")
    assert CallRevision.objects.count() == 1

    # Shown again: the first operator's number, and what the second one typed.
    values = form_values(page, "call-form")
    assert values["callback_number"] == "090-2222-3333"
    assert values["purpose"] == "見積りと納期"
    assert second.post(url, values).status_code == 302
    call.refresh_from_db()
    assert (call.callback_number, call.purpose) == ("+819022223333", "見積りと納期")


def test_a_field_both_operators_changed_keeps_what_this_one_typed(
    operator_client, acme
):
    call = CallFactory(client=acme, purpose="見積り")
    url = reverse("console:call_edit", args=[call.pk])
    seen = form_values(operator_client.get(url).content.decode(), "call-form")
    operator_client.post(url, {**seen, "purpose": "納期"})
    page = operator_client.post(url, {**seen, "purpose": "見積りと納期"})
    assert "画面を開いている間に" in page.content.decode()
    assert form_values(page.content.decode(), "call-form")["purpose"] == "見積りと納期"
    call.refresh_from_db()
    assert call.purpose == "納期"  # nothing saved until sent again


def test_a_call_reclassified_as_sales_meanwhile_says_what_typed_would_be_lost(
    acme,
):
    """Someone made the call a sales call while this corrector typed a new
    purpose: the page came back as a sales call, the typed purpose hidden, and
    saving it dropped the purpose without a word."""
    call = CallFactory(client=acme, purpose="見積り")
    url = reverse("console:call_edit", args=[call.pk])
    first, second = _two_operators()
    seen_by_first = form_values(first.get(url).content.decode(), "call-form")
    seen_by_second = form_values(second.get(url).content.decode(), "call-form")
    assert first.post(url, {**seen_by_first, "category": "sales"}).status_code == 302
    page = second.post(url, {**seen_by_second, "purpose": "見積りと納期"})
    html = page.content.decode()
    assert "「営業」に分類し直されました" in html
    values = form_values(html, "call-form")
    assert (values["category"], values["purpose"]) == ("sales", "見積りと納期")
    # Chosen again as a reported call, what was typed is saved.
    assert second.post(url, {**values, "category": "normal"}).status_code == 302
    call.refresh_from_db()
    assert (call.category, call.purpose) == ("normal", "見積りと納期")
    # Left untouched, the other person's reclassification says nothing more.
    third, _ = _two_operators()
    seen = form_values(third.get(url).content.decode(), "call-form")
    assert first.post(url, {**seen, "category": "sales"}).status_code == 302
    html = third.post(url, {**seen, "note": "メモ"}).content.decode()
    assert "画面を開いている間に" in html and "分類し直されました" not in html


def _two_operators():
    from django.test import Client as Browser

    first, second = Browser(), Browser()
    first.force_login(OperatorFactory())
    second.force_login(OperatorFactory())
    return first, second


def test_a_time_the_other_operator_corrected_is_taken_in(acme):
    # Logged live: the time has seconds, which the form does not show.
    call = CallFactory(
        client=acme,
        received_at=answered_at(timezone.now() - dt.timedelta(hours=2)).replace(
            second=23, microsecond=123456
        ),
    )
    url = reverse("console:call_edit", args=[call.pk])
    first, second = _two_operators()
    seen_by_first = form_values(first.get(url).content.decode(), "call-form")
    seen_by_second = form_values(second.get(url).content.decode(), "call-form")
    earlier = answered_at(call.received_at - dt.timedelta(hours=1))
    earlier_shown = earlier.strftime("%Y-%m-%dT%H:%M")
    assert (
        first.post(url, {**seen_by_first, "received_at": earlier_shown}).status_code
        == 302
    )
    page = second.post(url, {**seen_by_second, "purpose": "別件"}).content.decode()
    values = form_values(page, "call-form")
    assert values["received_at"] == earlier_shown
    assert values["purpose"] == "別件"


def test_a_form_error_keeps_the_version_the_page_was_opened_on(acme):
    call = CallFactory(client=acme, purpose="見積り", callback_number="+81312345678")
    url = reverse("console:call_edit", args=[call.pk])
    first, second = _two_operators()
    seen_by_first = form_values(first.get(url).content.decode(), "call-form")
    seen_by_second = form_values(second.get(url).content.decode(), "call-form")
    fixed = {**seen_by_first, "callback_number": "090-2222-3333"}
    assert first.post(url, fixed).status_code == 302
    # The second operator's page comes back for a typing error first...
    page = second.post(
        url, {**seen_by_second, "purpose": "見積りと納期", "surcharge_yen": "abc"}
    ).content.decode()
    assert "画面を開いている間に" not in page
    # ... and once that is fixed, the other change is still not reverted.
    values = form_values(page, "call-form")
    page = second.post(url, {**values, "surcharge_yen": ""}).content.decode()
    assert "画面を開いている間に" in page
    call.refresh_from_db()
    assert (call.callback_number, call.purpose) == ("+819022223333", "見積り")


@pytest.mark.parametrize(
    "version",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-11-27T05:28:42"],
)
def test_a_version_the_page_never_sent_asks_to_look_again(
    operator_client, acme, version
):
    """Years out of range gave a server error."""
    call = CallFactory(client=acme, purpose="見積り")
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    response = operator_client.post(
        url, {**values, "purpose": "納期", "seen_version": version}
    )
    assert response.status_code == 200
    assert "画面を開いている間に" in response.content.decode()
    call.refresh_from_db()
    assert call.purpose == "見積り"


def test_an_erased_call_can_still_be_reclassified_in_the_console(operator_client):
    from reporting.services import erase_old_personal_data

    call = CallFactory(
        received_at=timezone.now() - dt.timedelta(days=800),
        purpose="",
        purpose_missing_reason="other",
        missing_note="途中で切れた",
    )
    erase_old_personal_data()
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    response = operator_client.post(url, {**values, "category": "grey"})
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.category, call.caller_name) == ("grey", "")


def test_the_edit_page_of_an_erased_call_says_it_was_erased(operator_client, acme):
    from reporting.services import erase_old_personal_data

    call = CallFactory(client=acme, received_at=timezone.now() - dt.timedelta(days=800))
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    operator_client.post(url, {**values, "purpose": "見積りと納期"})
    page = operator_client.get(url).content.decode()
    assert "消去済み" not in page
    erased_at = timezone.make_aware(dt.datetime(2026, 11, 2, 3, 0))
    erase_old_personal_data(now=erased_at)
    page = operator_client.get(url).content.decode()
    assert (
        "保存期間を過ぎたため、お客様の情報（お名前・番号・用件など）は消去済みです"
        f"（{ja_day(erased_at.date())}）。分類・受電日時・割増料金は訂正できます。"
    ) in page
    # The earlier correction keeps who and when, and says its values are gone.
    assert "この訂正で変えた内容は消去済みです" in page
    values = form_values(page, "call-form")
    operator_client.post(url, {**values, "category": "grey"})
    page = operator_client.get(url).content.decode()
    assert page.count("この訂正で変えた内容は消去済みです") == 1
    assert '<td class="new">営業の可能性あり</td>' in page


def test_an_erased_call_takes_no_new_reason_for_what_was_not_obtained(
    operator_client, acme
):
    from reporting.services import erase_old_personal_data

    ReportRecipientFactory(client=acme)
    call = CallFactory(client=acme, received_at=timezone.now() - dt.timedelta(days=800))
    erase_old_personal_data()
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    page = operator_client.post(
        url, {**values, "caller_name_missing_reason": "other"}
    ).content.decode()
    assert "伺えなかった理由は変えられません" in page
    call.refresh_from_db()
    assert call.caller_name_missing_reason == ""
    assert not CallRevision.objects.exists()


def test_a_page_opened_before_the_erasure_shows_the_reasons_the_call_keeps(
    operator_client, acme
):
    from reporting.services import erase_old_personal_data

    call = CallFactory(
        client=acme,
        received_at=timezone.now() - dt.timedelta(days=800),
        purpose="",
        purpose_missing_reason="hung_up",
    )
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    erase_old_personal_data()
    page = operator_client.post(
        url, {**values, "purpose_missing_reason": "refused", "category": "grey"}
    ).content.decode()
    assert "画面を開いている間に保存期間を過ぎ" in page
    values = form_values(page, "call-form")
    assert (values["purpose_missing_reason"], values["category"]) == ("hung_up", "grey")
    assert operator_client.post(url, values).status_code == 302
    call.refresh_from_db()
    assert (call.category, call.purpose_missing_reason) == ("grey", "hung_up")


def test_a_note_on_what_was_not_obtained_needs_something_not_obtained(
    operator_client, acme
):
    from tests.reporting.factories import save_reported_call

    ReportRecipientFactory(client=acme)
    call, _ = save_reported_call(client=acme)
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    page = operator_client.post(
        url, {**values, "missing_note": "補足だけ"}
    ).content.decode()
    assert "この補足は報告に載りません" in page
    call.refresh_from_db()
    assert call.missing_note == ""
    assert not call.deliveries.filter(kind="correction").exists()
    # With an item not obtained, the note is saved, and the report shows it.
    response = operator_client.post(
        url,
        {
            **values,
            "caller_name": "",
            "caller_name_missing_reason": "refused",
            "missing_note": "社名のみ名乗られた",
        },
    )
    assert response.status_code == 302
    correction = call.deliveries.get(kind="correction", channel="email_pc")
    assert (
        "伺えなかった理由の補足: 「（空欄）」→「社名のみ名乗られた」" in correction.body
    )
    assert "補足: 社名のみ名乗られた" in correction.body


def test_a_new_call_with_every_item_obtained_takes_no_note_on_what_was_not(
    operator_client, acme
):
    page = save_form(
        operator_client, acme, missing_note="途中で切れた"
    ).content.decode()
    assert "この補足は報告に載りません" in page
    assert not Call.objects.exists()


def test_saving_a_correction_unchanged_is_no_correction(operator_client, acme):
    ReportRecipientFactory(client=acme)
    # Logged in the console: its time has seconds, which the form does not show.
    operator_client.post(f"{NEW}?client={acme.pk}", FORM)
    call = Call.objects.get()
    logged_at = call.received_at
    assert logged_at.second or logged_at.microsecond
    url = reverse("console:call_edit", args=[call.pk])
    unchanged = form_values(operator_client.get(url).content.decode(), "call-form")
    page = operator_client.post(url, unchanged, follow=True).content.decode()
    assert "変更はありませんでした" in page
    assert not CallRevision.objects.exists()
    assert not call.deliveries.filter(kind="correction").exists()
    call.refresh_from_db()
    assert call.received_at == logged_at


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ("一行目\n二行目", "\r\n"),
        ("一行目\r\n二行目", "\r\n"),
        ("一行目\n二行目\n", "\r\n"),
    ],
)
def test_line_ends_sent_by_the_browser_are_no_correction(
    operator_client, acme, stored, sent
):
    """A browser sends a textarea's line ends as CR LF: a call stored with LF
    (the demo data, a call made outside the console) saved untouched was
    recorded as a correction, with a 訂正 report to the client."""
    ReportRecipientFactory(client=acme)
    call = CallFactory(client=acme, purpose=stored, note="メモ1\nメモ2")
    url = reverse("console:call_edit", args=[call.pk])
    unchanged = form_values(operator_client.get(url).content.decode(), "call-form")
    for name in ("purpose", "note"):
        unchanged[name] = unchanged[name].replace("\r\n", "\n").replace("\n", sent)
    page = operator_client.post(url, unchanged, follow=True).content.decode()
    assert "変更はありませんでした" in page
    assert not CallRevision.objects.exists()
    call.refresh_from_db()
    assert call.purpose == stored
    # A new call's line ends are stored as one kind, whatever the browser sent.
    save_form(operator_client, acme, purpose="一\r\n二\r三")
    assert Call.objects.latest("pk").purpose == "一\n二\n三"


def test_the_edit_page_dates_its_call_and_corrections_the_japanese_way(
    operator_client, acme, operator
):
    """The title, the line of who logged the call and each correction's time
    read 2026年11月20日 01:05 (Japan time), not 2026-11-20 01:05."""
    received = timezone.make_aware(dt.datetime(2026, 11, 20, 1, 5), JST)
    call = CallFactory(client=acme, received_at=received, logged_by=operator)
    Call.objects.filter(pk=call.pk).update(created_at=received)
    CallRevision.objects.create(
        call=call,
        changed_by=operator,
        changed_at=timezone.make_aware(dt.datetime(2026, 11, 21, 9, 30), JST),
        changes={"category": ["normal", "grey"]},
    )
    page = operator_client.get(reverse("console:call_edit", args=[call.pk]))
    text = page.content.decode()
    assert "<small>2026年11月20日 01:05</small>" in text
    assert f"2026年11月20日 01:05 {operator} が記録" in text
    assert f"<strong>2026年11月21日 09:30</strong> {operator}" in text


def test_the_correction_history_shows_the_newest_correction_first(
    operator_client, acme, operator
):
    """The last correction was listed last, below the fold: the operator checking
    what it changed scrolled past every earlier one."""
    received = timezone.make_aware(dt.datetime(2026, 11, 20, 1, 5), JST)
    call = CallFactory(client=acme, received_at=received, logged_by=operator)
    Call.objects.filter(pk=call.pk).update(created_at=received)
    for day, old, new in ((21, "通常", "営業の可能性あり"), (22, "見積り", "納期")):
        CallRevision.objects.create(
            call=call,
            changed_by=operator,
            changed_at=timezone.make_aware(dt.datetime(2026, 11, day, 9, 30), JST),
            changes={"purpose": [old, new]},
        )
    page = operator_client.get(reverse("console:call_edit", args=[call.pk]))
    history = page.content.decode().split('class="card revisions"')[1]
    history = history.split("</section>")[0]
    times = re.findall(r"<strong>(2026年11月\d+日 \d\d:\d\d)</strong>", history)
    assert times == ["2026年11月22日 09:30", "2026年11月21日 09:30"]
    # Who logged the call, the oldest event, closes the history.
    assert history.index("が記録") > history.index("2026年11月21日 09:30")


def test_a_corrected_time_reads_as_a_time_in_the_history(operator_client, acme):
    received = timezone.make_aware(dt.datetime(2026, 11, 20, 10, 34, 14, 98_000))
    call = CallFactory(client=acme, received_at=received)
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(operator_client.get(url).content.decode(), "call-form")
    assert values["received_at"] == "2026-11-20T10:34"
    operator_client.post(url, {**values, "received_at": "2026-11-20T09:05"})
    assert (
        CallRevision.objects.get()
        .changes["received_at"][1]
        .startswith("2026-11-20T09:05")
    )
    page = operator_client.get(url).content.decode()
    assert (
        '<td class="old">2026年11月20日 10:34</td><td>→</td>'
        '<td class="new">2026年11月20日 09:05</td>'
    ) in page


def test_admins_correct_calls_too(admin_client, admin_user, acme):
    call = CallFactory(client=acme, purpose="見積り")
    url = reverse("console:call_edit", args=[call.pk])
    values = form_values(admin_client.get(url).content.decode(), "call-form")
    response = admin_client.post(url, {**values, "purpose": "見積りと納期"})
    assert response.status_code == 302
    revision = CallRevision.objects.get()
    assert revision.changed_by == admin_user
    assert revision.changes == {"purpose": ["見積り", "見積りと納期"]}


def test_an_invalid_correction_keeps_the_original(operator_client, acme):
    call = CallFactory(client=acme)
    url = reverse("console:call_edit", args=[call.pk])
    response = operator_client.post(url, {"category": "normal", "caller_name": ""})
    assert response.status_code == 200
    assert "伺えなかった理由" in response.content.decode()
    call.refresh_from_db()
    assert call.caller_name and not CallRevision.objects.exists()


# --- query counts ------------------------------------------------------------


def _count(operator_client, method, url, data=None):
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(operator_client, method)(url, data or {})
    assert response.status_code in (200, 302)
    return len(ctx.captured_queries)


def test_console_page_and_save_use_a_fixed_number_of_queries(operator_client, acme):
    small, big = ClientFactory(), acme
    for client, n in ((small, 5), (big, 200)):
        ClientPersonFactory.create_batch(3, client=client)
        ReportRecipientFactory.create_batch(2, client=client)
        CallFactory.create_batch(n, client=client, caller_number="+819012345678")
        CallFactory.create_batch(
            n // 5, client=client, caller_number="+819012345678", category="nuisance"
        )
    # Notices to the operators: none for the small client, many for the big one.
    OperatorNoticeFactory.create_batch(NOTICE_MAX_OPEN - 2, client=big)
    OperatorNoticeFactory.create_batch(
        2, client=big, first_day=japan_today() + dt.timedelta(days=3)
    )
    NumberAssignmentFactory(client=small, number__number="+81355550002")
    counts = {}
    for client, dialed in ((small, "03-5555-0002"), (big, "03-5555-0001")):
        page = f"{NEW}?client={client.pk}&caller=09012345678"
        counts[client.pk] = (
            _count(operator_client, "get", page),
            _count(operator_client, "post", f"{NEW}?client={client.pk}", FORM),
            _count(operator_client, "get", reverse("console:home")),
            # The screen pop, and the page shown after the save.
            _count(operator_client, "get", f"{NEW}?dialed={dialed}&caller=09012345678"),
            _count(
                operator_client,
                "get",
                f"{NEW}?client={client.pk}&saved={client.calls.latest('id').pk}",
            ),
        )
    assert counts[small.pk] == counts[big.pk]
    page_queries, save_queries, _home, _pop, _saved = counts[big.pk]
    # session, user, client, its people, its notices to the operators (in force
    # today and coming: one query however many), the caller's history with its
    # nuisance count
    assert page_queries == 6
    # session, user, client, the call (no savepoint of its own), the recipients,
    # one insert of all its deliveries (+ one savepoint pair: the test runs inside
    # a transaction of its own)
    assert save_queries <= 8
    newest = Call.objects.filter(client=big).order_by("-id").first()
    assert newest.deliveries.count() == 4  # 2 persons x (PC + mobile)


@pytest.mark.postgres
def test_a_call_of_this_month_is_saved_without_the_billing_lock(operator_client, acme):
    """The operators' hot path: only a call logged late into a month that has
    ended waits for a billing run of that month (answering.services); a call
    received now asks for no lock, a query of its own."""
    ReportRecipientFactory(client=acme)
    with CaptureQueriesContext(connection) as ctx:
        response = operator_client.post(f"{NEW}?client={acme.pk}", FORM)
    assert response.status_code == 302
    assert [q["sql"] for q in ctx.captured_queries if "advisory" in q["sql"]] == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)
def test_repeated_saves_run_as_prepared_statements(operator_client, acme):
    # PostgreSQL then skips parsing and planning the save's statements: the
    # DATABASE_PREPARE_THRESHOLD setting (5 runs by default).
    ReportRecipientFactory(client=acme)
    for _ in range(6):
        response = operator_client.post(f"{NEW}?client={acme.pk}", FORM)
        assert response.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = " ".join(row[0] for row in cursor.fetchall())
    assert 'INSERT INTO "answering_call"' in prepared
    assert 'INSERT INTO "reporting_delivery"' in prepared
    # ... but each run is planned for its values (a search pattern, say).
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_custom_plan"
    assert Call.objects.filter(client=acme).count() == 6


@pytest.mark.parametrize(
    "value", ["²", "①", "１２x", "-1", "0", "9" * 19, "9" * 20, "0" * 6000, "1" * 6000]
)
def test_odd_digits_in_the_address_bar_never_break_the_console(
    operator_client, acme, value
):
    # str.isdigit() accepts "²", which int() refuses; int() refuses 6,000 digits;
    # an id past 64 bits matches no row.
    assert operator_client.get(NEW, {"client": value}).status_code == 404
    assert (
        operator_client.get(NEW, {"client": acme.pk, "saved": value}).status_code == 200
    )
    assert (
        operator_client.get(
            reverse("console:phone"), {"number": "0312345678", "client": value}
        ).status_code
        == 200
    )


def test_home_says_when_todays_list_is_cut(operator_client, acme, monkeypatch):
    monkeypatch.setattr(selectors, "DAY_CALLS_LIMIT", 3)
    now = timezone.now()
    # All today in Japan whatever the hour the test runs, even just after
    # midnight: the newest a microsecond apart, the oldest at midnight.
    for step in range(3):
        CallFactory(
            client=acme,
            caller_name=f"発信者{step}",
            received_at=now - dt.timedelta(microseconds=step),
        )
    page = operator_client.get(reverse("console:home")).content.decode()
    assert "件だけ表示しています" not in page
    midnight = dt.datetime.combine(japan_today(), dt.time.min, tzinfo=JST)
    CallFactory(client=acme, caller_name="一番古い", received_at=midnight)
    page = operator_client.get(reverse("console:home")).content.decode()
    assert "新しい順に 3 件だけ表示しています" in page
    assert "発信者0" in page and "発信者2" in page and "一番古い" not in page


def test_a_correction_sent_twice_is_saved_once_not_called_a_conflict(
    operator_client, acme
):
    """Ctrl+Enter pressed twice, or the form sent again after a slow answer: the
    second one said someone had corrected the call meanwhile (the operator's own
    save), and looked like a failed save."""
    ReportRecipientFactory(client=acme)
    call = CallFactory(client=acme, purpose="見積り", callback_number="+819012345678")
    url = reverse("console:call_edit", args=[call.pk])
    seen = form_values(operator_client.get(url).content.decode(), "call-form")
    fixed = {**seen, "purpose": "見積りと納期"}
    first = operator_client.post(url, fixed, follow=True)
    assert "訂正を保存しました。" in first.content.decode()
    again = operator_client.post(url, fixed, follow=True)
    assert again.redirect_chain  # saved, not the form again with a conflict
    # Said as saved: 「変更はありませんでした」 read as if the correction was lost.
    assert "訂正を保存しました。" in again.content.decode()
    assert CallRevision.objects.count() == 1
    # Another value than the one saved meanwhile is still a conflict.
    other = operator_client.post(url, {**seen, "purpose": "納期のみ"})
    assert other.status_code == 200
    assert "画面を開いている間に" in other.content.decode()
    call.refresh_from_db()
    assert call.purpose == "見積りと納期"


def test_a_correction_sent_twice_with_a_reason_left_selected_is_no_conflict(
    operator_client, acme
):
    """The caller gave the name the operator had marked as refused: the form
    still sends the reason beside the name, and the save drops it. The same
    form sent again was then a conflict with the operator's own save."""
    ReportRecipientFactory(client=acme)
    call = CallFactory(
        client=acme, caller_name="", caller_name_missing_reason="refused"
    )
    url = reverse("console:call_edit", args=[call.pk])
    seen = form_values(operator_client.get(url).content.decode(), "call-form")
    assert seen["caller_name_missing_reason"] == "refused"
    fixed = {**seen, "caller_name": "山田", "callback_number": "090-1234-5678"}
    first = operator_client.post(url, fixed, follow=True)
    assert "訂正を保存しました。" in first.content.decode()
    again = operator_client.post(url, fixed, follow=True)
    assert "画面を開いている間に" not in again.content.decode()
    assert "訂正を保存しました。" in again.content.decode()
    call.refresh_from_db()
    assert (call.caller_name, call.caller_name_missing_reason) == ("山田", "")
    assert call.callback_number == "+819012345678"
    assert CallRevision.objects.count() == 1


@pytest.mark.parametrize(
    "name, typed",
    [
        ("ＡＢＣ商事", "ABC"),
        ("ＡＢＣ商事", "abc"),
        ("ＡＢＣ商事", "ABC商事"),
        ("ＡＢＣ商事", "ＡＢＣ"),
        ("ａｂｃ商事", "ABC"),  # full-width small letters: SQLite ignores their case
        ("ａｂｃ商事", "ＡＢＣ"),
    ],
)
def test_a_client_registered_in_full_width_letters_is_found_as_typed(
    operator_client, db, name, typed
):
    """Company names are often registered in full-width letters (ＡＢＣ商事); an
    operator with the IME off types ABC, and found nothing."""
    abc = ClientFactory(name=name, name_kana="エービーシーショウジ")
    ClientFactory(name="ＸＹＺ物産", name_kana="エックスワイゼットブッサン")
    data = operator_client.get(reverse("console:search"), {"q": typed}).json()
    assert [r["id"] for r in data["results"]] == [abc.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dialed", "shown"),
    [("0399998888", "03-9999-8888"), ("+81399998888", "03-9999-8888"), ("abc", "abc")],
)
def test_an_unknown_dialed_number_is_shown_hyphenated_when_it_is_one(
    operator_client, dialed, shown
):
    """Beside the hyphenated caller number it read 0399998888."""
    page = operator_client.get(
        NEW, {"dialed": dialed, "caller": "09011112222"}
    ).content.decode()
    assert f"<strong>{shown}</strong>" in page
    assert "<strong>090-1111-2222</strong>" in page


@pytest.mark.django_db
def test_a_ring_on_the_clients_fax_number_says_so_above_the_form(operator_client, acme):
    """The screen pop on a FAX line opened the ordinary form with no hint."""
    NumberAssignmentFactory(
        client=acme,
        number__number="+81355550009",
        number__kind=LentNumber.Kind.FAX,
        use=NumberAssignment.Use.FAX,
    )
    notice = "FAX番号（03-5555-0009）への着信です。"
    page = operator_client.get(NEW, {"dialed": "0355550009"}).content.decode()
    assert notice in page
    assert page.index(notice) < page.index('id="call-form"')
    # Still there when the form comes back with an error.
    sent = operator_client.post(
        f"{NEW}?client={acme.pk}",
        {**FORM, "caller_name": "", "dialed_number": "+81355550009"},
    ).content.decode()
    assert "お名前を入力するか" in sent
    assert notice in sent
    # And in the page at its address, reloaded.
    assert notice in operator_client.get(form_action(sent)).content.decode()
    # The client's voice number: no notice.
    voice = operator_client.get(NEW, {"dialed": "0355550001"}).content.decode()
    assert 'id="call-form"' in voice
    assert "への着信です" not in voice


def test_every_column_of_the_day_list_has_a_header_a_screen_reader_can_read(
    operator_client,
):
    page = operator_client.get(reverse("console:home")).content.decode()
    headers = table_headers(page)
    assert headers[-1] == "操作"  # the column of 訂正 links
    assert all(headers)


def test_the_console_home_opens_with_a_page_heading_for_screen_readers(
    operator_client,
):
    page = operator_client.get(reverse("console:home"), {"q": "株式"}).content.decode()
    levels = [level for level, _text in headings(page)]
    assert headings(page)[0] == (1, "オペレーター画面")
    assert levels.count(1) == 1
    assert max(b - a for a, b in zip(levels, levels[1:], strict=False)) <= 1


def test_the_client_search_is_announced_as_a_search_box_with_a_named_result_list(
    operator_client,
):
    page = operator_client.get(reverse("console:home")).content.decode()
    search_input = re.search(r'<input type="search" id="console-search"[^>]*>', page)
    assert 'role="combobox"' in search_input.group()
    assert 'aria-expanded="false"' in search_input.group()
    assert 'aria-controls="search-results"' in search_input.group()
    result_list = re.search(r'<ul id="search-results"[^>]*>', page).group()
    assert 'role="listbox"' in result_list
    labelled_by = re.search(r'aria-labelledby="([^"]+)"', result_list).group(1)
    assert re.search(rf'<label [^>]*id="{labelled_by}"[^>]*>顧客を検索', page)
