"""Console slips that only a real browser shows (see tests/console/test_operator_slips.py
for the server's side)."""

import datetime as dt

import pytest
from django.utils import timezone

from answering.models import Call
from clients.models import LentNumber, NumberAssignment
from tests import factories
from tests.factories import answered_at

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_enter_right_after_typing_opens_the_typed_client_not_the_listed_one(
    live, open_as
):
    """The list of the previous search stayed active until the new results came:
    a fast Enter opened (and announced) the wrong client on a live call."""
    factories.ClientFactory(name="合同会社ミドリ設計", name_kana="ミドリセッケイ")
    yamada = factories.ClientFactory(
        name="山田税理士事務所",
        name_kana="ヤマダゼイリシジムショ",
        announce_name="山田税理士事務所でございます",
    )
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/")
    # The box has autofocus, which the browser applies a moment after load.
    page.focus("#console-search")
    page.keyboard.insert_text("ミドリ")
    page.wait_for_selector("#search-results li")
    assert "ミドリ設計" in page.inner_text("#search-results")
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("ヤマダ")
    page.keyboard.press("Enter")  # before the new results can arrive
    page.wait_for_selector("#announce")
    assert page.inner_text("#announce") == "山田税理士事務所でございます"
    assert f"client={yamada.pk}" in page.url


def _typed_call_form(live, open_as, *, callback_number="09012345678"):
    """An operator's call form for a new client, with a name, a callback
    number and a purpose typed."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    page.fill("#id_caller_name", "山田太郎")
    page.fill("#id_callback_number", callback_number)
    page.fill("#id_purpose", "見積り")
    return page


def test_a_partly_typed_received_time_stops_the_save_and_says_why(live, open_as):
    page = _typed_call_form(live, open_as)
    page.click("#received-at-change")
    page.keyboard.type("11")  # the month only: the browser would send it as blank
    assert page.evaluate("document.getElementById('id_received_at').validity.badInput")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#id_received_at-errors")
    assert "日付と時刻の両方" in page.inner_text("#id_received_at-errors")
    assert page.evaluate("document.activeElement.id") == "id_received_at"
    assert page.input_value("#id_caller_name") == "山田太郎"
    assert not Call.objects.exists()


def test_a_call_is_dated_by_the_ring_or_the_first_key_not_by_its_save(live, open_as):
    """Saved minutes into a call, it was dated by the save: the report's 受電日時
    was when the operator finished writing, not when the phone rang."""
    client = factories.ClientFactory()
    factories.NumberAssignmentFactory(
        client=client, number=factories.LentNumberFactory(number="+81350509876")
    )
    page = open_as(factories.OperatorFactory())
    base = live["server"].url

    # Opened by the ring (screen pop): the call started when the page opened.
    rang = timezone.now()
    page.goto(f"{base}/operator/calls/new?dialed=0350509876&caller=09011112222")
    page.wait_for_timeout(1500)  # the operator listens before typing
    page.fill("#id_caller_name", "山田太郎")
    page.fill("#id_callback_number", "09012345678")
    page.fill("#id_purpose", "見積り")
    saving = timezone.now()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    first = Call.objects.get()
    assert rang <= first.received_at < saving - dt.timedelta(seconds=1)

    # The blank form for the next call: it starts with the first key typed.
    page.wait_for_timeout(1500)  # nobody called yet
    typing = timezone.now()
    page.fill("#id_caller_name", "佐藤花子")
    page.fill("#id_callback_number", "0312345678")
    page.fill("#id_purpose", "資料送付")
    page.wait_for_timeout(1500)
    saving = timezone.now()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    second = Call.objects.exclude(pk=first.pk).get()
    # The page's clock starts when its script runs, a few milliseconds after the
    # server made it: the stamp may come that much early, never 1.5 s (the open).
    early = dt.timedelta(milliseconds=500)
    assert typing - early <= second.received_at < saving - dt.timedelta(seconds=1)


def _log_a_call_and_get_it(page):
    page.fill("#id_caller_name", "佐藤花子")
    page.fill("#id_callback_number", "0312345678")
    page.fill("#id_purpose", "資料送付")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    return Call.objects.get()


def test_a_lone_modifier_key_does_not_start_the_call(live, open_as):
    """Ctrl+Tab to another tab or Alt+Tab to the softphone sends the form a
    keydown: the next call on that form was dated when the operator left it."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    page.keyboard.press("Control")
    page.keyboard.press("Alt")
    page.wait_for_timeout(2500)  # until the next call
    typing = timezone.now()
    call = _log_a_call_and_get_it(page)
    assert call.received_at >= typing - dt.timedelta(milliseconds=500)


