"""An operator corrects a call of last month, or logs one late, while an admin
issues the month.

Issuing compares each draft with the month's calls and issues those that
match. A correction committed between that comparison and the issue's commit
was issued stale: the client billed for a call already reclassified as sales.
The correction of an ended month's call and the issue serialise on the billing
lock: whichever comes second sees what the first committed."""

import pytest

from answering.models import Call, Category
from answering.services import correct_call, log_call
from billing.models import Invoice, InvoiceStatus, LineKind
from billing.selectors import calls_changed_since_built, counted_calls_for_invoice
from billing.services import bill_month, issue_invoices, numbering
from tests import concurrency
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def over_by_one(plans):
    """Small plan, 21 counted calls in October (one over: 2,960 + 148), and
    the deposit of a first invoice (2,960): a draft. Returns (draft, a call)."""
    client = contracted_client(plans["small"], name="株式会社営業訂正")
    [call, *_others] = calls(client, 21, at=jst(2026, 10, 20))
    bill_month(month=OCTOBER, today=LATER)
    draft = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert draft.total_yen == 6068
    return draft, call


def _reclassify_as_sales(call: Call) -> None:
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})


def test_a_call_reclassified_as_sales_while_the_month_is_issued_waits_for_it(
    monkeypatch, over_by_one
):
    """The issue has compared and numbered the draft when the operator saves:
    the save waits until the invoice is issued, so that the invoice matches
    the calls as they were when it was issued; the month's page then lists the
    correction against the issued invoice (as for any later correction)."""
    draft, call = over_by_one
    numbered, go_on = concurrency.hold_first_call(
        monkeypatch, numbering, "number_drafts"
    )
    issue = concurrency.start(lambda: issue_invoices(month=OCTOBER, today=LATER))
    assert numbered.wait(timeout=10)
    correction = concurrency.start(lambda: _reclassify_as_sales(call))
    correction.wait_until_blocked()

    # While the issue has not committed, the call is still as it compared it.
    still = Call.objects.get(pk=call.pk).category
    go_on.set()
    issue.join(timeout=30)
    correction.join(timeout=30)
    assert (issue.error, correction.error) == (None, None)
    assert still == Category.NORMAL

    issued = Invoice.objects.get(pk=draft.pk)
    assert (issued.status, issued.total_yen) == (InvoiceStatus.ISSUED, 6068)
    assert Call.objects.get(pk=call.pk).category == Category.SALES
    [changed] = calls_changed_since_built(month=OCTOBER)
    assert changed.invoice == issued
    assert [c.call.pk for c in changed.changes] == [call.pk]
    assert changed.difference_yen == -148


def test_the_month_issued_while_a_call_is_reclassified_as_sales_waits_for_it(
    monkeypatch, over_by_one
):
    """The operator's correction is written, not yet committed, when the admin
    issues October: the issue waits for it, sees the sales call, and holds the
    draft back rebuilt without it instead of billing it."""
    draft, call = over_by_one
    written, go_on = concurrency.hold_first_call(monkeypatch, Call, "save")
    outcome = {}

    def issue() -> None:
        outcome["result"] = issue_invoices(month=OCTOBER, today=LATER)

    concurrency.run_in_turn(lambda: _reclassify_as_sales(call), issue, written, go_on)

    result = outcome["result"]
    assert result.issued == 0
    [held] = result.held
    assert (held.was_total_yen, held.total_yen) == (6068, 5920)
    october = Invoice.objects.get(client=draft.client, billing_month=OCTOBER)
    assert october.status == InvoiceStatus.DRAFT
    assert october.lines.get(kind=LineKind.CALL_OVER).counted_calls == 20
    assert call.pk not in counted_calls_for_invoice(october).values_list(
        "pk", flat=True
    )


def _log_late(client, *, received_at=None) -> Call:
    """A call logged on 2 November, received on 31 October unless told (the
    console allows setting the received time back up to 31 days)."""
    return log_call(
        client=client,
        logged_by=None,
        received_at=received_at or jst(2026, 10, 31, 17, 50),
        now=jst(2026, 11, 2, 10),
        caller_name="山田",
        callback_number="03-1234-5678",
        purpose="見積りの件",
    )


def test_the_month_issued_while_a_call_is_logged_late_into_it_waits_for_it(
    monkeypatch, over_by_one
):
    """An operator's late call of 31 October is written, not yet committed,
    when the admin issues October: the issue did not see it and issued the
    draft without it (the month's page flagged the call only afterwards). The
    issue now waits for the save, sees the call, and holds the draft back
    rebuilt with it."""
    draft, _call = over_by_one
    client = draft.client
    written, go_on = concurrency.hold_first_call(monkeypatch, Call, "save")
    outcome = {}

    def issue() -> None:
        outcome["result"] = issue_invoices(month=OCTOBER, today=LATER)

    concurrency.run_in_turn(lambda: _log_late(client), issue, written, go_on)

    result = outcome["result"]
    assert result.issued == 0
    [held] = result.held
    assert (held.was_total_yen, held.total_yen) == (6068, 6068 + 148)
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert october.status == InvoiceStatus.DRAFT
    assert october.lines.get(kind=LineKind.CALL_OVER).counted_calls == 22
    assert calls_changed_since_built(month=OCTOBER) == []


def test_a_call_of_this_month_is_saved_while_the_last_one_is_issued(
    monkeypatch, over_by_one
):
    """The operators' hot path never waits for billing: a call received on 2
    November is saved at once while October's issue holds the billing lock."""
    draft, _call = over_by_one
    client = draft.client
    numbered, go_on = concurrency.hold_first_call(
        monkeypatch, numbering, "number_drafts"
    )
    issue = concurrency.start(lambda: issue_invoices(month=OCTOBER, today=LATER))
    assert numbered.wait(timeout=10)
    logging = concurrency.start(
        lambda: _log_late(client, received_at=jst(2026, 11, 2, 9, 55))
    )
    logging.join(timeout=10)
    saved_while_issuing = not logging.is_alive() and logging.error is None
    go_on.set()
    issue.join(timeout=30)
    assert saved_while_issuing
    assert issue.error is None
    assert (
        Call.objects.filter(client=client, received_at__gte=jst(2026, 11, 1)).count()
        == 1
    )
