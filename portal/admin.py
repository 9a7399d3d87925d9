from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clients.admin import say_first_plan_moved, warn_of_what_billing_missed
from clients.dates import (
    format_day,
    format_day_short,
    format_moment,
    format_moment_short,
)
from clients.models import Client
from config.row_ids import parse_row_id
from portal import services
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    RequestStatus,
)
from reporting.admin import ClientWithBouncesAndNuisanceCallersAdmin

# A cancellation saved on the client's page also closes the portal's requests
# it leaves after the contract. clients sits below the portal and knows nothing
# of its requests, so the portal extends the client page, as reporting does
# (its bouncing addresses and nuisance callers): the latest one, reporting's.
admin.site.unregister(Client)


@admin.register(Client)
class ClientWithRequestsAdmin(ClientWithBouncesAndNuisanceCallersAdmin):
    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [*super().get_readonly_fields(request, obj), "cancellation_request"]

    def get_fieldsets(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Under 解約日, where the admin would set the day the client asked for.
        return [
            (name, {**options, "fields": _after_cancelled_on(options["fields"])})
            for name, options in super().get_fieldsets(request, obj)
        ]

    @admin.display(description=_("解約のお申し込み"))
    def cancellation_request(self, obj: Client) -> str:
        change_request = (
            CancellationRequest.objects.filter(
                client=obj, status=RequestStatus.OPEN
            ).first()
            if obj.pk is not None
            else None
        )
        if change_request is None:
            return gettext("なし")
        return format_html(
            gettext(
                "<strong>受付中: {day}での解約のご希望（{at}のお申し込み）</strong> "
                '<a href="{url}">お申し込みを開く</a>'
            ),
            day=format_day(change_request.last_day),
            at=format_moment(change_request.requested_at),
            url=_request_url(change_request),
        )

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        # In the page's transaction, with the plans the cancellation dropped.
        request.requests_closed = (
            services.close_requests_after_contract_end(client=obj) if change else None
        )
        request.cancellation_request = (
            services.settle_cancellation_request(client=obj, processed_by=request.user)
            if change
            else None
        )

    def say_what_the_cancellation_dropped(
        self, request: HttpRequest, obj: Client
    ) -> None:
        super().say_what_the_cancellation_dropped(request, obj)
        self.say_what_became_of_the_cancellation_request(request, obj)
        closed: services.RequestsClosed | None = getattr(
            request, "requests_closed", None
        )
        if closed is None or obj.cancelled_on is None:
            return  # a page saved without a cancellation closes nothing
        day = format_day(obj.cancelled_on)
        for plan_request in closed.plan_requests:
            self.message_user(
                request,
                _(
                    "お客様の %(month)s からのプラン「%(plan)s」へのお申し込みは、"
                    "解約日（%(day)s）より後の月のため取り下げました"
                    "（お客様のポータルにも理由が表示されます）。"
                )
                % {
                    "month": date_format(
                        plan_request.effective_month, "YEAR_MONTH_FORMAT"
                    ),
                    "plan": plan_request.plan.name,
                    "day": day,
                },
                messages.WARNING,
            )
        for recipient_request in closed.recipient_requests:
            self.message_user(
                request,
                _(
                    "お客様の報告先の%(kind)sのご依頼（%(who)s、希望日 %(desired)s）は、"
                    "解約日（%(day)s）より後のため取り下げました"
                    "（お客様のポータルにも理由が表示されます）。"
                )
                % {
                    "kind": recipient_request.get_kind_display(),
                    "who": recipient_request.who,
                    "desired": format_day(recipient_request.desired_on),
                    "day": day,
                },
                messages.WARNING,
            )

    def say_what_became_of_the_cancellation_request(
        self, request: HttpRequest, obj: Client
    ) -> None:
        """A 解約日 saved on the client's page answers the client's request
        when it is the day asked for (settle_cancellation_request); another
        day leaves the request waiting, which the admin is told."""
        change_request: CancellationRequest | None = getattr(
            request, "cancellation_request", None
        )
        if change_request is None or obj.cancelled_on is None:
            return
        if change_request.status == RequestStatus.DONE:
            self.message_user(
                request,
                _(
                    "お客様の解約のお申し込み（%(day)sで終了）を、解約日が"
                    "お申し込みの日になったため「対応済み」にしました"
                    "（お客様のポータルにも表示されます）。"
                )
                % {"day": format_day(change_request.last_day)},
                messages.SUCCESS,
            )
            return
        self.message_user(
            request,
            format_html(
                gettext(
                    "お客様の解約のお申し込み（{asked}で終了）は、保存した解約日"
                    "（{day}）と日付が違うため受付中のままです。"
                    '<a href="{url}">お申し込みの画面</a>で、お客様に伝える理由を'
                    "管理者メモに書いてお断りするか、解約日をお申し込みの日に"
                    "直してください。"
                ),
                asked=format_day(change_request.last_day),
                day=format_day(obj.cancelled_on),
                url=_request_url(change_request),
            ),
            messages.WARNING,
        )


def _after_cancelled_on(fields: list[str]) -> list[str]:
    if "cancelled_on" not in fields:
        return list(fields)
    at = fields.index("cancelled_on") + 1
    return [*fields[:at], "cancellation_request", *fields[at:]]


def _request_url(change_request: CancellationRequest) -> str:
    return reverse("admin:portal_cancellationrequest_change", args=[change_request.pk])


# The change page's button posts the operation's name under this key.
OPERATION_FIELD = "_operation"
REJECT_LABEL = _("お断りする（理由は管理者メモに書いてください。お客様に表示されます）")


class OpenFirstStatusFilter(admin.SimpleListFilter):
    """The 状態 filter of the request lists, on 受付中 until the admin picks
    another: what waits for the admin comes first. The bare list being 受付中,
    すべて is a value of its own; the parameter is the field filter's, so links
    saved with ?status__exact=… open as they did."""

    title = _("状態")
    parameter_name = "status__exact"
    ALL = "all"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return RequestStatus.choices

    def value(self) -> str:
        value = super().value()
        return RequestStatus.OPEN if value is None else value

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())

    def choices(self, changelist):  # type: ignore[no-untyped-def]
        choices = super().choices(changelist)
        next(choices)  # Django's "All" is the bare list: 受付中 here
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string(
                {self.parameter_name: self.ALL}
            ),
            "display": _("すべて"),
        }
        yield from choices


