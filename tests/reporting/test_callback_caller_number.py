"""A callback number not obtained: the report adds the number the phone system
showed (the console's screen pop), so the client can still call back. As the
local SMTP server and the Chatwork API peer received the reports."""

import datetime as dt

import pytest

from answering.models import Category, MissingReason
from reporting import services
from reporting.services import erase_old_personal_data
from tests.factories import OperatorFactory
from tests.reporting.factories import (
    RECEIVED,
    client_with_recipients,
    record_and_relay,
)

pytestmark = pytest.mark.django_db

CALLER = "09012345678"  # as the phone system sends it; reports hyphenate it
REFUSED = "お聞きしましたが、お伝えいただけませんでした"
HUNG_UP = "お伺いする前に切られた"


def _record(client, **fields):
    return record_and_relay(
        client, **{"caller_name": "山田", "purpose": "見積もりの件", **fields}
    )


def _correct(call, **changes):
    services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes=changes
    )
    services.relay_due_deliveries()


def _bodies(smtp_peer, chatwork_peer, person) -> tuple[str, str, str]:
    """The last PC mail, phone mail and Chatwork post, lines ended by \\n."""

    def last(address):
        mails = [m for m in smtp_peer.messages if m["to"] == [address]]
        return mails[-1]["body"].replace("\r\n", "\n")

    return (
        last(person.pc_email),
        last(person.mobile_email),
        chatwork_peer.posts[-1]["body"],
    )


@pytest.fixture
def reported(smtp_peer, chatwork_peer):
    client, (person,) = client_with_recipients(1, chatwork_room="123")

    def record(**fields):
        call = _record(client, **fields)
        return call, _bodies(smtp_peer, chatwork_peer, person)

    record.bodies = lambda: _bodies(smtp_peer, chatwork_peer, person)
    return record


@pytest.mark.parametrize(
    ("fields", "pc_line", "mobile_line"),
    [
        pytest.param(
            {"callback_number_missing_reason": MissingReason.REFUSED},
            f"折り返し先: {REFUSED}（着信番号 090-1234-5678）",
            f"TEL: {REFUSED}（着信番号 090-1234-5678）",
            id="not-obtained-with-caller-number",
        ),
        pytest.param(
            {
                "callback_number_missing_reason": MissingReason.OTHER,
                "missing_note": "電波が悪い",
            },
            "折り返し先: 伺えませんでした（理由は補足のとおり）"
            "（着信番号 090-1234-5678）",
            "TEL: 伺えませんでした（理由は補足のとおり）（着信番号 090-1234-5678）",
            id="other-reason-with-caller-number",
        ),
        pytest.param(
            {"callback_number": "0312345678"},
            "折り返し先: 03-1234-5678",
            "TEL 03-1234-5678",
            id="callback-number-obtained",
        ),
        pytest.param(
            {
                "callback_number_missing_reason": MissingReason.HUNG_UP,
                "caller_number": "anonymous",
            },
            f"折り返し先: {HUNG_UP}",
            f"TEL: {HUNG_UP}",
            id="withheld",
        ),
        pytest.param(
            {
                "callback_number_missing_reason": MissingReason.HUNG_UP,
                "caller_number": "",
            },
            f"折り返し先: {HUNG_UP}",
            f"TEL: {HUNG_UP}",
            id="no-screen-pop",
        ),
        pytest.param(
            {
                "callback_number_missing_reason": MissingReason.HUNG_UP,
                "category": Category.NUISANCE,
            },
            # The number is on the nuisance call's own 発信者番号 line.
            f"折り返し先: {HUNG_UP}",
            f"TEL: {HUNG_UP}",
            id="nuisance",
        ),
    ],
)
def test_the_callback_line_of_each_format(reported, fields, pc_line, mobile_line):
    fields = {"caller_number": CALLER, **fields}
    _call, (pc, mobile, chatwork) = reported(**fields)
    assert f"\n■{pc_line}\n" in pc
    assert f"\n{mobile_line}\n" in mobile
    assert f"\n{pc_line}\n" in chatwork
    for body in (pc, mobile, chatwork):
        # Shown once at most: on the callback line, or a nuisance call's own line.
        assert body.count("090-1234-5678") <= 1


