"""Numbering drafts: where an invoice becomes issued, with the company and
payment details it keeps.

The other modules call ``numbering.number_drafts`` and read
``numbering.ISSUE_BATCH_SIZE`` through this module, so that a test replacing
one of them (to hold an issue mid-way, or to number in batches of one) does it
in one place."""

import datetime as dt

from django.conf import settings
from django.db.models import (
    Case,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from billing.due_dates import due_date_for
from billing.models import Invoice, InvoiceNumberSequence, InvoiceStatus
from clients.models import Client

# Invoices numbered per UPDATE (about three parameters each).
ISSUE_BATCH_SIZE = 1000


def number_drafts(
    *,
    month: dt.date,
    drafts: QuerySet[Invoice],
    issued_on: dt.date,
    only: set[int] | None = None,
) -> int:
    """Number and issue ``drafts`` (those in ``only``, if given) as they are:
    for drafts built in the same transaction, or checked against current data
    (``issue_invoices``). Under the billing lock."""
    sequence, _created = InvoiceNumberSequence.objects.get_or_create(name="invoice")
    sequence = InvoiceNumberSequence.objects.select_for_update().get(pk=sequence.pk)
    to_issue = list(
        drafts.select_for_update(of=("self",))
        .order_by("client__name_kana", "client__name", "id")
        .only("id")
    )
    if only is not None:
        to_issue = [invoice for invoice in to_issue if invoice.pk in only]
    if not to_issue:
        return 0
    due_on = due_date_for(month, issued_on=issued_on)
    number = sequence.last_number
    # One UPDATE per batch of invoices: only the number differs from row to row.
    for offset in range(0, len(to_issue), ISSUE_BATCH_SIZE):
        batch = to_issue[offset : offset + ISSUE_BATCH_SIZE]
        whens = [
            When(pk=invoice.pk, then=Value(number + index))
            for index, invoice in enumerate(batch, start=1)
        ]
        number += len(batch)
        batch_ids = [i.pk for i in batch]
        Invoice.objects.filter(pk__in=batch_ids).update(
            number=Case(*whens, output_field=IntegerField()),
            status=InvoiceStatus.ISSUED,
            issued_on=issued_on,
            due_on=due_on,
            company_name=settings.COMPANY_NAME,
            company_registration_number=settings.COMPANY_REGISTRATION_NUMBER,
            # The client's payment method as of the issue; the invoice keeps it.
            payment_method=Subquery(
                Client.objects.filter(pk=OuterRef("client_id")).values(
                    "payment_method"
                )[:1]
            ),
            company_bank_account=settings.COMPANY_BANK_ACCOUNT,
            updated_at=timezone.now(),
        )
        # The audit trail records the issue too (a plain UPDATE bypasses it).
        Invoice.history.bulk_history_create(
            list(Invoice.objects.filter(pk__in=batch_ids)), update=True
        )
    sequence.last_number = number
    sequence.save(update_fields=["last_number"])
    return len(to_issue)
