from django.db import transaction

from reporting import services
from tests.factories import CallFactory, ClientFactory, ReportRecipientFactory


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