class ChangeRequestAdmin(admin.ModelAdmin):
    list_filter = [OpenFirstStatusFilter]
    # Says when the list shows 受付中 only because no 状態 was chosen.
    change_list_template = "admin/portal/change_request_list.html"
    date_hierarchy = "requested_at"
    search_fields = ["client__name", "client__name_kana"]
    list_select_related = ["client"]
    readonly_fields = [
        "requested_at",
        "requested_by",
        "system_note",
        "processed_at",
        "processed_by",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come from the client portal

    def changelist_view(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        extra_context = {
            **(extra_context or {}),
            "open_by_default": OpenFirstStatusFilter.parameter_name not in request.GET,
        }
        return super().changelist_view(request, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # keep what the client asked for; reject instead

    # The lists' dates as 2026/11/28 13:10: 2026年11月28日 took a third more of
    # a list that had to fit a 1366 px laptop.
    @admin.display(description=_("お申し込み日時"), ordering="requested_at")
    def requested(self, obj) -> str:
        return format_moment_short(obj.requested_at)

    @admin.display(description=_("処理日時"), ordering="processed_at")
    def processed(self, obj) -> str | None:
        return format_moment_short(obj.processed_at) if obj.processed_at else None

    @admin.display(description=_("顧客"))
    def client_link(self, obj) -> str:
        url = reverse("admin:clients_client_change", args=[obj.client_id])
        return format_html('<a href="{}">{}</a>', url, obj.client)

    @admin.display(description=_("閉じた理由"))
    def closed_because(self, obj) -> str:
        """What the request's page says of a processed request: the service's
        reason in the reader's language, then the admin's memo as typed. An
        open request shows none (its memo may still change)."""
        if obj.is_open:
            return ""
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            ((line,) for line in obj.note_for_client.split("\n")),
        )

    # The page of an open request offers the list's actions as buttons
    # (change_request_form.html): (the action's name, the button's words).
    # Each action and its button process a request through the same
    # ``<name>_one`` method, which raises ValidationError when it refuses.
    change_form_template = "admin/portal/change_request_form.html"
    page_operations: list[tuple[str, str]] = []

    def _process_each(self, request, queryset, operation: str) -> None:
        """A list action: each selected request in turn; one refused is said
        and the others still processed."""
        process = getattr(self, f"{operation}_one")
        for change_request in queryset:
            try:
                process(request, change_request)
            except ValidationError as exc:
                # format_html: a refusal's own link stays a link.
                self.message_user(
                    request,
                    format_html("{}: {}", change_request, exc.messages[0]),
                    messages.WARNING,
                )

    def _posted_operation(self, request: HttpRequest) -> str | None:
        operation = request.POST.get(OPERATION_FIELD)
        if operation in {name for name, _label in self.page_operations}:
            return operation
        return None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        if request.method != "POST" or self._posted_operation(request) is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        # A button: the client first, then the request (the page's form locks
        # it), the order every writer of a client's requests takes them in; the
        # other order deadlocks with the client's new request replacing this one.
        with transaction.atomic():
            pk = parse_row_id(object_id or "")
            client_id = (
                self.model.objects.filter(pk=pk)
                .values_list("client_id", flat=True)
                .first()
                if pk is not None
                else None
            )
            if client_id is not None:
                Client.objects.lock(client_id)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(  # type: ignore[no-untyped-def]
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None and self.has_change_permission(request, obj):
            context["request_is_open"] = obj.is_open
            context["page_operations"] = self.page_operations if obj.is_open else []
            context["operation_field"] = OPERATION_FIELD
        if obj is not None and not obj.is_open:
            context["request_outcome"] = _(
                "このお申し込みは処理済みです（%(status)s）。"
            ) % {"status": obj.get_status_display()}
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):  # type: ignore[no-untyped-def]
        # The page's form (its 管理者メモ) is saved; the operation runs in the
        # same transaction, and its refusal (processed meanwhile by another
        # admin) undoes the save and is said on the page, with what was typed
        # (config.admin_site).
        operation = self._posted_operation(request)
        if operation is None:
            return super().response_change(request, obj)
        getattr(self, f"{operation}_one")(request, obj)
        return HttpResponseRedirect(request.path)

    def _close_one(self, request, change_request, status: str) -> None:
        closed = services.close_request(
            change_request=change_request,
            status=status,
            processed_by=request.user,
        )
        self.message_user(
            request,
            _("%(request)s: 「%(status)s」にしました。")
            % {"request": closed, "status": closed.get_status_display()},
            messages.SUCCESS,
        )

    def reject_one(self, request, change_request) -> None:
        # The reason is the 管理者メモ saved on the request (the page's own
        # form saves it first), shown to the client; none is not required.
        self._close_one(request, change_request, RequestStatus.REJECTED)

    @admin.action(description=_("選んだお申し込みをお断り（取り下げ）にする"))
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._process_each(request, queryset, "reject")


@admin.register(PlanChangeRequest)
class PlanChangeRequestAdmin(ChangeRequestAdmin):
    list_display = [
        "requested",
        "client_link",
        "plan",
        "effective_month",
        "status",
        "closed_because",
        "processed",
    ]
    list_select_related = ["client", "plan"]
    fields = [
        "client",
        "plan",
        "effective_month",
        "message",
        "requested_at",
        "requested_by",
        "status",
        "system_note",
        "admin_note",
        "processed_at",
        "processed_by",
    ]
    readonly_fields = [
        "client",
        "plan",
        "effective_month",
        "message",
        "status",
        *ChangeRequestAdmin.readonly_fields,
    ]
    actions = ["apply", "reject"]

    page_operations = [
        ("apply", _("このプランに変更する（お申し込み時の翌月から）")),
        ("reject", REJECT_LABEL),
    ]

    @admin.action(description=_("選んだプラン変更を適用する（お申し込み時の翌月から）"))
    def apply(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._process_each(request, queryset.select_related("client", "plan"), "apply")

    def apply_one(self, request, change_request) -> None:
        result = services.apply_plan_change_request(
            change_request=change_request, processed_by=request.user
        )
        self.message_user(
            request,
            _("%(client)s: %(month)s から %(plan)s に変更しました。")
            % {
                "client": change_request.client,
                "month": date_format(result.effective_month, "YEAR_MONTH_FORMAT"),
                "plan": change_request.plan,
            },
            messages.SUCCESS,
        )
        if result.first_plan_moved is not None:
            say_first_plan_moved(self, request, result.first_plan_moved)
            warn_of_what_billing_missed(self, request, change_request.client)
        if result.too_frequent:
            self.message_user(
                request,
                _(
                    "%(client)s は直近12か月で%(n)d回プランを変更しています。"
                    "季節ごとの切り替えはご遠慮いただくようお伝えください。"
                )
                % {
                    "client": change_request.client,
                    "n": result.changes_in_last_12_months,
                },
                messages.WARNING,
            )


@admin.register(RecipientChangeRequest)
class RecipientChangeRequestAdmin(ChangeRequestAdmin):
    list_display = [
        "requested",
        "client_link",
        "kind",
        "recipient",
        "wish",
        "desired",
        "status",
        "closed_because",
    ]
    list_select_related = ["client", "recipient"]
    fields = [
        "client",
        "kind",
        "recipient",
        "name",
        "pc_email",
        "mobile_email",
        "desired_on",
        "message",
        "requested_at",
        "requested_by",
        "status",
        "system_note",
        "admin_note",
        "processed_at",
        "processed_by",
    ]
    readonly_fields = [
        "client",
        "kind",
        "recipient",
        "name",
        "pc_email",
        "mobile_email",
        "desired_on",
        "message",
        "status",
        *ChangeRequestAdmin.readonly_fields,
    ]
    actions = ["mark_done", "reject"]

    @admin.display(description=_("希望日"), ordering="desired_on")
    def desired(self, obj: RecipientChangeRequest) -> str | None:
        return format_day_short(obj.desired_on) if obj.desired_on else None

    # The name and both addresses in one column, a line each: as three
    # columns they ran the list past a 1366 px laptop's edge.
    @admin.display(description=_("ご希望の報告先"))
    def wish(self, obj: RecipientChangeRequest) -> str:
        if obj.kind == RecipientChangeRequest.Kind.REMOVE:
            return "—"
        return format_html(
            "{}<br>{} {}<br>{} {}",
            obj.name or "—",
            _("PC:"),
            obj.pc_email or "—",
            _("携帯:"),
            obj.mobile_email or "—",
        )

    page_operations = [
        ("mark_done", _("対応済みにする（顧客の画面で報告先を設定した後）")),
        ("reject", REJECT_LABEL),
    ]

    @admin.action(
        description=_("選んだ依頼を対応済みにする（顧客の画面で報告先を設定した後）")
    )
    def mark_done(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._process_each(request, queryset, "mark_done")

    def mark_done_one(self, request, change_request) -> None:
        try:
            self._close_one(request, change_request, RequestStatus.DONE)
        except ValidationError as refusal:
            code = getattr(refusal, "code", None)
            if code == services.RECIPIENT_CHANGE_NOT_MADE:
                anchor = "recipients-group"
                link = _("顧客「%(client)s」の画面で報告先を設定する")
            elif code == services.REPORTS_NOT_BY_EMAIL:
                anchor = "id_report_by_email"
                link = _("顧客「%(client)s」の画面で報告方法を設定する")
            else:
                raise
            # What is missing, and where the admin sets it.
            url = reverse(
                "admin:clients_client_change", args=[change_request.client_id]
            )
            raise ValidationError(
                format_html(
                    '{} <a href="{}#{}">{}</a>',
                    refusal.message,
                    url,
                    anchor,
                    link % {"client": change_request.client},
                ),
                code=refusal.code,
            ) from refusal


@admin.register(BillingEmailChangeRequest)
class BillingEmailChangeRequestAdmin(ChangeRequestAdmin):
    list_display = [
        "requested",
        "client_link",
        "wish",
        "current_billing_email",
        "status",
        "closed_because",
        "processed",
    ]
    fields = [
        "client",
        "billing_email",
        "current_billing_email",
        "message",
        "requested_at",
        "requested_by",
        "status",
        "system_note",
        "admin_note",
        "processed_at",
        "processed_by",
    ]
    readonly_fields = [
        "client",
        "billing_email",
        "current_billing_email",
        "message",
        "status",
        *ChangeRequestAdmin.readonly_fields,
    ]
    actions = ["apply", "reject"]

    @admin.display(description=_("ご希望の送付先"))
    def wish(self, obj: BillingEmailChangeRequest) -> str:
        return obj.wish

    @admin.display(description=_("現在の送付先"))
    def current_billing_email(self, obj: BillingEmailChangeRequest) -> str:
        return obj.client.billing_email or _("報告先のPCメールアドレス")

    page_operations = [
        ("apply", _("この内容で設定する")),
        ("reject", REJECT_LABEL),
    ]

    @admin.action(description=_("選んだお申し込みの送付先を設定する"))
    def apply(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._process_each(request, queryset.select_related("client"), "apply")

    def apply_one(self, request, change_request) -> None:
        client = services.apply_billing_email_change_request(
            change_request=change_request, processed_by=request.user
        )
        self.message_user(
            request,
            _("%(client)s: 請求書送付先を「%(address)s」にしました。")
            % {
                "client": client,
                "address": client.billing_email
                or _("（空欄: 報告先のPCメールアドレス）"),
            },
            messages.SUCCESS,
        )


@admin.register(CancellationRequest)
class CancellationRequestAdmin(ChangeRequestAdmin):
    list_display = [
        "requested_at",
        "client_link",
        "last_day",
        "current_cancelled_on",
        "reason",
        "status",
        "closed_because",
    ]
    fields = [
        "client",
        "last_day",
        "current_cancelled_on",
        "reason",
        "message",
        "requested_at",
        "requested_by",
        "status",
        "system_note",
        "admin_note",
        "processed_at",
        "processed_by",
    ]
    readonly_fields = [
        "client",
        "last_day",
        "current_cancelled_on",
        "reason",
        "message",
        "status",
        *ChangeRequestAdmin.readonly_fields,
    ]
    actions = ["apply", "mark_done", "reject"]
    page_operations = [
        ("apply", _("解約日を設定する（お申し込みの月末日で）")),
        ("mark_done", _("対応済みにする（顧客の画面で解約日を設定した後）")),
        ("reject", REJECT_LABEL),
    ]

    @admin.display(description=_("顧客の解約日（現在）"))
    def current_cancelled_on(self, obj: CancellationRequest) -> str | None:
        # None: the admin's 「—」 for no date set.
        return format_day(obj.client.cancelled_on) if obj.client.cancelled_on else None

    @admin.action(description=_("選んだお申し込みの解約日を設定する"))
    def apply(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._process_each(request, queryset.select_related("client"), "apply")

    def apply_one(self, request, change_request) -> None:
        result = services.apply_cancellation_request(
            change_request=change_request, processed_by=request.user
        )
        self.message_user(
            request,
            _("%(client)s: 解約日を %(day)s にしました。")
            % {
                "client": result.client,
                "day": format_day(result.client.cancelled_on),
            },
            messages.SUCCESS,
        )
        # What the cancellation left after the contract, said as the client's
        # page says it when a cancellation is saved there.
        request.plans_dropped = result.plans_dropped
        request.requests_closed = result.requests_closed
        client_admin = self.admin_site._registry[Client]
        client_admin.say_what_the_cancellation_dropped(request, result.client)

    @admin.action(
        description=_(
            "選んだお申し込みを対応済みにする（顧客の画面で解約日を設定した後）"
        )
    )
    def mark_done(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._process_each(request, queryset, "mark_done")

    def mark_done_one(self, request, change_request) -> None:
        try:
            self._close_one(request, change_request, RequestStatus.DONE)
        except ValidationError as refusal:
            if getattr(refusal, "code", None) != services.CANCELLATION_NOT_MADE:
                raise
            url = reverse(
                "admin:clients_client_change", args=[change_request.client_id]
            )
            raise ValidationError(
                format_html(
                    '{} <a href="{}">{}</a>',
                    refusal.message,
                    url,
                    _("顧客「%(client)s」の画面を開く")
                    % {"client": change_request.client},
                ),
                code=refusal.code,
            ) from refusal
