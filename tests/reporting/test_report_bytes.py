"""Call reports as the client receives them: the bytes the local SMTP server and
the Chatwork API peer were given, decoded as a mail program or Chatwork would."""

import datetime as dt
import email
import email.policy

import pytest
from django.utils import timezone

from reporting import services
from tests.factories import OperatorFactory
from tests.reporting.factories import client_with_recipients

pytestmark = pytest.mark.django_db

RECEIVED = timezone.make_aware(dt.datetime(2026, 11, 5, 14, 32))


def _record(client, **fields):
    """The console's save (record_call), then the delivery task's work."""
    call = services.record_call(
        client=client,
        logged_by=OperatorFactory(),
        now=RECEIVED + dt.timedelta(minutes=1),
        received_at=RECEIVED,
        **fields,
    )
    services.relay_due_deliveries()
    return call


def _mail(smtp_peer, to: str) -> dict:
    (message,) = [m for m in smtp_peer.messages if m["to"] == [to]]
    return message


def _decoded(message: dict) -> email.message.EmailMessage:
    return email.message_from_bytes(message["raw"], policy=email.policy.default)


def test_a_long_company_name_is_shortened_in_the_subject_never_the_time(smtp_peer):
    client, (person,) = client_with_recipients(1)
    _record(
        client,
        caller_name="山田太郎",
        caller_company="株式会社" + "とても長い名前の会社" * 15,
        callback_number="0312345678",
        purpose="見積もりの件",
    )
    subject = _mail(smtp_peer, person.pc_email)["subject"]
    assert subject.startswith("株式会社とても長い名前の会社")
    assert subject.endswith("… 11/5 14:32")
    assert len(subject) <= 120