def test_back_to_the_blank_form_starts_its_clock_again(live, open_as):
    """A cached copy of the form, shown by Back, carried the first visit's time:
    the call was dated early by the time spent away."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    base = live["server"].url
    page.goto(f"{base}/operator/calls/new?client={client.pk}")
    page.goto(f"{base}/operator/")  # today's list, for a while
    page.wait_for_timeout(2500)
    page.go_back()
    page.wait_for_selector("#call-form")
    typing = timezone.now()
    call = _log_a_call_and_get_it(page)
    assert call.received_at >= typing - dt.timedelta(milliseconds=500)


def test_a_category_key_starts_the_call(live, open_as):
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    page.wait_for_timeout(1500)
    pressed = timezone.now()
    page.focus("input[name=category]:checked")
    page.keyboard.press("3")  # 営業の可能性: the start of this call
    page.wait_for_timeout(1500)
    call = _log_a_call_and_get_it(page)
    assert call.category == "grey"
    early = dt.timedelta(milliseconds=500)
    assert pressed - early <= call.received_at < pressed + dt.timedelta(seconds=1)


def test_a_plain_enter_goes_to_the_next_field_and_never_saves_half_a_call(
    live, open_as
):
    """The browser saved the call on a plain Enter in any one-line field: one Enter
    too many after a kana-kanji conversion sent the client a half-written report."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    page.focus("#id_caller_name")
    for field, text in [
        ("id_caller_name", "山田太郎"),
        ("id_caller_company", "山田商事"),
        ("id_callback_number", "09012345678"),
    ]:
        assert page.evaluate("document.activeElement.id") == field
        page.keyboard.insert_text(text)
        page.keyboard.press("Enter")
    # The purpose is a text area: Enter there is a new line, as typed.
    assert page.evaluate("document.activeElement.id") == "id_purpose"
    page.keyboard.insert_text("見積り")
    page.keyboard.press("Enter")
    page.keyboard.insert_text("至急")
    assert page.input_value("#id_purpose") == "見積り\n至急"
    page.focus("#received-at-change")
    page.keyboard.press("Enter")  # opens the time, with the focus in it
    assert page.evaluate("document.activeElement.id") == "id_received_at"
    page.keyboard.press("Enter")  # the last field: on to the save button
    assert page.evaluate("document.activeElement.type") == "submit"
    assert not Call.objects.exists()
    page.keyboard.press("Enter")
    page.wait_for_selector("#saved-banner")
    call = Call.objects.get()
    assert (call.caller_name, call.caller_company) == ("山田太郎", "山田商事")
    assert call.purpose.splitlines() == ["見積り", "至急"]


