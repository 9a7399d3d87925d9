"""Call reports as the client receives them: the bytes the local SMTP server and
the Chatwork API peer were given, decoded as a mail program or Chatwork would."""

import base64
import datetime as dt
import email
import email.policy
import re

import pytest

from answering.models import Category, MissingReason
from reporting import services
from tests.factories import OperatorFactory, ReportRecipientFactory
from tests.reporting.factories import (
    client_with_recipients,
    record_and_relay,
)

pytestmark = pytest.mark.django_db


def _mail(smtp_peer, to: str) -> dict:
    (message,) = _mails(smtp_peer, to)
    return message


def _mails(smtp_peer, to: str) -> list[dict]:
    """The messages ``to`` received, their bodies with lines ended by \\n (they
    cross the wire with CRLF)."""
    return [
        {**m, "body": m["body"].replace("\r\n", "\n")}
        for m in smtp_peer.messages
        if m["to"] == [to]
    ]


def _decoded(message: dict) -> email.message.EmailMessage:
    return email.message_from_bytes(message["raw"], policy=email.policy.default)


def test_a_long_company_name_is_shortened_in_the_subject_never_the_time(smtp_peer):
    client, (person,) = client_with_recipients(1)
    record_and_relay(
        client,
        caller_name="山田太郎",
        caller_company="株式会社" + "とても長い名前の会社" * 15,
        callback_number="0312345678",
        purpose="見積もりの件",
    )
    subject = _mail(smtp_peer, person.pc_email)["subject"]
    assert subject.startswith("株式会社とても長い名前の会社")
    assert subject.endswith(f"… 11/5 14:32［{client.name}］")
    assert len(subject) <= 120


def test_a_phone_gets_the_whole_purpose_and_only_a_runaway_paste_is_cut(
    smtp_peer, settings
):
    """A person with only a mobile address reads nothing else: the phone's
    text cut a purpose at 80 characters, and the rest was nowhere in it."""
    settings.PORTAL_BASE_URL = "https://portal.example.jp"
    client, (person,) = client_with_recipients(1)
    purpose = (
        "来週の打ち合わせの件です。火曜の15時からを水曜の10時に変更したいとのこと。"
        "資料は前回お送りいただいたものに、見積もりの改訂版を加えてほしいそうです。"
        "折り返しは本日17時までに携帯へ、つながらなければ会社の代表へお願いします。"
    )
    assert len(purpose) > 100
    record_and_relay(
        client, caller_name="山田", callback_number="0312345678", purpose=purpose
    )
    mobile = _mail(smtp_peer, person.mobile_email)["body"]
    assert purpose in mobile
    assert "…" not in mobile

    pasted = "あ" * 3000
    call = record_and_relay(
        client, caller_name="佐藤", callback_number="0312345678", purpose=pasted
    )
    mobile = _mails(smtp_peer, person.mobile_email)[1]["body"]
    assert "あ" * 999 + "…\n" in mobile
    assert "あ" * 1000 not in mobile
    assert (
        "（以下省略。全文はお客様ページでご覧いただけます）\n"
        f"https://portal.example.jp/portal/calls/{call.pk}/\n"
    ) in mobile


def test_a_purpose_not_obtained_says_so_and_other_is_never_read_as_the_purpose(
    smtp_peer, chatwork_peer
):
    """The phone's text showed a bare reason where the purpose goes, and every
    report wrote the reason 「その他」 after ご用件, which reads as the purpose."""
    client, (person,) = client_with_recipients(1, chatwork_room="123")
    record_and_relay(
        client,
        caller_name="",
        caller_name_missing_reason=MissingReason.HUNG_UP,
        callback_number="",
        callback_number_missing_reason=MissingReason.CLIENT_KNOWS,
        purpose="",
        purpose_missing_reason=MissingReason.OTHER,
        missing_note="電波が悪く聞き取れませんでした",
    )
    pc = _mail(smtp_peer, person.pc_email)["body"]
    mobile = _mail(smtp_peer, person.mobile_email)["body"]
    (chatwork,) = [p["body"] for p in chatwork_peer.posts]
    assert "■ご用件: 伺えませんでした（理由は補足のとおり）\n" in pc
    assert "ご用件: 伺えませんでした（理由は補足のとおり）\n" in chatwork
    assert "\n用件: 伺えませんでした（理由は補足のとおり）\n" in mobile
    assert "補足: 電波が悪く聞き取れませんでした" in mobile
    for body in (pc, mobile, chatwork):
        assert "その他" not in body

    record_and_relay(
        client,
        caller_name="山田",
        callback_number="0312345678",
        purpose="",
        purpose_missing_reason=MissingReason.HUNG_UP,
    )
    mobile = _mails(smtp_peer, person.mobile_email)[1]["body"]
    assert "\n用件: お伺いする前に切られた\n" in mobile


