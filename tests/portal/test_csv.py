import csv
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from answering.models import Category, MissingReason
from clients.spreadsheet import neutralise
from tests.factories import CallFactory, ClientFactory, silent_calls
from tests.portal.conftest import jst

pytestmark = pytest.mark.django_db


def read_csv(response) -> tuple[str, list[list[str]]]:
    assert isinstance(response, StreamingHttpResponse)
    raw = b"".join(response.streaming_content)
    text = raw.decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_export_is_utf8_with_bom_and_attachment(portal, portal_user):
    CallFactory(client=portal_user.client, caller_name="山田太郎")
    response = portal.get(reverse("portal:calls_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text, rows = read_csv(response)
    assert text.startswith("\ufeff")
    assert rows[0][0] == "受電日時"
    assert rows[1][2] == "山田太郎"


def test_formula_starts_are_neutralised(portal, portal_user):
    CallFactory(
        client=portal_user.client,
        caller_name='=HYPERLINK("http://evil.example","click")',
        caller_company="+SUM(A1)",
        purpose="-2+3",
        addressee="@admin",
        note="",
    )
    _text, rows = read_csv(portal.get(reverse("portal:calls_csv")))
    row = rows[1]
    assert row[2] == '\'=HYPERLINK("http://evil.example","click")'
    assert row[3] == "'+SUM(A1)"
    assert row[7] == "'-2+3"
    assert row[6] == "'@admin"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+81312345678", "'+81312345678"),
        ("-x", "'-x"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        # Full-width, as an IME types them, and after leading spaces.
        ('＝HYPERLINK("http://x")', '\'＝HYPERLINK("http://x")'),
        ("＋８１", "'＋８１"),
        ("－１", "'－１"),
        ("＠x", "'＠x"),
        (" =1+1", "' =1+1"),
        ("\u3000＝1", "'\u3000＝1"),
        ("普通の用件", "普通の用件"),
        ("ー（長音）で始まる", "ー（長音）で始まる"),
        ("", ""),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_phone_numbers_are_hyphenated_not_e164(portal, portal_user):
    CallFactory(
        client=portal_user.client,
        callback_number="+81312345678",
        caller_number="+819012345678",
    )
    _text, rows = read_csv(portal.get(reverse("portal:calls_csv")))
    assert rows[1][4] == "03-1234-5678"
    assert rows[1][5] == "090-1234-5678"


def test_export_follows_the_filters_and_never_has_sales_calls(portal, portal_user):
    client = portal_user.client
    CallFactory(client=client, received_at=jst(2026, 10, 1, 10), caller_name="十月")
    CallFactory(client=client, received_at=jst(2026, 11, 1, 10), caller_name="十一月")
    CallFactory(
        client=client,
        received_at=jst(2026, 10, 2, 10),
        category=Category.SALES,
        caller_name="営業の人",
    )
    text, rows = read_csv(
        portal.get(
            reverse("portal:calls_csv"),
            {"date_from": "2026-10-01", "date_to": "2026-10-31"},
        )
    )
    assert [r[2] for r in rows[1:]] == ["十月"]
    assert "営業の人" not in text


def test_export_says_what_could_not_be_obtained_and_the_surcharge(portal, portal_user):
    CallFactory(
        client=portal_user.client,
        callback_number="",
        callback_number_missing_reason=MissingReason.HUNG_UP,
        is_angry=True,
        surcharge_yen=300,
        surcharge_reason="長時間のお怒り",
    )
    _text, rows = read_csv(portal.get(reverse("portal:calls_csv")))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert "折り返し先" in row["伺えなかった項目と理由"]
    assert "お伺いする前に切られた" in row["伺えなかった項目と理由"]
    assert row["様子"] == "お怒り"
    assert row["割増料金（円）"] == "300"
    assert row["割増の理由"] == "長時間のお怒り"


def test_export_says_silent_once_as_the_report_does(portal, portal_user):
    CallFactory(
        client=portal_user.client,
        category=Category.NUISANCE,
        caller_name="",
        caller_company="",
        callback_number="",
        purpose="",
        caller_name_missing_reason=MissingReason.SILENT,
        callback_number_missing_reason=MissingReason.SILENT,
        purpose_missing_reason=MissingReason.SILENT,
    )
    _text, rows = read_csv(portal.get(reverse("portal:calls_csv")))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["伺えなかった項目と理由"] == "無言（お声がありませんでした）"


def test_invalid_filters_give_a_clear_error_not_a_file(portal):
    response = portal.get(reverse("portal:calls_csv"), {"date_from": "yesterday"})
    assert response.status_code == 400
    assert "CSV を作成できませんでした" in response.content.decode()


# The columns clients' spreadsheets were built on: new ones only come after.
FIRST_COLUMNS = [
    "受電日時",
    "分類",
    "お名前",
    "会社名",
    "折り返し先",
    "発信者番号",
    "宛先",
    "用件",
    "様子",
    "伺えなかった項目と理由",
    "割増料金（円）",
    "割増の理由",
]
CALLER = "+819011112222"


def _nuisance(client, day, caller_number=CALLER, **kwargs):
    return CallFactory(
        client=client,
        category=Category.NUISANCE,
        received_at=jst(2026, 10, day, 10),
        caller_number=caller_number,
        **kwargs,
    )


def test_each_row_gives_the_callers_number_and_a_nuisance_calls_repeat_count(
    portal, portal_user
):
    client = portal_user.client
    _nuisance(client, 1, caller_name="一回目")
    _nuisance(client, 2, caller_name="二回目")
    _nuisance(client, 3, caller_number="", caller_name="非通知のいたずら")
    CallFactory(client=client, caller_number=CALLER, caller_name="普通の電話")
    CallFactory(client=client, caller_number="", caller_name="非通知の普通の電話")
    # Erased past the retention period: its number was shown, and is gone.
    _nuisance(
        client,
        4,
        caller_number="",
        caller_name="",
        personal_data_erased_at=jst(2026, 11, 1, 0),
    )
    # Another client's harassment from the same number does not add up here.
    _nuisance(ClientFactory(), 5)
    _text, rows = read_csv(portal.get(reverse("portal:calls_csv")))
    assert rows[0][: len(FIRST_COLUMNS)] == FIRST_COLUMNS
    assert rows[0][len(FIRST_COLUMNS) :] == ["この番号からのいたずら等の件数"]
    cells = {row[2]: (row[5], row[-1]) for row in rows[1:]}
    assert cells == {
        "一回目": ("090-1111-2222", "2"),
        "二回目": ("090-1111-2222", "2"),
        "非通知のいたずら": ("非通知", ""),
        "普通の電話": ("090-1111-2222", ""),
        "非通知の普通の電話": ("非通知", ""),
        "": ("", ""),
    }


def _export_queries(portal) -> int:
    with CaptureQueriesContext(connection) as ctx:
        read_csv(portal.get(reverse("portal:calls_csv")))
    return len(ctx.captured_queries)


def test_repeat_counts_take_one_query_however_many_rows_and_numbers(
    portal, portal_user
):
    client = portal_user.client
    _nuisance(client, 1)
    one_number = _export_queries(portal)
    silent_calls(client, count=60, numbers=30, from_=jst(2026, 10, 3, 9))
    _text, rows = read_csv(portal.get(reverse("portal:calls_csv")))
    assert {row[-1] for row in rows[1:]} == {"1", "2"}
    assert _export_queries(portal) == one_number
