"""Links to the client portal written in e-mails (invoice notices, call reports)."""

from django.conf import settings
from django.urls import reverse


def portal_url(view_name: str, *args: object) -> str:
    """The absolute address of a portal page as clients reach it, or "" when
    PORTAL_BASE_URL is not set (the mail then names the page without a link)."""
    if not settings.PORTAL_BASE_URL:
        return ""
    return f"{settings.PORTAL_BASE_URL}{reverse(view_name, args=args)}"
