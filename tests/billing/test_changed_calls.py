"""Calls logged late or corrected after an invoice was built: the admin is
shown which, and what the invoice would bill if it were built again."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from answering.models import Call, Category
from answering.services import correct_call, log_call
from billing.models import CountedCall, Invoice, LineKind
from billing.selectors import calls_changed_since_built
from billing.services import add_adjustment, bill_month, mark_paid, void_and_reissue
from tests import concurrency
from tests.billing.factories import (
    LATER,
    OCTOBER,
    HoldOnceLoaded,
    calls,
    contracted_client,
    jst,
)
from tests.factories import CallFactory

# Small plan: 20 calls included, 148 yen each beyond.
PER_CALL = 148


def _built_earlier() -> None:
    """The calls made so far were logged days before the month was billed."""
    earlier = timezone.now() - dt.timedelta(days=3)
    Call.objects.update(created_at=earlier, updated_at=earlier)


@pytest.fixture
def issued(small):
    """A Small-plan client with 25 counted calls in October (5 over), issued."""
    client = contracted_client(small)
    calls(client, 25, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    return Invoice.objects.get(client=client)


def _only_change(invoice):
    changed = calls_changed_since_built(month=OCTOBER)
    assert [c.invoice.pk for c in changed] == [invoice.pk]
    return changed[0]


def test_nothing_changed_lists_nothing(issued):
    assert calls_changed_since_built(month=OCTOBER) == []


def test_a_call_logged_late_would_bill_one_more_call_over(issued):
    late = CallFactory(client=issued.client, received_at=jst(2026, 10, 31, 17, 50))
    change = _only_change(issued)
    assert [(c.call.pk, c.reason) for c in change.changes] == [
        (late.pk, "請求書の作成後に記録")
    ]
    assert change.difference_yen == PER_CALL


def test_the_invoice_page_dates_a_changed_call_the_japanese_way(issued, admin_client):
    CallFactory(client=issued.client, received_at=jst(2026, 10, 31, 17, 50))
    page = admin_client.get(reverse("billing:invoice", args=[issued.pk]))
    assert "2026年10月31日 17:50</a>" in page.content.decode()
    assert "2026-10-31 17:50" not in page.content.decode()


def test_a_call_corrected_to_sales_would_bill_one_less(issued):
    call = Call.objects.filter(client=issued.client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    change = _only_change(issued)
    assert [(c.call.pk, c.reason) for c in change.changes] == [
        (call.pk, "営業電話に訂正")
    ]
    assert change.difference_yen == -PER_CALL


def test_a_call_corrected_from_sales_counts_again(small):
    client = contracted_client(small)
    calls(client, 20, at=jst(2026, 10, 20))
    [sales] = calls(client, 1, at=jst(2026, 10, 21), category=Category.SALES)
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    invoice = Invoice.objects.get(client=client)
    correct_call(call=sales, corrected_by=None, changes={"category": Category.GREY})
    change = _only_change(invoice)
    assert [c.reason for c in change.changes] == ["訂正で請求対象に"]
    assert change.difference_yen == PER_CALL  # the 21st call of 20 included


def test_a_call_moved_to_the_next_month_leaves_the_invoice(issued):
    call = Call.objects.filter(client=issued.client).first()
    correct_call(
        call=call, corrected_by=None, changes={"received_at": jst(2026, 11, 2, 10)}
    )
    change = _only_change(issued)
    assert [c.reason for c in change.changes] == ["受電日時を対象期間外に訂正"]
    assert change.difference_yen == -PER_CALL


def test_within_the_included_calls_the_amount_does_not_change(small):
    client = contracted_client(small)
    calls(client, 10, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    invoice = Invoice.objects.get(client=client)
    CallFactory(client=client, received_at=jst(2026, 10, 30))
    change = _only_change(invoice)
    assert len(change.changes) == 1
    assert change.difference_yen == 0


def test_surcharges_changed_after_issue_count_in_yen(small):
    client = contracted_client(small)
    [long_call] = calls(
        client, 1, at=jst(2026, 10, 5), surcharge_yen=300, surcharge_reason="長時間"
    )
    [plain] = calls(client, 1, at=jst(2026, 10, 6))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    invoice = Invoice.objects.get(client=client)
    correct_call(call=long_call, corrected_by=None, changes={"surcharge_yen": 200})
    correct_call(
        call=plain,
        corrected_by=None,
        changes={"surcharge_yen": 250, "surcharge_reason": "お怒り・長時間"},
    )
    change = _only_change(invoice)
    assert [
        (c.call.pk, c.billed_surcharge_yen, c.surcharge_yen_now) for c in change.changes
    ] == [(long_call.pk, 300, 200), (plain.pk, 0, 250)]
    assert change.difference_yen == -100 + 250


def test_a_late_call_in_the_free_trial_changes_nothing(small):
    client = contracted_client(
        small,
        trial_started_on=dt.date(2026, 10, 1),
        contract_started_on=dt.date(2026, 10, 11),
    )
    calls(client, 3, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    CallFactory(client=client, received_at=jst(2026, 10, 5))  # in the trial
    assert calls_changed_since_built(month=OCTOBER) == []


def test_a_reissued_invoice_has_the_late_call(issued):
    CallFactory(client=issued.client, received_at=jst(2026, 10, 31))
    new = void_and_reissue(invoice=issued, reason="遅れて記録された受電", today=LATER)
    assert new is not None
    assert new.total_yen == issued.total_yen + PER_CALL
    assert calls_changed_since_built(month=OCTOBER) == []


def test_queries_do_not_grow_with_changed_invoices(small):
    clients = [contracted_client(small) for _ in range(4)]
    for client in clients:
        calls(client, 21, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)

    def queries_with_late_calls(count):
        for client in clients[:count]:
            CallFactory(client=client, received_at=jst(2026, 10, 30))
        with CaptureQueriesContext(connection) as queries:
            assert len(calls_changed_since_built(month=OCTOBER)) == count
        return len(queries)

    assert queries_with_late_calls(1) == queries_with_late_calls(4)


def test_month_page_lists_the_changed_invoice(admin_client, issued):
    CallFactory(client=issued.client, received_at=jst(2026, 10, 31))
    page = admin_client.get(reverse("billing:month"), {"month": "2026-10"})
    html = page.content.decode()
    assert "作成後に受電が変わった請求書" in html
    assert f"{PER_CALL}円多い" in html
    assert reverse("billing:invoice", args=[issued.pk]) in html


def test_month_page_without_changes_shows_no_warning(admin_client, issued):
    page = admin_client.get(reverse("billing:month"), {"month": "2026-10"})
    assert "作成後に受電が変わった請求書" not in page.content.decode()


def test_invoice_page_offers_the_credit_for_a_call_corrected_to_sales(
    admin_client, issued
):
    mark_paid(invoice=issued, paid_on=LATER, today=LATER)
    call = Call.objects.filter(client=issued.client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    page = admin_client.get(reverse("billing:invoice", args=[issued.pk]))
    html = page.content.decode()
    assert "請求書の作成後に変わった受電" in html
    assert "次回の請求で差し引かれます" in html
    assert "営業電話に訂正" in html
    assert reverse("console:call_edit", args=[call.pk]) in html
    assert f"{PER_CALL}円少ない" in html
    assert f'name="adjust-amount_yen" value="{PER_CALL}"' in html

    add_adjustment(invoice=issued, amount_yen=PER_CALL, reason="営業電話")
    page = admin_client.get(reverse("billing:invoice", args=[issued.pk]))
    html = page.content.decode()
    assert f"（訂正の登録 {PER_CALL}円あり）" in html
    assert f'name="adjust-amount_yen" value="{PER_CALL}"' not in html


def test_draft_page_asks_to_rebuild(admin_client, small):
    client = contracted_client(small)
    calls(client, 21, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, today=LATER)
    draft = Invoice.objects.get(client=client)
    CallFactory(client=client, received_at=jst(2026, 10, 31))
    html = admin_client.get(reverse("billing:invoice", args=[draft.pk])).content
    assert "下書きの作成後に変わった受電" in html.decode()
    bill_month(month=OCTOBER, today=LATER)
    assert calls_changed_since_built(month=OCTOBER) == []


def _run_october_while(during) -> None:
    """Bill October; once the run has read the month (counted the calls) and
    before it writes the invoices, ``during`` runs on another connection and
    commits, as an operator's save would while a run is going on."""
    hold = HoldOnceLoaded(timeout=10)
    errors: list[Exception] = []

    def run() -> None:
        try:
            bill_month(month=OCTOBER, issue=True, today=LATER, progress=hold)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert hold.loaded.wait(timeout=10)
    during()
    hold.go_on.set()
    thread.join(timeout=30)
    assert errors == []


