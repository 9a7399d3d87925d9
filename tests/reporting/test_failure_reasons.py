"""The failed-deliveries page explains each failure in Japanese, with the next step."""

import re
from collections import Counter

import pytest
from django.conf import settings as django_settings

from reporting import failures, mail, services
from reporting.models import Delivery
from tests.factories import ClientFactory, ReportRecipientFactory
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def failed_page(admin_client) -> str:
    response = admin_client.get("/reports/failed/")
    assert response.status_code == 200
    return response.content.decode()


def error_cell(page: str) -> str:
    """The failed table's error column (the bounce list above is left out)."""
    table = page[page.index('<table class="table">') :]
    start = table.index('class="failure-reason"')
    return table[start : table.index("</td>", start)]


def test_a_bounced_address_is_explained_with_the_next_step(admin_client, smtp_peer):
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    save_reported_call(client=client)
    services.relay_due_deliveries()

    page = failed_page(admin_client)
    cell = error_cell(page)
    assert "宛先のメールアドレスが存在しません" in cell
    assert "お客様に連絡し、別のアドレスをお知らせいただいてください。" in cell
    assert f'href="/admin/clients/client/{client.pk}/change/"' in cell
    # The raw reply stays for support, without the time the page already shows.
    assert (
        '<small class="raw-error">SMTP 550 (RCPT): 5.1.1 No such user</small>' in cell
    )
    assert not ISO_TIME.search(page)


def test_a_full_mailbox_is_a_temporary_failure(admin_client, smtp_peer):
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    error = mail._code_error(452, b"4.2.2 Mailbox full", "RCPT")
    Delivery.objects.filter(call=call, address=person.pc_email).update(
        status=Delivery.Status.FAILED, last_error=f"2026-11-27 18:44:53 {error}"
    )

    cell = error_cell(failed_page(admin_client))
    assert "受信箱がいっぱい（一時的な失敗）" in cell
    assert "お客様に受信箱の整理をお願いし" in cell
    assert "SMTP 452 (RCPT): 4.2.2 Mailbox full" in cell
    assert "2026-11-27 18:44:53" not in cell


def test_an_invalid_chatwork_token_is_named(admin_client, chatwork_peer, settings):
    client, _ = client_with_recipients(0, chatwork_room="123")
    settings.CHATWORK_API_TOKEN = "revoked"
    save_reported_call(client=client)
    services.relay_due_deliveries()

    cell = error_cell(failed_page(admin_client))
    assert "チャットワークのトークンが無効" in cell
    assert "システム担当に設定の確認を依頼し" in cell
    assert "/admin/clients/client/" not in cell  # not the client's to fix


def test_a_missing_chatwork_room_sends_the_admin_to_the_client(
    admin_client, chatwork_peer
):
    chatwork_peer.respond = lambda room: (404, {})
    client, _ = client_with_recipients(0, chatwork_room="123")
    save_reported_call(client=client)
    services.relay_due_deliveries()

    cell = error_cell(failed_page(admin_client))
    assert "チャットワークのルームが見つかりません" in cell
    assert "お客様にルームIDと" in cell
    assert f'href="/admin/clients/client/{client.pk}/change/"' in cell


def test_the_page_has_one_name_and_a_resend_button_that_does_not_wrap(
    admin_client, smtp_peer
):
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    save_reported_call(client=client)
    services.relay_due_deliveries()

    page = failed_page(admin_client)
    assert "<title>送信できなかった報告" in page
    assert "<h1>送信できなかった報告</h1>" in page
    assert '<a href="/reports/failed/">送信できなかった報告</a>' in page
    assert "送信失敗の報告" not in page
    assert '<button type="submit" class="nowrap">再送</button>' in page
    css = (django_settings.BASE_DIR / "static/css/app.css").read_text()
    assert re.search(r"\.nowrap\s*\{\s*white-space:\s*nowrap", css)


