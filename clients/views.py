import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch
from django.utils.translation import ngettext

from clients import password_reset
from clients.access import may_use_portal, operator_required
from clients.forms import PasswordChangeForm, PasswordResetForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    is_client_user = getattr(request.user, "is_client_user", False)
    target = "portal:home" if is_client_user else "console:home"
    try:
        return redirect(target)
    except NoReverseMatch:
        return render(request, "home.html")


def _company_contact() -> dict[str, str]:
    """Whom a client calls: the company's name and telephone number."""
    return {
        "company_name": settings.COMPANY_NAME,
        "company_phone": settings.COMPANY_PHONE,
    }


class LoginView(auth_views.LoginView):
    """Django's login page, with the way to a new password by e-mail and,
    for a user without one, whom to call."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **_company_contact()}


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 403 page (handler403), as Django's with the reason our checks give,
    saying where to turn: a client user has no 管理者 of its own to ask, so it
    is led back to its portal and told whom to call at the company.

    A client user whose login is not linked to a client yet has no portal to go
    back to (every page of it, and "/", refuses it again): the page says so and
    offers only to log out."""
    is_client_user = getattr(request.user, "is_client_user", False)
    return render(
        request,
        "403.html",
        {
            "exception": str(exception),
            "is_client_user": is_client_user,
            "unlinked_client_user": is_client_user and not may_use_portal(request.user),
            **_company_contact(),
        },
        status=403,
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's page (it keeps this session and ends the user's others), with the
    old password checked through the login lockout."""

    form_class = PasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


# Operators' and admins' own pages; client users have theirs in the portal.
password_change = operator_required(PasswordChangeView.as_view())
password_change_done = operator_required(auth_views.PasswordChangeDoneView.as_view())


def locked_out(
    request: HttpRequest, response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE), saying how long the
    lockout lasts (AXES_COOLOFF_HOURS) rather than "for a while", and whom to
    call: a client user has no 管理者 of its own, so it is the company, as on
    the login page."""
    # AXES_COOLOFF_HOURS is a number of hours (0 turns the lockout off), so a
    # locked-out user always has a wait: rounded up, as "try again after".
    cool_off = get_cool_off(request) or dt.timedelta(0)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        wait = ngettext("%(n)s時間", "%(n)s時間", hours) % {"n": hours}
    else:
        wait = ngettext("%(n)s分", "%(n)s分", minutes) % {"n": minutes}
    return render(
        request,
        "registration/locked_out.html",
        {"wait": wait, **_company_contact()},
        status=429,
    )


class _CompanyContactMixin:
    """The pages of the reset say whom to call when the mail does not come."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),  # type: ignore[misc]
            **_company_contact(),
            "link_validity": password_reset.link_validity(),
        }


class PasswordResetView(_CompanyContactMixin, auth_views.PasswordResetView):
    """パスワードをお忘れの方: asks for the address, mails a link (Django's view;
    the mail and the limit are clients.forms.PasswordResetForm's)."""

    form_class = PasswordResetForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        super().form_valid(form)  # collects the mails (form.send_mail)
        return _RedirectThenSend(self.get_success_url(), send=form.send_collected_mails)


class _RedirectThenSend(HttpResponseRedirect):
    """The page after asking for a reset, with the mail sent only once the
    page has gone out: the server calls close() after the last byte (WSGI).
    Sent before, the answer took the mail server's time for an address that
    is a user's and none for another, which told them apart."""

    def __init__(self, url: str, *, send: Callable[[], None]) -> None:
        super().__init__(url)
        self._send = send

    def close(self) -> None:
        try:
            self._send()
        finally:
            super().close()


class PasswordResetDoneView(_CompanyContactMixin, auth_views.PasswordResetDoneView):
    pass


class PasswordResetConfirmView(
    _CompanyContactMixin, auth_views.PasswordResetConfirmView
):
    """The mailed link's page. The new password ends every session of the
    user, as a change does (Django's session hash follows the password), and
    clears a login lockout, so the user can log in at once."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_reset.clear_login_lockout(username=form.user.get_username())
        return response


class PasswordResetCompleteView(
    _CompanyContactMixin, auth_views.PasswordResetCompleteView
):
    pass
