from django.contrib import admin

from answering.models import Call, CallRevision


class CallRevisionInline(admin.TabularInline):
    model = CallRevision
    extra = 0
    can_delete = False
    readonly_fields = ["changed_at", "changed_by", "changes"]

    def has_add_permission(self, request, obj=None) -> bool:
        # Corrections go through the console so the history is always written.
        return False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "client",
        "category",
        "caller_name",
        "callback_number",
        "surcharge_yen",
        "logged_by",
    ]
    list_filter = ["category", "received_at"]
    search_fields = ["caller_name", "caller_company", "callback_number", "client__name"]
    date_hierarchy = "received_at"
    list_select_related = ["client", "logged_by"]
    raw_id_fields = ["client"]
    readonly_fields = [
        "logged_by",
        "created_at",
        "updated_at",
        "personal_data_erased_at",
    ]
    inlines = [CallRevisionInline]

    def has_add_permission(self, request) -> bool:
        # Calls are logged in the console, which checks the received time and
        # queues the client's reports in the same transaction.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only here: a change must leave a CallRevision (console:call_edit).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A call logged by mistake is corrected to sales (off the bill, never
        # reported); deleting it would take its history and reports with it.
        return False


@admin.register(CallRevision)
class CallRevisionAdmin(admin.ModelAdmin):
    list_display = ["call", "changed_at", "changed_by"]
    list_select_related = ["call", "changed_by"]
    raw_id_fields = ["call"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the history of a call's corrections is kept whole