def test_back_after_a_save_brings_nothing_of_that_call_into_the_next(live, open_as):
    """The browser filled the purpose, the memo, the ticks and the reasons of the
    call just saved back into the blank form: the next caller's report carried
    them."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    page.fill("#id_caller_name", "山田太郎")
    page.fill("#id_purpose", "前の人の用件")
    page.fill("#id_note", "前の人のメモ")
    page.check("#id_is_angry")
    page.select_option("#id_callback_number_missing_reason", "refused")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    page.go_back()
    page.wait_for_selector("#call-form")
    assert page.input_value("#id_purpose") == ""
    assert page.input_value("#id_note") == ""
    assert not page.is_checked("#id_is_angry")
    assert page.input_value("#id_callback_number_missing_reason") == ""


def test_leaving_a_form_with_something_typed_asks_first(live, open_as):
    client = factories.ClientFactory(name="株式会社ミドリ設計")
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    asked = []

    def stay(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.fill("#id_purpose", "見積りの件")
    page.click("a[href='/operator/']", no_wait_after=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.input_value("#id_purpose") == "見積りの件"
    # Saving is not leaving: no question.
    page.fill("#id_caller_name", "山田太郎")
    page.fill("#id_callback_number", "09012345678")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    assert asked == ["beforeunload"]


def test_a_call_typed_before_a_login_in_another_tab_is_still_saved(live, open_as):
    """Logging in again in another tab gives the browser a new form token: the
    call on screen was refused (403) and lost."""
    client = factories.ClientFactory()
    operator = factories.OperatorFactory()
    page = open_as(operator)
    base = live["server"].url
    page.goto(f"{base}/operator/calls/new?client={client.pk}")
    page.fill("#id_caller_name", "山田太郎")
    page.fill("#id_callback_number", "09012345678")
    page.fill("#id_purpose", "見積り")
    other = page.context.new_page()
    other.goto(f"{base}/operator/")
    other.click("form[action='/logout/'] button")
    other.wait_for_load_state()
    other.goto(f"{base}/login/")
    other.fill("#id_username", operator.username)
    other.fill("#id_password", factories.PASSWORD)
    other.click("main button[type=submit]")
    other.wait_for_load_state()
    assert "/login/" not in other.url
    page.bring_to_front()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    assert Call.objects.get().caller_name == "山田太郎"


def _type_date_and_time(page, selector, moment):
    """Type a date and time into a focused datetime-local field part by part, as
    an operator does: the parts come in the order of the browser's language
    (year first in Japanese, month first with a 12-hour clock in English)."""
    orders = [
        [f"{moment:%Y}", "ArrowRight", f"{moment:%m%d%H%M}"],
        [f"{moment:%m%d%Y}", "ArrowRight", f"{moment:%I%M}", f"{moment:%p}"[0]],
    ]
    for keys in orders:
        for key in keys:
            if key == "ArrowRight":
                page.keyboard.press(key)
            else:
                page.keyboard.type(key)
        if page.input_value(selector) == f"{moment:%Y-%m-%dT%H:%M}":
            return
        # Another language's order: start again from the first part (Tab goes
        # from part to part inside the field, so come in from the memo).
        page.fill(selector, "")
        page.focus("#id_note")
        page.keyboard.press("Tab")
    raise AssertionError(f"could not type {moment} into {selector}")


def test_an_out_of_hours_time_is_confirmed_and_saved_with_the_keyboard(live, open_as):
    """An operator who types Sunday 03:00 and saves with Enter gets the warning
    with the focus on the time, ticks 受付時間外の時刻で保存する with Space and
    saves with Enter, all without the mouse and without losing a word."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    page.focus("#id_caller_name")
    for text in ["山田太郎", "山田商事", "09012345678"]:
        page.keyboard.insert_text(text)
        page.keyboard.press("Enter")
    page.keyboard.insert_text("見積りの件")
    today = timezone.localdate()
    sunday = today - dt.timedelta(days=(today.weekday() + 1) % 7 or 7)
    typed = dt.datetime.combine(sunday, dt.time(3, 0))
    page.focus("#id_note")  # the memo, left blank; the time comes next
    page.keyboard.press("Tab")  # 日時を変更
    page.keyboard.press("Enter")  # opens the time, with the focus in it
    _type_date_and_time(page, "#id_received_at", typed)
    page.keyboard.press("Enter")  # on to the save button
    page.keyboard.press("Enter")  # save
    page.wait_for_selector("#id_received_at-errors")
    assert "受付時間外です" in page.inner_text("#id_received_at-errors")
    assert not Call.objects.exists()
    assert [
        page.input_value(f"#id_{name}")
        for name in ["caller_name", "caller_company", "callback_number", "purpose"]
    ] == ["山田太郎", "山田商事", "09012345678", "見積りの件"]
    assert page.input_value("#id_received_at") == f"{typed:%Y-%m-%dT%H:%M}"
    # On the time, to put a slip right; Enter goes on to the tick (Tab would
    # walk the time's own parts first).
    assert page.evaluate("document.activeElement.id") == "id_received_at"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "id_confirm_off_hours"
    page.keyboard.press("Space")
    assert page.is_checked("#id_confirm_off_hours")
    page.keyboard.press("Enter")
    page.wait_for_selector("#saved-banner")
    call = Call.objects.get()
    assert (
        call.caller_name,
        call.caller_company,
        call.callback_number,
        call.purpose,
    ) == ("山田太郎", "山田商事", "+819012345678", "見積りの件")
    assert timezone.localtime(call.received_at).replace(tzinfo=None) == typed


