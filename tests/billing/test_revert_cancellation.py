"""A client's history revert is checked as an edit is: no cancellation back
into a month already paid for."""

import datetime as dt

import pytest
from django.urls import reverse

from billing.services import bill_month, mark_paid
from clients.models import Client
from tests.billing.factories import LATER, OCTOBER, contracted_client
from tests.billing.test_settlement import SEPTEMBER, live
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db


def test_revert_brings_back_a_cancellation_into_a_paid_month(admin_client, small):
    client = contracted_client(small)
    # An admin typed a cancellation by mistake, then removed it.
    client.status = Client.Status.CANCELLED
    client.cancelled_on = dt.date(2026, 9, 30)
    client.save()
    wrong = client.history.latest()
    client.status = Client.Status.ACTIVE
    client.cancelled_on = None
    client.save()
    bill_month(month=SEPTEMBER, issue=True, today=dt.date(2026, 10, 2))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    mark_paid(invoice=live(client, OCTOBER), paid_on=dt.date(2026, 11, 20), today=LATER)

    # The change page refuses 2026-09-30 ...
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(status=Client.Status.CANCELLED, cancelled_on="2026-09-30")
    assert admin_client.post(url, data).status_code == 200
    client.refresh_from_db()
    assert client.cancelled_on is None

    # ... but "Revert" to the old version saves it.
    vurl = reverse(
        "admin:clients_client_simple_history", args=[client.pk, wrong.history_id]
    )
    page = admin_client.get(vurl).content.decode()
    form = form_values(page, "historicalclient_form")
    admin_client.post(vurl, {**form, "_save": "Revert"}, follow=True)
    client.refresh_from_db()
    assert client.cancelled_on is None  # it was saved: no invoice left to settle
