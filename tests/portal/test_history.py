import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from answering.models import Call, Category, MissingReason
from portal import selectors
from tests.factories import CallFactory
from tests.portal.conftest import jst

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8


def make_calls(client, count, start=None, **kwargs):
    start = start or jst(2026, 10, 1, 9, 0)
    return Call.objects.bulk_create(
        [
            Call(
                client=client,
                received_at=start + dt.timedelta(minutes=7 * i),
                caller_name=f"発信者{i:05d}",
                caller_company="株式会社サンプル",
                callback_number="+819012345678",
                caller_number="+819012345678",
                purpose=f"用件{i:05d}",
                **kwargs,
            )
            for i in range(count)
        ]
    )


def names(response) -> list[str]:
    return [c.caller_name for c in response.context["page"].calls]


def test_newest_first_and_sales_calls_never_listed(portal, portal_user):
    client = portal_user.client
    CallFactory(client=client, received_at=jst(2026, 10, 1, 9), caller_name="古い方")
    CallFactory(client=client, received_at=jst(2026, 10, 2, 9), caller_name="新しい方")
    CallFactory(
        client=client,
        received_at=jst(2026, 10, 3, 9),
        category=Category.SALES,
        caller_name="営業マン山田",
    )
    response = portal.get(reverse("portal:calls"))
    assert response.status_code == 200
    assert names(response) == ["新しい方", "古い方"]
    body = response.content.decode()
    assert "営業マン山田" not in body
    newest = Call.objects.get(caller_name="新しい方")
    assert f'href="{reverse("portal:call", args=[newest.pk])}"' in body
    assert "2026/10/02 09:00" in body  # shown in Japan time


def test_filters_by_date_range_in_japan_time_category_and_addressee(
    portal, portal_user
):
    client = portal_user.client
    # 00:30 on Oct 2 in Japan is still Oct 1 in UTC: it belongs to Oct 2.
    CallFactory(client=client, received_at=jst(2026, 10, 2, 0, 30), caller_name="早朝")
    CallFactory(client=client, received_at=jst(2026, 10, 1, 23, 59), caller_name="前日")
    CallFactory(
        client=client,
        received_at=jst(2026, 10, 2, 10),
        caller_name="いたずら",
        category=Category.NUISANCE,
        addressee="田中",
    )
    url = reverse("portal:calls")
    response = portal.get(url, {"date_from": "2026-10-02", "date_to": "2026-10-02"})
    assert names(response) == ["いたずら", "早朝"]
    response = portal.get(url, {"category": "nuisance"})
    assert names(response) == ["いたずら"]
    response = portal.get(url, {"addressee": "田中"})
    assert names(response) == ["いたずら"]


def test_dates_are_read_year_first_as_typed_in_japan(portal, portal_user):
    client = portal_user.client
    CallFactory(client=client, received_at=jst(2026, 11, 1, 10), caller_name="11月1日")
    CallFactory(client=client, received_at=jst(2026, 1, 11, 10), caller_name="1月11日")
    url = reverse("portal:calls")
    for typed in ("2026/11/01", "2026年11月1日", "２０２６－１１－０１"):
        response = portal.get(url, {"date_from": typed, "date_to": typed})
        assert names(response) == ["11月1日"], typed
    # Day first or month first: refused, not read as 11 January.
    response = portal.get(url, {"date_from": "01/11/2026"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2026/11/01（または 2026-11-01、2026年11月1日）のように" in html
    assert 'value="01/11/2026"' in html


@pytest.mark.parametrize(
    "typed", ["03-1234-5678", "0312345678", "+81312345678", "０３１２３４５６７８"]
)
def test_a_number_typed_in_any_format_finds_the_call(portal, portal_user, typed):
    client = portal_user.client
    CallFactory(client=client, caller_name="該当", callback_number="+81312345678")
    CallFactory(
        client=client,
        caller_name="別人",
        callback_number="+819011112222",
        caller_number="+819011112222",
    )
    response = portal.get(reverse("portal:calls"), {"q": typed})
    assert names(response) == ["該当"]


def test_part_of_a_number_also_finds_the_call(portal, portal_user):
    client = portal_user.client
    CallFactory(
        client=client,
        caller_name="該当",
        callback_number="+81312345678",
        caller_number="",
    )
    CallFactory(
        client=client,
        caller_name="別人",
        callback_number="+819011112222",
        caller_number="+819011112222",
    )
    assert names(portal.get(reverse("portal:calls"), {"q": "1234-5678"})) == ["該当"]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("0222", ["03-1222-0222"]),
        ("0312", ["03-1222-0222"]),
        ("03-2224", ["03-2224-5678"]),
        ("1222", ["03-1222-0222"]),
        ("1312", []),  # only the country code: +81 3 12...
    ],
)
def test_part_of_a_number_finds_only_numbers_that_hold_it(
    portal, portal_user, typed, found
):
    """ "0222" listed calls from 03-2224-5678: the leading 0 was dropped and 222
    looked for anywhere in the number."""
    for caller_name, number in [
        ("03-1222-0222", "+81312220222"),
        ("03-2224-5678", "+81322245678"),
    ]:
        CallFactory(
            client=portal_user.client,
            caller_name=caller_name,
            callback_number=number,
            caller_number=number,
        )
    assert names(portal.get(reverse("portal:calls"), {"q": typed})) == found


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        ("caller_name", "佐藤花子", "花子"),
        ("caller_company", "合同会社ミドリ", "ミドリ"),
        ("purpose", "見積書の件で折り返し希望", "見積書"),
    ],
)
def test_free_text_search(portal, portal_user, field, value, query):
    client = portal_user.client
    CallFactory(client=client, caller_name="無関係")
    wanted = CallFactory(client=client, **{field: value})
    response = portal.get(reverse("portal:calls"), {"q": query})
    assert [c.pk for c in response.context["page"].calls] == [wanted.pk]