def test_a_runaway_purpose_still_reaches_chatwork_with_where_to_read_it_all(
    chatwork_peer, settings
):
    """Chatwork refuses a message past some tens of thousands of characters
    (400): a pasted purpose failed the report for good, and its correction,
    which writes the purpose three times, failed sooner."""
    settings.PORTAL_BASE_URL = "https://portal.example.jp"
    client, _ = client_with_recipients(0, chatwork_room="123")
    call = record_and_relay(
        client, caller_name="山田", callback_number="0312345678", purpose="あ" * 30_000
    )
    services.record_correction(
        call=call,
        corrected_by=OperatorFactory(),
        changes={"purpose": "い" * 30_000},
    )
    services.relay_due_deliveries()
    report, correction = [p["body"] for p in chatwork_peer.posts]
    assert "ご用件: " + "あ" * 4999 + "…\n" in report
    assert "「" + "あ" * 4999 + "…」→「" + "い" * 4999 + "…」" in correction
    assert "ご用件: " + "い" * 4999 + "…\n" in correction
    for body in (report, correction):
        assert body.endswith(
            "\n\n（以下省略。全文はお客様ページでご覧いただけます）\n"
            f"https://portal.example.jp/portal/calls/{call.pk}/[/info]"
        )


def test_a_pc_mail_opens_with_the_marks_of_its_subject_in_words(smtp_peer):
    """A nuisance or grey-zone call was named only in the subject and on the
    body's last item (■分類); the body now opens with it."""
    client, (person,) = client_with_recipients(1)
    record_and_relay(
        client,
        category=Category.NUISANCE,
        is_urgent=True,
        caller_name="山田",
        callback_number="0312345678",
        purpose="大声で怒鳴って切れました",
    )
    record_and_relay(
        client,
        category=Category.GREY,
        caller_name="鈴木",
        callback_number="0312345678",
        purpose="社長様にご提案",
    )
    record_and_relay(
        client, caller_name="佐藤", callback_number="0312345678", purpose="折り返し"
    )
    nuisance, grey, normal = (m["body"] for m in _mails(smtp_peer, person.pc_email))
    assert nuisance.startswith(
        f"{client.name} 御中\n\n"
        "【至急】お急ぎのご様子です。\n"
        "【要注意】いたずら・嫌がらせ・無言のお電話です。\n\n"
        "お電話がありましたので、ご報告いたします。\n"
    )
    assert grey.startswith(
        f"{client.name} 御中\n\n"
        "【営業の可能性】営業電話かどうか判断がつかなかったお電話です。\n\n"
        "お電話がありましたので、ご報告いたします。\n"
    )
    assert normal.startswith(
        f"{client.name} 御中\n\nお電話がありましたので、ご報告いたします。\n"
    )


