"""Message-IDs take the sender's domain; the service's own when it has none
(the mails themselves: tests/billing/test_invoice_notices.py)."""

import pytest

from clients.message_ids import MAIL_DOMAIN, new_message_id


def _domain(message_id: str) -> str:
    return message_id.strip("<>").rsplit("@", 1)[1]


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("株式会社デモ電話代行 <report@example.jp>", "example.jp"),
        ('"株式会社デモ, 電話代行" <Report@Denwa-Demo.JP>', "denwa-demo.jp"),
        ("report@example.co.jp", "example.co.jp"),
        # A Message-ID is ASCII only: a Japanese domain goes as its xn-- form.
        ("電話代行 <report@電話代行.jp>", "xn--mnqp31l9lb34v.jp"),
    ],
)
def test_a_message_id_carries_the_domain_of_the_sender(settings, sender, domain):
    settings.DEFAULT_FROM_EMAIL = sender
    assert _domain(new_message_id()) == domain


@pytest.mark.parametrize("sender", ["", "report", "株式会社デモ電話代行 <report@>"])
def test_a_sender_without_a_domain_falls_back_to_the_services(settings, sender):
    settings.DEFAULT_FROM_EMAIL = sender
    assert _domain(new_message_id()) == MAIL_DOMAIN == "reports.answering.local"


def test_two_message_ids_differ(settings):
    settings.DEFAULT_FROM_EMAIL = "report@example.jp"
    assert new_message_id() != new_message_id()
