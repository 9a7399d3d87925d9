"""The Message-ID of every e-mail the service sends: call reports and invoice
notices alike carry one domain, never the host's own name (Django's default
for a message without one: "localhost" in a container)."""

from django.core.mail.message import make_msgid

MAIL_DOMAIN = "reports.answering.local"


def new_message_id() -> str:
    return make_msgid(domain=MAIL_DOMAIN)
