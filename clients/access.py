"""Who may open the staff pages: one place for the role checks of every app.

Anonymous visitors go to the login page; a logged-in user without the role gets
403. Client users have their own portal (portal.access).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from clients.models import User

View = Callable[..., HttpResponse]


def is_admin(user: Any) -> bool:
    return bool(
        user.is_authenticated and (user.is_staff or user.role == User.Role.ADMIN)
    )


def may_use_portal(user: Any) -> bool:
    """Whether a logged-in user may use the client portal: an active client user
    linked to a client (the database's constraints keep a client user linked and
    never staff; this check still guards against a broken row)."""
    return bool(
        user.is_client_user
        and user.client_id is not None
        and not user.is_staff
        and not user.is_superuser
        and user.is_active
    )


def operator_required(view: View) -> View:
    """Operators and admins."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_operator_or_admin", False):
            raise PermissionDenied(_("この画面はオペレーターと管理者専用です。"))
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    """Admins (staff) only."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied(_("この画面は管理者専用です。"))
        return view(request, *args, **kwargs)

    return wrapper
