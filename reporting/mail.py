"""Builds and sends report e-mails through Django's e-mail backend, with a timeout.

The Message-ID is chosen before the first attempt and stored on the delivery,
so every retry carries the same one: a second copy is recognisable as such. A
resend with another text (the call corrected since) gets a new one: mailboxes
drop a message whose Message-ID they have already seen.

A worker keeps its backend connection open between consecutive deliveries
(connect + EHLO + QUIT per message would cost more than the message itself). It
is checked with NOOP after being idle, replaced after ``MAX_MESSAGES_PER_CONNECTION``
messages, and dropped after any error, so the next message starts on a fresh one.

Every step waits ``EMAIL_TIMEOUT`` for the server, except the answer to the end
of the message (the final "." of DATA): servers scan and store the message before
they answer, and RFC 5321 (4.5.3.2.6) gives them 10 minutes for it. That answer
gets ``EMAIL_DATA_TIMEOUT``; when it still does not come, the server may have the
message, and the error says so (``maybe_posted``), like Chatwork's.
"""

import contextlib
import os
import re
import smtplib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

from clients.forms import normalize_typed_email
from reporting.report_text import one_line

# Reuse limits for the kept connection. Servers close idle connections (RFC 5321
# asks them to wait at least 5 minutes); past this idle time the connection is
# probed with NOOP before the next message. Some providers cap messages per
# connection, hence a fresh one every so often.
IDLE_CHECK_SECONDS = 5.0
MAX_AGE_SECONDS = 120.0
MAX_MESSAGES_PER_CONNECTION = 100


# The start of the error for an address written in full-width characters.
FULL_WIDTH_ADDRESS = "宛先のアドレスが全角で書かれています"


