"""A 403 in the server log: one line saying who, which path and why.

Django logs a refused permission (``PermissionDenied``) with the traceback of
the exception, and a CSRF failure without saying who sent it. Both are expected
events (a client user opening an operator page, a form sent from a stale tab),
and a page of traceback for each buries the real errors, whose tracebacks stay.
"""

import logging

from django.http import HttpRequest

from config.client_ip import client_ip


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _who(request: HttpRequest) -> str:
    address = client_ip(request) or "?"
    try:
        user = request.user
        if not user.is_authenticated:
            return f"anonymous from {address}"
        return (
            f"user {_one_line(user.get_username())} "
            f"(id {user.pk}, {getattr(user, 'role', '?')}) from {address}"
        )
    except Exception:
        # Reading the user may query the database: a log line must never turn
        # a 403 into a 500.
        return f"unknown user from {address}"


class ForbiddenOnOneLine(logging.Filter):
    """On the ``django.request`` and ``django.security.csrf`` loggers: a 403
    record loses its traceback and gains the user and the reason given."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if getattr(record, "status_code", None) != 403 or not isinstance(
            request, HttpRequest
        ):
            return True
        # Django's own line, "Forbidden (<reason>): <path>", its path escaped;
        # then who, and the reason our checks gave (clients/access.py).
        line = f"{record.getMessage()} by {_who(request)}"
        exception = record.exc_info[1] if record.exc_info else None
        why = _one_line(str(exception)) if exception is not None else ""
        record.msg = f"{line}: {why}" if why else line
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True
