"""Why a report could not be sent, in words an admin acts on.

A delivery keeps its last error as text (services._failed): the time, then the
message of the MailError (mail.py) or ChatworkError (chatwork.py) that ended it.
Those messages are written by this app, so their forms are known: an SMTP reply
code with its enhanced status code (RFC 3463, e.g. ``4.2.2`` mailbox full), or
one of Chatwork's failure kinds. Each maps to a short Japanese explanation and
the next step; the raw text stays beside it for support. An error of another
form (a bug) is explained as unexpected, never hidden.
"""

import contextlib
import dataclasses
import datetime as dt
import re
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.dates import format_moment
from clients.forms import normalize_typed_email
from reporting.mail import FULL_WIDTH_ADDRESS

# services._failed writes the local time first; the page has its own column for it.
_TIME_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) ")
_SMTP_REPLY = re.compile(r"^SMTP (\d{3}) \((RCPT|DATA)\): (.*)", re.DOTALL)
_SMTP_OTHER = re.compile(r"^SMTP (\d{3}): ")
_ENHANCED = re.compile(r"\s*[245]\.(\d{1,3})\.(\d{1,3})\b")
_CHATWORK_STATUS = re.compile(r"^Chatwork (\d{3}): ")
# Django's refusal to build a message to a full-width address, as failures
# recorded it before mail.send named them (FULL_WIDTH_ADDRESS).
_INVALID_ADDRESS = re.compile(r'^Invalid address "(.*)"$', re.DOTALL)

# What the admin does next, by what went wrong.
RETRY_LATER = "retry_later"
NEW_ADDRESS = "new_address"
FREE_MAILBOX = "free_mailbox"
ALLOW_OUR_MAIL = "allow_our_mail"
CHECK_ROOM = "check_room"
CHECK_ARRIVED = "check_arrived"
CHECK_SETTINGS = "check_settings"
CANNOT_RESEND = "cannot_resend"
ASK_DEVELOPERS = "ask_developers"
END_FULL_WIDTH_COPY = "end_full_width_copy"
CARRIER_FILTER = "carrier_filter"

# Japanese mobile carriers' mail domains (a subdomain counts: biz.ezweb.ne.jp).
# Their servers answer a mail refused by the subscriber's spam settings (受信
# 拒否, or only allowed senders: 指定受信; many phones refuse mail from PCs out
# of the box) as they answer an address that does not exist: 550 Unknown user.
CARRIER_DOMAINS = (
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "vodafone.ne.jp",
    "disney.ne.jp",
    "ymobile.ne.jp",
    "y-mobile.ne.jp",
    "emnet.ne.jp",
    "willcom.com",
    "uqmobile.jp",
    "rakumail.jp",
)

# The steps taken on the client's admin page (most with the client): the page
# links it.
_ASK_CLIENT = {
    NEW_ADDRESS,
    FREE_MAILBOX,
    ALLOW_OUR_MAIL,
    CHECK_ROOM,
    END_FULL_WIDTH_COPY,
    CARRIER_FILTER,
}


def is_carrier_address(address: str) -> bool:
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    return any(
        domain == carrier or domain.endswith(f".{carrier}")
        for carrier in CARRIER_DOMAINS
    )