@pytest.mark.parametrize(
    ("error", "summary", "asks_client"),
    [
        ("SMTP 550 (DATA): 5.7.1 Message rejected as spam", "迷惑メール対策など", True),
        ("SMTP 550 (RCPT): Mailbox unavailable", "存在しないか、受信を拒否", True),
        ("SMTP 552 (RCPT): Quota exceeded", "受信箱がいっぱい", True),
        ("SMTP 451 (RCPT): 4.3.0 Try again later", "（一時的な失敗）", False),
        ("SMTP 550 (RCPT): 5.1.2 Host unknown", "宛先のドメインが存在しません", True),
        (
            "SMTP接続エラー: ConnectionRefusedError(111)",
            "メール送信サーバーに接続",
            False,
        ),
        ("SMTP認証エラー 535: b'bad credentials'", "ログインできません", False),
        (
            "メール本文を送り終えた後、サーバーの応答が得られませんでした"
            "（届いている可能性があります）: timed out",
            "応答がありませんでした",
            False,
        ),
        ("宛先のアドレスをメールに書けません: UnicodeError()", "書き方", True),
        ("Chatworkの送信制限（429）", "チャットワークのレート制限", False),
        ("Chatwork 403: forbidden", "投稿する権限がありません", True),
        ("Chatwork 503: unavailable", "チャットワーク側の障害", False),
        (
            "接続エラー: HTTPSConnectionPool(...)",
            "チャットワークに接続できません",
            False,
        ),
        ("応答タイムアウト（投稿されている可能性があります）: x", "応答が", False),
        ("CHATWORK_API_TOKEN が設定されていません。", "トークンが設定", False),
        ("KeyError('boom')", "予期しないエラー", False),
    ],
)
def test_each_failure_kind_has_a_japanese_summary(error, summary, asks_client):
    reason = failures.explain(last_error=f"2026-11-27 18:44:53 {error}")
    assert summary in reason.summary
    assert reason.asks_client is asks_client
    assert reason.detail == error
    assert reason.next_step


def test_a_bounce_the_text_does_not_explain_still_asks_for_another_address():
    reason = failures.explain(
        last_error="2026-11-27 18:44:53 SMTP 554 (RCPT): refused", bounced=True
    )
    assert "別のアドレスをお知らせいただいて" in reason.next_step


FULL_WIDTH = "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"


def test_a_full_width_address_is_named_with_the_copy_to_end(admin_client, smtp_peer):
    """A recipient clients/0010 left full-width (its half-width twin is the
    client's other recipient): the report fails at once, and the page says why
    and where to end the copy, not an unexpected error for the system staff."""
    client = ClientFactory()
    ReportRecipientFactory(client=client, pc_email="taro@example.jp", mobile_email="")
    ReportRecipientFactory(client=client, pc_email=FULL_WIDTH, mobile_email="")
    save_reported_call(client=client)
    services.relay_due_deliveries()

    assert smtp_peer.by_address() == Counter({"taro@example.jp": 1})
    failed = Delivery.objects.get(address=FULL_WIDTH)
    assert (failed.status, failed.attempts) == (Delivery.Status.FAILED, 1)
    cell = error_cell(failed_page(admin_client))
    assert "宛先のメールアドレスが全角文字で書かれています" in cell
    assert "この全角の報告先に報告終了日を入れて保存してください" in cell
    assert f'href="/admin/clients/client/{client.pk}/change/"' in cell
    assert "予期しないエラー" not in cell
    assert "システム担当" not in cell


def test_a_full_width_address_failed_before_is_named_too(admin_client):
    """Failures recorded before: Django's own refusal to build the message."""
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    Delivery.objects.filter(call=call, address=person.pc_email).update(
        status=Delivery.Status.FAILED,
        last_error=f'2026-11-27 18:44:53 Invalid address "{FULL_WIDTH}"',
    )

    cell = error_cell(failed_page(admin_client))
    assert "宛先のメールアドレスが全角文字で書かれています" in cell
    assert "予期しないエラー" not in cell
    assert f"Invalid address &quot;{FULL_WIDTH}&quot;" in cell  # kept for support


def _deliveries_page_with_a_full_mailbox(http) -> tuple[str, str, str]:
    """A call's deliveries page, its one report retrying after a full mailbox
    (1:33 at night, Japan time): the page, the report's row, the client's
    admin link."""
    client, (person,) = client_with_recipients(1)
    call, _ = save_reported_call(client=client)
    error = mail._code_error(452, b"4.2.2 Mailbox full", "RCPT")
    Delivery.objects.filter(call=call, address=person.pc_email).update(
        attempts=1, last_error=f"2026-11-28 01:33:05 {error}"
    )
    page = http.get(f"/reports/calls/{call.pk}/").content.decode()
    row = page[page.index(person.pc_email) :]
    row = row[: row.index("</tr>")]
    return page, row, f'href="/admin/clients/client/{client.pk}/change/"'