def test_a_refused_callback_number_is_said_once_and_a_new_one_is_checked(live, open_as):
    """The server's error and the live check re-run on load said the same thing
    twice under the field: it looked like two problems."""
    page = _typed_call_form(live, open_as, callback_number="090-1234-567")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#id_callback_number-errors")
    page.wait_for_timeout(800)  # the live check would have answered by now
    field = page.locator(".field.callback")
    assert field.inner_text().count("有効な電話番号ではありません") == 1
    assert page.inner_text("#callback-check") == ""

    # A newly typed number is checked live, and the old error gives way.
    page.fill("#id_callback_number", "03-1234-567")
    page.focus("#id_purpose")
    page.wait_for_selector("#callback-check.bad")
    assert not page.is_visible("#id_callback_number-errors")
    assert field.inner_text().count("有効な電話番号ではありません") == 1
    page.fill("#id_callback_number", "09012345678")
    page.focus("#id_purpose")
    page.wait_for_selector("#callback-check.good")
    assert "090-1234-5678" in page.inner_text("#callback-check")


def test_a_silent_call_is_two_keys_after_the_ring(live, open_as):
    """A silent call needed a category and three reasons, none of them true."""
    client = factories.ClientFactory()
    factories.NumberAssignmentFactory(
        client=client, number=factories.LentNumberFactory(number="+81350509871")
    )
    page = open_as(factories.OperatorFactory())
    page.goto(
        f"{live['server'].url}/operator/calls/new?dialed=0350509871&caller=09011112222"
    )
    assert not page.is_visible("#id_is_silent")  # a normal call: no 無言 tick
    page.focus("input[name=category]:checked")
    page.keyboard.press("5")
    assert page.is_checked("#id_category_nuisance")
    assert page.is_checked("#id_is_silent")
    assert not page.is_visible("#id_callback_number")  # nothing to ask about
    page.keyboard.press("Enter")
    page.wait_for_selector("#saved-banner")
    call = Call.objects.get()
    assert call.is_silent and call.caller_number == "+819011112222"

    # Another category takes the tick off: the questions are back.
    page.focus("input[name=category]:checked")
    page.keyboard.press("4")
    assert page.is_visible("#id_is_silent") and not page.is_checked("#id_is_silent")
    page.keyboard.press("5")
    page.keyboard.press("1")
    assert not page.is_checked("#id_is_silent")
    assert page.is_visible("#id_callback_number")


def test_console_layout_and_wording_points(live, open_as):
    """Buttons in the browser's small default font, an empty band above 本日の受電,
    a client's own number in bare parentheses, and the same calls listed twice
    when the callback number is the caller's."""
    client = factories.ClientFactory(
        name="山田税理士事務所", name_kana="ヤマダゼイリシ", own_number="+81332111001"
    )
    factories.NumberAssignmentFactory(
        client=client, number=factories.LentNumberFactory(number="+81350509872")
    )
    factories.CallFactory(client=client, caller_number="+819011112222")
    page = open_as(factories.OperatorFactory())
    base = live["server"].url
    page.goto(f"{base}/operator/")

    def font_size(selector):
        return page.eval_on_selector(selector, "el => getComputedStyle(el).fontSize")

    body = font_size("body")
    assert font_size("form.filters button") == body
    assert font_size(".search-row button") == body
    assert font_size("form[action$='logout/'] button") == body
    card_to_heading = page.evaluate(
        "() => { const h = [...document.querySelectorAll('.card h2')].pop();"
        " return h.getBoundingClientRect().top"
        " - h.closest('.card').getBoundingClientRect().top; }"
    )
    assert card_to_heading < 24  # the card's padding, no empty band

    page.focus("#console-search")
    page.keyboard.insert_text("ヤマダ")
    page.wait_for_selector("#search-results li")
    listed = page.inner_text("#search-results")
    assert "お客様の番号 03-3211-1001" in listed
    assert "(03-3211-1001)" not in listed

    page.goto(f"{base}/operator/calls/new?dialed=0350509872&caller=09011112222")
    assert page.locator(".caller-history tr").count() == 1
    page.wait_for_selector("#callback-check.good")
    check = page.inner_text("#callback-check")
    assert "090-1111-2222" in check
    assert "発信者番号と同じ番号です" in check
    assert page.locator("#callback-check li").count() == 0
    # Another number has its own history shown.
    page.fill("#id_callback_number", "09033334444")
    page.focus("#id_purpose")
    page.wait_for_selector("#callback-check:has-text('090-3333-4444')")
    assert "発信者番号と同じ" not in page.inner_text("#callback-check")


