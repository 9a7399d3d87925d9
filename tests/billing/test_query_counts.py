"""The billing admin pages read what they list in a fixed number of queries:
as many for one invoice (client, line, call) as for many."""

import datetime as dt

from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from billing.selectors import invoices_differing_from_data
from billing.services import add_adjustment, bill_month
from clients.months import next_month, previous_month
from tests.billing.factories import OCTOBER, contracted_client
from tests.factories import ReportRecipientFactory
from tests.html_forms import form_values

ISSUED_ON = dt.date(2026, 11, 2)


def _credited_stale_invoices(plan, count, **fields):
    """``count`` issued October invoices, each with a credit against it, that
    a reissue would bill otherwise: a fourth recipient dated back into
    October after they were issued (210 yen more)."""
    clients = [
        contracted_client(
            plan, effective_month=OCTOBER, contract_started_on=OCTOBER, **fields
        )
        for _ in range(count)
    ]
    for client in clients:
        for _n in range(3):
            ReportRecipientFactory(client=client, active_from=OCTOBER)
    bill_month(month=OCTOBER, issue=True, today=ISSUED_ON)
    for client in clients:
        invoice = Invoice.objects.get(client=client, billing_month=OCTOBER)
        add_adjustment(invoice=invoice, amount_yen=100, reason="宛名の誤り")
        ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 20))
    return clients


def _queries(admin_client, url):
    admin_client.get(url)  # the session and anything cached once
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_month_page_reads_the_credits_of_stale_invoices_at_once(
    small, admin_client
):
    """Each issued invoice that a reissue would bill otherwise is listed with
    the credits recorded against it: read for all of them at once, not with a
    query per invoice."""
    url = f"{reverse('billing:month')}?month=2026-10"
    _credited_stale_invoices(small, 1)
    one, _response = _queries(admin_client, url)
    _credited_stale_invoices(small, 4)
    five, response = _queries(admin_client, url)
    assert len(response.context["stale"]) == 5
    assert one == five


def test_the_month_page_reads_at_once_whether_a_credit_can_follow(small, admin_client):
    """A cancelled client's invoice takes a credit only while a later month
    is still to be issued: the month page reads that for all its invoices
    changed since issue at once, not with a query per cancelled client."""
    url = f"{reverse('billing:month')}?month=2026-10"
    cancelled_on = dt.date(2026, 12, 31)  # November and December still to come
    _credited_stale_invoices(small, 1, cancelled_on=cancelled_on)
    one, _response = _queries(admin_client, url)
    _credited_stale_invoices(small, 4, cancelled_on=cancelled_on)
    five, response = _queries(admin_client, url)
    assert [s.credit_possible for s in response.context["stale"]] == [True] * 5
    assert one == five


def test_the_warnings_after_a_clients_save_read_its_credits_at_once(small):
    """Saving a client (or its recipient) names each of its issued invoices a
    reissue would bill otherwise, with the credits against it: as many
    queries when five of its months differ as when one does."""
    months = [dt.date(2026, month, 1) for month in range(6, 11)]
    client = contracted_client(
        small, effective_month=months[0], contract_started_on=months[0]
    )
    for _n in range(3):
        ReportRecipientFactory(client=client, active_from=months[0])
    for month in months:
        bill_month(month=month, issue=True, today=month.replace(month=month.month + 1))
    for invoice in Invoice.objects.filter(client=client):
        add_adjustment(invoice=invoice, amount_yen=100, reason="宛名の誤り")

    counts, named = [], []
    # A fourth recipient from October 20th (October's fee differs), then one
    # from June 20th (every month's does).
    for active_from in (dt.date(2026, 10, 20), dt.date(2026, 6, 20)):
        ReportRecipientFactory(client=client, active_from=active_from)
        with CaptureQueriesContext(connection) as queries:
            stale = invoices_differing_from_data(client_ids=[client.pk])
        counts.append(len(queries))
        named.append(len(stale))
        assert [s.credited_yen for s in stale] == [100] * len(stale)
    assert named == [1, 5]
    assert counts[0] == counts[1]


def _months_back(count):
    """The ``count`` months ending with October 2026, oldest first."""
    months = [OCTOBER]
    while len(months) < count:
        months.insert(0, previous_month(months[0]))
    return months


def _issued_months_of_a_client(plan, count):
    """A client billed and issued for ``count`` months, with three recipients
    from the first, and then a fourth dated back into the first month after
    they were issued: a reissue of every one of its months bills 210 yen
    more."""
    months = _months_back(count)
    client = contracted_client(
        plan, effective_month=months[0], contract_started_on=months[0]
    )
    for _n in range(3):
        ReportRecipientFactory(client=client, active_from=months[0])
    for month in months:
        bill_month(month=month, issue=True, today=next_month(month))
    ReportRecipientFactory(client=client, active_from=months[0].replace(day=20))
    return client


def _save_client_page(admin_client, client):
    """The admin saves the client's page unchanged: the queries of the save
    and the warnings it leaves for the next page."""
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(url, data)
    assert response.status_code == 302
    warnings = [
        str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"
    ]
    return len(queries), warnings


def test_saving_a_client_of_many_months_reads_its_issued_invoices_at_once(
    small, admin_client
):
    """The client's page names each issued invoice a reissue would bill
    otherwise: as many queries for a client of 14 months as of 2."""
    two, warnings = _save_client_page(
        admin_client, _issued_months_of_a_client(small, 2)
    )
    assert len(warnings) == 2
    assert all("210" in w and "請求書の詳細" in w for w in warnings)

    fourteen, warnings = _save_client_page(
        admin_client, _issued_months_of_a_client(small, 14)
    )
    assert fourteen == two
    assert len(warnings) == 14
    assert all("差額 +210 円" in w for w in warnings)


def _client_signed_up_after_billing(plan, count):
    """A client whose contract began ``count`` months ago, entered only after
    those months were billed for another client: none of its months billed."""
    months = _months_back(count)
    contracted_client(plan, effective_month=months[0], contract_started_on=months[0])
    for month in months:
        bill_month(month=month, issue=True, today=next_month(month))
    return contracted_client(
        plan, effective_month=months[0], contract_started_on=months[0]
    )


def test_saving_a_client_of_many_unbilled_months_reads_them_at_once(
    small, admin_client
):
    """The client's page names each billed month that has no invoice for the
    client: as many queries for 14 such months as for 2."""
    two, warnings = _save_client_page(
        admin_client, _client_signed_up_after_billing(small, 2)
    )
    assert len(warnings) == 2
    assert all("分の請求書がありません" in w for w in warnings)

    fourteen, warnings = _save_client_page(
        admin_client, _client_signed_up_after_billing(small, 14)
    )
    assert fourteen <= two
    assert len(warnings) == 14
    assert "2025年9月分の請求書がありません" in warnings[0]
