"""The one module that talks to Chatwork (API v2), with a timeout on every call.

``POST {base}/rooms/{room_id}/messages`` with header ``X-ChatWorkToken`` and form
field ``body``; 200 answers ``{"message_id": "..."}``. Chatwork has no idempotency
key, so a request that timed out after it was sent may have been posted: the
error says so and the caller flags the delivery.
"""

import datetime as dt
import hashlib
import logging
import os
import threading
from pathlib import Path

import requests
from django.conf import settings
from django.utils import timezone

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


# One HTTP session per process and thread: consecutive posts reuse the open
# (TLS) connection instead of a new handshake each. Keyed by pid, so a worker
# forked from a process that already posted never shares its parent's socket.
_local = threading.local()


def _session() -> requests.Session:
    if getattr(_local, "pid", None) != os.getpid():
        _local.session, _local.pid = requests.Session(), os.getpid()
    return _local.session


def close_session() -> None:
    """Drop this thread's kept connection (tests do, before their peer stops)."""
    session = getattr(_local, "session", None)
    if session is not None:
        session.close()
    _local.session = _local.pid = None


def post_message(*, room_id: str, body: str) -> str:
    """Post ``body`` into the room; return Chatwork's message_id."""
    if not settings.CHATWORK_API_TOKEN:
        if settings.CHATWORK_FILE_PATH:
            return _write_file(room_id=room_id, body=body)
        raise ChatworkError("CHATWORK_API_TOKEN が設定されていません。", permanent=True)
    url = f"{settings.CHATWORK_API_BASE_URL.rstrip('/')}/rooms/{room_id}/messages"
    timeout = settings.CHATWORK_TIMEOUT_SECONDS
    try:
        response = _session().post(
            url,
            headers={"X-ChatWorkToken": settings.CHATWORK_API_TOKEN},
            data={"body": body, "self_unread": "0"},
            timeout=(min(timeout, 5.0), timeout),
        )
    except requests.ConnectTimeout as exc:
        raise ChatworkError(f"接続タイムアウト: {exc}") from exc
    except requests.ConnectionError as exc:
        raise ChatworkError(f"接続エラー: {exc}") from exc
    except requests.Timeout as exc:
        # The request went out; Chatwork may have posted it.
        raise ChatworkError(f"応答タイムアウト: {exc}", maybe_posted=True) from exc
    except requests.RequestException as exc:
        raise ChatworkError(f"通信エラー: {exc}") from exc

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