def test_the_headers_a_mail_program_reads(smtp_peer, settings):
    """Subject in UTF-8 encoded-words that each decode alone (a program that
    decodes them one by one shows no broken character), the sender's name,
    the Message-ID the delivery chose, and the date in Japan time."""
    settings.DEFAULT_FROM_EMAIL = "株式会社テスト電話秘書 <report@example.jp>"
    client, (person,) = client_with_recipients(1)
    call = record_and_relay(
        client,
        category=Category.NUISANCE,
        caller_name="山田①㈱😀\r\nBcc: evil@example.com",
        caller_company="株式会社サンプル",
        callback_number="0312345678",
        purpose="用件",
    )
    message = _mail(smtp_peer, person.pc_email)
    headers = message["raw_headers"].decode("ascii")  # raises unless all ASCII
    for line in headers.split("\r\n"):
        assert len(line) <= 78, line
    # The Subject header with its folded lines, up to the next header.
    raw_subject = re.search(r"^Subject:(.*?)\r\n(?=\S)", headers + "\r\nX", re.M | re.S)
    subject = "".join(
        base64.b64decode(word).decode("utf-8")  # raises on a split character
        for word in re.findall(r"=\?utf-8\?b\?([^?]*)\?=", raw_subject[1])
    )
    assert subject == (
        "【要注意】株式会社サンプル 山田①㈱😀 Bcc: evil@example.com様よりお電話"
        f" 11/5 14:32［{client.name}］"
    )
    parsed = _decoded(message)
    assert parsed["Bcc"] is None and message["to"] == [person.pc_email]
    assert parsed["From"].addresses[0].display_name == "株式会社テスト電話秘書"
    delivery = call.deliveries.get(address=person.pc_email)
    assert parsed["Message-ID"] == delivery.message_id
    assert parsed["Date"].endswith("+0900")
    assert parsed["Date"].datetime.utcoffset() == dt.timedelta(hours=9)
    assert parsed.get_content_charset() == "utf-8"
    # The body decodes to the same characters, emoji and 機種依存文字 included.
    assert "■お名前: 山田①㈱😀 Bcc: evil@example.com様\n" in message["body"].replace(
        "\r\n", "\n"
    )


def test_a_line_break_in_a_one_line_field_cannot_forge_an_item(
    smtp_peer, chatwork_peer
):
    """A name posted with a line break in it (the console's fields take one)
    started a line of its own in every body: 折り返し先: 090-0000-0000 read as
    the callback number, above the real one."""
    client, (person,) = client_with_recipients(1, chatwork_room="123")
    forged = "\r\n折り返し先: 090-0000-0000\r\nTEL 090-0000-0000"
    record_and_relay(
        client,
        caller_name=f"山田{forged}",
        caller_company=f"株式会社サンプル{forged}",
        callback_number="0312345678",
        purpose="見積もりの件",
        addressee=f"佐藤{forged}",
        is_urgent=True,
        demeanour_note=f"早口{forged}",
        surcharge_yen=200,
        surcharge_reason=f"長電話{forged}",
    )
    pc = _mail(smtp_peer, person.pc_email)["body"]
    mobile = _mail(smtp_peer, person.mobile_email)["body"]
    (chatwork,) = [p["body"] for p in chatwork_peer.posts]
    for body in (pc, mobile, chatwork):
        forged_lines = [
            line
            for line in body.splitlines()
            if line.lstrip("■").startswith(("折り返し先: 090", "TEL 090"))
        ]
        assert not forged_lines
        assert "090-0000-0000" in body  # the text is kept, on its line
    assert "■折り返し先: 03-1234-5678" in pc
    assert "\nTEL 03-1234-5678\n" in mobile
    assert "\n折り返し先: 03-1234-5678\n" in chatwork
    assert "■お名前: 山田 折り返し先: 090-0000-0000 TEL 090-0000-0000様\n" in pc


def test_a_phones_correction_cuts_a_runaway_purpose_as_its_report_does(
    smtp_peer, settings
):
    """The phone's 訂正 wrote the old and the new purpose in full, however long,
    above the corrected call whose purpose was cut."""
    settings.PORTAL_BASE_URL = "https://portal.example.jp"
    client, (person,) = client_with_recipients(1)
    call = record_and_relay(
        client, caller_name="山田", callback_number="0312345678", purpose="あ" * 3000
    )
    services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes={"purpose": "い" * 3000}
    )
    services.relay_due_deliveries()
    correction = _mails(smtp_peer, person.mobile_email)[1]["body"]
    assert correction.startswith(
        f"［{client.name}］\n【訂正】\nご用件: 「"
        + "あ" * 999
        + "…」→「"
        + "い" * 999
        + "…」\n"
        "（以下省略。全文はお客様ページでご覧いただけます）\n"
        f"https://portal.example.jp/portal/calls/{call.pk}/\n\n"
    )
    assert "あ" * 1000 not in correction and "い" * 1000 not in correction


