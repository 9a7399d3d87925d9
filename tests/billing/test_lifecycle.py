"""Issued invoices never change; void and reissue; reruns, races, query counts."""

import datetime as dt
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import (
    BillingRun,
    Invoice,
    InvoiceImmutableError,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billing.services import (
    add_adjustment,
    bill_month,
    issue_invoices,
    mark_paid,
    numbering,
    void_and_reissue,
)
from clients.models import Client
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.factories import (
    NumberAssignmentFactory,
    ReportRecipientFactory,
    history_since_2025,
    switch_reports,
)

SEPTEMBER = dt.date(2026, 9, 1)
NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def issued(small):
    client = contracted_client(small)
    calls(client, 25)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    return Invoice.objects.get(client=client)


def test_issued_invoice_refuses_changes(issued):
    issued.total_yen = 1
    with pytest.raises(InvoiceImmutableError):
        issued.save()
    with pytest.raises(InvoiceImmutableError):
        Invoice.objects.filter(pk=issued.pk).update(total_yen=1)
    with pytest.raises(InvoiceImmutableError):
        issued.delete()
    first_line = issued.lines.first()
    first_line.amount_yen = 1
    with pytest.raises(InvoiceImmutableError):
        first_line.save()
    with pytest.raises(InvoiceImmutableError):
        InvoiceLine.objects.filter(invoice=issued).update(amount_yen=1)
    with pytest.raises(InvoiceImmutableError):
        InvoiceLine.objects.filter(invoice=issued).delete()
    with pytest.raises(InvoiceImmutableError):
        InvoiceLine.objects.create(
            invoice=issued,
            kind=LineKind.ADJUSTMENT,
            description="x",
            unit_price_yen=-1,
            amount_yen=-1,
        )
    issued.refresh_from_db()
    assert issued.total_yen == 2960 + 740 + 2960
    assert issued.lines.filter(amount_yen=1).count() == 0


def test_paid_and_void_are_the_only_moves(issued):
    paid = mark_paid(invoice=issued, paid_on=dt.date(2026, 11, 20))
    assert paid.status == InvoiceStatus.PAID
    with pytest.raises(ValidationError):
        mark_paid(invoice=paid, paid_on=dt.date(2026, 11, 21))
    with pytest.raises(ValidationError):
        void_and_reissue(invoice=paid, reason="x")


def test_payment_date_is_between_the_issue_date_and_today(issued):
    today = dt.date(2026, 11, 20)
    for paid_on, message in [
        (dt.date(2026, 11, 1), "発行日（2026年11月2日）より前"),
        (dt.date(2026, 11, 21), "未来の日付"),
    ]:
        with pytest.raises(ValidationError) as refused:
            mark_paid(invoice=issued, paid_on=paid_on, today=today)
        assert message in refused.value.message_dict["paid_on"][0]
    issued.refresh_from_db()
    assert (issued.status, issued.paid_on) == (InvoiceStatus.ISSUED, None)
    for paid_on in (dt.date(2026, 11, 2), today):  # both ends are allowed
        paid = mark_paid(invoice=issued, paid_on=paid_on, today=today)
        assert paid.paid_on == paid_on
        Invoice.objects.filter(pk=issued.pk).update(status="issued", paid_on=None)


def test_the_database_refuses_a_payment_before_the_issue_date(issued):
    """Code that skips mark_paid() (a script, a bulk update) cannot store it either."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).update(
            status="paid", paid_on=dt.date(2026, 11, 1)
        )
    issued.refresh_from_db()
    assert (issued.status, issued.paid_on) == (InvoiceStatus.ISSUED, None)


def test_a_month_is_billed_and_issued_only_once_it_has_ended(small):
    """Month-end close: November can be billed from 1 December, Japan time."""
    client = contracted_client(small)
    calls(client, 3, at=jst(2026, 11, 30, 17))
    for today in (dt.date(2026, 11, 30), dt.date(2026, 11, 1)):
        with pytest.raises(ValidationError, match="2026年11月はまだ終わっていない"):
            bill_month(month=NOVEMBER, today=today)
    with pytest.raises(ValidationError, match="まだ終わっていない"):
        bill_month(month=dt.date(2099, 1, 1), today=dt.date(2026, 12, 1))
    assert not Invoice.objects.exists()

    bill_month(month=NOVEMBER, today=dt.date(2026, 12, 1))  # the beat's run
    draft = Invoice.objects.get()
    with pytest.raises(ValidationError, match="まだ終わっていない"):
        issue_invoices(month=NOVEMBER, today=dt.date(2026, 11, 30))
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (InvoiceStatus.DRAFT, None)
    assert issue_invoices(month=NOVEMBER, today=dt.date(2026, 12, 1)).issued == 1


def test_void_and_reissue_keeps_the_original(issued):
    calls(issued.client, 1, category="normal")  # data corrected after issue
    new = void_and_reissue(
        invoice=issued, reason="件数の誤り", today=dt.date(2026, 11, 5)
    )
    old = Invoice.objects.get(pk=issued.pk)
    assert old.status == InvoiceStatus.VOID
    assert old.void_reason == "件数の誤り"
    assert old.total_yen == issued.total_yen  # the original is kept as it was
    assert old.lines.count() == issued.lines.count()
    assert new.status == InvoiceStatus.ISSUED
    assert new.replaces_id == old.pk
    assert new.number == old.number + 1
    assert new.total_yen == issued.total_yen + 148
    # The deposit moves to the reissue, it is not lost nor doubled.
    assert new.lines.filter(kind=LineKind.DEPOSIT).count() == 1


def test_a_reissue_carries_its_own_credits_not_a_later_invoices(small):
    """A September reissue to fix a name has September's amounts: the credit
    entered against October waits for a later invoice."""
    client = contracted_client(small)
    calls(client, 21, at=jst(2026, 9, 15))
    calls(client, 21)
    bill_month(month=dt.date(2026, 9, 1), issue=True, today=dt.date(2026, 10, 2))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    september, october = Invoice.objects.filter(client=client).order_by("number")
    credit = add_adjustment(invoice=october, amount_yen=148, reason="営業電話")
    new = void_and_reissue(
        invoice=september, reason="宛名の誤り", today=dt.date(2026, 11, 5)
    )
    assert new.total_yen == september.total_yen
    assert not new.lines.filter(kind=LineKind.ADJUSTMENT)
    credit.refresh_from_db()
    assert credit.applied_to is None
    bill_month(month=NOVEMBER, today=LATER)
    credit.refresh_from_db()
    assert credit.applied_to.billing_month == NOVEMBER


def test_a_reissue_keeps_the_credit_the_voided_invoice_carried(small):
    client = contracted_client(small)
    calls(client, 21, at=jst(2026, 9, 15))
    bill_month(month=dt.date(2026, 9, 1), issue=True, today=dt.date(2026, 10, 2))
    september = Invoice.objects.get(client=client)
    add_adjustment(invoice=september, amount_yen=148, reason="営業電話")
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    new = void_and_reissue(invoice=october, reason="宛名の誤り", today=LATER)
    assert new.total_yen == october.total_yen
    assert new.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -148


def test_a_draft_of_a_client_no_longer_billable_is_removed_not_issued(small):
    client = contracted_client(small)
    calls(client, 3)
    bill_month(month=OCTOBER, today=LATER)
    assert Invoice.objects.filter(client=client, status=InvoiceStatus.DRAFT)
    # The cancellation (effective 30 September) was recorded late.
    Client.objects.filter(pk=client.pk).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 9, 30)
    )
    summary = bill_month(month=OCTOBER, today=LATER)
    assert summary.clients_billed == 0
    assert not Invoice.objects.filter(client=client).exists()
    assert issue_invoices(month=OCTOBER, today=LATER).issued == 0


def test_a_client_run_removes_the_clients_stale_draft(small):
    client = contracted_client(small)
    bill_month(month=OCTOBER, today=LATER)
    Client.objects.filter(pk=client.pk).update(contract_started_on=NOVEMBER)
    bill_month(month=OCTOBER, client_ids=[client.pk], today=LATER)
    assert not Invoice.objects.filter(client=client).exists()


def test_voiding_the_invoice_of_a_client_not_billable_issues_no_replacement(issued):
    Client.objects.filter(pk=issued.client_id).update(contract_started_on=NOVEMBER)
    assert void_and_reissue(invoice=issued, reason="契約開始日の誤り") is None
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.VOID
    assert Invoice.objects.filter(client=issued.client_id).count() == 1


def test_rerun_is_idempotent(small):
    clients = [contracted_client(small) for _ in range(3)]
    for client in clients:
        calls(client, 22)
    first = bill_month(month=OCTOBER)
    second = bill_month(month=OCTOBER)
    assert Invoice.objects.count() == 3
    assert InvoiceLine.objects.count() == first_lines_count(clients)
    assert (first.total_yen, first.clients_billed) == (
        second.total_yen,
        second.clients_billed,
    )


def first_lines_count(clients):
    # plan fee + call-over + deposit for each client.
    return 3 * len(clients)


def _make_clients(plan, count):
    made = []
    for _ in range(count):
        client = contracted_client(plan)
        NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 1, 1))
        for _ in range(4):
            ReportRecipientFactory(client=client)
        calls(client, 2, surcharge_yen=300, surcharge_reason="長時間")
        made.append(client)
    return made


def _billing_queries(month):
    with CaptureQueriesContext(connection) as captured:
        bill_month(month=month)
    statements = [q["sql"] for q in captured.captured_queries]
    if connection.vendor == "sqlite":
        # SQLite caps a statement at 999 parameters, so Django splits bulk
        # INSERTs by row count; everything else must be constant there too.
        statements = [s for s in statements if not s.startswith("INSERT")]
    return len(statements)


def test_query_count_does_not_grow_with_clients(small):
    BillingRun.objects.create(billing_month=OCTOBER)  # both runs find the lock row
    _make_clients(small, 1)
    one = _billing_queries(OCTOBER)
    InvoiceLine.objects.all().delete()
    Invoice.objects.all().delete()
    _make_clients(small, 99)
    hundred = _billing_queries(OCTOBER)
    assert Invoice.objects.count() == 100
    assert InvoiceLine.objects.filter(kind=LineKind.SURCHARGE).count() == 200
    assert one == hundred


def _most_parameters(month, **options):
    """The most parameters that one statement of a billing run sends."""
    sizes = []

    def record(execute, sql, params, many, context):
        # SQLite caps a statement at 999 parameters, so Django splits bulk
        # INSERTs by row count there; PostgreSQL gets one array per column.
        if not (connection.vendor == "sqlite" and sql.startswith("INSERT")):
            sizes.append(len(params or ()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        bill_month(month=month, today=LATER, **options)
    return max(sizes)


def test_no_statement_sends_more_parameters_with_more_clients(small, monkeypatch):
    # PostgreSQL takes at most 65,535 parameters per statement (server-side
    # binding): a list of every client's or draft's id would break a big month.
    # Invoices are numbered in batches; one per batch shows any other growth.
    monkeypatch.setattr(numbering, "ISSUE_BATCH_SIZE", 1)
    _make_clients(small, 1)
    # First run, then a rerun that replaces the drafts and issues them.
    one = [_most_parameters(OCTOBER), _most_parameters(OCTOBER, issue=True)]
    _make_clients(small, 39)
    forty = [_most_parameters(NOVEMBER), _most_parameters(NOVEMBER, issue=True)]
    assert Invoice.objects.filter(billing_month=NOVEMBER).count() == 40
    assert not Invoice.objects.filter(status=InvoiceStatus.DRAFT).exists()
    assert forty == one


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_leave_one_invoice_per_client(plans):
    clients = [contracted_client(plans["small"]) for _ in range(20)]
    for client in clients:
        calls(client, 21)
    # The month's lock row exists already, as it does from the second month on.
    BillingRun.objects.create(billing_month=OCTOBER)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait(timeout=10)
            bill_month(month=OCTOBER)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Invoice.objects.filter(billing_month=OCTOBER).count() == 20
    for client in clients:
        invoice = Invoice.objects.get(client=client, billing_month=OCTOBER)
        assert invoice.lines.filter(kind=LineKind.PLAN_FEE).count() == 1
        assert invoice.total_yen == 2960 + 148 + 2960


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issue_numbers_stay_gapless(plans):
    for _ in range(10):
        contracted_client(plans["small"])
    bill_month(month=OCTOBER)
    barrier = threading.Barrier(2)
    issued_counts = []

    def run():
        try:
            barrier.wait(timeout=10)
            issued_counts.append(issue_invoices(month=OCTOBER).issued)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(issued_counts) == [0, 10]
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 11))


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_months_billed_at_once_apply_a_credit_and_a_deposit_once(plans):
    """October's run is held once it has read everything, and November's starts
    then. Were November's to go ahead, both would read the credit as not applied
    and the deposit as never billed, and both drafts would carry them."""
    credited = contracted_client(plans["small"])
    bill_month(month=SEPTEMBER, issue=True, today=LATER)
    credit = add_adjustment(
        invoice=Invoice.objects.get(client=credited), amount_yen=500, reason="誤課金"
    )
    newcomer = contracted_client(plans["small"])  # never invoiced: owes a deposit
    october_loaded, october_goes_on = threading.Event(), threading.Event()
    messages: list[str] = []
    errors = []

    def hold_october_once_loaded(message: str) -> None:
        messages.append(message)
        if len(messages) == 2:  # the one after load_month
            october_loaded.set()
            october_goes_on.wait(timeout=10)

    def run(month, **options):
        try:
            bill_month(month=month, today=LATER, **options)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    october = threading.Thread(
        target=run, args=[OCTOBER], kwargs={"progress": hold_october_once_loaded}
    )
    november = threading.Thread(target=run, args=[NOVEMBER])
    october.start()
    assert october_loaded.wait(timeout=10)
    november.start()
    # November's run either waits for October's (the fix) or goes ahead and
    # ends; October's goes on when one of these has happened.
    deadline = time.monotonic() + 10
    while november.is_alive() and not _someone_waits_for_a_lock():
        assert time.monotonic() < deadline, "November's run neither ended nor waited"
        time.sleep(0.01)
    october_goes_on.set()
    october.join(timeout=30)
    november.join(timeout=30)
    assert errors == []
    credit.refresh_from_db()
    assert credit.applied_to.billing_month == OCTOBER
    assert list(
        InvoiceLine.objects.filter(adjustment=credit).values_list(
            "invoice__billing_month", flat=True
        )
    ) == [OCTOBER]
    assert list(
        InvoiceLine.objects.filter(
            invoice__client=newcomer, kind=LineKind.DEPOSIT
        ).values_list("invoice__billing_month", flat=True)
    ) == [OCTOBER]


def test_a_reissue_bills_the_report_recipients_as_the_month_had_them(small):
    """October reported by e-mail to five persons (two beyond the free three):
    its reissue, made after the client moved to Chatwork in November, still
    bills them, and a reissue after a move the other way bills none."""
    by_email = contracted_client(small)
    by_chatwork = contracted_client(
        small, report_by_email=False, report_by_chatwork=True, chatwork_room_id="1"
    )
    for client in (by_email, by_chatwork):
        history_since_2025(client)
        for _ in range(5):
            ReportRecipientFactory(client=client)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    switch_reports(by_email, email=False, at=jst(2026, 11, 3))
    switch_reports(by_chatwork, email=True, at=jst(2026, 11, 3))
    for client, fee_yen in ((by_email, 420), (by_chatwork, 0)):
        october = Invoice.objects.get(client=client)
        assert (
            sum(
                october.lines.filter(kind=LineKind.EXTRA_RECIPIENTS).values_list(
                    "amount_yen", flat=True
                )
            )
            == fee_yen
        )
        new = void_and_reissue(
            invoice=october, reason="宛名の誤り", today=dt.date(2026, 11, 5)
        )
        assert new.total_yen == october.total_yen
        assert list(new.lines.values_list("kind", "amount_yen")) == list(
            october.lines.values_list("kind", "amount_yen")
        )


def test_recipients_cost_only_on_the_days_reports_went_by_email(small):
    """On Chatwork until 20 October, then by e-mail: the persons who stopped on
    the 10th received nothing, and the month is billed only for the three who
    were there once e-mails went out."""
    client = contracted_client(
        small, report_by_email=False, report_by_chatwork=True, chatwork_room_id="1"
    )
    history_since_2025(client)
    for _ in range(3):
        ReportRecipientFactory(client=client)
    for _ in range(2):
        ReportRecipientFactory(client=client, active_to=dt.date(2026, 10, 10))
    switch_reports(client, email=True, at=jst(2026, 10, 20))
    bill_month(month=OCTOBER, today=LATER)
    invoice = Invoice.objects.get(client=client)
    assert not invoice.lines.filter(kind=LineKind.EXTRA_RECIPIENTS)
    # The other way round: by e-mail to five until the 15th, then Chatwork.
    switch_reports(client, email=False, at=jst(2026, 11, 3))
    other = contracted_client(small)
    history_since_2025(other)
    for _ in range(5):
        ReportRecipientFactory(client=other, active_to=dt.date(2026, 10, 20))
    switch_reports(other, email=False, at=jst(2026, 10, 15, 18))
    bill_month(month=OCTOBER, today=LATER)
    extra = Invoice.objects.get(client=other).lines.get(kind=LineKind.EXTRA_RECIPIENTS)
    assert (extra.quantity, extra.amount_yen) == (2, 420)
    assert not Invoice.objects.get(client=client).lines.filter(
        kind=LineKind.EXTRA_RECIPIENTS
    )
