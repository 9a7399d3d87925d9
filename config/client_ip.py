"""The caller's IP address for login lockout, behind a known number of proxies.

Each of our proxies appends the address it received the request from to
X-Forwarded-For, so with N trusted proxies the client is the N-th entry from the
right; anything further left was written by the client and may be forged. With
no proxy configured the header is ignored.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    count = settings.PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]
