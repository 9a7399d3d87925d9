import datetime as dt

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from billing import services
from billing.models import (
    PAID_BY_CLIENT,
    REFUNDED_TO_CLIENT,
    Adjustment,
    BillingRun,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "position",
        "kind",
        "description",
        "quantity",
        "unit_price_yen",
        "amount_yen",
        "tax_category",
    )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class InvoiceStatusFilter(admin.SimpleListFilter):
    """The statuses as the invoices read them: a refund paid out, stored as
    paid, is 返金済み and not among the invoices the clients paid."""

    title = _("状態")
    parameter_name = "status"
    REFUNDED = "refunded"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [
            (InvoiceStatus.DRAFT, InvoiceStatus.DRAFT.label),
            (InvoiceStatus.ISSUED, InvoiceStatus.ISSUED.label),
            (InvoiceStatus.PAID, InvoiceStatus.PAID.label),
            (self.REFUNDED, _("返金済み")),
            (InvoiceStatus.VOID, InvoiceStatus.VOID.label),
        ]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        value = self.value()
        if value == InvoiceStatus.PAID:
            return queryset.filter(PAID_BY_CLIENT)
        if value == self.REFUNDED:
            return queryset.filter(REFUNDED_TO_CLIENT)
        if value in InvoiceStatus.values:
            return queryset.filter(status=value)
        return queryset  # none chosen (or a value of no choice): all


@admin.register(Invoice)
class InvoiceAdmin(SimpleHistoryAdmin):
    """Read-only: invoices are built, issued and voided by the billing services
    (the billing page), never edited by hand."""

    list_display = [
        "client_name",
        "billing_month_label",
        "status_label",
        "number_label",
        "total_label",
    ]
    list_filter = [InvoiceStatusFilter, "billing_month"]
    search_fields = ["client_name", "number"]
    inlines = [InvoiceLineInline]

    # A refund invoice whose refund was paid out is stored as paid; it reads
    # 返金済み with its 返金日 (Invoice.status_label).
    @admin.display(description=_("状態"), ordering="status")
    def status_label(self, obj: Invoice) -> str:
        return obj.status_label

    # The month, number and amount as every other page writes them (2026年10月,
    # 00000001, 23,600), still sorted by the stored values.
    @admin.display(description=_("請求対象月"), ordering="billing_month")
    def billing_month_label(self, obj: Invoice) -> str:
        return date_format(obj.billing_month, "YEAR_MONTH_FORMAT")

    @admin.display(description=_("請求書番号"), ordering="number")
    def number_label(self, obj: Invoice) -> str | None:
        return obj.number_display or None  # a draft's: the admin's "-"

    @admin.display(description=_("ご請求金額（円）"), ordering="total_yen")
    def total_label(self, obj: Invoice) -> str:
        return f"{obj.total_yen:,}"

    @admin.display(description=_("返金日"))
    def refunded_on(self, obj: Invoice) -> dt.date | None:
        return obj.paid_on

    def get_fields(self, request: HttpRequest, obj=None):  # type: ignore[no-untyped-def]
        fields = list(super().get_fields(request, obj))
        if obj is None:
            return fields
        shown = {
            "status": "status_label",
            "billing_month": "billing_month_label",
            "number": "number_label",
            "total_yen": "total_label",
        }
        fields = [shown.get(f, f) for f in fields]
        if obj.refund_yen:
            fields = ["refunded_on" if f == "paid_on" else f for f in fields]
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Adjustment)
class AdjustmentAdmin(SimpleHistoryAdmin):
    list_display = ["client", "corrects_invoice", "amount_yen", "reason", "applied_to"]
    raw_id_fields = ["client", "corrects_invoice"]
    readonly_fields = ["applied_to", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        # A credit on an issued invoice is part of it: an issued invoice never
        # changes. A new credit corrects a wrong one.
        if obj is not None and obj.carried_by_issued_invoice:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        if obj is not None and obj.carried_by_issued_invoice:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            services.change_adjustment(adjustment=obj)
            return
        created = services.add_adjustment(
            invoice=obj.corrects_invoice,
            amount_yen=obj.amount_yen,
            reason=obj.reason,
            created_by=request.user,
        )
        obj.pk = created.pk

    def response_delete(self, request, obj_display, obj_id) -> HttpResponse:  # type: ignore[no-untyped-def]
        # The invoice page links here with ?next= (its own path): the admin goes
        # back to the invoice, not to the list of credits. The confirmation
        # form posts to this same URL, query string included. Only a path of
        # this site is followed.
        response = super().response_delete(request, obj_display, obj_id)
        back = request.GET.get("next", "")
        if (
            isinstance(response, HttpResponseRedirect)
            and back.startswith("/")
            and url_has_allowed_host_and_scheme(back, allowed_hosts=None)
        ):
            return HttpResponseRedirect(back)
        return response

    # Deleted one by one, so that a draft deducting one is built again.
    def delete_model(self, request, obj) -> None:  # type: ignore[no-untyped-def]
        services.delete_adjustment(adjustment=obj)

    # Within the bulk delete's one transaction (config.admin_site): a refusal
    # undoes the credits deleted before it, and names the credit refused.
    def delete_queryset(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        for adjustment in queryset:
            try:
                services.delete_adjustment(adjustment=adjustment)
            except ValidationError as refusal:
                raise ValidationError(
                    _("「%(credit)s」: %(reason)s")
                    % {"credit": adjustment, "reason": " ".join(refusal.messages)}
                ) from refusal


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
    """Read-only: a run's row is written by bill_month (its lock and its last
    summary), never added, edited or deleted by hand."""

    list_display = ["billing_month", "last_finished_at", "clients_billed"]
    list_display += ["clients_skipped", "total_yen"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