def test_tab_from_the_memo_reaches_save_at_once_and_a_late_call_is_still_typed(
    live, open_as
):
    """Tab from メモ walked the received time's six parts before 保存. The time
    (blank: the ring or the first key) is folded behind 日時を変更: Tab, Tab is
    保存, and a call logged late opens the time with Enter on that button."""
    page = _typed_call_form(live, open_as)
    page.focus("#id_note")
    page.keyboard.insert_text("遅れて記録")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "received-at-change"
    assert page.inner_text("#received-at-change") == "日時を変更"
    page.keyboard.press("Tab")
    assert page.evaluate(
        "document.activeElement === document.querySelector('#call-form .primary')"
    )
    assert "保存" in page.evaluate("document.activeElement.textContent")

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "id_received_at"
    typed = answered_at(timezone.now() - dt.timedelta(days=1)).replace(tzinfo=None)
    _type_date_and_time(page, "#id_received_at", typed)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    call = Call.objects.get()
    assert call.note == "遅れて記録"
    assert timezone.localtime(call.received_at).replace(tzinfo=None) == typed


def test_a_screen_reader_hears_which_searched_client_enter_will_open(live, open_as):
    """The result list is a combobox's listbox: each client is an option (the link
    itself, no link nested in an option), and the focused search box points at
    the chosen one."""
    client = factories.ClientFactory(
        name="合同会社ミドリ設計", name_kana="ミドリセッケイ"
    )
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/")
    page.focus("#console-search")
    page.keyboard.insert_text("ミドリ")
    page.wait_for_selector("#search-results a[role=option]")
    search = page.locator("#console-search")
    assert search.get_attribute("aria-expanded") == "true"
    chosen = page.locator("#search-results [aria-selected=true]")
    assert chosen.get_attribute("role") == "option"
    assert "ミドリ設計" in chosen.inner_text()
    assert search.get_attribute("aria-activedescendant") == chosen.get_attribute("id")
    assert page.locator("#search-results [role=option] a").count() == 0
    page.keyboard.press("Enter")
    page.wait_for_selector("#announce")
    assert f"client={client.pk}" in page.url


