"""Invoices, their lines, admin credits, and the gapless invoice number sequence.

An invoice that left the draft state never changes: the model and its querysets
refuse any write except the status moves (issued -> paid, issued -> void).
Corrections are an ``Adjustment`` credited on a later invoice, or a void and
reissue that keeps the voided original.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clients.models import Client, PaymentMethod
from clients.months import month_start


class InvoiceImmutableError(ValidationError):
    """Raised when code tries to change an invoice that is no longer a draft."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or _("発行済みの請求書は変更できません。訂正は次回の請求で行います。")
        )


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    ISSUED = "issued", _("発行済み")
    PAID = "paid", _("入金済み")
    VOID = "void", _("無効")


# A refund invoice whose refund was paid out is stored as paid (what the rules
# about what is owed read); the sign of its total tells the two apart, as its
# words do (Invoice.settled_label).
PAID_BY_CLIENT = Q(status=InvoiceStatus.PAID, total_yen__gte=0)
REFUNDED_TO_CLIENT = Q(status=InvoiceStatus.PAID, total_yen__lt=0)


# What may still be written once an invoice is issued: the status moves, and
# the record of the notice telling the client (billing.notices), which changes
# nothing the invoice says.
FIELDS_WRITABLE_AFTER_ISSUE = frozenset(
    {
        "status",
        "paid_on",
        "voided_at",
        "void_reason",
        "updated_at",
        "notice_claimed_at",
        "notified_at",
    }
)


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def visible_to_client(self) -> "InvoiceQuerySet":
        """What a client may see in the portal: never drafts."""
        return self.exclude(status=InvoiceStatus.DRAFT)

    def for_month(self, month: dt.date) -> "InvoiceQuerySet":
        return self.filter(billing_month=month.replace(day=1))

    def owing(self) -> "InvoiceQuerySet":
        """What a client still owes or will be charged: issued invoices that ask
        for a payment not received yet, and drafts (charges still to come). One
        of 0 yen or less (credits, a refund) asks for nothing. While one of a
        month before its final one is left, a cancelled client's deposit stays
        held."""
        return self.filter(
            Q(status=InvoiceStatus.DRAFT)
            | Q(status=InvoiceStatus.ISSUED, total_yen__gt=0)
        )

    def notice_due(self, today: dt.date) -> "InvoiceQuerySet":
        """Issued invoices whose notice (billing.notices) is due on ``today``
        (Japan time) and not sent yet: from INVOICE_NOTICE_DAY of the month
        each was issued in, so one issued after that day (a reissue, a month
        issued late), or one whose send failed, goes out with the next daily
        run. Not those issued before the payment method was recorded: they say
        nothing of how to pay."""
        if today.day >= settings.INVOICE_NOTICE_DAY:
            issued_by = today
        else:  # this month's notices are not due yet; earlier months' are
            issued_by = month_start(today) - dt.timedelta(days=1)
        return self.filter(
            status=InvoiceStatus.ISSUED,
            notified_at__isnull=True,
            issued_on__lte=issued_by,
        ).exclude(payment_method="")

    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        if (
            not set(kwargs) <= FIELDS_WRITABLE_AFTER_ISSUE
            and self.exclude(status=InvoiceStatus.DRAFT).exists()
        ):
            raise InvoiceImmutableError()
        return super().update(**kwargs)

    def delete(self):  # type: ignore[no-untyped-def]
        if self.exclude(status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutableError()
        return super().delete()


def invoice_number_display(number: int | None) -> str:
    """An invoice number as printed (00000042); "" for a draft's."""
    return f"{number:08d}" if number is not None else ""


class Invoice(models.Model):
    """One client's invoice for one calendar month (Japan time).

    Totals are stored, never recomputed once issued. ``taxable_10_yen`` is the
    total of the 10% lines (tax included) and ``tax_10_yen`` the consumption
    tax included in it, rounded once per invoice (``billing.tax``). The deposit
    is money held, not a sale: it sits in ``non_taxable_yen``.
    """

    Status = InvoiceStatus

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("顧客"),
    )
    billing_month = models.DateField(_("請求対象月"))
    status = models.CharField(
        _("状態"),
        max_length=10,
        choices=InvoiceStatus.choices,
        default=InvoiceStatus.DRAFT,
    )
    number = models.PositiveIntegerField(_("請求書番号"), null=True, blank=True)
    # What the qualified invoice prints, copied so it never changes afterwards.
    client_name = models.CharField(_("宛名"), max_length=200)
    company_name = models.CharField(_("発行者"), max_length=200, blank=True)
    company_registration_number = models.CharField(
        _("登録番号"), max_length=14, blank=True
    )
    # How the client pays, copied from the client when the invoice is issued
    # (empty on drafts, and on invoices issued before it was recorded).
    payment_method = models.CharField(
        _("お支払い方法"), max_length=20, choices=PaymentMethod.choices, blank=True
    )
    company_bank_account = models.CharField(_("振込先"), max_length=200, blank=True)
    period_start = models.DateField(_("対象期間（開始）"))
    period_end = models.DateField(_("対象期間（終了）"))
    taxable_10_yen = models.IntegerField(_("10%対象合計（税込・円）"), default=0)
    tax_10_yen = models.IntegerField(_("うち消費税（円）"), default=0)
    non_taxable_yen = models.IntegerField(_("対象外（保証金など・円）"), default=0)
    total_yen = models.IntegerField(_("ご請求金額（円）"), default=0)
    issued_on = models.DateField(_("発行日"), null=True, blank=True)
    due_on = models.DateField(_("お支払期限"), null=True, blank=True)
    paid_on = models.DateField(_("入金日"), null=True, blank=True)
    voided_at = models.DateTimeField(_("無効にした日時"), null=True, blank=True)
    void_reason = models.CharField(_("無効の理由"), max_length=200, blank=True)
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reissues",
        verbose_name=_("再発行元の請求書"),
    )
    # Whether the calls it counted are recorded (CountedCall); invoices built
    # before that was done list them from current data.
    calls_recorded = models.BooleanField(
        _("対象の受電を記録済み"), default=False, editable=False
    )
    # The e-mail telling the client it was issued (billing.notices): claimed by
    # one run at a time, then marked sent.
    notice_claimed_at = models.DateTimeField(
        _("発行のお知らせの送信開始日時"), null=True, blank=True, editable=False
    )
    notified_at = models.DateTimeField(
        _("発行のお知らせの送信日時"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = InvoiceQuerySet.as_manager()
    # Who moved an invoice (paid, void) and when; a separate table, so the
    # immutability guard in save() is not involved.
    history = HistoricalRecords()

    class Meta:
        ordering = ["-billing_month", "number", "id"]
        verbose_name = _("請求書")
        verbose_name_plural = _("請求書")
        constraints = [
            # One live invoice per client and month: reruns and concurrent runs
            # cannot create a second one. A voided original stays beside its
            # reissue.
            models.UniqueConstraint(
                fields=["client", "billing_month"],
                condition=~Q(status="void"),
                name="invoice_one_live_per_client_month",
                violation_error_message=_("この顧客のこの月の請求書はすでにあります。"),
            ),
            models.UniqueConstraint(fields=["number"], name="invoice_number_unique"),
            models.CheckConstraint(
                condition=Q(billing_month__day=1), name="invoice_month_is_first_day"
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(number__isnull=True))
                | (
                    ~Q(status="draft")
                    & Q(number__isnull=False)
                    & Q(issued_on__isnull=False)
                    & Q(due_on__isnull=False)
                ),
                name="invoice_number_iff_issued",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_on__isnull=False),
                name="invoice_paid_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="void") | Q(voided_at__isnull=False),
                name="invoice_void_has_time",
            ),
            # mark_paid() also refuses a future date, which no constraint can hold.
            models.CheckConstraint(
                condition=Q(paid_on__isnull=True)
                | Q(paid_on__gte=models.F("issued_on")),
                name="invoice_paid_on_or_after_issue",
                violation_error_message=_("入金日は発行日より前にはできません。"),
            ),
        ]

    def __str__(self) -> str:
        label = self.number_display or str(self.get_status_display())
        month = date_format(self.billing_month, "YEAR_MONTH_FORMAT")
        return f"{self.client_name} {month} {label}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            stored = (
                Invoice.objects.filter(pk=self.pk)
                .values_list("status", flat=True)
                .first()
            )
            if stored not in (None, InvoiceStatus.DRAFT):
                update_fields = kwargs.get("update_fields")
                if update_fields is None or not (
                    set(update_fields) <= FIELDS_WRITABLE_AFTER_ISSUE
                ):
                    raise InvoiceImmutableError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.status != InvoiceStatus.DRAFT:
            raise InvoiceImmutableError()
        return super().delete(*args, **kwargs)

    @property
    def number_display(self) -> str:
        return invoice_number_display(self.number)

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def issuer_name(self) -> str:
        """The company named as issuer: the invoice's copy, or, on a draft (not
        yet issued, so not yet copied), the company as the settings give it."""
        return self.company_name or settings.COMPANY_NAME

    @property
    def notice_due_from(self) -> dt.date | None:
        """The first day the daily notice job takes this invoice, once issued
        (``InvoiceQuerySet.notice_due``): INVOICE_NOTICE_DAY of the month it
        was issued in, or its issue date when issued after that day."""
        if self.issued_on is None:
            return None
        return max(
            self.issued_on, self.issued_on.replace(day=settings.INVOICE_NOTICE_DAY)
        )

    @property
    def refund_yen(self) -> int:
        """What the company owes the client on this invoice (0 when the client
        pays): the deposit returned on a final invoice, or credits, beyond what
        it charges. Printed as a refund, not as a negative amount to pay."""
        return max(-self.total_yen, 0)

    @property
    def nothing_to_pay(self) -> bool:
        """No payment is asked for: its due date means nothing to the client."""
        return self.total_yen <= 0

    # A refund invoice, once the money is paid out, is settled like a paid one
    # (the same status and date: what "owing" and the reissue rules read); only
    # its words differ, chosen by the sign of its total.
    @property
    def status_label(self) -> str:
        """The status as shown: a settled refund reads 返金済み."""
        if self.status == InvoiceStatus.PAID:
            return self.settled_label
        return str(self.get_status_display())

    @property
    def client_status_label(self) -> str:
        """The status as the client's portal shows it: an issued invoice still
        awaiting its money reads 未入金 (未返金 for a refund), which tells the
        client more than 発行済み; one of 0 yen awaits nothing and stays
        発行済み."""
        if self.status == InvoiceStatus.ISSUED and self.total_yen != 0:
            return self.unsettled_label
        return self.status_label

    @property
    def settled_label(self) -> str:
        """What this invoice is called once settled, for every text that speaks
        of it: 返金済み for a refund, 入金済み otherwise."""
        return gettext("返金済み") if self.refund_yen else gettext("入金済み")

    @property
    def unsettled_label(self) -> str:
        """What this invoice is called while not settled: 未返金 for a refund."""
        return gettext("未返金") if self.refund_yen else gettext("未入金")

    @property
    def settled_on_label(self) -> str:
        """What ``paid_on`` is called on this invoice: 返金日 for a refund."""
        return gettext("返金日") if self.refund_yen else gettext("入金日")

    @property
    def due_label(self) -> str:
        """What ``due_on`` is called on this invoice: お引落日 for direct debit
        (the company takes the money that day), お支払期限 otherwise."""
        if self.payment_method == PaymentMethod.DIRECT_DEBIT:
            return gettext("お引落日")
        return gettext("お支払期限")

    @property
    def payment_instructions(self) -> str:
        """How the client settles this invoice, in the active language: how it
        pays, or that nothing is to be paid and a refund comes to it. From the
        invoice's own copy of the payment method, so it never changes once
        issued. Empty when a payment is asked for but the method is not known:
        a draft, or an invoice issued before it was recorded.

        It names the due date by its label, never the date: every document that
        says it (the PDF, the notice, the portal's and the staff's pages) shows
        ``due_label``: ``due_on`` just before it, so the date is said once.
        A void invoice asks for nothing, whatever it once asked: its reissue
        (or nothing, when none was made) takes its place."""
        method = self.payment_method
        if self.status == InvoiceStatus.VOID:
            return gettext("この請求書へのお支払いは不要です。")
        if self.refund_yen:
            if method == PaymentMethod.DIRECT_DEBIT:
                return gettext(
                    "お支払いは不要です。ご返金額はご登録の口座にお振込みいたします。"
                )
            return gettext("お支払いは不要です。ご返金の方法は別途ご案内いたします。")
        if self.nothing_to_pay:
            return gettext("お支払いは不要です。")
        if not method:
            return ""
        if method == PaymentMethod.DIRECT_DEBIT:
            return gettext("お引落日にご登録の口座から引き落とします。")
        return gettext(
            "お支払期限までに振込先の口座へお振込みください"
            "（振込手数料はご負担ください）。"
        )

    @property
    def transfer_account(self) -> str:
        """The company's bank account the client pays into (the invoice's copy),
        or "" when it pays otherwise or pays nothing (a void invoice too)."""
        if (
            self.payment_method == PaymentMethod.BANK_TRANSFER
            and not self.nothing_to_pay
            and self.status != InvoiceStatus.VOID
        ):
            return self.company_bank_account
        return ""

    @property
    def replacement_note(self) -> str:
        """What a reissue says of the invoice it replaces, as Japanese invoices
        that replace another do (empty for any other invoice). In the active
        language: the PDF switches to Japanese before asking."""
        original = self.replaces
        if original is None:
            return ""
        return gettext(
            "本請求書は、請求書番号 %(number)s（発行日 %(issued_on)s）を取り消し、"
            "再発行したものです。"
        ) % {
            "number": original.number_display,
            "issued_on": date_format(original.issued_on, gettext("Y年n月j日")),
        }


