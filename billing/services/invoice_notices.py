"""Telling each client its invoice was issued, and how to pay it (the e-mail
itself is ``billing.notices``)."""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus
from billing.notices import NoticeError, send_notice
from billing.selectors import invoice_notice_addresses
from clients.months import japan_today

logger = logging.getLogger(__name__)


# A notice claimed longer ago than this was left by a run that died before
# marking it: another run may take it (every step of a send waits at most
# EMAIL_TIMEOUT, so a live run is long done).
NOTICE_CLAIM_TIMEOUT = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NoticeSummary:
    """What ``send_invoice_notices`` did, invoice by invoice ("client name
    (invoice number)"): ``failed`` with the error, retried by the next run;
    ``no_address``: clients with neither a billing address nor an active
    recipient PC address, not sent."""

    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    no_address: tuple[str, ...] = ()


def send_invoice_notices(
    *,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> NoticeSummary:
    """E-mail each issued invoice whose notice is due and not yet sent
    (``InvoiceQuerySet.notice_due``: from INVOICE_NOTICE_DAY of the month it
    was issued in) to its client's billing address, or without one to its
    active report recipients' PC addresses (``invoice_notice_addresses``):
    the month, number, total, due date, how to pay, and a link to it in the
    portal; record ``notified_at``. Run daily.

    Not one transaction, on purpose: each invoice is claimed with a conditional
    UPDATE (so two runs never send the same one), sent outside any transaction
    (SMTP may be slow), then marked. A failed send releases the claim and is
    logged: the next run (the next day) tries again.
    """
    now = now or timezone.now()
    today = japan_today(now)
    report = progress or (lambda message: None)
    sent: list[str] = []
    failed: list[str] = []
    no_address: list[str] = []
    waiting = (
        Invoice.objects.notice_due(today)
        .order_by("client__name_kana", "client__name", "number")
        .values_list("pk", flat=True)
    )
    for invoice_id in list(waiting):
        claimed = (
            Invoice.objects.filter(
                pk=invoice_id, status=InvoiceStatus.ISSUED, notified_at__isnull=True
            )
            .filter(
                Q(notice_claimed_at__isnull=True)
                | Q(notice_claimed_at__lt=now - NOTICE_CLAIM_TIMEOUT)
            )
            .update(notice_claimed_at=now)
        )
        if not claimed:  # another run has it, or it was paid or voided meanwhile
            continue
        invoice = Invoice.objects.select_related("client", "replaces").get(
            pk=invoice_id
        )
        label = f"{invoice.client_name} ({invoice.number_display})"
        to = invoice_notice_addresses(client=invoice.client, today=today)
        if not to:
            _release_notice_claim(invoice_id, claimed_at=now)
            no_address.append(label)
            continue
        try:
            send_notice(invoice=invoice, to=to)
        except NoticeError as exc:
            logger.warning("Invoice notice %s not sent: %s", invoice_id, exc)
            _release_notice_claim(invoice_id, claimed_at=now)
            failed.append(f"{label}: {exc}")
            continue
        Invoice.objects.filter(pk=invoice_id, notice_claimed_at=now).update(
            notified_at=timezone.now()
        )
        sent.append(label)
        report(f"{label} → {', '.join(to)}")
    return NoticeSummary(
        sent=tuple(sent), failed=tuple(failed), no_address=tuple(no_address)
    )


def _release_notice_claim(invoice_id: int, *, claimed_at: dt.datetime) -> None:
    Invoice.objects.filter(pk=invoice_id, notice_claimed_at=claimed_at).update(
        notice_claimed_at=None
    )