# Whether the element with the focus is seen: its middle is not under the rule
# banner on top, nor under anything else, and is inside the window.
_FOCUS_IN_SIGHT = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  if (y < 0 || y > innerHeight) { return false; }
  const hit = document.elementFromPoint(x, y);
  return !!hit && (hit === el || el.contains(hit) || hit.contains(el));
}"""


def test_save_stays_in_sight_on_a_laptop_screen_and_no_field_hides_under_it(
    live, open_as
):
    """At 1366x768 the save button sat a screen and a half below the ring's
    form: a mouse had to scroll to save every call. It stays at the window's
    bottom, and a field the keys reach is never under it nor the rule banner."""
    client = factories.ClientFactory(operator_notes="物件名と希望日時を伺う。\n" * 3)
    for name in ("佐藤 健", "鈴木 花子", "高橋 誠"):
        factories.ClientPersonFactory(client=client, name=name)
    page = open_as(factories.OperatorFactory())
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    save = page.locator("#call-form button[type=submit]")
    box = save.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768
    page.focus("#id_category_normal")
    reached = []
    while not page.evaluate("document.activeElement.type === 'submit'"):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        assert page.evaluate(_FOCUS_IN_SIGHT), reached[-1]
        assert len(reached) < 30
    assert "id_surcharge_reason" in reached
    while page.evaluate("document.activeElement.id") != "id_category_normal":
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(_FOCUS_IN_SIGHT), page.evaluate(
            "document.activeElement.id"
        )


def test_the_days_calls_keep_their_report_and_correction_links_whole(live, open_as):
    """At 1366 px a row with a long purpose squeezed the last columns: 詳細 and
    訂正 broke into 詳/細 and 訂/正, one character a line."""
    from tests.reporting.factories import client_with_recipients, save_reported_call

    client, _ = client_with_recipients(1, name="株式会社さくら不動産")
    save_reported_call(
        client=client,
        received_at=timezone.now(),
        caller_company="株式会社小林企画デザイン事務所",
        purpose="見積もりの件で折り返しがほしい。来週の打ち合わせ日程も相談したい",
    )
    page = open_as(factories.OperatorFactory())
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live['server'].url}/operator/")
    for text in ("詳細", "訂正"):
        link = page.locator("table.today-calls tbody tr a", has_text=text)
        assert link.evaluate("el => el.getClientRects().length") == 1, text


_IN_SIGHT = """el => {
  const box = el.getBoundingClientRect();
  const x = box.left + Math.min(box.width / 2, 40), y = box.top + box.height / 2;
  if (y < 0 || y > innerHeight) { return false; }
  const hit = document.elementFromPoint(x, y);
  return !!hit && (hit === el || el.contains(hit));
}"""


def test_an_error_low_on_the_form_is_shown_whole_above_the_save_bar(live, open_as):
    """The field with the error got the focus, but its message under it stayed
    hidden under the save bar at the window's bottom (1366x768): the browser
    scrolls a field it can see a part of no further."""
    client = factories.ClientFactory()
    page = open_as(factories.OperatorFactory())
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(
        f"{live['server'].url}/operator/calls/new?client={client.pk}&caller=09012345678"
    )
    page.fill("#id_caller_name", "田中")
    page.select_option("#id_purpose_missing_reason", "other")
    page.keyboard.press("Control+Enter")
    errors = page.wait_for_selector("#id_missing_note-errors")
    assert "「その他」を選んだときは" in errors.inner_text()
    assert page.evaluate("document.activeElement.id") == "id_missing_note"
    # The number read back, which comes a moment after the page.
    page.wait_for_selector("#callback-check.good")
    assert errors.evaluate(_IN_SIGHT)
    assert page.eval_on_selector("#id_missing_note", _IN_SIGHT)


def test_a_long_name_to_announce_breaks_between_phrases(live, open_as):
    """At 1366 px 株式会社さくら不動産でございます broke as ございま / す: the
    name read aloud to every caller ended in a lone character."""
    client = factories.ClientFactory(
        name="株式会社さくら不動産",
        announce_name="株式会社さくら不動産でございます",
    )
    page = open_as(factories.OperatorFactory())
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live['server'].url}/operator/calls/new?client={client.pk}")
    for phrase in ("株式会社", "不動産", "ございます"):
        lines = page.eval_on_selector(
            "#announce",
            """(el, phrase) => {
              const text = el.firstChild, at = text.data.indexOf(phrase);
              const range = document.createRange();
              range.setStart(text, at);
              range.setEnd(text, at + phrase.length);
              return new Set([...range.getClientRects()].map(r => r.top)).size;
            }""",
            phrase,
        )
        assert lines == 1, phrase


_TOP_BOTTOM = (
    "el => { const b = el.getBoundingClientRect(); return [b.top, b.bottom]; }"
)


@pytest.mark.parametrize("typed", [{"callback_number": "12"}, {"purpose": ""}])
def test_an_error_scrolls_into_sight_below_the_rule_banner_with_the_heading(
    live, open_as, typed
):
    """A refused call was scrolled to the middle of the window (1366x768): the
    form's heading and the FAX notice went under the rule banner that stays on
    top, when the field in error was in sight below them all along."""
    client = factories.ClientFactory()
    factories.NumberAssignmentFactory(
        client=client,
        number__number="+81355550009",
        number__kind=LentNumber.Kind.FAX,
        use=NumberAssignment.Use.FAX,
    )
    page = open_as(factories.OperatorFactory())
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(
        f"{live['server'].url}/operator/calls/new?dialed=0355550009&caller=09012345678"
    )
    page.fill("#id_caller_name", "田中")
    page.fill("#id_purpose", "見積り")
    for name, value in typed.items():
        page.fill(f"#id_{name}", value)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".error-summary")
    field = page.locator(".field.has-error").first
    assert field.locator("input, textarea").evaluate(
        "el => el === document.activeElement"
    )
    if "callback_number" not in typed:
        # The caller's number read back, which comes a moment after the page
        # and pushes the fields below it down.
        page.wait_for_selector("#callback-check.good")
        page.wait_for_timeout(200)
    _, banner_bottom = page.eval_on_selector(".rule-banner", _TOP_BOTTOM)
    field_top, field_bottom = field.evaluate(_TOP_BOTTOM)
    save_top, _ = page.eval_on_selector("#call-form .actions", _TOP_BOTTOM)
    assert banner_bottom <= field_top and field_bottom <= save_top
    for shown in (".call-panel h1", "#fax-notice", ".error-summary"):
        top, _ = page.eval_on_selector(shown, _TOP_BOTTOM)
        assert top >= banner_bottom, shown
