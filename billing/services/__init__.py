"""Monthly billing: build drafts in bulk, issue them, mark paid or refunded, void
and reissue, enter credits, tell clients of their invoices.

One module per use case: ``runs`` (``bill_month``, from what ``loading`` reads),
``issue`` (``issue_invoices``, which ``numbering`` numbers), ``settlement``
(paid, refunded, a payment taken back, void and reissue), ``adjustments`` (credits) and
``invoice_notices``. Callers import from here.

``bill_month`` is the one service behind the beat task, ``manage.py bill_month``
and the admin page. It loads everything for all billable clients in a fixed
number of grouped queries (never a query per client), computes the lines with
the pure functions in ``billing.pricing``, and writes them in bulk.

Decisions:
- ``bill_month`` creates or refreshes DRAFTS; issued, paid and void invoices are
  never touched by a rerun. Issuing is a separate step (``issue_invoices``):
  the admin page's button (or a draft's own, ``issue_draft``: the same for that
  draft alone), ``bill_month --issue``, or the beat task when
  ``BILLING_AUTO_ISSUE`` is on. Admins expect to preview before anything is
  numbered and sent. A draft is only a preview: ``issue_invoices`` compares
  each one with what current data builds, issues those that match, and builds
  again and holds back the others, so a stale draft is never issued.
- Concurrent runs, of the same month or not, queue behind one lock
  (``runs.lock_billing``): runs of different months would otherwise both apply
  the same credit or bill the same deposit. The partial unique constraint on
  (client, month) backs it in the database. A correction of a call of a month
  that has ended, or a call logged late into one, waits for that lock too
  (``clients.locks``): what a run compares and issues is what is committed
  when it commits.
- Month-end close: ``bill_month`` and ``issue_invoices`` refuse a month that has
  not ended in Japan time (the current month and later).
- On a server, everything that issues (``issue_invoices``, ``bill_month`` with
  ``issue=True``, ``void_and_reissue``) refuses while the company settings are
  still the demo ones (billing/company.py), before changing anything.
"""

from billing.services.adjustments import (
    add_adjustment,
    change_adjustment,
    delete_adjustment,
)
from billing.services.invoice_notices import NoticeSummary, send_invoice_notices
from billing.services.issue import (
    DraftOutcome,
    IssueResult,
    issue_draft,
    issue_invoices,
)
from billing.services.runs import BillingSummary, bill_month, month_has_ended
from billing.services.settlement import (
    mark_paid,
    mark_refunded,
    refuse_cancellation_into_paid_months,
    settlement_refusal,
    undo_payment,
    undo_payment_refusal,
    void_and_reissue,
    void_refusal,
)

__all__ = [
    "BillingSummary",
    "DraftOutcome",
    "IssueResult",
    "NoticeSummary",
    "add_adjustment",
    "bill_month",
    "change_adjustment",
    "delete_adjustment",
    "issue_draft",
    "issue_invoices",
    "mark_paid",
    "mark_refunded",
    "month_has_ended",
    "refuse_cancellation_into_paid_months",
    "send_invoice_notices",
    "settlement_refusal",
    "undo_payment",
    "undo_payment_refusal",
    "void_and_reissue",
    "void_refusal",
]
