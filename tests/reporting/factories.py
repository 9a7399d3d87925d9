import datetime as dt

from django.db import transaction
from django.utils import timezone

from reporting import services
from tests.factories import (
    CallFactory,
    ClientFactory,
    OperatorFactory,
    ReportRecipientFactory,
)

# When the calls of the byte-level report tests were received (Japan time).
RECEIVED = timezone.make_aware(dt.datetime(2026, 11, 5, 14, 32))


def client_with_recipients(n: int = 1, *, chatwork_room: str = "", **kwargs):
    client = ClientFactory(
        report_by_chatwork=bool(chatwork_room),
        chatwork_room_id=chatwork_room,
        **kwargs,
    )
    recipients = [ReportRecipientFactory(client=client) for _ in range(n)]
    return client, recipients


def save_reported_call(**kwargs):
    """Save a call and queue its reports in one transaction, as the console does."""
    with transaction.atomic():
        call = CallFactory(**kwargs)
        deliveries = services.queue_call_reports(call=call)
    return call, deliveries


def record_and_relay(client, **fields):
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
