import unicodedata
from collections import Counter

from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from answering.selectors import top_nuisance_callers
from clients.admin import ClientAdmin
from clients.dates import format_moment_short
from clients.models import Client
from config.admin_paging import BigTableAdminMixin, of_clients_named, search_words
from reporting import selectors, services
from reporting.models import Delivery


def bouncing_addresses_display(client: Client) -> SafeString:
    """HTML list of a client's bouncing addresses, for read-only admin fields."""
    bouncing = selectors.bouncing_addresses(client)
    if not bouncing:
        return format_html("{}", _("なし"))
    return format_html(
        '<ul class="bouncing">{}</ul>',
        format_html_join(
            "",
            "<li><strong>{}</strong>{}: {}</li>",
            # Formatted here: format_html_join makes every argument a string
            # first, and a format spec on it raised (the admin then showed "-").
            (
                (
                    b.address,
                    # The same words as the failed deliveries' page.
                    gettext("（%(bounces)s、最終 %(last)s）")
                    % {
                        "bounces": ngettext(
                            "%(counter)s件不達", "%(counter)s件不達", b.bounces
                        )
                        % {"counter": b.bounces},
                        "last": f"{timezone.localtime(b.last_bounced_at):%Y/%m/%d %H:%M}",
                    },
                    b.reason.detail,
                )
                for b in bouncing
            ),
        ),
    )


