"""One small world with an object behind every URL argument, shared by the
security tests: two clients, each with calls, an issued invoice, a delivery and
portal requests."""

from dataclasses import dataclass

from django.db import transaction

from answering.models import Call
from billing import services as billing_services
from billing.models import Invoice
from clients.models import Client, OperatorNotice, User
from clients.months import japan_today, previous_month
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
)
from reporting import services as reporting_services
from reporting.models import Delivery
from tests import factories
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    CancellationRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)


@dataclass
class World:
    client: Client
    other_client: Client
    call: Call
    other_call: Call
    invoice: Invoice
    other_invoice: Invoice
    delivery: Delivery
    plan_request: PlanChangeRequest
    recipient_request: RecipientChangeRequest
    billing_email_request: BillingEmailChangeRequest
    cancellation_request: CancellationRequest
    notice: OperatorNotice
    other_notice: OperatorNotice
    operator: User
    admin: User
    client_user: User


def build_world(**call_fields) -> World:
    plans = factories.make_plans()
    client, other = factories.ClientFactory(), factories.ClientFactory()
    for c in (client, other):
        factories.ClientPlanFactory(client=c, plan=plans["small"])
        factories.ReportRecipientFactory(client=c)
    recipient = client.recipients.first()
    last_month = previous_month(japan_today())
    billing_services.bill_month(month=last_month, issue=True)
    with transaction.atomic():
        call = factories.CallFactory(client=client, **call_fields)
        deliveries = reporting_services.queue_call_reports(call=call)
    other_call = factories.CallFactory(client=other)
    return World(
        client=client,
        other_client=other,
        call=call,
        other_call=other_call,
        invoice=client.invoices.get(billing_month=last_month),
        other_invoice=other.invoices.get(billing_month=last_month),
        delivery=deliveries[0],
        plan_request=PlanChangeRequestFactory(client=client, plan=plans["half"]),
        # A "change" request: an "add" request (no recipient yet) makes the
        # portal's recipients and requests pages fail (see test_role_matrix).
        recipient_request=RecipientChangeRequestFactory(
            client=client,
            kind=RecipientChangeRequest.Kind.CHANGE,
            recipient=recipient,
        ),
        billing_email_request=BillingEmailChangeRequestFactory(client=client),
        cancellation_request=CancellationRequestFactory(client=client),
        notice=factories.OperatorNoticeFactory(client=client),
        other_notice=factories.OperatorNoticeFactory(client=other),
        operator=factories.OperatorFactory(),
        admin=factories.AdminFactory(),
        client_user=factories.ClientUserFactory(client=client),
    )
