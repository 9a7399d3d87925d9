"""Credits (訂正) against issued invoices, applied by the client's next invoice."""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import (
    ADJUSTMENT_INVOICE_NOT_ISSUED,
    Adjustment,
    Invoice,
    InvoiceStatus,
)
from billing.services.runs import bill_month
from clients.locks import hold_billing_lock
from clients.models import Client, User


@transaction.atomic
def add_adjustment(
    *,
    invoice: Invoice,
    amount_yen: int,
    reason: str,
    created_by: User | None = None,
    submission_id: uuid.UUID | None = None,
) -> Adjustment:
    """Record a credit for an issued invoice; the client's next invoice applies it.

    Credits against one invoice queue behind a lock on it, so two entered at
    once cannot together exceed what it billed (``Adjustment.clean``). The same
    form sent twice (same ``submission_id``) records the credit once: the second
    time returns the credit the first one recorded.
    """
    # The client's row first (the one lock order, clients.locks): a
    # cancellation being saved holds it, and the credit must see its date
    # (a later invoice to carry it, Adjustment.clean).
    client = Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice.client = client
    if submission_id is not None:
        # Under the invoice's lock, so a first sending still running has
        # committed by now. Before validating: the credit counted twice could
        # exceed what the invoice billed and refuse the resend.
        recorded = Adjustment.objects.filter(submission_id=submission_id).first()
        if recorded is not None:
            if (
                recorded.corrects_invoice_id == invoice.pk
                and recorded.amount_yen == amount_yen
                and recorded.reason == reason.strip()
            ):
                return recorded
            # The same form with other values (the browser's Back button kept
            # its hidden id): another credit, not a resend.
            submission_id = None
    adjustment = Adjustment(
        client_id=invoice.client_id,
        corrects_invoice=invoice,
        amount_yen=amount_yen,
        reason=reason.strip(),
        created_by=created_by,
        submission_id=submission_id,
    )
    adjustment.full_clean()
    adjustment.save()
    return adjustment


@transaction.atomic
def change_adjustment(*, adjustment: Adjustment) -> None:
    """Save an admin's edit of a credit that no issued invoice carries yet.

    A draft that already deducts it is built again, so that it is issued with the
    credit as it now is, not as it was when the draft was made. Refuses
    (ValidationError, as ``Adjustment.clean``) what the admin's form could not
    see before the locks: the invoice voided, the credit issued, or other
    credits that leave less to give back.
    """
    # The client's row first, as add_adjustment: the cancellation date the
    # checks below read stays as it is until the credit is saved. The client
    # typed on the form: the checks refuse an invoice of another client.
    Client.objects.lock(adjustment.client_id)
    # Then the invoice it corrects, then the billing lock (the one lock
    # order, clients.locks): saving the credit has the database check that
    # invoice's row, which a void and reissue of it holds while it waits for
    # the billing lock. Taken the other way round, each waited for the other.
    # Issued or paid only (what a credit corrects): runs holding the billing
    # lock delete and number drafts.
    corrected = (
        Invoice.objects.select_for_update(no_key=True)
        .filter(
            pk=adjustment.corrects_invoice_id,
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
        )
        .first()
    )
    if corrected is None:
        # Voided since the admin's form checked it: a credit saved against a
        # void invoice escapes the refusal of its reissue (which no longer
        # sees it) and gives the money back twice.
        raise ValidationError({"corrects_invoice": ADJUSTMENT_INVOICE_NOT_ISSUED})
    hold_billing_lock()  # a run building drafts may be reading the credit
    draft = _draft_carrying(adjustment)
    # The form's checks again, under the locks, with the rows as they are now:
    # credits entered against the invoice meanwhile count towards what it can
    # still give back (add_adjustment and this edit queue on its row).
    adjustment.corrects_invoice = corrected
    adjustment.applied_to = draft
    adjustment.clean()
    # What the admin edits: where the credit sits was read before the lock.
    adjustment.save(
        update_fields=["client", "corrects_invoice", "amount_yen", "reason"]
    )
    if draft is not None:
        _rebuild(draft)


@transaction.atomic
def delete_adjustment(*, adjustment: Adjustment) -> None:
    """Delete a credit that no issued invoice carries; a draft deducting it is
    built again without it."""
    hold_billing_lock()
    draft = _draft_carrying(adjustment)
    adjustment.delete()
    if draft is not None:
        _rebuild(draft)


def _draft_carrying(adjustment: Adjustment) -> Invoice | None:
    """The draft that deducts the credit, if any; refuses once it is issued.

    Read under the billing lock: issuing it meanwhile waits, or has already
    made the credit part of an invoice that never changes.
    """
    applied_to = (
        Adjustment.objects.filter(pk=adjustment.pk)
        .values_list("applied_to_id", flat=True)
        .first()
    )
    if applied_to is None:
        return None
    invoice = Invoice.objects.get(pk=applied_to)
    if not invoice.is_draft:
        raise ValidationError(
            _("この訂正は発行済みの請求書に反映されたため、変更も削除もできません。")
        )
    return invoice


def _rebuild(draft: Invoice) -> None:
    bill_month(month=draft.billing_month, client_ids=[draft.client_id])