class MailError(Exception):
    """``permanent``: do not retry; ``bounced``: the address itself is refused;
    ``maybe_posted``: the whole message went out but no answer came back, so the
    server may have it and a retry may deliver a second copy."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        bounced: bool = False,
        maybe_posted: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or bounced
        self.bounced = bounced
        self.maybe_posted = maybe_posted


# Asks responders not to answer a report (an out-of-office reply per report to
# a send-only address): Auto-Submitted (RFC 3834) for most, and Exchange/Outlook's
# own header, which it reads instead. "OOF, AutoReply" rather than "All": All
# also suppresses non-delivery reports, the one sign left of an address that
# Exchange accepted and then could not deliver to. No "Precedence: bulk": it
# is not a standard (RFC 3834 says to use Auto-Submitted), and filters read it
# as mass mail, which a report sent to one person at once is not.
NO_AUTO_REPLY_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "OOF, AutoReply",
}


def build_message(*, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    return EmailMessage(
        subject=one_line(subject),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id, **NO_AUTO_REPLY_HEADERS},
    )


class _AnswerLost(smtplib.SMTPServerDisconnected):
    """The message was sent up to its final dot, then the answer never came."""


class _SMTP(smtplib.SMTP):
    """smtplib's client, waiting ``data_timeout`` (not ``timeout``) for the
    answer to the end of the message, and saying when that answer was lost."""

    data_timeout: float | None = None
    _in_data = False
    _message_sent = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data, self._message_sent = True, False
        previous = self.sock.gettimeout() if self.sock is not None else None
        try:
            return super().data(msg)
        finally:
            self._in_data = self._message_sent = False
            if self.sock is not None:  # still open: later steps wait as before
                self.sock.settimeout(previous)

    def send(self, s: Any) -> None:
        super().send(s)
        # smtplib.SMTP.data sends the whole message, final dot included, in
        # one call: from here the server may store it before it answers.
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self._message_sent = True
            if self.sock is not None and self.data_timeout is not None:
                current = self.sock.gettimeout() or 0.0
                self.sock.settimeout(max(self.data_timeout, current))

    def getreply(self) -> tuple[int, bytes]:
        try:
            return super().getreply()
        except smtplib.SMTPServerDisconnected as exc:  # timeouts and resets too
            if self._message_sent:
                raise _AnswerLost(str(exc)) from exc
            raise


class _SMTP_SSL(_SMTP, smtplib.SMTP_SSL):
    pass


class ReportSmtpBackend(SmtpBackend):
    """Django's SMTP backend with ``EMAIL_DATA_TIMEOUT`` for the end of DATA."""

    def __init__(self, *args: Any, data_timeout: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.data_timeout = (
            settings.EMAIL_DATA_TIMEOUT if data_timeout is None else data_timeout
        )

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTP_SSL if self.use_ssl else _SMTP

    def open(self) -> bool | None:
        opened = super().open()
        if isinstance(self.connection, _SMTP):
            self.connection.data_timeout = self.data_timeout
        return opened


DJANGO_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


# An enhanced status code (RFC 3463) at the start of a reply: 5.1.x is about the
# address, 5.2.x about the mailbox; 5.6.x (content), 5.7.x (policy, spam) and
# 5.3.x (size) refuse this message, not the address.
_ENHANCED_STATUS = re.compile(r"\s*5\.(\d{1,3})\.\d{1,3}\b")


def _code_error(code: int, text: object, what: str) -> MailError:
    """A 5xx fails for good; it marks the address as bouncing only when the
    address is what was refused: always at RCPT, after DATA when the reply
    says so (a 554 for the message's content is not the client's address)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    permanent = 500 <= code < 600
    bounced = permanent
    if permanent and what == "DATA":
        enhanced = _ENHANCED_STATUS.match(str(text))
        bounced = (
            enhanced.group(1) in ("1", "2") if enhanced else code in (550, 551, 553)
        )
    return MailError(
        f"SMTP {code} ({what}): {text}", permanent=permanent, bounced=bounced
    )


class _Kept(threading.local):
    """This thread's open backend connection and what it was opened for."""

    connection: Any = None
    key: tuple = ()
    opened_at = 0.0
    used_at = 0.0
    sent = 0


_kept = _Kept()


def _forget_in_child() -> None:
    # A forked child must not talk on (or QUIT) its parent's socket.
    _kept.connection = None


os.register_at_fork(after_in_child=_forget_in_child)


def _settings_key() -> tuple:
    # Tests (and a settings reload) may point the backend elsewhere: a kept
    # connection is only reused for the very same server and credentials.
    return tuple(
        getattr(settings, name, None)
        for name in (
            "EMAIL_BACKEND",
            "EMAIL_HOST",
            "EMAIL_PORT",
            "EMAIL_HOST_USER",
            "EMAIL_HOST_PASSWORD",
            "EMAIL_USE_TLS",
            "EMAIL_USE_SSL",
            "EMAIL_TIMEOUT",
            "EMAIL_DATA_TIMEOUT",
        )
    )


def close_connection() -> None:
    """Close this thread's kept connection (QUIT), if any. Never raises."""
    connection, _kept.connection = _kept.connection, None
    if connection is not None:
        # Already broken: nothing left to close cleanly.
        with contextlib.suppress(Exception):
            connection.close()


def _is_alive(connection: SmtpBackend) -> bool:
    if connection.connection is None:
        return False
    try:
        return connection.connection.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _connection() -> Any:
    """This thread's open SMTP connection, reused when it is fresh, else a new one.

    Other backends (files under var/mail, locmem in tests, a provider's API) get
    a connection per message, as before.
    """
    now = time.monotonic()
    key = _settings_key()
    kept = _kept.connection
    if kept is not None and (
        _kept.key != key
        or _kept.sent >= MAX_MESSAGES_PER_CONNECTION
        or now - _kept.opened_at > MAX_AGE_SECONDS
        or (now - _kept.used_at > IDLE_CHECK_SECONDS and not _is_alive(kept))
    ):
        close_connection()
        kept = None
    if kept is None:
        if settings.EMAIL_BACKEND == DJANGO_SMTP_BACKEND:
            # The one EMAIL_URL configures, with the long wait for the end of DATA.
            kept = ReportSmtpBackend(timeout=settings.EMAIL_TIMEOUT)
        else:
            kept = get_connection(timeout=settings.EMAIL_TIMEOUT)
        if not isinstance(kept, SmtpBackend):
            return kept
        kept.open()  # connect + EHLO (+ TLS, login); raises on failure
        _kept.connection, _kept.key = kept, key
        _kept.opened_at, _kept.sent = now, 0
    return kept


def send(*, to: str, subject: str, body: str, message_id: str) -> str:
    """Send one message; return its Message-ID. Raises MailError.

    A 5xx for the recipient or the message is permanent (a bounce); 4xx,
    timeouts and lost connections are temporary. Any error also drops the kept
    connection (its state is unknown), so a retry starts on a new one.
    """
    if normalize_typed_email(to) != to:
        # Kept full-width by clients/0010 (the half-width one was another
        # recipient's): no server delivers it, and the message could not even
        # be built. Fails for good, in words failures.explain names.
        raise MailError(f"{FULL_WIDTH_ADDRESS}: {to}", permanent=True)
    try:
        # Checked before any connection: an address that cannot be written in a
        # mail header (a domain label that IDNA refuses) fails for good, alone.
        sanitize_address(to, settings.DEFAULT_CHARSET)
    except ValueError as exc:  # UnicodeError too
        raise MailError(
            f"宛先のアドレスをメールに書けません: {exc!r}", permanent=True
        ) from exc
    message = build_message(to=to, subject=subject, body=body, message_id=message_id)
    try:
        try:
            _connection().send_messages([message])
        except BaseException:
            close_connection()
            raise
    except _AnswerLost as exc:
        raise MailError(
            "メール本文を送り終えた後、サーバーの応答が得られませんでした"
            f"（届いている可能性があります）: {exc}",
            maybe_posted=True,
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _code_error(code, text, "RCPT") from exc
    except smtplib.SMTPAuthenticationError as exc:
        # Our own credentials, not the client's address: retry, admins will see it.
        raise MailError(f"SMTP認証エラー {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except smtplib.SMTPDataError as exc:
        raise _code_error(exc.smtp_code, exc.smtp_error, "DATA") from exc
    except smtplib.SMTPResponseException as exc:
        # Refused sender, HELO, ...: our side of the conversation. Retried; a
        # long outage ends as a failure with this error for admins.
        raise MailError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, OSError) as exc:  # OSError covers timeouts
        raise MailError(f"SMTP接続エラー: {exc!r}") from exc
    _kept.used_at = time.monotonic()
    _kept.sent += 1
    return message_id
