"""What becomes of an issued invoice: paid, refunded, or voided and reissued;
and the refusal of a cancellation dated back into months already paid for."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing.company import refuse_demo_company
from billing.models import Adjustment, Invoice, InvoiceStatus, LineKind
from billing.selectors import credits_refusing_reissue
from billing.services import numbering
from billing.services.loading import is_final_month
from billing.services.runs import bill_month
from clients.locks import hold_billing_lock
from clients.models import Client
from clients.months import japan_today, month_end, month_start, next_month


@transaction.atomic
def mark_paid(
    *, invoice: Invoice, paid_on: dt.date, today: dt.date | None = None
) -> Invoice:
    """Record the payment of an issued invoice that asks for one, received
    between its issue date and ``today`` (default: today in Japan)."""
    return _settle(invoice=invoice, on=paid_on, refund=False, today=today)


@transaction.atomic
def mark_refunded(
    *, invoice: Invoice, refunded_on: dt.date, today: dt.date | None = None
) -> Invoice:
    """Record that the refund of an issued invoice whose total is below zero
    was paid out to the client, between its issue date and ``today``.

    A refund settled is stored as a paid invoice (the status the rules about
    what is owed read, with its date in ``paid_on``); its pages say 返金済み.
    """
    return _settle(invoice=invoice, on=refunded_on, refund=True, today=today)


def settlement_refusal(*, invoice: Invoice, refund: bool) -> str | None:
    """Why ``invoice`` cannot be marked paid (``refund``: refunded) whatever the
    date, or None. Read again under the locks by ``_settle``; the invoice page
    also asks it for a form the page does not show (a stale page)."""
    if invoice.status == InvoiceStatus.PAID:  # e.g. a second click on the button
        return _("この請求書はすでに%(settled)sです。") % {
            "settled": invoice.settled_label
        }
    if invoice.status != InvoiceStatus.ISSUED:
        if refund:
            return _("発行済みの請求書だけを返金済みにできます。")
        return _("発行済みの請求書だけを入金済みにできます。")
    if invoice.total_yen == 0:
        return _(
            "この請求書は0円で、お支払いもご返金もないため、"
            "入金・返金の記録は不要です。"
        )
    if refund and not invoice.refund_yen:
        return _(
            "この請求書はご請求（%(yen)s 円）のため、返金済みにはできません。"
            "入金は「入金済みにする」で記録してください。"
        ) % {"yen": f"{invoice.total_yen:,}"}
    if not refund and invoice.refund_yen:
        return _(
            "この請求書はご返金（%(yen)s 円）のため、入金済みにはできません。"
            "返金したら「返金済みにする」で返金日を記録してください。"
        ) % {"yen": f"{invoice.refund_yen:,}"}
    return None


def _settle(
    *, invoice: Invoice, on: dt.date, refund: bool, today: dt.date | None
) -> Invoice:
    """Mark ``invoice`` paid (``refund``: refunded) on ``on``. An invoice of
    0 yen neither asks for a payment nor owes a refund: nothing to record."""
    # The client first, then the invoice (the one lock order, see
    # ClientQuerySet.lock): the client's page refuses a cancellation into a
    # month already paid for under the client's lock, so a payment recorded at
    # the same moment waits for that save, or that save waits for it and sees
    # the invoice paid. Locking only the invoice, both committed.
    Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    refusal = settlement_refusal(invoice=invoice, refund=refund)
    if refusal:
        raise ValidationError(refusal)
    assert invoice.issued_on is not None  # every issued invoice has one
    field = "refunded_on" if refund else "paid_on"
    if on < invoice.issued_on:
        issued_on = {"issued_on": date_format(invoice.issued_on)}
        raise ValidationError(
            {
                field: _("返金日は発行日（%(issued_on)s）より前にはできません。")
                % issued_on
                if refund
                else _("入金日は発行日（%(issued_on)s）より前にはできません。")
                % issued_on
            }
        )
    if on > (today or japan_today()):
        raise ValidationError(
            {
                field: _("返金日に未来の日付は入れられません。")
                if refund
                else _("入金日に未来の日付は入れられません。")
            }
        )
    invoice.status = InvoiceStatus.PAID
    invoice.paid_on = on
    invoice.save(update_fields=["status", "paid_on", "updated_at"])
    return invoice


def undo_payment_refusal(*, invoice: Invoice) -> str | None:
    """Why the payment recorded on ``invoice`` cannot be taken back, or None.

    Only a payment: a refund paid out is not undone here. Nor a payment a
    later invoice has relied on: a cancelled client's final invoice returns
    the deposit only once nothing is owed (``loading.load_month``), so once a
    later invoice returning it is issued (or refunded), this invoice unpaid
    again would leave the deposit returned while money is owed. Read again
    under the locks by ``undo_payment``; the invoice page asks it too.
    """
    if invoice.status != InvoiceStatus.PAID:
        return _("入金済みの請求書だけ、入金の記録を取り消せます。")
    if invoice.refund_yen:
        return _("返金済みの記録は、この画面からは取り消せません。")
    returned_by = (
        Invoice.objects.filter(
            client_id=invoice.client_id,
            billing_month__gt=invoice.billing_month,
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
            lines__kind=LineKind.DEPOSIT_RETURN,
        )
        .order_by("billing_month")
        .first()
    )
    if returned_by is not None:
        return _(
            "%(month)s分の請求書 %(number)s（%(status)s）が、この入金を前提に"
            "保証金を返金しているため、入金の記録は取り消せません。"
            "入金の記録が誤りだった場合は、返金した保証金をシステムの外で"
            "ご確認ください。"
        ) % {
            "month": date_format(returned_by.billing_month, "YEAR_MONTH_FORMAT"),
            "number": returned_by.number_display,
            "status": returned_by.status_label,
        }
    return None


@transaction.atomic
def undo_payment(*, invoice: Invoice) -> Invoice:
    """Take back a payment recorded by mistake on ``invoice``: issued and
    unpaid again, its payment date cleared. The invoice's history keeps the
    payment and who took it back (the request's user, with a change reason)."""
    # The locks mark_paid takes, in the same order. Then the billing lock,
    # shared, as a correction of a billed call takes it: an unpaid invoice
    # changes whether a final invoice built or issued now returns the deposit,
    # so a run doing that waits for this, or this sees what it issued.
    Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    hold_billing_lock(shared=True)
    refusal = undo_payment_refusal(invoice=invoice)
    if refusal:
        raise ValidationError(refusal)
    invoice.status = InvoiceStatus.ISSUED
    invoice.paid_on = None
    # Stored, so in the site's language whoever undid it.
    with translation.override(settings.LANGUAGE_CODE):
        invoice._change_reason = _("入金の記録を取り消し")  # type: ignore[attr-defined]
    invoice.save(update_fields=["status", "paid_on", "updated_at"])
    return invoice


def void_refusal(*, invoice: Invoice) -> str | None:
    """Why ``invoice`` cannot be voided and reissued, or None. Read again under
    the locks by ``void_and_reissue``; the invoice page also asks it before
    showing the confirmation step (a stale page, a second click)."""
    if invoice.status != InvoiceStatus.ISSUED:
        return _("発行済み（%(unsettled)s）の請求書だけを無効にできます。") % {
            "unsettled": invoice.unsettled_label
        }
    return credits_refusing_reissue(invoice=invoice) or None


@transaction.atomic
def void_and_reissue(
    *,
    invoice: Invoice,
    reason: str,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> Invoice | None:
    """Void an issued invoice and issue a new one for the same client and month,
    rebuilt from current data. The voided original is kept, and the new invoice
    points to it (``replaces``). Returns None when current data bills nothing for
    that month (the client turned out not to be billable): the invoice is voided
    without a replacement. The reissue of a cancelled client's final month is
    its final invoice: it takes every credit still waiting (a cancellation
    recorded after that month was issued) and, when no earlier invoice is
    unpaid or still a draft any more, returns the deposit the original kept.
    Refused while credits are entered against the invoice
    (``billing.selectors.credits_refusing_reissue``): the reissue would give
    back again what they give back.
    """
    # The client first, as mark_paid: whether this month is the final one is
    # read from the client's cancellation, which a save of the client's page
    # may be changing now; it waits for that save and bills what it saved.
    # Then the invoice, then the billing lock (bill_month): never the other
    # way, and a billing run holding that lock never waits for a client.
    refuse_demo_company()  # before voiding: it reissues
    Client.objects.lock(invoice.client_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    # Under the invoice's lock, as add_adjustment takes it: no credit against
    # it is recorded meanwhile.
    refusal = void_refusal(invoice=invoice)
    if refusal:
        raise ValidationError(refusal)
    if not reason.strip():
        raise ValidationError(_("無効にする理由を入力してください。"))
    _refuse_final_reissue_before_later_months(invoice)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now or timezone.now()
    invoice.void_reason = reason.strip()
    invoice.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    # The credits shown on the voided invoice move onto its replacement.
    bill_month(
        month=invoice.billing_month,
        client_ids=[invoice.client_id],
        replaces={invoice.client_id: invoice.pk},
        today=today,
    )
    new = Invoice.objects.filter(
        client_id=invoice.client_id,
        billing_month=invoice.billing_month,
        status=InvoiceStatus.DRAFT,
    ).first()
    if new is None:
        # No replacement: its credits wait for the client's next invoice.
        Adjustment.objects.filter(applied_to=invoice).update(applied_to=None)
        return None
    # Built just now, in this transaction.
    numbering.number_drafts(
        month=invoice.billing_month,
        drafts=Invoice.objects.filter(pk=new.pk),
        issued_on=today or japan_today(),
    )
    new.refresh_from_db()
    return new


def _refuse_final_reissue_before_later_months(invoice: Invoice) -> None:
    """The reissue of a final month settles every credit still waiting (and the
    deposit, once nothing is owed). An invoice of a later month (issued before
    the cancellation was recorded, dated back) must be voided first: the
    credits it carries come back to wait only then, and the reissue would leave
    them behind. One already paid has used its credits, and can no longer be
    voided: it does not hold the reissue up (its page says to refund it)."""
    cancelled_on = (
        Client.objects.filter(pk=invoice.client_id)
        .values_list("cancelled_on", flat=True)
        .get()
    )
    if not is_final_month(cancelled_on, invoice.billing_month):
        return
    later = list(
        Invoice.objects.filter(
            client_id=invoice.client_id,
            billing_month__gt=invoice.billing_month,
            status=InvoiceStatus.ISSUED,
        ).order_by("billing_month", "number")
    )
    if later:
        assert cancelled_on is not None
        raise ValidationError(
            _(
                "解約日（%(day)s）より後の月の請求書 %(numbers)s が有効なままです。"
                "先にそちらを無効にしてから、この請求書を無効にして再発行してください"
                "（保証金と未反映の訂正は、解約月のこの請求書で精算します）。"
            )
            % {
                "day": date_format(cancelled_on),
                "numbers": _("、").join(
                    later_invoice.number_display for later_invoice in later
                ),
            }
        )


def refuse_cancellation_into_paid_months(
    *, client_id: int, cancelled_on: dt.date
) -> None:
    """Refuse a cancellation dated back into a month already paid for.

    A cancellation takes effect at the end of its month, whose invoice (the
    final one) returns the deposit and takes the credits still waiting. An
    issued invoice of that month can still be voided and reissued to do so; a
    paid one, or a paid invoice of a later month, can be neither changed nor
    reissued, and no invoice would be left to settle them. The client admin's
    form asks this before saving a new cancellation date (it only reads).
    """
    paid = (
        Invoice.objects.filter(
            client_id=client_id,
            status=InvoiceStatus.PAID,
            billing_month__gte=month_start(cancelled_on),
        )
        .order_by("-billing_month")
        .first()
    )
    if paid is None:
        return
    earliest = month_end(next_month(paid.billing_month))
    raise ValidationError(
        _(
            "%(month)s分の請求書（請求書番号 %(number)s）は%(settled)sのため、"
            "解約日をそれより前にすると、保証金の返金と未反映の訂正を精算する"
            "最終の請求書を発行できません。解約日は %(earliest)s 以降の月末に"
            "してください。"
        )
        % {
            "month": date_format(paid.billing_month, "YEAR_MONTH_FORMAT"),
            "number": paid.number_display,
            "settled": paid.settled_label,
            "earliest": date_format(earliest),
        }
    )