def test_the_whole_report_of_a_callback_number_not_obtained(reported):
    call, (pc, mobile, chatwork) = reported(
        caller_number=CALLER,
        callback_number_missing_reason=MissingReason.REFUSED,
        addressee="佐藤",
    )
    client = call.client
    assert pc.startswith(
        f"{client.name} 御中\n\n"
        "お電話がありましたので、ご報告いたします。\n\n"
        "■日時: 2026年11月5日（木）14:32\n"
        "■お名前: 山田様\n"
        "■会社名: —\n"
        f"■折り返し先: {REFUSED}（着信番号 090-1234-5678）\n"
        "■ご用件: 見積もりの件\n"
        "■宛先: 佐藤様宛\n\n"
    )
    assert mobile == (
        f"［{client.name}］\n"
        "11/5 14:32\n"
        "山田様\n"
        f"TEL: {REFUSED}（着信番号 090-1234-5678）\n"
        "見積もりの件\n"
        "佐藤様宛\n"
    )
    assert chatwork == (
        f"[info][title]山田様よりお電話 11/5 14:32［{client.name}］[/title]"
        "日時: 2026年11月5日（木）14:32\n"
        "お名前: 山田様\n"
        "会社名: —\n"
        f"折り返し先: {REFUSED}（着信番号 090-1234-5678）\n"
        "ご用件: 見積もりの件\n"
        "宛先: 佐藤様宛[/info]"
    )


@pytest.mark.parametrize(
    ("first", "changes", "change_line", "corrected_line"),
    [
        pytest.param(
            {"callback_number": "0312345678"},
            {"callback_number": "", "callback_number_missing_reason": "refused"},
            f"折り返し先: 「03-1234-5678」→「{REFUSED}（着信番号 090-1234-5678）」",
            f"折り返し先: {REFUSED}（着信番号 090-1234-5678）",
            id="number-found-wrong",
        ),
        pytest.param(
            {"callback_number_missing_reason": "refused"},
            {"callback_number": "0312345678", "callback_number_missing_reason": ""},
            f"折り返し先: 「{REFUSED}（着信番号 090-1234-5678）」→「03-1234-5678」",
            "折り返し先: 03-1234-5678",
            id="number-obtained-later",
        ),
        pytest.param(
            {"callback_number_missing_reason": "refused"},
            {"purpose": "納期の件"},
            "ご用件: 「見積もりの件」→「納期の件」",
            f"折り返し先: {REFUSED}（着信番号 090-1234-5678）",
            id="other-item-corrected",
        ),
        pytest.param(
            {"callback_number_missing_reason": "refused"},
            {"category": Category.NUISANCE},
            # The callback line is unchanged as written: not a change to list.
            "分類: 「通常」→「いたずら・嫌がらせ・無言」",
            f"折り返し先: {REFUSED}",
            id="reclassified-as-nuisance",
        ),
    ],
)
def test_a_correction_writes_the_callback_line_as_a_report_does(
    reported, first, changes, change_line, corrected_line
):
    call, _ = reported(caller_number=CALLER, **first)
    _correct(call, **changes)
    pc, mobile, chatwork = reported.bodies()
    assert "■訂正内容\n" in pc
    assert f"\n  {change_line}\n" in pc
    assert f"\n{change_line}\n" in mobile
    assert f"\n  {change_line}\n" in chatwork
    assert f"\n■{corrected_line}\n" in pc
    assert f"\n{corrected_line}\n" in chatwork
    # Only the changed items are listed: 折り返し先 once in the list at most.
    assert sum(line.startswith("折り返し先: 「") for line in mobile.splitlines()) <= 1


def test_an_erased_call_corrected_says_no_caller_number(reported, settings):
    settings.CALLER_DATA_RETENTION_MONTHS = 24
    call, _ = reported(
        caller_number=CALLER, callback_number_missing_reason=MissingReason.REFUSED
    )
    erase_old_personal_data(now=RECEIVED + dt.timedelta(days=365 * 3))
    _correct(call, category=Category.GREY)
    for body in reported.bodies():
        assert "保存期間を過ぎたため消去しました" in body
        assert "着信番号" not in body
        assert "090-1234-5678" not in body
