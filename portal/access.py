"""Who may use the portal: client users that belong to a client, nobody else.

Anonymous visitors are sent to the login page; operators and admins get 403
(they have their own console and admin, and must not browse as a client).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from clients.access import may_use_portal
from clients.models import Client


def portal_client(request: HttpRequest) -> Client:
    """The client whose data this request may see (set by ``client_required``)."""
    return request.portal_client  # type: ignore[attr-defined]


def client_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may_use_portal(user):
            raise PermissionDenied
        request.portal_client = user.client  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