@pytest.mark.parametrize(
    ("typed", "found"),
    [("100%", "100%保証"), ("A_B", "A_B工業"), ("ａ＿ｂ", "A_B工業")],
)
def test_percent_and_underscore_are_looked_for_as_typed(
    portal, portal_user, typed, found
):
    for company in ("100%保証", "1000保証", "A_B工業", "AXB工業"):
        CallFactory(client=portal_user.client, caller_company=company)
    response = portal.get(reverse("portal:calls"), {"q": typed})
    assert [c.caller_company for c in response.context["page"].calls] == [found]


def test_paging_older_then_newer_walks_every_call_once(portal, portal_user):
    client = portal_user.client
    created = make_calls(client, 2 * selectors.PAGE_SIZE + 7)
    # Two calls at the same instant must not be lost at a page edge.
    same = created[-1].received_at
    CallFactory(client=client, received_at=same, caller_name="同時刻")
    url = reverse("portal:calls")
    seen = []
    response = portal.get(url)
    pages = [names(response)]
    while response.context["page"].older:
        response = portal.get(url, {"before": response.context["page"].older.encode()})
        pages.append(names(response))
    seen = [n for page in pages for n in page]
    expected = list(
        Call.objects.filter(client=client)
        .order_by("-received_at", "-id")
        .values_list("caller_name", flat=True)
    )
    assert seen == expected
    assert len(pages) == 3
    # ...and back to newer ones from the last page.
    response = portal.get(url, {"after": response.context["page"].newer.encode()})
    assert names(response) == pages[1]


def test_a_cursor_before_1970_reads_back():
    for moment in (jst(1969, 12, 31, 23, 59), jst(2026, 3, 1, 9, 0)):
        cursor = selectors.Cursor(received_at=moment, call_id=42)
        assert selectors.Cursor.decode(cursor.encode()) == cursor
    assert selectors.Cursor.decode("--1-2") is None


@pytest.mark.parametrize(
    "cursor", ["9" * 6000 + "-1", "1-" + "9" * 6000, "1-" + "9" * 20, "9" * 30 + "-1"]
)
def test_a_forged_cursor_shows_the_first_page(portal, cursor):
    url = reverse("portal:calls")
    for direction in ("before", "after"):
        response = portal.get(url, {direction: cursor})
        assert response.status_code == 200
        assert response.context["page"].calls == portal.get(url).context["page"].calls


def test_a_csv_refused_for_a_bad_date_shows_the_date_and_its_error(portal):
    response = portal.get(reverse("portal:calls_csv"), {"date_from": "2026-02-30"})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<details class="more-filters" open>' in html
    assert 'value="2026-02-30"' in html
    assert response.context["form"].errors["date_from"]


def test_bad_input_is_a_form_error_not_a_crash(portal):
    url = reverse("portal:calls")
    response = portal.get(url, {"date_from": "2026-13-45", "q": "残す言葉"})
    assert response.status_code == 200
    assert "残す言葉" in response.content.decode()  # nothing typed is lost
    assert response.context["form"].errors
    response = portal.get(url, {"date_from": "2026-10-05", "date_to": "2026-10-01"})
    assert "終了日は開始日以降" in response.content.decode()
    for junk in [
        "abc",
        "1-2-3",
        "99999999999999999999999-1",
        "-5-5",
        "1-99999999999999999999",
    ]:
        assert portal.get(url, {"before": junk}).status_code == 200
        assert portal.get(url, {"after": junk}).status_code == 200


