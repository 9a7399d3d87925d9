"""The Message-ID of every e-mail the service sends: call reports and invoice
notices alike carry the domain of the sender's address (DEFAULT_FROM_EMAIL),
never the host's own name (Django's default for a message without one:
"localhost" in a container), which spam filters hold against a message."""

from email.utils import parseaddr

from django.conf import settings
from django.core.mail.message import make_msgid

# When the sender's address has no domain to lend.
MAIL_DOMAIN = "reports.answering.local"


def sender_domain() -> str:
    """The domain of DEFAULT_FROM_EMAIL, which may carry the company's name
    ("株式会社デモ電話代行 <report@example.jp>"), in ASCII (a Message-ID is
    ASCII only: an internationalised domain goes as its xn-- form)."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    _local, at, domain = address.rpartition("@")
    domain = domain.strip().lower()
    if not at or not domain:
        return MAIL_DOMAIN
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a domain a mail server would take either
        return MAIL_DOMAIN


def new_message_id() -> str:
    return make_msgid(domain=sender_domain())
