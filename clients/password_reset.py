"""The e-mail with a link to set one's password (パスワードの再設定), sent when a
user asks for it on the login page (Django's PasswordResetView) or when an admin
sends a user a login invitation; the limit on how often anyone may ask; and
what a reset clears.

The link carries Django's password-reset token: it works once (the new password
changes what it was made from) and for PASSWORD_RESET_TIMEOUT.
"""

import datetime as dt
import hashlib
import smtplib
import time

from axes.utils import reset as reset_axes_attempts
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.formats import date_format
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clients.message_ids import new_message_id
from clients.models import User


class LoginLinkError(Exception):
    """The mail was not sent: the server refused it or could not be reached."""


def duration_text(seconds: int) -> str:
    """A duration as the pages and mails say it: 24時間, 3日, 30分."""
    minutes = max(1, seconds // 60)
    if minutes % (24 * 60) == 0 and minutes >= 48 * 60:
        days = minutes // (24 * 60)
        return ngettext("%(n)s日", "%(n)s日", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)s時間", "%(n)s時間", hours) % {"n": hours}
    return ngettext("%(n)s分", "%(n)s分", minutes) % {"n": minutes}


def link_validity() -> str:
    return duration_text(settings.PASSWORD_RESET_TIMEOUT)


def set_password_link(*, user: User, base_url: str) -> str:
    """The absolute address of the page that sets ``user``'s password."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{base_url.rstrip('/')}{path}"


def login_link_mail(
    *, user: User, link: str, invitation: bool, now: dt.datetime | None = None
) -> tuple[str, str]:
    """(subject, body) of the mail, in Japanese as every mail the company
    sends, naming the company, the username, how long the link works and what
    to do about a mail one did not ask for."""
    now = now or timezone.now()
    expires_at = timezone.localtime(
        now + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    )
    company = settings.COMPANY_NAME
    with translation.override(settings.LANGUAGE_CODE):
        if invitation:
            subject = _("【%(company)s】ログインのご案内（パスワードの設定）")
            opening = [
                _("%(company)sの電話代行システムのログインのご案内です。")
                % {"company": company},
                _(
                    "下のリンクを開いてパスワードを設定すると、ログインして"
                    "受電履歴やご請求書をご覧いただけます。"
                ),
            ]
        else:
            subject = _("【%(company)s】パスワード再設定のご案内")
            opening = [
                _("パスワードの再設定のお申し込みを受け付けました。"),
                _("下のリンクを開いて、新しいパスワードを設定してください。"),
            ]
        lines = [
            _("%(name)s 様") % {"name": user.get_full_name() or user.get_username()},
            "",
            *opening,
            "",
            link,
            "",
            _("ログインするユーザー名: %(username)s")
            % {"username": user.get_username()},
            "",
            _(
                "このリンクの有効期限は%(validity)s（%(expires)sまで）で、"
                "1回だけ使えます。期限が過ぎた場合は、ログイン画面の"
                "「パスワードをお忘れの方」からもう一度お申し込みください。"
            )
            % {
                "validity": link_validity(),
                "expires": date_format(expires_at, _("Y年n月j日 H:i")),
            },
            "",
            _(
                "このメールにお心当たりがない場合は、このメールを削除してください。"
                "リンクを開かなければパスワードは変わらず、これまでどおりログインできます。"
                "ご不明な点は%(company)s（%(phone)s）までお電話ください。"
            )
            % {"company": company, "phone": settings.COMPANY_PHONE},
            "",
            company,
            f"{settings.COMPANY_ADDRESS} {settings.COMPANY_PHONE}",
        ]
        return subject % {"company": company}, "\n".join(lines) + "\n"


def send_login_link(
    *, user: User, base_url: str, invitation: bool = False, to: str | None = None
) -> None:
    """Mail ``user`` a link to set their password, at ``to`` (their address as
    the reset form found it) or their address as stored. Raises
    LoginLinkError when the mail server refuses it or cannot be reached in
    time."""
    subject, body = login_link_mail(
        user=user,
        link=set_password_link(user=user, base_url=base_url),
        invitation=invitation,
    )
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to or user.email],
        headers={"Message-ID": new_message_id(), "Auto-Submitted": "auto-generated"},
    )
    try:
        get_connection(timeout=settings.EMAIL_TIMEOUT).send_messages([message])
    # ValueError: an address that cannot be written in a header.
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise LoginLinkError(f"{type(exc).__name__}: {exc}") from exc


def _count_request(kind: str, value: str) -> int:
    """Requests counted for ``value`` in the current window, this one included.

    A fixed window whose number is part of the key: a counter that outlived its
    window (Redis' INCR recreates an expired key without a timeout) is never
    read again. add() then incr() is atomic on both backends we run (Redis,
    and the per-process memory cache under its lock)."""
    window = settings.PASSWORD_RESET_WINDOW_MINUTES * 60
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    key = f"password-reset:{kind}:{digest}:{int(time.time() // window)}"
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between the two calls
        cache.set(key, 1, timeout=window)
        return 1


def take_reset_request(*, email: str, network: str | None) -> bool:
    """Count a request for a reset mail to ``email`` from ``network`` (the
    client's address, an IPv6 /64); False once either has asked too often in
    the window. Every request counts, whether the address is a user's or not,
    so the answer tells nothing about which addresses are."""
    per_email = _count_request("email", email.casefold())
    per_network = _count_request("ip", network or "unknown")
    return (
        per_email <= settings.PASSWORD_RESET_PER_EMAIL
        and per_network <= settings.PASSWORD_RESET_PER_IP
    )


def reset_limit_wait() -> str:
    return duration_text(settings.PASSWORD_RESET_WINDOW_MINUTES * 60)


def clear_login_lockout(*, username: str) -> None:
    """After a new password was set through the mailed link: the user's failed
    logins (django-axes) are forgotten, so a user locked out can log in at
    once instead of waiting out the cool-off."""
    reset_axes_attempts(username=username)
