"""The Content-Security-Policy header, which Django 5.2 does not send (6.0 does).

Pages show callers' names and numbers and free text typed by operators and
clients: if a slip in escaping ever lets markup through, the policy stops it
from running a script, loading from elsewhere or sending a form away. Every
page loads only our own files and Django admin's, with no inline script, no
inline style and no ``on*=`` handler (tests/e2e/test_content_security_policy.py
opens the pages in a browser and fails on any violation).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # No 'unsafe-inline': our inline styles moved to the CSS files, and the
        # admin pages we use have none (Django's changelist adds a <style> only
        # when a ModelAdmin turns both action bars off; none does)...
        "style-src 'self'",
        # ...but for django-simple-history's history pages, which have one:
        # <p class="paginator" style="border-top: 0">. That attribute, by its
        # hash, and no other (tests/security/test_content_security_policy.py).
        "style-src-attr 'unsafe-hashes' 'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds ``CONTENT_SECURITY_POLICY`` to every HTML response, error pages included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("text/html"):
            return response  # CSV, PDF, JSON: nothing a browser runs
        if settings.DEBUG and response.status_code in (400, 404, 500):
            # Django's debug pages (technical 400, 404 and 500) are styled and scripted
            # inline; as django-csp does, they stay readable on a laptop.
            return response
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