def sender_address() -> str:
    """The address reports come from, which a client allows on its phone."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def carrier_hint(address: str) -> str:
    """For the client, beside a carrier address its reports bounced from: its
    phone's spam settings may be what refused them (CARRIER_DOMAINS), which the
    client fixes itself; "" for any other address."""
    if not is_carrier_address(address):
        return ""
    return _(
        "携帯電話の迷惑メール設定で当社からのメールを拒否していても、このように"
        "届きません。アドレスが正しい場合は、受信許可（指定受信）に %(sender)s "
        "を登録してください。"
    ) % {"sender": sender_address()}


@dataclasses.dataclass(frozen=True)
class FailureReason:
    summary: str
    step: str
    detail: str
    # When the attempt failed, as services._failed wrote it first (None for a
    # text without it).
    failed_at: dt.datetime | None = None

    @property
    def failed_at_shown(self) -> str:
        """The failure's time as the office reads it (Japan time)."""
        return format_moment(self.failed_at) if self.failed_at else ""

    @property
    def next_step(self) -> str:
        return {
            RETRY_LATER: _("時間をおいて再送してください。"),
            NEW_ADDRESS: _(
                "お客様に連絡し、別のアドレスをお知らせいただいてください。"
                "報告先を直してから再送してください。"
            ),
            FREE_MAILBOX: _(
                "お客様に受信箱の整理をお願いし、空きができてから再送してください。"
            ),
            ALLOW_OUR_MAIL: _(
                "お客様に、当社からのメールを受信できるよう迷惑メール設定・"
                "受信許可の設定をお願いしてから再送してください。"
            ),
            CHECK_ROOM: _(
                "お客様にルームIDと、当社のアカウントがそのルームに参加して"
                "投稿できることをご確認いただいてから再送してください。"
            ),
            CHECK_ARRIVED: _(
                "届いている可能性があります。届いていないことを確かめてから"
                "再送してください。"
            ),
            CHECK_SETTINGS: _(
                "当社側の設定の問題です。システム担当に設定の確認を依頼し、"
                "直ってから再送してください。"
            ),
            CANNOT_RESEND: _("再送はできません。"),
            ASK_DEVELOPERS: _(
                "時間をおいて再送してください。続く場合は、下のエラー内容を"
                "システム担当に伝えてください。"
            ),
            END_FULL_WIDTH_COPY: _(
                "同じ報告先が半角のアドレスでも登録されていれば、報告はそちらに"
                "届いています。顧客の管理画面で、この全角の報告先に報告終了日を"
                "入れて保存してください（再送は不要です）。半角の報告先がなければ、"
                "アドレスを半角に直してから再送してください。"
            ),
            CARRIER_FILTER: _(
                "携帯電話会社のメールは、迷惑メール設定で受信を拒否したときも"
                "「宛先がない」と答えます。お客様に、アドレスに誤りがないかと、"
                "携帯電話の受信許可（指定受信）に %(sender)s を登録していただく"
                "ようお願いし、直ってから再送してください。"
            )
            % {"sender": sender_address()},
        }[self.step]

    @property
    def asks_client(self) -> bool:
        return self.step in _ASK_CLIENT


def explain(
    *, last_error: str, bounced: bool = False, address: str = ""
) -> FailureReason:
    """The reason for ``last_error`` (a Delivery's); ``bounced``: the mail
    server refused the address for good, when the text says no more;
    ``address``: where it was sent (a carrier's refusal reads differently)."""
    detail = last_error.strip()
    failed_at = None
    if time := _TIME_PREFIX.match(detail):
        detail = detail[time.end() :]
        # Written in the server's local time (TIME_ZONE, Japan time). A text
        # edited by hand into no date loses its time, not the page.
        with contextlib.suppress(ValueError):
            failed_at = dt.datetime.strptime(time[1], "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=timezone.get_default_timezone()
            )
    summary, step = _classify(detail)
    if bounced and step in (RETRY_LATER, ASK_DEVELOPERS):
        step = NEW_ADDRESS
    if (
        step == NEW_ADDRESS
        and _SMTP_REPLY.match(detail)
        and is_carrier_address(address)
    ):
        # Not the address's fault as often as not: the client's phone refused us.
        summary = _(
            "携帯電話会社のメールサーバーが受け付けませんでした"
            "（アドレスの誤り、または迷惑メール設定による受信拒否）"
        )
        step = CARRIER_FILTER
    return FailureReason(summary=summary, step=step, detail=detail, failed_at=failed_at)


