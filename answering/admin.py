from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from answering.models import Call, CallRevision, caller_number_text, readable_changes
from clients.phones import (
    format_phone,
    partial_number_condition,
    try_normalize_phone,
)
from clients.selectors import width_variants
from config.admin_paging import BigTableAdminMixin, of_clients_named, search_words


@admin.display(description=_("変更内容"))
def changes_shown(revision: CallRevision) -> str:
    """What a correction changed, in the words the console shows
    (折り返し先 090-1111-2222 → 090-1111-2233), one item a line."""
    if not revision.changes:
        # The retention erasure empties what a correction changed.
        return _("保存期間を過ぎたため、この訂正で変えた内容は消去済みです。")
    return format_html_join(
        "",
        "<div>{} {} → {}</div>",
        (
            (label, old, new)
            for label, (old, new) in readable_changes(revision.changes).items()
        ),
    )


class CallRevisionInline(admin.TabularInline):
    model = CallRevision
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by", changes_shown]
    readonly_fields = fields

    def get_queryset(self, request):
        # Each row is titled with its call (CallRevision.__str__).
        return super().get_queryset(request).select_related("call", "changed_by")

    def has_add_permission(self, request, obj=None) -> bool:
        # Corrections go through the console so the history is always written.
        return False


@admin.register(Call)
class CallAdmin(BigTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "client",
        "category",
        "caller_name",
        "callback_number_shown",
        "caller_number_shown",
        "surcharge_yen",
        "logged_by",
    ]
    list_filter = ["category", "received_at"]
    # For Django to show the search box; get_search_results does the search.
    search_fields = ["caller_name", "caller_company", "callback_number", "client__name"]
    search_help_text = _(
        "お名前・会社名・顧客名、または電話番号（発信者番号・折り返し先。"
        "090-1234-5678、09012345678、+8190… のどの形でも）"
    )
    date_hierarchy = "received_at"
    list_select_related = ["client", "logged_by"]
    raw_id_fields = ["client"]
    readonly_fields = [
        "logged_by",
        "created_at",
        "updated_at",
        "personal_data_erased_at",
        "dialed_number_shown",
        "caller_number_shown",
        "callback_number_shown",
    ]
    inlines = [CallRevisionInline]
    # Numbers are stored in E.164 (+81...): the page shows them as people read
    # them (03-5050-1001), in the fields' places.
    NUMBERS_SHOWN = {
        "dialed_number": "dialed_number_shown",
        "caller_number": "caller_number_shown",
        "callback_number": "callback_number_shown",
    }

    def get_fields(self, request, obj=None):
        return [
            self.NUMBERS_SHOWN.get(name, name)
            for name in super().get_fields(request, obj)
            if name not in self.NUMBERS_SHOWN.values()
        ]

    def get_search_results(self, request, queryset, search_term):
        # Django's search is UPPER(column) LIKE '%word%' on each field, which
        # no index serves, joined to the clients for their names: at 1,000,000
        # calls each search read every call (seconds). The words are looked
        # for as the portal looks for them (icontains_any in every width,
        # served by the trigram indexes call_search_trgm and call_number_trgm),
        # and a client's name among the clients first, whose calls
        # call_client_recent finds. Within ``queryset``: the list's filters
        # (a client, a category) hold.
        # Numbers are stored in E.164: one typed in any format is found by
        # equality, as the phone system gave it or as the caller said it.
        e164 = try_normalize_phone(search_term)
        if e164:
            found = queryset.filter(Q(caller_number=e164) | Q(callback_number=e164))
            return found, False
        for word in search_words(search_term):
            variants = width_variants(word)
            condition = Q(caller_name__icontains_any=variants) | Q(
                caller_company__icontains_any=variants
            )
            number = partial_number_condition(word, "callback_number", "caller_number")
            if number is not None:
                condition |= number
            queryset = queryset.filter(condition | of_clients_named(word))
        return queryset, False

    @admin.display(description=_("折り返し先"), ordering="callback_number")
    def callback_number_shown(self, obj: Call) -> str:
        return obj.callback_number_display or "—"

    @admin.display(description=_("発信者番号"), ordering="caller_number")
    def caller_number_shown(self, obj: Call) -> str:
        # 非通知 when the phone system showed none, as clients read it.
        erased = obj.personal_data_erased_at is not None
        return caller_number_text(obj.caller_number, erased=erased) or "—"

    @admin.display(description=_("着信番号"))
    def dialed_number_shown(self, obj: Call) -> str:
        return format_phone(obj.dialed_number) or "—"

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
    fields = ["call", "changed_at", "changed_by", changes_shown]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the history of a call's corrections is kept whole
