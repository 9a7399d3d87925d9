import factory
from django.utils import timezone

from clients.months import month_end
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
)
from tests.factories import ClientFactory, PlanFactory


class PlanChangeRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanChangeRequest

    client = factory.SubFactory(ClientFactory)
    plan = factory.SubFactory(PlanFactory)
    effective_month = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    requested_at = factory.LazyFunction(timezone.now)


class RecipientChangeRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecipientChangeRequest

    client = factory.SubFactory(ClientFactory)
    kind = RecipientChangeRequest.Kind.ADD
    name = factory.Sequence(lambda n: f"新しい報告先{n}")
    pc_email = factory.Sequence(lambda n: f"new{n}@example.jp")
    requested_at = factory.LazyFunction(timezone.now)


class BillingEmailChangeRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingEmailChangeRequest

    client = factory.SubFactory(ClientFactory)
    billing_email = factory.Sequence(lambda n: f"keiri{n}@example.jp")
    requested_at = factory.LazyFunction(timezone.now)


class CancellationRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CancellationRequest

    client = factory.SubFactory(ClientFactory)
    last_day = factory.LazyFunction(lambda: month_end(timezone.localdate()))
    requested_at = factory.LazyFunction(timezone.now)