class LineKind(models.TextChoices):
    PLAN_FEE = "plan_fee", _("基本料金")
    CALL_OVER = "call_over", _("超過料金")
    EXTRA_NUMBER = "extra_number", _("追加番号")
    EXTRA_RECIPIENTS = "extra_recipients", _("追加報告先")
    SURCHARGE = "surcharge", _("割増料金")
    DEPOSIT = "deposit", _("保証金")
    DEPOSIT_RETURN = "deposit_return", _("保証金の返金")
    ADJUSTMENT = "adjustment", _("訂正")


class TaxCategory(models.TextChoices):
    STANDARD_10 = "10", _("10%対象")
    NOT_TAXABLE = "none", _("対象外")


class InvoiceLineQuerySet(models.QuerySet["InvoiceLine"]):
    def _touches_issued(self) -> bool:
        return self.exclude(invoice__status=InvoiceStatus.DRAFT).exists()

    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        if self._touches_issued():
            raise InvoiceImmutableError()
        return super().update(**kwargs)

    def delete(self):  # type: ignore[no-untyped-def]
        if self._touches_issued():
            raise InvoiceImmutableError()
        return super().delete()


class InvoiceLine(models.Model):
    """One line of an invoice, with the prices it used copied onto it."""

    Kind = LineKind

    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("請求書"),
    )
    position = models.PositiveSmallIntegerField(_("順番"), default=0)
    kind = models.CharField(_("種類"), max_length=20, choices=LineKind.choices)
    # Text: a line quotes a surcharge or credit reason (up to 200 characters each)
    # after its own words.
    description = models.TextField(_("内容"))
    quantity = models.IntegerField(_("数量"), default=1)
    unit_price_yen = models.IntegerField(_("単価（税込・円）"))
    amount_yen = models.IntegerField(_("金額（税込・円）"))
    tax_category = models.CharField(
        _("税区分"),
        max_length=5,
        choices=TaxCategory.choices,
        default=TaxCategory.STANDARD_10,
    )
    # Call-over lines say how the amount came about.
    counted_calls = models.PositiveIntegerField(_("対象件数"), null=True, blank=True)
    included_calls = models.PositiveIntegerField(
        _("基本料金内の件数"), null=True, blank=True
    )
    over_calls = models.PositiveIntegerField(_("超過件数"), null=True, blank=True)
    call = models.ForeignKey(
        "answering.Call",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoice_lines",
        verbose_name=_("受電"),
    )
    adjustment = models.ForeignKey(
        "Adjustment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoice_lines",
        verbose_name=_("訂正"),
    )

    # No history of its own: lines never change once the invoice is issued, and
    # draft lines are rebuilt on every run (the invoice's history covers both).
    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "position", "id"]
        verbose_name = _("請求明細")
        verbose_name_plural = _("請求明細")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="deposit") & ~Q(kind="deposit_return")
                | Q(tax_category="none"),
                name="invoice_line_deposit_not_taxable",
            ),
        ]

    def __str__(self) -> str:
        amount = gettext("%(amount)s円") % {"amount": f"{self.amount_yen:,}"}
        return f"{self.description} {amount}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if (
            Invoice.objects.filter(pk=self.invoice_id)
            .exclude(status=InvoiceStatus.DRAFT)
            .exists()
        ):
            raise InvoiceImmutableError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.invoice.status != InvoiceStatus.DRAFT:
            raise InvoiceImmutableError()
        return super().delete(*args, **kwargs)


