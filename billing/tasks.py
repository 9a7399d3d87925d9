"""Celery tasks. Each one calls a service; the beat schedule is in settings."""

from celery import shared_task
from django.conf import settings

from billing import services
from billing.services import bill_month
from clients.months import japan_today, previous_month


@shared_task
def bill_previous_month() -> dict:
    """Early on the 1st (Japan time): build the drafts for the month just ended.

    Drafts wait for an admin to review and issue them on the billing page,
    unless ``BILLING_AUTO_ISSUE`` is set. Safe to run twice.
    """
    today = japan_today()
    # The same day for the month billed and the check that it has ended.
    summary = bill_month(
        month=previous_month(today), issue=settings.BILLING_AUTO_ISSUE, today=today
    )
    return {
        "month": f"{summary.month:%Y-%m}",
        "clients_billed": summary.clients_billed,
        "clients_skipped": summary.clients_skipped,
        "total_yen": summary.total_yen,
        "issued": summary.issued,
    }


@shared_task
def send_invoice_notices() -> dict:
    """Daily (Japan time): tell each client its issued invoice is in the
    portal and how to pay it, from INVOICE_NOTICE_DAY of the month it was
    issued in, at its billing address or else its report recipients' PC
    addresses. Safe to run twice."""
    summary = services.send_invoice_notices()
    return {
        "sent": len(summary.sent),
        "failed": list(summary.failed),
        "no_address": list(summary.no_address),
    }
