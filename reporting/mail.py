"""Builds and sends report e-mails through Django's e-mail backend, with a timeout.

The Message-ID is chosen before the first attempt and stored on the delivery,
so every retry carries the same one: a second copy is recognisable as such.
"""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid

from reporting.report_text import one_line

MAIL_DOMAIN = "reports.answering.local"


class MailError(Exception):
    """``permanent``: do not retry; ``bounced``: the address itself is refused."""

    def __init__(
        self, message: str, *, permanent: bool = False, bounced: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or bounced
        self.bounced = bounced


def new_message_id() -> str:
    return make_msgid(domain=MAIL_DOMAIN)


def build_message(*, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    return EmailMessage(
        subject=one_line(subject),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )


def _code_error(code: int, text: object, what: str) -> MailError:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return MailError(f"SMTP {code} ({what}): {text}", bounced=500 <= code < 600)


def send(*, to: str, subject: str, body: str, message_id: str) -> str:
    """Send one message; return its Message-ID. Raises MailError.

    A 5xx for the recipient or the message is permanent (a bounce); 4xx,
    timeouts and lost connections are temporary.
    """
    message = build_message(to=to, subject=subject, body=body, message_id=message_id)
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    try:
        connection.send_messages([message])
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
    return message_id