ADJUSTMENT_NOT_POSITIVE = _("減額する金額は1円以上にしてください。")
ADJUSTMENT_INVOICE_NOT_ISSUED = _("発行済みの請求書を選んでください。")


class CountedCall(models.Model):
    """A call an invoice counted, recorded as the invoice is built.

    The list a client checks against the invoice's count stays the invoice's
    own, whatever is reclassified or logged late after it was issued.
    """

    # A month writes one row per counted call (a million at 10,000 clients), in
    # one INSERT ... SELECT from rows that exist in the same transaction. Foreign
    # key constraints would check each row in a trigger of its own, which made
    # the month's run six times slower (4.7 s to 28 s; 7.5 s without them, see
    # bench/billing_bench.py): the links are kept by the code instead (a draft's
    # rows are deleted with it; calls are never deleted, only blanked). The
    # unique index serves the list of an invoice.
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.CASCADE,
        related_name="counted_call_links",
        verbose_name=_("請求書"),
        db_index=False,
        db_constraint=False,
    )
    call = models.ForeignKey(
        "answering.Call",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("受電"),
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("請求対象の受電")
        verbose_name_plural = _("請求対象の受電")
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "call"], name="counted_call_once_per_invoice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} / {self.call_id}"


class Adjustment(models.Model):
    """A credit an admin enters to correct an earlier, already issued invoice.

    It is applied as a negative 10% line on the client's next invoice that is
    built after it was entered (``applied_to``).
    """

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="billing_adjustments",
        verbose_name=_("顧客"),
    )
    corrects_invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        related_name="corrections",
        verbose_name=_("訂正する請求書"),
    )
    amount_yen = models.PositiveIntegerField(_("減額する金額（税込・円）"))
    reason = models.CharField(_("理由"), max_length=200)
    applied_to = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applied_adjustments",
        verbose_name=_("反映先の請求書"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登録者"),
    )
    # Set by the credit form: the same form sent twice (a double click, a
    # resend after a dropped answer) records the credit once.
    submission_id = models.UUIDField(_("送信ID"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("訂正（減額）")
        verbose_name_plural = _("訂正（減額）")
        constraints = [
            models.UniqueConstraint(
                fields=["submission_id"],
                condition=Q(submission_id__isnull=False),
                name="adjustment_one_per_submission",
            ),
            models.CheckConstraint(
                condition=Q(amount_yen__gt=0),
                name="adjustment_amount_positive",
                violation_error_message=ADJUSTMENT_NOT_POSITIVE,
            ),
        ]

    def __str__(self) -> str:
        amount = gettext("-%(amount)s円") % {"amount": f"{self.amount_yen:,}"}
        return f"{self.client} {amount} {self.reason}"

    @property
    def carried_by_issued_invoice(self) -> bool:
        """Printed on an issued invoice: part of it, never changed again."""
        return self.applied_to is not None and not self.applied_to.is_draft

    def clean(self) -> None:
        # On the field, so that the form shows it beside the amount (the
        # constraint's own error would stand apart from it).
        if self.amount_yen is not None and self.amount_yen <= 0:
            raise ValidationError({"amount_yen": ADJUSTMENT_NOT_POSITIVE})
        invoice = self.corrects_invoice if self.corrects_invoice_id else None
        if invoice is None:
            return
        if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
            raise ValidationError({"corrects_invoice": ADJUSTMENT_INVOICE_NOT_ISSUED})
        if self.client_id and invoice.client_id != self.client_id:
            raise ValidationError(
                {"corrects_invoice": _("この顧客の請求書を選んでください。")}
            )
        if self.applied_to_id is None and not a_later_invoice_will_come(invoice):
            raise ValidationError(
                {"corrects_invoice": no_later_invoice_advice(invoice)}
            )
        # A credit gives back part of what the corrected invoice charged at
        # 10%: together with the credits already entered against it, at most
        # its 10% total (tax included). The deposit on it is not a sale and
        # cannot be credited (the final invoice returns it).
        earlier = invoice.corrections.exclude(pk=self.pk).aggregate(
            total=models.Sum("amount_yen", default=0)
        )["total"]
        left = max(invoice.taxable_10_yen - earlier, 0)
        if self.amount_yen is not None and self.amount_yen > left:
            raise ValidationError(
                {
                    "amount_yen": _(
                        "減額できるのは、この請求書の10%%対象の合計（税込）から"
                        "これまでの訂正を引いた %(left)s 円までです。"
                    )
                    % {"left": f"{left:,}"}
                }
            )


def a_later_invoice_will_come(invoice: Invoice) -> bool:
    """Whether the client has a month after ``invoice``'s still to be issued.

    A credit is applied on such an invoice; a client whose contract ended with
    that month, or whose last months are all issued, has none left.
    """
    return later_invoices_to_come([invoice])[0]


def later_invoices_to_come(invoices: Sequence[Invoice]) -> list[bool]:
    """``a_later_invoice_will_come`` for each of ``invoices`` (their clients
    loaded), in at most one query for all of them."""
    cancelled = [i for i in invoices if i.client.cancelled_on is not None]
    issued: dict[int, list[dt.date]] = defaultdict(list)
    if cancelled:
        for client_id, billing_month in (
            Invoice.objects.filter(
                client_id__in={i.client_id for i in cancelled},
                billing_month__gt=min(i.billing_month for i in cancelled),
            )
            .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])
            .order_by()
            .values_list("client_id", "billing_month")
        ):
            issued[client_id].append(billing_month)
    result = []
    for invoice in invoices:
        cancelled_on = invoice.client.cancelled_on
        if cancelled_on is None:
            result.append(True)
            continue
        first = invoice.billing_month
        last = month_start(cancelled_on)
        months_after = (last.year - first.year) * 12 + last.month - first.month
        issued_after = sum(
            1 for month in issued[invoice.client_id] if first < month <= last
        )
        result.append(issued_after < months_after)
    return result