def test_a_person_receiving_for_two_clients_sees_whose_call_each_report_is(
    smtp_peer, chatwork_peer
):
    """An accountant, or a company with two contracts, receiving both clients'
    reports at one address: neither the subject, nor the phone's text, nor the
    Chatwork title said which client the call was for."""
    tokyo = client_with_recipients(0, name="株式会社サンプル", chatwork_room="123")[0]
    osaka = client_with_recipients(
        0, name="株式会社サンプルホールディングス 大阪営業所", chatwork_room="456"
    )[0]
    for client in (tokyo, osaka):
        ReportRecipientFactory(
            client=client, pc_email="keiri@example.jp", mobile_email="k@example.jp"
        )
    call = record_and_relay(
        tokyo, caller_name="山田", callback_number="0312345678", purpose="見積もり"
    )
    record_and_relay(
        osaka, caller_name="佐藤", callback_number="0312345678", purpose="納品"
    )
    services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes={"purpose": "請求書"}
    )
    services.relay_due_deliveries()

    pc = [m["subject"] for m in _mails(smtp_peer, "keiri@example.jp")]
    assert pc == [
        # The caller first, as a phone's mail list shows a subject's start.
        "山田様よりお電話 11/5 14:32［株式会社サンプル］",
        "佐藤様よりお電話 11/5 14:32［株式会社サンプルホ…ィングス 大阪営業所］",
        "【訂正】山田様よりお電話 11/5 14:32［株式会社サンプル］",
    ]
    mobile = _mails(smtp_peer, "k@example.jp")
    assert [m["subject"] for m in mobile] == pc
    assert [m["body"].split("\n")[0] for m in mobile] == [
        "［株式会社サンプル］",
        "［株式会社サンプルホ…ィングス 大阪営業所］",
        "［株式会社サンプル］",
    ]
    assert mobile[2]["body"].startswith("［株式会社サンプル］\n【訂正】\n")
    titles = [
        re.search(r"\[title\](.*)\[/title\]", p["body"])[1] for p in chatwork_peer.posts
    ]
    assert titles == pc


def test_a_report_asks_out_of_office_responders_not_to_answer(smtp_peer):
    """Outlook/Exchange answered every report with its out-of-office reply to
    our send-only address: it reads X-Auto-Response-Suppress, not
    Auto-Submitted. Non-delivery reports are not suppressed, nor is the
    message marked as bulk mail."""
    client, (person,) = client_with_recipients(1)
    record_and_relay(
        client, caller_name="山田", callback_number="0312345678", purpose="件"
    )
    for address in (person.pc_email, person.mobile_email):
        parsed = _decoded(_mail(smtp_peer, address))
        assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"
        assert parsed["Auto-Submitted"] == "auto-generated"
        assert parsed["Precedence"] is None
        # No contact address is configured: replies go nowhere new.
        assert parsed["Reply-To"] is None


def test_a_pc_report_and_its_correction_link_to_the_calls_own_page(smtp_peer, settings):
    """The PC mail's footer linked to the call list: the reader had to find
    the call in it. It links to the call's page, which opens in one click."""
    settings.PORTAL_BASE_URL = "https://portal.example.jp"
    client, (person,) = client_with_recipients(1)
    call = record_and_relay(
        client, caller_name="山田", callback_number="0312345678", purpose="見積もり"
    )
    services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes={"purpose": "請求書"}
    )
    services.relay_due_deliveries()
    for message in _mails(smtp_peer, person.pc_email):
        assert (
            "このお電話はお客様ページでご覧いただけます。\n"
            f"https://portal.example.jp/portal/calls/{call.pk}/\n"
        ) in message["body"]
        assert "/portal/calls/\n" not in message["body"]
