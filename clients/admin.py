from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from clients.models import (
    Client,
    ClientPerson,
    ClientPlan,
    LentNumber,
    NumberAssignment,
    Plan,
    PlanPrice,
    ReportRecipient,
    User,
)


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 0


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "display_order"]
    inlines = [PlanPriceInline]


class ClientPersonInline(admin.TabularInline):
    model = ClientPerson
    extra = 0


class ReportRecipientInline(admin.TabularInline):
    model = ReportRecipient
    extra = 0


class NumberAssignmentInline(admin.TabularInline):
    model = NumberAssignment
    extra = 0
    fields = ["number", "use", "assigned_on", "released_on"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return (
            False  # numbers are lent through the admin action, which checks the rules
        )


class ClientPlanInline(admin.TabularInline):
    model = ClientPlan
    fk_name = "client"
    extra = 0
    fields = ["effective_month", "plan", "requested_at", "requested_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # plan changes go through the action that applies the month rule


@admin.register(Client)
class ClientAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "name_kana",
        "status",
        "report_by_email",
        "report_by_chatwork",
    ]
    list_filter = ["status", "report_by_email", "report_by_chatwork"]
    search_fields = ["name", "name_kana", "announce_name"]
    inlines = [
        ClientPersonInline,
        ReportRecipientInline,
        NumberAssignmentInline,
        ClientPlanInline,
    ]


@admin.register(LentNumber)
class LentNumberAdmin(SimpleHistoryAdmin):
    list_display = ["display", "kind", "note"]
    list_filter = ["kind"]
    search_fields = ["number", "note"]


@admin.register(NumberAssignment)
class NumberAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["number", "client", "use", "assigned_on", "released_on"]
    list_filter = ["use"]
    search_fields = ["number__number", "client__name"]


@admin.register(ReportRecipient)
class ReportRecipientAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "client",
        "pc_email",
        "mobile_email",
        "active_from",
        "active_to",
    ]
    search_fields = ["name", "pc_email", "mobile_email", "client__name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "last_name",
        "first_name",
        "role",
        "client",
        "is_active",
    ]
    list_filter = ["role", "is_active"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("役割"), {"fields": ["role", "client"]}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        (_("役割"), {"fields": ["role", "client"]}),
    )