def _counted_and_listed(invoice):
    billed = invoice.lines.get(kind=LineKind.CALL_OVER).counted_calls
    return billed, CountedCall.objects.filter(invoice=invoice).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_call_logged_as_the_month_ends_while_the_run_counts_is_billed(plans):
    """PostgreSQL reads each statement as it starts: a call saved between the
    count and the list was in the list only, billed nowhere and never shown.

    A call logged late into an ended month waits for the run (log_call); one
    whose save began in the month's last second, when its month had not
    ended, does not, and may commit while a run started just after midnight
    counts: the run builds that client's invoice again (RECOUNT_ATTEMPTS)."""
    client = contracted_client(plans["small"])
    calls(client, 25, at=jst(2026, 10, 20))
    _built_earlier()
    _run_october_while(
        lambda: log_call(
            client=client,
            logged_by=None,
            now=jst(2026, 10, 31, 23, 59, 59),
            caller_name="山田",
            callback_number="03-1234-5678",
            purpose="見積りの件",
        )
    )
    invoice = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert _counted_and_listed(invoice) == (26, 26)
    assert invoice.total_yen == 2960 + 6 * PER_CALL + 2960  # and the deposit
    assert calls_changed_since_built(month=OCTOBER) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_call_corrected_to_sales_while_the_run_counts_waits_for_the_run(plans):
    """The correction of an ended month's call waits for the run that issues
    it: the invoice counts and lists the calls as they were when it was
    issued, and the month's page then lists the correction against it."""
    client = contracted_client(plans["small"])
    calls(client, 25, at=jst(2026, 10, 20))
    _built_earlier()
    call = Call.objects.filter(client=client).first()
    hold = HoldOnceLoaded(timeout=10)
    run = concurrency.start(
        lambda: bill_month(month=OCTOBER, issue=True, today=LATER, progress=hold)
    )
    assert hold.loaded.wait(timeout=10)
    correction = concurrency.start(
        lambda: correct_call(
            call=call, corrected_by=None, changes={"category": Category.SALES}
        )
    )
    correction.wait_until_blocked()
    hold.go_on.set()
    run.join(timeout=30)
    correction.join(timeout=30)
    assert (run.error, correction.error) == (None, None)
    invoice = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert _counted_and_listed(invoice) == (25, 25)
    assert [c.call.pk for c in _only_change(invoice).changes] == [call.pk]


