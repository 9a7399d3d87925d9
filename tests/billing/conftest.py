import datetime as dt

import pytest

from billing.models import Invoice
from billing.services import bill_month, issue_invoices
from tests import factories
from tests.billing.factories import OCTOBER, calls, contracted_client


@pytest.fixture
def small(plans):
    return plans["small"]


@pytest.fixture
def standard(plans):
    return plans["standard"]


@pytest.fixture
def admin(db):
    return factories.AdminFactory()


@pytest.fixture
def draft(small):
    """October's draft of a client with 21 counted calls (one over Small's 20)."""
    client = contracted_client(small, name="株式会社ビュー")
    calls(client, 21)
    bill_month(month=OCTOBER)
    return Invoice.objects.get(client=client)


@pytest.fixture
def issued(draft):
    issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2))
    return Invoice.objects.get(pk=draft.pk)