def _count_queries(portal, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = portal.get(reverse("portal:calls"), params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_history_pages_use_a_fixed_small_number_of_queries(portal, portal_user):
    client = portal_user.client
    make_calls(client, 3 * selectors.PAGE_SIZE, addressee="田中")
    first = _count_queries(portal, {})
    filtered = _count_queries(
        portal,
        {
            "q": "用件",
            "category": "normal",
            "addressee": "田中",
            "date_from": "2026-10-01",
            "date_to": "2026-12-31",
        },
    )
    deep_cursor = selectors.Cursor.of(
        Call.objects.filter(client=client).order_by("received_at", "id")[5]
    )
    deep = _count_queries(portal, {"before": deep_cursor.encode()})
    assert first <= MAX_QUERIES
    assert filtered <= MAX_QUERIES
    assert deep <= MAX_QUERIES
    # The deep page costs exactly what the first page costs.
    assert first == deep == filtered
    # More calls do not mean more queries.
    make_calls(client, selectors.PAGE_SIZE, start=jst(2026, 12, 1, 9))
    assert _count_queries(portal, {}) == first


def test_the_list_shows_what_could_not_be_obtained_as_a_dash(portal, portal_user):
    CallFactory(
        client=portal_user.client,
        caller_name="",
        caller_name_missing_reason=MissingReason.REFUSED,
    )
    assert portal.get(reverse("portal:calls")).status_code == 200


def silent_call(client, **kwargs):
    """A silent call (無言) as the console's tick logs it: nothing obtained."""
    return CallFactory(
        client=client,
        category=Category.NUISANCE,
        caller_name="",
        caller_company="",
        callback_number="",
        purpose="",
        caller_name_missing_reason=MissingReason.SILENT,
        callback_number_missing_reason=MissingReason.SILENT,
        purpose_missing_reason=MissingReason.SILENT,
        **kwargs,
    )


def test_a_silent_call_reads_silent_as_its_purpose_in_the_list(portal, portal_user):
    """As its page and its report say it, not 「—」 as if the purpose were
    forgotten; a call with no purpose recorded still shows 「—」."""
    silent_call(portal_user.client, received_at=jst(2026, 10, 1, 10))
    CallFactory(
        client=portal_user.client,
        received_at=jst(2026, 10, 2, 10),
        purpose="",
        purpose_missing_reason=MissingReason.HUNG_UP,
    )
    body = portal.get(reverse("portal:calls")).content.decode()
    assert re.findall(r'data-label="用件">([^<]*)</td>', body) == ["—", "無言"]


def test_a_call_says_why_its_callback_number_and_purpose_are_missing(
    portal, portal_user
):
    call = CallFactory(
        client=portal_user.client,
        callback_number="",
        callback_number_missing_reason=MissingReason.REFUSED,
        purpose="",
        purpose_missing_reason=MissingReason.REFUSED,
    )
    body = portal.get(reverse("portal:call", args=[call.pk])).content.decode()
    assert (
        body.count("伺えませんでした（お聞きしましたが、お伝えいただけませんでした）")
        == 2
    )
    assert "名乗らなかった" not in body


@pytest.mark.parametrize(
    "typed", ["1999-12-31", "2101-01-01", "3000-01-01", "9999-12-31"]
)
def test_a_date_out_of_range_says_which_dates_are_accepted(portal, typed):
    response = portal.get(reverse("portal:calls"), {"date_to": typed, "q": "残す"})
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["form"].errors == {
        "date_to": ["2000-01-01 から 2100-12-31 までの日付を入力してください。"]
    }
    assert "2000-01-01 から 2100-12-31 までの日付を入力してください。" in body
    assert typed in body and "残す" in body  # nothing typed is lost


@pytest.mark.parametrize(
    "stored, typed",
    [
        ("ＡＢＣ商事", "ABC"),  # full-width letters typed by the operator's IME
        ("ＡＢＣ商事", "abc"),
        ("ABC商事", "ＡＢＣ"),  # the client's IME in full-width mode
        ("ａｂｃ商事", "ABC"),  # full-width small letters: SQLite ignores their case
        ("ｶﾜｸﾞﾁ様", "ｶﾜｸﾞﾁ"),
        ("ｶﾜｸﾞﾁ様", "カワグチ"),  # half-width kana typed by the operator
        ("カワグチ様", "ｶﾜｸﾞﾁ"),
        ("ﾊﾟﾝ工房", "パン"),
    ],
)
def test_the_keyword_search_finds_letters_in_either_width(
    portal, portal_user, stored, typed
):
    """Full- and half-width forms of the same letters are the same name to a
    reader; the history search found only the width typed."""
    CallFactory(client=portal_user.client, caller_company=stored, caller_name="担当")
    CallFactory(client=portal_user.client, caller_company="別の会社", caller_name="他")
    response = portal.get(reverse("portal:calls"), {"q": typed})
    assert [c.caller_company for c in response.context["page"].calls] == [stored]


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("ＳＭＩＴＨ", "Smith"),
        ("ｓｍｉｔｈ", "SMITH"),  # full-width small letters: SQLite ignores their case
        ("Smith", "ＳＭＩＴＨ"),
        ("営業部Ａ", "営業部A"),
        ("ｻﾄｳ", "サトウ"),
        ("サトウ", "ｻﾄｳ"),
    ],
)
def test_the_addressee_filter_finds_letters_in_either_width(
    portal, portal_user, stored, typed
):
    """The keyword search found ＡＢＣ for ABC; the addressee filter did not."""
    CallFactory(client=portal_user.client, addressee=stored, caller_name="該当")
    CallFactory(client=portal_user.client, addressee="田中", caller_name="他")
    response = portal.get(reverse("portal:calls"), {"addressee": typed})
    assert names(response) == ["該当"]