def test_a_calls_deliveries_page_explains_the_last_error_with_its_time(
    operator_client,
):
    """As the failed deliveries' page does, with the failure's time in its own
    column, in Japan time as the office reads it (not the raw ISO text)."""
    page, row, client_page = _deliveries_page_with_a_full_mailbox(operator_client)

    assert "受信箱がいっぱい（一時的な失敗）" in row
    assert "お客様に受信箱の整理をお願いし" in row
    assert '<small class="raw-error">SMTP 452 (RCPT): 4.2.2 Mailbox full</small>' in row
    assert "<th>最後のエラーの日時</th>" in page
    assert '<td class="nowrap">2026年11月28日 01:33</td>' in row
    assert not ISO_TIME.search(page)
    assert client_page not in row  # an operator cannot open the admin site


def test_a_calls_deliveries_page_links_the_client_for_an_admin(admin_client):
    _page, row, client_page = _deliveries_page_with_a_full_mailbox(admin_client)
    assert client_page in row


@pytest.mark.parametrize("refusal", ["rcpt", "data"])
def test_a_carrier_address_refused_as_unknown_asks_for_our_address_to_be_allowed(
    admin_client, smtp_peer, settings, refusal
):
    """docomo, au and SoftBank answer a mail their subscriber's spam settings
    refuse (指定受信; many phones refuse PC mail out of the box) with 550
    Unknown user, at RCPT or after DATA. The page said the address did not
    exist and to ask for another one: the client's address was right, and its
    phone had to allow ours."""
    settings.DEFAULT_FROM_EMAIL = "株式会社テスト電話秘書 <report@example.jp>"
    client, _ = client_with_recipients(0)
    ReportRecipientFactory(
        client=client, pc_email="boss@example.jp", mobile_email="boss@docomo.ne.jp"
    )
    # The PC address is refused the same way, by a server that is no carrier's.
    if refusal == "rcpt":
        smtp_peer.bounce = {"boss@docomo.ne.jp", "boss@example.jp"}
    else:
        smtp_peer.data_reply = "550 Unknown user"
    save_reported_call(client=client)
    services.relay_due_deliveries()

    page = failed_page(admin_client)
    table = page[page.index('<table class="table">') :]
    carrier_row = table[table.index("boss@docomo.ne.jp") :]
    carrier_row = carrier_row[: carrier_row.index("</tr>")]
    assert "携帯電話会社のメールサーバーが受け付けませんでした" in carrier_row
    assert "迷惑メール設定で受信を拒否したときも" in carrier_row
    assert "受信許可（指定受信）に report@example.jp を登録" in carrier_row
    assert f'href="/admin/clients/client/{client.pk}/change/"' in carrier_row
    pc_row = table[table.index("boss@example.jp") :]
    pc_row = pc_row[: pc_row.index("</tr>")]
    assert "携帯電話会社" not in pc_row
    # The list of bouncing addresses above says the same, address by address.
    bouncing = page[: page.index('<table class="table">')]
    carrier = bouncing[bouncing.index("boss@docomo.ne.jp") :]
    assert (
        "受信許可（指定受信）に report@example.jp を登録"
        in carrier[: carrier.index("</li>")]
    )
    other = bouncing[bouncing.index("boss@example.jp") :]
    assert "別のアドレスをお知らせいただいてください" in other[: other.index("</li>")]
    assert "携帯電話会社" not in other[: other.index("</li>")]


@pytest.mark.parametrize(
    ("address", "carrier"),
    [
        ("a@docomo.ne.jp", True),
        ("a.@ezweb.ne.jp", True),
        ("a@biz.ezweb.ne.jp", True),
        ("a@au.com", True),
        ("a@softbank.ne.jp", True),
        ("a@i.softbank.jp", True),
        ("A@DOCOMO.NE.JP", True),
        ("a@gmail.com", False),
        ("a@outlook.jp", False),
        ("a@notdocomo.ne.jp", False),
        ("a@beau.com", False),
    ],
)
def test_carrier_addresses_are_known_by_their_domain(address, carrier):
    assert failures.is_carrier_address(address) is carrier


def test_our_sender_refused_by_our_mail_server_is_ours_to_fix(
    admin_client, smtp_peer, settings
):
    """Our relay refusing our sender address (5xx at MAIL FROM) fails every
    report alike: the page said 時間をおいて再送してください, and a resend
    failed the same way."""
    settings.REPORT_MAX_ATTEMPTS = 1
    smtp_peer.mail_from_reply = "553 5.7.1 Sender address rejected: not owned by user"
    client, _ = client_with_recipients(1)
    save_reported_call(client=client)
    services.relay_due_deliveries()

    cell = error_cell(failed_page(admin_client))
    assert "メール送信サーバーが当社からの送信を拒否しました（当社の設定）" in cell
    assert "システム担当に設定の確認を依頼し" in cell
    assert "/admin/clients/client/" not in cell  # not the client's to fix
    assert "553" in cell