def no_later_invoice_advice(invoice: Invoice) -> str:
    """Why no credit can be entered against ``invoice`` (no later invoice will
    carry it, ``a_later_invoice_will_come``), and what to do instead."""
    return gettext(
        "この顧客は解約済みで、訂正を反映する今後の請求書がありません。"
        "%(unsettled)sなら請求書を無効にして再発行し、%(settled)sなら"
        "返金で対応してください。"
    ) % {
        "unsettled": invoice.unsettled_label,
        "settled": invoice.settled_label,
    }


class InvoiceNumberSequence(models.Model):
    """The last invoice number handed out (one row).

    Numbers are taken under ``select_for_update`` inside the issuing
    transaction, so a rollback gives the number back: no gaps.
    """

    name = models.CharField(_("名前"), max_length=20, unique=True, default="invoice")
    last_number = models.PositiveIntegerField(_("最後の番号"), default=0)

    class Meta:
        verbose_name = _("請求書番号の採番")
        verbose_name_plural = _("請求書番号の採番")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_number}"


class BillingRun(models.Model):
    """One row per billing month: a lock for concurrent runs and the last summary."""

    billing_month = models.DateField(_("請求対象月"), unique=True)
    last_started_at = models.DateTimeField(_("最終実行開始"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("最終実行終了"), null=True, blank=True)
    clients_billed = models.PositiveIntegerField(_("請求した顧客数"), default=0)
    clients_skipped = models.PositiveIntegerField(_("対象外の顧客数"), default=0)
    total_yen = models.IntegerField(_("合計（円）"), default=0)

    class Meta:
        ordering = ["-billing_month"]
        verbose_name = _("請求処理")
        verbose_name_plural = _("請求処理")

    def __str__(self) -> str:
        return date_format(self.billing_month, "YEAR_MONTH_FORMAT")