def test_the_call_detail_gives_the_weekday_and_the_list_stays_dense(
    portal, portal_user
):
    # Saturday 28 November 2026, 01:34 in Japan (Friday 16:34 in UTC).
    call = CallFactory(client=portal_user.client, received_at=jst(2026, 11, 28, 1, 34))
    listed = portal.get(reverse("portal:calls")).content.decode()
    assert "2026/11/28 01:34" in listed
    body = portal.get(reverse("portal:call", args=[call.pk])).content.decode()
    assert "<dt>受電日時</dt><dd>2026年11月28日（土） 01:34</dd>" in body


def test_back_from_a_call_returns_to_the_same_search_and_page(portal, portal_user):
    """The call page's 受電履歴へ戻る went to the first page, unfiltered: a
    client who had searched, or paged back, started over after each call."""
    client = portal_user.client
    for i in range(60):
        CallFactory(
            client=client,
            received_at=jst(2026, 10, 1, 9) + dt.timedelta(minutes=i),
            caller_name="田中",
        )
    listing = reverse("portal:calls")
    first = portal.get(listing, {"q": "田中"})
    older = first.context["page"].older.encode()
    page = portal.get(listing, {"q": "田中", "before": older})
    call = page.context["page"].calls[0]
    detail_url = f"{reverse('portal:call', args=[call.pk])}?q=%E7%94%B0%E4%B8%AD&amp;before={older}"
    assert f'href="{detail_url}"' in page.content.decode()

    detail = portal.get(
        reverse("portal:call", args=[call.pk]), {"q": "田中", "before": older}
    )
    back = f"{listing}?q=%E7%94%B0%E4%B8%AD&amp;before={older}"
    assert f'href="{back}"' in detail.content.decode()
    # Reached from elsewhere (the home page, an invoice), it is the plain list.
    plain = portal.get(reverse("portal:call", args=[call.pk])).content.decode()
    assert f'href="{listing}"' in plain


def test_corrected_calls_are_marked_in_the_list_without_more_queries(
    portal, portal_user
):
    """A call whose report was corrected reads 訂正あり in the list, as its
    page shows a 訂正 table; a change of the operator's own memo alone is no
    correction of the report. Marking them costs no query per row."""
    from answering.services import correct_call

    client = portal_user.client
    calls = make_calls(client, selectors.PAGE_SIZE)
    before = _count_queries(portal, {})
    corrected, memo_only = calls[-1], calls[-2]
    correct_call(call=corrected, corrected_by=None, changes={"purpose": "訂正後の用件"})
    correct_call(call=memo_only, corrected_by=None, changes={"note": "社内メモ"})
    for call in calls[:10]:
        correct_call(call=call, corrected_by=None, changes={"addressee": "佐藤"})

    response = portal.get(reverse("portal:calls"))
    rows = {row.pk: row for row in response.context["rows"]}
    assert rows[corrected.pk].corrected and not rows[memo_only.pk].corrected
    assert sum(row.corrected for row in rows.values()) == 11
    body = response.content.decode()
    assert body.count('<span class="badge corrected">訂正あり</span>') == 11
    row_html = body.split(f'href="{reverse("portal:call", args=[corrected.pk])}')[1]
    assert "訂正あり" in row_html.split("</tr>")[0]
    detail = portal.get(reverse("portal:call", args=[corrected.pk])).content.decode()
    assert 'id="corrections"' in detail
    assert _count_queries(portal, {}) == before