def _classify(text: str) -> tuple[str, str]:
    if match := _SMTP_REPLY.match(text):
        return _smtp_reply(int(match.group(1)), match.group(3))
    if text.startswith("SMTP認証エラー"):
        return _("メール送信サーバーにログインできません（当社の設定）"), (
            CHECK_SETTINGS
        )
    if text.startswith("SMTP接続エラー"):
        return _("メール送信サーバーに接続できません"), RETRY_LATER
    if match := _SMTP_OTHER.match(text):
        code = int(match.group(1))
        if code >= 500:
            # Refused before any recipient was named (our sender address, our
            # greeting, our quota): the same for every report until our side
            # is fixed, whoever the client.
            return _(
                "メール送信サーバーが当社からの送信を拒否しました（当社の設定）"
            ), (CHECK_SETTINGS)
        summary = _("メール送信サーバーが送信を受け付けませんでした")
        return _temporary(summary, code), RETRY_LATER
    if text.startswith("メール本文を送り終えた後"):
        return _("メール送信サーバーの応答がありませんでした"), CHECK_ARRIVED
    if text.startswith(FULL_WIDTH_ADDRESS) or _is_full_width_refused(text):
        return _("宛先のメールアドレスが全角文字で書かれています"), (
            END_FULL_WIDTH_COPY
        )
    if text.startswith("宛先のアドレスをメールに書けません"):
        return _("宛先のメールアドレスの書き方が正しくありません"), NEW_ADDRESS
    if text.startswith("CHATWORK_API_TOKEN"):
        return _("チャットワークのトークンが設定されていません"), CHECK_SETTINGS
    if text.startswith("Chatworkの送信制限"):
        return _("チャットワークのレート制限（一時的な失敗）"), RETRY_LATER
    if match := _CHATWORK_STATUS.match(text):
        return _chatwork_status(int(match.group(1)))
    if text.startswith(("接続タイムアウト", "接続エラー")):
        return _("チャットワークに接続できません"), RETRY_LATER
    if text.startswith(("応答タイムアウト", "応答を受け取る前に接続が切れました")):
        return _("チャットワークの応答がありませんでした"), CHECK_ARRIVED
    if text.startswith("保存期間を過ぎて"):
        return _("保存期間を過ぎて報告の本文を消去済み"), CANNOT_RESEND
    return _("予期しないエラー"), ASK_DEVELOPERS


def _is_full_width_refused(text: str) -> bool:
    match = _INVALID_ADDRESS.match(text)
    return match is not None and normalize_typed_email(match[1]) != match[1]


def _temporary(summary: str, code: int) -> str:
    if 400 <= code < 500:
        return _("%(reason)s（一時的な失敗）") % {"reason": summary}
    return summary


def _smtp_reply(code: int, text: str) -> tuple[str, str]:
    """A reply refusing the recipient (RCPT) or the message (DATA)."""
    summary, step = _("宛先のメールサーバーが受け付けませんでした"), RETRY_LATER
    enhanced = _ENHANCED.match(text)
    if enhanced:
        subject, detail = int(enhanced.group(1)), int(enhanced.group(2))
        if (subject, detail) == (1, 1):
            summary, step = _("宛先のメールアドレスが存在しません"), NEW_ADDRESS
        elif (subject, detail) == (1, 2):
            summary, step = _("宛先のドメインが存在しません"), NEW_ADDRESS
        elif (subject, detail) == (1, 3):
            summary = _("宛先のメールアドレスの書き方が正しくありません")
            step = NEW_ADDRESS
        elif subject == 1:
            summary, step = _("宛先のメールアドレスが受け付けられません"), NEW_ADDRESS
        elif (subject, detail) == (2, 2):
            summary, step = _("受信箱がいっぱい"), FREE_MAILBOX
        elif (subject, detail) == (2, 1):
            summary, step = _("宛先のメールボックスが使われていません"), NEW_ADDRESS
        elif subject == 2:
            summary, step = _("宛先のメールボックスが受信できません"), NEW_ADDRESS
        elif subject == 4:
            summary = _("宛先のメールサーバーに届けられません（接続・経路の問題）")
        elif subject == 7:
            summary = _(
                "宛先のメールサーバーが受信を拒否しました（迷惑メール対策など）"
            )
            step = ALLOW_OUR_MAIL
    elif code == 550:
        summary = _("宛先のメールアドレスが存在しないか、受信を拒否されました")
        step = NEW_ADDRESS
    elif code in (551, 553):
        summary, step = _("宛先のメールアドレスが受け付けられません"), NEW_ADDRESS
    elif code == 552:
        summary, step = _("受信箱がいっぱい"), FREE_MAILBOX
    elif code == 421:
        summary = _("宛先のメールサーバーが一時的に使えません")
    return _temporary(summary, code), step


def _chatwork_status(status: int) -> tuple[str, str]:
    if status == 401:
        return _("チャットワークのトークンが無効"), CHECK_SETTINGS
    if status == 403:
        return _("チャットワークのルームに投稿する権限がありません"), CHECK_ROOM
    if status == 404:
        return _("チャットワークのルームが見つかりません"), CHECK_ROOM
    if status == 400:
        return _("チャットワークが投稿を受け付けませんでした"), ASK_DEVELOPERS
    return _("チャットワーク側の障害（一時的な失敗）"), RETRY_LATER