def _issued_then_corrected_to_sales(client, *, paid=False):
    """``client``'s October, 25 calls (5 over), issued; then one call is
    corrected to a sales call: 148 yen billed too much."""
    calls(client, 25, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    invoice = Invoice.objects.get(client=client)
    if paid:
        mark_paid(invoice=invoice, paid_on=LATER, today=LATER)
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    return invoice


def _invoice_page(admin_client, invoice) -> str:
    url = reverse("billing:invoice", args=[invoice.pk])
    return admin_client.get(url).content.decode()


PREFILLED = f'name="adjust-amount_yen" value="{PER_CALL}"'


def test_a_final_paid_invoice_is_not_offered_a_credit_nothing_would_take(
    admin_client, small
):
    client = contracted_client(small, cancelled_on=dt.date(2026, 10, 31))
    invoice = _issued_then_corrected_to_sales(client, paid=True)
    html = _invoice_page(admin_client, invoice)
    assert f"{PER_CALL}円少ない" in html
    assert "この顧客への次回の請求はありません" in html
    assert "次回の請求で差し引かれます" not in html
    assert PREFILLED not in html


def test_the_prefilled_credit_reason_is_japanese_like_the_invoice(admin_client, small):
    invoice = _issued_then_corrected_to_sales(contracted_client(small))
    admin_client.post(reverse("set_language"), {"language": "en"})
    html = _invoice_page(admin_client, invoice)
    assert PREFILLED in html
    assert 'value="発行後の受電の訂正"' in html


def test_an_earlier_credit_for_something_else_leaves_the_prefill(admin_client, small):
    client = contracted_client(small)
    calls(client, 25, at=jst(2026, 10, 20))
    _built_earlier()
    bill_month(month=OCTOBER, issue=True, today=LATER)
    invoice = Invoice.objects.get(client=client)
    credit = add_adjustment(invoice=invoice, amount_yen=1100, reason="追加番号の誤り")
    credit.created_at = timezone.now() - dt.timedelta(days=1)
    credit.save(update_fields=["created_at"])
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    html = _invoice_page(admin_client, invoice)
    assert PREFILLED in html
    assert "訂正の登録" not in html


def test_an_unpaid_invoice_credited_for_the_change_is_not_to_be_reissued(
    admin_client, small
):
    invoice = _issued_then_corrected_to_sales(contracted_client(small))
    assert "無効にして再発行してください" in _invoice_page(admin_client, invoice)
    add_adjustment(invoice=invoice, amount_yen=PER_CALL, reason="営業電話")
    html = _invoice_page(admin_client, invoice)
    assert "訂正（減額）として登録済みです" in html
    assert "再発行はしないでください" in html
    assert PREFILLED not in html


def test_changes_that_cancel_out_say_no_change_without_a_reason(admin_client, small):
    client = contracted_client(small)
    invoice = _issued_then_corrected_to_sales(client)
    CallFactory(client=client, received_at=jst(2026, 10, 31, 17, 50))
    [changed] = calls_changed_since_built(month=OCTOBER)
    assert changed.difference_yen == 0 and len(changed.changes) == 2
    html = _invoice_page(admin_client, invoice)
    assert "変わらない<" in html and "変わらない（基本料金内）" not in html
    assert "対応は不要です" in html


def test_the_void_form_gives_way_to_the_credits_that_refuse_it(admin_client, small):
    invoice = _issued_then_corrected_to_sales(contracted_client(small))
    void_url = reverse("billing:void", args=[invoice.pk])
    html = _invoice_page(admin_client, invoice)
    assert "void-refused" not in html and void_url in html
    add_adjustment(invoice=invoice, amount_yen=PER_CALL, reason="営業電話")
    html = _invoice_page(admin_client, invoice)
    assert 'id="void-refused"' in html and void_url not in html
    assert "-148円（営業電話）" in html and "二重の減額" in html
