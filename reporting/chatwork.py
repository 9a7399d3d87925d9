"""The one module that talks to Chatwork (API v2), with a timeout on every call.

``POST {base}/rooms/{room_id}/messages`` with header ``X-ChatWorkToken`` and form
field ``body``; 200 answers ``{"message_id": "..."}``. Chatwork has no idempotency
key, so a request that timed out or was cut off after it was sent may have been
posted: the error says so (``maybe_posted``) and the caller flags the delivery.

Every post opens a connection of its own and closes it once answered. A kept-alive
connection that the server closed while it lay idle breaks like a post cut off
after Chatwork took it, and the two could not be told apart; on a fresh
connection, a break once the connection is up is the post's own. A handshake per
report costs little at Chatwork's pace (10 posts per 10 seconds per room).
"""

import datetime as dt
import hashlib
import logging
import ssl
from pathlib import Path

import requests
from django.conf import settings
from django.utils import timezone
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import SSLError as TlsError

logger = logging.getLogger(__name__)


class ChatworkError(Exception):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_at: dt.datetime | None = None,
        maybe_posted: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_at = retry_at
        self.maybe_posted = maybe_posted


# Chatwork's documented limits: posts per room, requests per token.
def room_limit() -> tuple[int, float]:
    return settings.CHATWORK_ROOM_LIMIT


def token_limit() -> tuple[int, float]:
    return settings.CHATWORK_TOKEN_LIMIT


def token_key() -> str:
    # Rate-limit rows name the token by a hash: the secret never lands in the DB.
    digest = hashlib.sha256(settings.CHATWORK_API_TOKEN.encode()).hexdigest()[:16]
    return f"chatwork-token:{digest}"


def room_key(room_id: str) -> str:
    return f"chatwork-room:{room_id}"


def _reset_time(response: requests.Response) -> dt.datetime:
    now = timezone.now()
    raw = response.headers.get("x-ratelimit-reset", "")
    try:
        reset = dt.datetime.fromtimestamp(int(float(raw)), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return now + dt.timedelta(seconds=60)
    # Never trust a reset in the past or absurdly far away.
    return min(
        max(reset, now + dt.timedelta(seconds=1)), now + dt.timedelta(minutes=10)
    )


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether the request failed before any of it was written: the connection
    was never made (refused, no such host), Chatwork's certificate was refused,
    or the URL could not be built. Anything else broke on a connection that was
    up, where the post may have reached Chatwork."""
    if isinstance(exc, ValueError):
        return True  # requests' InvalidURL, InvalidHeader, ...
    # requests wraps urllib3's MaxRetryError, whose reason is the first error.
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    if isinstance(reason, TlsError) and reason.args:
        reason = reason.args[0]
    return isinstance(reason, (NewConnectionError, ssl.SSLCertVerificationError))


def _request_error(exc: requests.RequestException) -> ChatworkError:
    if isinstance(exc, requests.ConnectTimeout):
        return ChatworkError(f"接続タイムアウト: {exc}")
    if _never_sent(exc):
        return ChatworkError(f"接続エラー: {exc}")
    if isinstance(exc, requests.Timeout):
        return ChatworkError(
            f"応答タイムアウト（投稿されている可能性があります）: {exc}",
            maybe_posted=True,
        )
    return ChatworkError(
        f"応答を受け取る前に接続が切れました（投稿されている可能性があります）: {exc}",
        maybe_posted=True,
    )


def post_message(*, room_id: str, body: str) -> str:
    """Post ``body`` into the room; return Chatwork's message_id."""
    if not settings.CHATWORK_API_TOKEN:
        if settings.CHATWORK_FILE_PATH:
            return _write_file(room_id=room_id, body=body)
        raise ChatworkError("CHATWORK_API_TOKEN が設定されていません。", permanent=True)
    url = f"{settings.CHATWORK_API_BASE_URL.rstrip('/')}/rooms/{room_id}/messages"
    timeout = settings.CHATWORK_TIMEOUT_SECONDS
    try:
        # requests.post: a session, and so a connection, for this post alone.
        response = requests.post(
            url,
            headers={"X-ChatWorkToken": settings.CHATWORK_API_TOKEN},
            data={"body": body, "self_unread": "0"},
            timeout=(min(timeout, 5.0), timeout),
        )
    except requests.RequestException as exc:
        raise _request_error(exc) from exc

    status = response.status_code
    detail = response.text[:300]
    if status == 200:
        # 200 is Chatwork's word that the message is posted: an unreadable body
        # must not make us post it again.
        try:
            return str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("Chatwork posted, but its answer was unreadable: %s", detail)
            return ""
    if status == 429:
        raise ChatworkError("Chatworkの送信制限（429）", retry_at=_reset_time(response))
    if status in (400, 401, 403, 404):
        raise ChatworkError(f"Chatwork {status}: {detail}", permanent=True)
    raise ChatworkError(f"Chatwork {status}: {detail}")


def _write_file(*, room_id: str, body: str) -> str:
    """The embedded default: the message as a file, as e-mail goes to var/mail."""
    folder = Path(settings.CHATWORK_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{timezone.localtime():%Y%m%d-%H%M%S-%f}-room{room_id}.txt"
    (folder / name).write_text(body, encoding="utf-8")
    return f"file:{name}"