@admin.register(Delivery)
class DeliveryAdmin(BigTableAdminMixin, admin.ModelAdmin):
    # Short dates, the channel above its address, and the flags said in the
    # 状態 column when they are set (the filters still pick them): with a
    # column for each and 2026年11月28日 the list ran past a 1366 px laptop's
    # edge.
    list_display = [
        "id",
        "created",
        "client",
        "call_shown",
        "kind",
        "sent_to",
        "status_shown",
        "sent",
    ]
    list_filter = ["status", "channel", "kind", "possible_duplicate", "bounced"]
    # For Django to show the search box; get_search_results does the search.
    search_fields = ["address", "client__name"]
    search_help_text = _(
        "顧客名、送信先（メールアドレス・ルームID）の一部、"
        "または <…@…> の形のMessage-ID"
    )
    list_select_related = ["client", "call"]
    date_hierarchy = "created_at"
    actions = ["resend_selected"]
    exclude = ["last_error"]  # shown as last_error_shown
    readonly_fields = [
        "call",
        "client",
        "recipient",
        "kind",
        "channel",
        "address",
        "subject",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_expires_at",
        "message_id",
        "provider_message_id",
        "last_error_shown",
        "bounced",
        "possible_duplicate",
        "created_at",
        "sent_at",
        "failed_at",
        "client_bouncing_addresses",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        # Django's search read every delivery (UPPER(column) LIKE, joined to
        # the clients: seconds at 3,000,000): a client's name is looked for
        # among the clients, an address through its trigram index
        # (reporting/0005). A Message-ID, pasted whole with its brackets from
        # a mail a client forwards, is looked for alone and exactly: no index
        # serves it, so it is never a branch of every search.
        message_id = search_term.strip()
        if message_id.startswith("<") and message_id.endswith(">"):
            return queryset.filter(message_id=message_id), False
        for word in search_words(search_term):
            condition = of_clients_named(word)
            # Addresses and room ids are stored in half width
            # (clients/0010): a word that is not, even in half width (a name),
            # is not looked for in them, where PostgreSQL read every address.
            typed = unicodedata.normalize("NFKC", word)
            if typed.isascii():
                condition |= Q(address__icontains_any=[typed])
            queryset = queryset.filter(condition)
        return queryset, False

    @admin.display(description=_("作成日時"), ordering="created_at")
    def created(self, obj: Delivery) -> str:
        return format_moment_short(obj.created_at)

    @admin.display(description=_("送信日時"), ordering="sent_at")
    def sent(self, obj: Delivery) -> str | None:
        return format_moment_short(obj.sent_at) if obj.sent_at else None

    @admin.display(description=_("送信先"), ordering="address")
    def sent_to(self, obj: Delivery) -> SafeString:
        return format_html("{}<br>{}", obj.get_channel_display(), obj.address)

    @admin.display(description=_("状態"), ordering="status")
    def status_shown(self, obj: Delivery) -> SafeString:
        lines = [obj.get_status_display()]
        if obj.bounced:
            lines.append(gettext("不達"))
        if obj.possible_duplicate:
            lines.append(gettext("重複の恐れ"))
        if obj.attempts > 1:
            lines.append(
                ngettext("試行 %(n)d回", "試行 %(n)d回", obj.attempts)
                % {"n": obj.attempts}
            )
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    # As a person names the call (Japan time and caller, Call.__str__), not
    # by its id; the call comes with the row (list_select_related).
    @admin.display(description=_("受電"), ordering="call__received_at")
    def call_shown(self, obj: Delivery) -> str:
        return str(obj.call)

    # As the failed deliveries' page shows it (failures.explain): without the
    # time services._failed writes first, which the page has as 失敗日時.
    @admin.display(description=_("最後のエラー"))
    def last_error_shown(self, obj: Delivery) -> str:
        return obj.failure_reason.detail

    @admin.display(description=_("この顧客の不達アドレス"))
    def client_bouncing_addresses(self, obj: Delivery) -> SafeString:
        return bouncing_addresses_display(obj.client)

    @admin.action(description=_("選択した失敗の報告を再送する"))
    def resend_selected(self, request, queryset) -> None:
        results = [
            services.resend(delivery_id=pk)
            for pk in queryset.values_list("pk", flat=True)
        ]
        count = sum(result.queued for result in results)
        self.message_user(
            request,
            ngettext(
                "%(count)d件の再送を予約しました。",
                "%(count)d件の再送を予約しました。",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        # Why the others were not: each reason once, with how many.
        refused = Counter(result.refused for result in results if not result.queued)
        for reason, times in refused.items():
            self.message_user(
                request,
                ngettext(
                    "%(count)d件: %(reason)s",
                    "%(count)d件: %(reason)s",
                    times,
                )
                % {"count": times, "reason": reason},
                messages.WARNING,
            )


def nuisance_callers_display(client: Client) -> SafeString:
    """HTML table of the numbers that made the most nuisance calls to the client,
    each linked to the list of the client's calls from it."""
    callers = top_nuisance_callers(client_id=client.pk)
    if not callers:
        return format_html("{}", _("なし"))
    calls_url = reverse("admin:answering_call_changelist")
    return format_html(
        '<table class="nuisance-callers"><thead><tr><th>{}</th><th>{}</th>'
        "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("発信者番号"),
        _("件数"),
        _("最後の受電"),
        format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
            (
                (
                    f"{calls_url}?"
                    + urlencode({"client__id__exact": client.pk, "q": c.display}),
                    c.display,
                    c.call_count,
                    f"{timezone.localtime(c.last_received_at):%Y/%m/%d %H:%M}",
                )
                for c in callers
            ),
        ),
    )


# The client page shows addresses that keep bouncing, and who keeps harassing
# the client. clients sits below reporting (and answering), so reporting
# extends the client admin rather than the reverse.
class ClientWithBouncesAndNuisanceCallersAdmin(ClientAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [
            *super().get_readonly_fields(request, obj),
            "bouncing_addresses",
            "nuisance_callers",
        ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [
            *fieldsets,
            (_("報告の不達"), {"fields": ["bouncing_addresses"]}),
            (_("いたずら・嫌がらせ・無言"), {"fields": ["nuisance_callers"]}),
        ]

    @admin.display(description=_("件数の多い発信者番号"))
    def nuisance_callers(self, obj: Client) -> SafeString:
        if obj.pk is None:
            return format_html("{}", "—")
        return nuisance_callers_display(obj)

    @admin.display(description=_("不達が続いているメールアドレス"))
    def bouncing_addresses(self, obj: Client) -> SafeString:
        if obj.pk is None:
            return format_html("{}", "—")
        return bouncing_addresses_display(obj)


admin.site.unregister(Client)
admin.site.register(Client, ClientWithBouncesAndNuisanceCallersAdmin)
