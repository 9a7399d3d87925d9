import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from clients import password_reset, selectors, services
from clients.dates import format_day
from clients.forms import (
    AssignNumberForm,
    ClientAdminForm,
    ClientPersonInlineForm,
    JapaneseDuplicatesFormSet,
    LentNumberAdminForm,
    PlanAdminForm,
    PlanChangeForm,
    PlanPriceAdminForm,
    PlanPriceFormSet,
    ReleaseNumberForm,
    ReportRecipientAdminForm,
    ReportRecipientInlineForm,
    UserAdminChangeForm,
)
from clients.models import (
    EXTRA_NUMBER_FEE_YEN,
    EXTRA_RECIPIENT_FEE_YEN,
    FREE_RECIPIENT_PERSONS,
    Client,
    ClientPerson,
    ClientPlan,
    LentNumber,
    NumberAssignment,
    OperatorNotice,
    Plan,
    PlanPrice,
    ReportRecipient,
    User,
    is_plausible_date,
    rest_ends_on,
)
from clients.months import japan_today, month_start, next_month
from clients.widgets import AddressBox, TitledTextInput
from config.admin_site import delete_selected_at_once
from config.row_ids import parse_row_id


def _action_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    template: str,
    *,
    action: str,
    **context: object,
) -> TemplateResponse:
    """The confirmation page of an admin action (its form ends with
    admin/includes/action_apply.html, which posts the action again)."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "action": action,
            "opts": model_admin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **context,
        },
    )


def say_first_plan_moved(
    model_admin: admin.ModelAdmin, request: HttpRequest, client_plan: ClientPlan
) -> None:
    model_admin.message_user(
        request,
        _(
            "%(client)s: 契約開始日（お試し開始日）に合わせて、最初のプラン"
            "「%(plan)s」を%(month)s から適用にしました。"
        )
        % {
            "client": client_plan.client.name,
            "plan": client_plan.plan.name,
            "month": date_format(client_plan.effective_month, "YEAR_MONTH_FORMAT"),
        },
        messages.INFO,
    )


def warn_of_what_billing_missed(
    model_admin: admin.ModelAdmin, request: HttpRequest, client: Client
) -> None:
    """After the admin saved what billing reads (the contract's dates, the
    trial, a first plan, recipients): the months already billed that now have
    no invoice for the client, and the issued invoices a reissue would bill
    otherwise, each with what to do. Nothing issued is changed by itself (an
    issued invoice never changes), and a month's draft is built only from its
    billing page, where the admin checks it before issuing."""
    # Billing depends on clients, not the other way: imported here, as the
    # client's form asks billing about paid months (ClientAdminForm).
    from billing.selectors import invoices_differing_from_data, unbilled_months

    for unbilled in unbilled_months(client=client):
        model_admin.message_user(
            request,
            format_html(
                _(
                    "{client}: {month}分の請求書がありません。{reason}"
                    '<a href="{url}">{month}分の請求</a>'
                ),
                client=client.name,
                month=date_format(unbilled.billing_month, "YEAR_MONTH_FORMAT"),
                reason=unbilled.reason,
                url=f"{reverse('billing:month')}?month={unbilled.billing_month:%Y-%m}",
            ),
            messages.WARNING,
        )
    for stale in invoices_differing_from_data(client_ids=[client.pk]):
        model_admin.message_user(
            request,
            format_html(
                _('{client}: {summary}{advice}<a href="{url}">請求書の詳細</a>'),
                client=client.name,
                summary=stale.summary,
                advice=stale.advice,
                url=reverse("billing:invoice", args=[stale.invoice.pk]),
            ),
            messages.WARNING,
        )


class Listed050Warning:
    """A change page that warns of a 050 number lent for listed use, as was
    possible before only Tokyo 03 numbers could be listed. Nothing is changed
    here: the client prints the number, so it is replaced with the client."""

    def assignments_shown(self, obj: Any) -> QuerySet[NumberAssignment]:
        raise NotImplementedError

    def render_change_form(  # type: ignore[no-untyped-def]
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None:
            listed_050 = self.assignments_shown(obj).listed_on_050()
            for assignment in listed_050.select_related("number", "client"):
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    _(
                        "050番号が表記利用で貸し出されています（表記利用は東京03番号のみ）。"
                        "%(number)s → %(client)s（%(day)s から）。"
                        "お客様と相談のうえ、東京03番号を表記利用で貸し出し（顧客一覧の"
                        "操作「番号を貸し出す」）、名刺やWebサイトの表記をその番号に"
                        "変えていただいてから、この050番号を返却してください（番号の貸出"
                        "一覧の操作「選んだ番号を返却する」）。この貸出が自動で変更・終了"
                        "されることはありません。"
                    )
                    % {
                        "number": assignment.number.display,
                        "client": assignment.client.name,
                        "day": format_day(assignment.assigned_on),
                    },
                    messages.WARNING,
                )
        return super().render_change_form(  # type: ignore[misc]
            request, context, add, change, form_url, obj
        )


# The rows of the client's and the plan's pages have no line above each row
# naming it: that line (the row's __str__) said again what the row shows (a
# person's name and title, a recipient's name, a price's day and fee), or the
# client's long name first (a number, a plan, a notice and its days), a line
# per row.
UNTITLED_ROWS = "admin/edit_inline/tabular_untitled.html"

# A row's text boxes share the table's width: a long value (a note, a name)
# cut at a box's edge is read whole in its tooltip. An e-mail address is read
# whole in its box, which wraps it (AddressBox).
ROW_BOXES: "dict[type[models.Field[Any, Any]], dict[str, Any]]" = {
    models.CharField: {"widget": TitledTextInput},
    models.EmailField: {"widget": AddressBox},
}


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    template = UNTITLED_ROWS
    form = PlanPriceAdminForm
    formset = PlanPriceFormSet
    extra = 0


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    form = PlanAdminForm
    list_display = ["name", "code", "display_order"]
    # A revert posts this page's form, which checks every rule of these fields
    # (the prices, which have their own, are not part of it).
    history_revert_allowed = True
    inlines = [PlanPriceInline]


class ClientPersonInline(admin.TabularInline):
    model = ClientPerson
    template = UNTITLED_ROWS
    formfield_overrides = ROW_BOXES
    form = ClientPersonInlineForm
    extra = 0


class ReportRecipientInline(admin.TabularInline):
    model = ReportRecipient
    template = UNTITLED_ROWS
    formfield_overrides = ROW_BOXES
    form = ReportRecipientInlineForm
    formset = JapaneseDuplicatesFormSet
    extra = 0
    can_delete = False  # end a recipient with 報告終了日; the fee history needs the row


class NumberAssignmentInline(admin.TabularInline):
    model = NumberAssignment
    template = UNTITLED_ROWS
    extra = 0
    fields = ["number", "use", "assigned_on", "released_on", "return_link"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # numbers are lent through the action, which checks the rules

    def get_queryset(self, request: HttpRequest) -> QuerySet[NumberAssignment]:
        # Each row shows its number: read with the rows, not one query per row.
        return super().get_queryset(request).select_related("number")

    @admin.display(description=_("返却"))
    def return_link(self, obj: NumberAssignment) -> str:
        # A number still lent is returned from its lending's page, which asks
        # for the last day (admin/clients/numberassignment/change_form.html).
        if obj.pk is None or obj.released_on is not None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:clients_numberassignment_change", args=[obj.pk]),
            _("返却する"),
        )


class ClientPlanInline(admin.TabularInline):
    model = ClientPlan
    template = UNTITLED_ROWS
    fk_name = "client"
    extra = 0
    fields = ["month", "plan", "requested_at", "requested_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # plan changes go through the action that applies the month rule

    # A plan applies from a month: 2026年2月〜, where the stored first day read
    # as a day (2026年2月1日) on which something happened.
    @admin.display(description=_("適用開始月"))
    def month(self, obj: ClientPlan) -> str:
        return _("%(month)s〜") % {
            "month": date_format(obj.effective_month, "YEAR_MONTH_FORMAT")
        }

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClientPlan]:
        # Each row shows its plan and who asked: read with the rows, not one
        # query per row.
        return super().get_queryset(request).select_related("plan", "requested_by")


class OperatorNoticeInline(admin.TabularInline):
    """The client's notices to the operators, as the call form shows them: the
    office reads them here; the client writes and ends them in the portal."""

    model = OperatorNotice
    template = UNTITLED_ROWS
    extra = 0
    fields = [
        "first_day",
        "last_day",
        "text",
        "written_at",
        "written_by",
        "withdrawn_at",
    ]
    readonly_fields = fields
    can_delete = False
    ordering = ["-first_day", "-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the client's own words, written in the portal

    def get_queryset(self, request: HttpRequest) -> QuerySet[OperatorNotice]:
        # Each row names who wrote it: read with the rows, not one query per row.
        return super().get_queryset(request).select_related("written_by")


@admin.register(Client)
class ClientAdmin(Listed050Warning, SimpleHistoryAdmin):
    form = ClientAdminForm
    # A revert posts ClientAdminForm, whose rules read the client's other rows
    # by its id, never its stored values: a past version is checked as an edit.
    history_revert_allowed = True
    list_display = [
        "name",
        "name_kana",
        "status",
        "current_plan",
        "report_by_email",
        "report_by_chatwork",
    ]
    list_filter = ["status", "report_by_email", "report_by_chatwork"]
    search_fields = ["name", "name_kana", "announce_name"]
    readonly_fields = ["plan_summary", "monthly_fee_effects"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "name_kana",
                    "announce_name",
                    "status",
                    "operator_notes",
                ]
            },
        ),
        (
            _("契約"),
            {
                "fields": [
                    "trial_started_on",
                    "contract_started_on",
                    "cancelled_on",
                    "plan_summary",
                    "monthly_fee_effects",
                ]
            },
        ),
        (
            _("報告方法"),
            {"fields": ["report_by_email", "report_by_chatwork", "chatwork_room_id"]},
        ),
        (_("電話番号"), {"fields": ["own_number"]}),
        (_("請求"), {"fields": ["payment_method", "billing_email"]}),
    ]
    inlines = [
        ClientPersonInline,
        ReportRecipientInline,
        NumberAssignmentInline,
        ClientPlanInline,
        OperatorNoticeInline,
    ]
    # "delete_selected" replaces the site's bulk delete (config.admin_site).
    actions = [
        "schedule_plan_change",
        "correct_plan",
        "assign_number",
        "delete_selected",
    ]

    # A client is deleted only when it was created by mistake: once anything
    # refers to it (calls, invoices, recipients, plan history, ...) it stays,
    # and the contract is ended with 状態 解約 and 解約日. Django's delete page
    # said instead that the account could not delete 報告先 and プラン履歴,
    # with no way forward.
    def _kept_because(self, records: list[str]) -> str:
        return _(
            "この顧客には記録（%(records)s）があるため削除できません。"
            "記録のある顧客は削除せずに残します。契約を終える場合は、状態を"
            "「解約」にし、解約日（契約の最終日となる月末日）を入れて保存して"
            "ください。"
        ) % {"records": _("、").join(records)}

    def records_of(self, request: HttpRequest, client: Client) -> list[str]:
        """``selectors.records_keeping_client``, read once per request: the
        change page asks both whether to show 削除 and why it does not."""
        read: dict[int, list[str]] = request.__dict__.setdefault("client_records", {})
        if client.pk not in read:
            read[client.pk] = selectors.records_keeping_client(client=client)
        return read[client.pk]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Hides 削除 on the page of a client with records (render_change_form
        # says why there).
        if obj is not None and self.records_of(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):  # type: ignore[no-untyped-def]
        # The delete page of a client with records (a link from a page opened
        # before its first record, a typed address): why, on the client's page.
        row_id = parse_row_id(unquote(object_id))
        client = None if row_id is None else self.get_object(request, str(row_id))
        records = self.records_of(request, client) if client else []
        if client is None or not records:
            return super().delete_view(request, object_id, extra_context)
        self.message_user(request, self._kept_because(records), messages.ERROR)
        return redirect("admin:clients_client_change", client.pk)

    @admin.action(
        permissions=["delete"],
        description=delete_selected_at_once.short_description,  # type: ignore[attr-defined]
    )
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Client]):
        kept = list(
            selectors.clients_with_records(clients=queryset).values_list(
                "name", flat=True
            )
        )
        if not kept:
            return delete_selected_at_once(self, request, queryset)
        self.message_user(
            request,
            _(
                "次の顧客には記録（受電・請求・報告先・プラン履歴など）があるため"
                "削除できません: %(clients)s。記録のある顧客は削除せずに残します。"
                "契約を終える場合は、その顧客の画面で状態を「解約」にし、解約日"
                "（契約の最終日となる月末日）を入れて保存してください。"
                "選択した顧客は1件も削除していません。"
            )
            % {"clients": _("、").join(kept)},
            messages.ERROR,
        )
        return None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Client]:
        # The list's 今月のプラン read with the rows, not one query per row.
        return super().get_queryset(request).with_plan_name_in_force(japan_today())

    @admin.display(description=_("今月のプラン"))
    def current_plan(self, obj: Client) -> str:
        return obj.plan_name_in_force or "—"

    @admin.display(description=_("プラン"))
    def plan_summary(self, obj: Client) -> str:
        how = _(
            "プランは、顧客一覧でこの顧客を選び、操作「プラン変更を登録する」で"
            "登録します。"
        )
        if obj.pk is None:
            return _("保存した後に登録します。%(how)s") % {"how": how}
        this_month = month_start(japan_today())

        def plan_name(month: dt.date) -> str:
            # No plan for a month the contract does not reach: the one before
            # it would otherwise be shown as going on.
            if obj.contract_ended_before(month):
                return "—"
            client_plan = selectors.plan_in_force(client=obj, month=month)
            return client_plan.plan.name if client_plan else "—"

        now, upcoming = plan_name(this_month), plan_name(next_month(this_month))
        changes = services.plan_changes_in_last_12_months(client=obj)
        text = _("今月: %(now)s / 来月: %(next)s（直近12か月の変更 %(count)d 回）") % {
            "now": now,
            "next": upcoming,
            "count": changes,
        }
        if changes > services.PLAN_CHANGE_WARNING_THRESHOLD:
            # Said where the count is read, as the plan change page says it.
            text = format_html(
                '{}<br><strong class="plan-change-warning">{}</strong>',
                text,
                _(
                    "注意: 12か月に3回以上の変更です。季節ごとの頻繁な変更は"
                    "ご遠慮いただいています。"
                ),
            )
        if now == upcoming == "—" and not obj.contract_ended_before(this_month):
            # A client just signed up: its calls are billed on no plan.
            return format_html("{}<br><strong>{}</strong>", text, how)
        return text

    @admin.display(description=_("月額への影響（今月）"))
    def monthly_fee_effects(self, obj: Client) -> str:
        if obj.pk is None:
            return "—"
        # A page sent back with an error shows ``obj`` as typed: a date refused
        # on its field (9999-12-31) would break the date arithmetic below.
        typed = (obj.trial_started_on, obj.contract_started_on, obj.cancelled_on)
        if not all(is_plausible_date(day) for day in typed if day is not None):
            return "—"
        today = japan_today()
        if obj.contract_ended_before(month_start(today)):
            # Billing stops with the contract: numbers not yet returned and
            # recipients never ended would show fees no invoice will carry.
            return _("契約は %(day)s で終了しています（今月の請求はありません）。") % {
                "day": format_day(obj.cancelled_on)
            }
        # Counted as the invoice counts them: from the month's first billed
        # day, so none of the free trial or of the days before the contract.
        first_billed = obj.first_billed_day(today)
        if first_billed is None:
            starts = obj.billing_starts_on
            if starts is None:
                return _("契約開始日が未登録のため、今月の請求はありません。")
            return _(
                "請求は %(day)s からです（無料お試し期間・契約開始前のため、"
                "今月の請求はありません）。"
            ) % {"day": format_day(starts)}
        extras = selectors.monthly_extras(
            client=obj, month=today, first_day=first_billed
        )
        fees = format_html(
            _(
                "番号 {numbers} 件（基本料金に含む電話番号 {included_numbers} 件、"
                "追加 {extra_numbers} 件 × "
                "{number_fee}円 = {numbers_yen}円）<br>"
                "報告先 最大 {peak} 名（{free}名まで無料、追加 {extra_persons} 名 × "
                "{person_fee}円 = {persons_yen}円）<br>"
                "<strong>追加料金の合計: {total}円／月</strong>"
            ),
            numbers=extras.numbers_held,
            included_numbers=extras.included_numbers,
            extra_numbers=extras.extra_numbers,
            number_fee=f"{EXTRA_NUMBER_FEE_YEN:,}",
            numbers_yen=f"{extras.extra_numbers_yen:,}",
            peak=extras.recipient_peak,
            free=FREE_RECIPIENT_PERSONS,
            extra_persons=extras.extra_recipients,
            person_fee=EXTRA_RECIPIENT_FEE_YEN,
            persons_yen=f"{extras.extra_recipients_yen:,}",
            total=f"{extras.total_yen:,}",
        )
        if first_billed == month_start(today):
            return fees
        return format_html(
            "{}<br>{}",
            _(
                "%(day)s からの請求分（それより前は無料お試し期間・"
                "契約開始前のため請求しません）"
            )
            % {"day": format_day(first_billed)},
            fees,
        )

    def assignments_shown(self, obj: Client) -> QuerySet[NumberAssignment]:
        return obj.number_assignments.all()

    def render_change_form(  # type: ignore[no-untyped-def]
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None and obj.pk is not None:
            # Where 削除 would be (admin/clients/client/change_form.html).
            records = self.records_of(request, obj)
            context["delete_refusal"] = self._kept_because(records) if records else ""
            self.warn_of_full_width_recipients(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def warn_of_full_width_recipients(self, request: HttpRequest, obj: Client) -> None:
        """Recipients no report reaches, as clients/0010 left them: how to end
        the second copy (its address, made half-width, would repeat the first;
        left as shown, it is kept as stored: KeepsUntouchedAddresses)."""
        for recipient in selectors.recipients_left_full_width(client=obj):
            self.message_user(
                request,
                format_html(
                    _(
                        "報告先「{name}」のメールアドレス（{addresses}）は全角の"
                        "ため、報告が届きません。半角に直すと同じ報告先がもう1件"
                        "できる（二重登録）ため、自動では直していません。"
                        "この画面の報告先の行か"
                        '<a href="{url}">この報告先の画面</a>で、報告終了日を'
                        "入れて保存してください（氏名とアドレスはそのままで"
                        "かまいません）。"
                    ),
                    name=recipient.name,
                    addresses=_("、").join(
                        address
                        for address in (recipient.pc_email, recipient.mobile_email)
                        if address
                    ),
                    url=reverse(
                        "admin:clients_reportrecipient_change", args=[recipient.pk]
                    ),
                ),
                messages.WARNING,
            )

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        # A cancellation before a plan change already registered drops the
        # change (the client may cancel at any month end; the change would
        # start after the contract). Said once the page is saved (a save that
        # fails after this point is tried again, config.admin_site).
        request.plans_dropped = (
            services.drop_plans_after_contract_end(client=obj) if change else []
        )
        # A contract's start (or trial) saved before its first plan's month:
        # the plan applies from the first month, as set_plan would have set it.
        request.plan_moved_back = (
            services.start_first_plan_with_contract(client=obj) if change else None
        )

    def response_change(self, request, obj):  # type: ignore[no-untyped-def]
        self.say_what_the_cancellation_dropped(request, obj)
        moved = getattr(request, "plan_moved_back", None)
        if moved is not None:
            say_first_plan_moved(self, request, moved)
        warn_of_what_billing_missed(self, request, obj)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        # A client added twice (a double click, or signed up again by a
        # second admin) splits its calls, numbers and invoices between two
        # rows that the console lists alike: said while the new one has no
        # records and can still be deleted.
        namesakes = Client.objects.filter(name=obj.name).exclude(pk=obj.pk)
        for namesake in namesakes.order_by("pk"):
            self.message_user(
                request,
                format_html(
                    _(
                        "同じ会社名の顧客がすでに登録されています"
                        '（<a href="{url}">{name}</a>、{status}）。'
                        "二重登録でしたら、いま追加した顧客を削除してください。"
                    ),
                    url=reverse("admin:clients_client_change", args=[namesake.pk]),
                    name=namesake.name,
                    status=namesake.get_status_display(),
                ),
                messages.WARNING,
            )
        warn_of_what_billing_missed(self, request, obj)
        return super().response_add(request, obj, post_url_continue)

    def say_what_the_cancellation_dropped(
        self, request: HttpRequest, obj: Client
    ) -> None:
        for client_plan in getattr(request, "plans_dropped", []):
            self.message_user(
                request,
                _(
                    "解約日（%(day)s）より後の %(month)s からのプラン「%(plan)s」は"
                    "契約の終了後のため、登録を取り消しました。解約を取りやめる場合は、"
                    "プラン変更を登録し直してください。"
                )
                % {
                    "day": format_day(obj.cancelled_on),
                    "month": date_format(
                        client_plan.effective_month, "YEAR_MONTH_FORMAT"
                    ),
                    "plan": client_plan.plan.name,
                },
                messages.WARNING,
            )

    @admin.action(description=_("プラン変更を登録する（翌月1日から適用）"))
    def schedule_plan_change(self, request: HttpRequest, queryset: QuerySet[Client]):
        now = timezone.now()
        effective = services.plan_change_effective_month(now=now)
        if "apply" in request.POST:
            form = PlanChangeForm(request.POST)
            if form.is_valid():
                for client in queryset:
                    try:
                        result = services.set_plan(
                            client=client,
                            plan=form.cleaned_data["plan"],
                            requested_by=request.user,
                            now=now,
                        )
                    except ValidationError as exc:
                        self.message_user(
                            request, " ".join(exc.messages), messages.ERROR
                        )
                        continue
                    if result.first_plan:
                        self.message_user(
                            request,
                            _(
                                "%(client)s: 最初のプラン「%(plan)s」を %(month)s から登録しました。"
                            )
                            % {
                                "client": client.name,
                                "plan": result.client_plan.plan.name,
                                "month": date_format(
                                    result.effective_month, "YEAR_MONTH_FORMAT"
                                ),
                            },
                            messages.SUCCESS,
                        )
                        warn_of_what_billing_missed(self, request, client)
                        continue
                    self.message_user(
                        request,
                        _("%(client)s: %(month)s から「%(plan)s」に変更します。")
                        % {
                            "client": client.name,
                            "month": date_format(
                                result.effective_month, "YEAR_MONTH_FORMAT"
                            ),
                            "plan": result.client_plan.plan.name,
                        },
                        messages.SUCCESS,
                    )
                    if result.first_plan_moved is not None:
                        say_first_plan_moved(self, request, result.first_plan_moved)
                        warn_of_what_billing_missed(self, request, client)
                    if result.too_frequent:
                        self.message_user(
                            request,
                            _(
                                "%(client)s: 直近12か月でプラン変更が %(count)d 回あります。"
                                "繁忙期に合わせた頻繁な変更はご遠慮いただくようお伝えください。"
                            )
                            % {
                                "client": client.name,
                                "count": result.changes_in_last_12_months,
                            },
                            messages.WARNING,
                        )
                return None
        else:
            form = PlanChangeForm()
        rows = [
            {
                "client": client,
                "current": selectors.plan_in_force(
                    client=client, month=japan_today(now)
                ),
                "changes": services.plan_changes_in_last_12_months(
                    client=client, now=now
                ),
                "first_month": None
                if client.plan_history.exists()
                else services.first_plan_month(client=client, today=japan_today(now)),
            }
            for client in queryset
        ]
        threshold = services.PLAN_CHANGE_WARNING_THRESHOLD
        for row in rows:
            # The change about to be made counts too.
            row["warn"] = row["changes"] + 1 > threshold
            # A wrong plan registered for this month is corrected, not changed.
            row["correctable"] = row["current"] is not None and (
                services.plan_correctable(
                    client=row["client"],
                    client_plan=row["current"],
                    today=japan_today(now),
                )
            )
        return _action_page(
            self,
            request,
            "admin/clients/client/plan_change.html",
            action="schedule_plan_change",
            title=_("プラン変更の登録"),
            form=form,
            rows=rows,
            queryset=queryset,
            effective_month=effective,
        )

    def _the_one_client(
        self, request: HttpRequest, queryset: QuerySet[Client], refusal: str
    ) -> Client | None:
        """The client an action for one client was run on, or None (``refusal``
        said) when several were selected."""
        if queryset.count() != 1:
            self.message_user(request, refusal, messages.ERROR)
            return None
        return queryset.get()

    @admin.action(description=_("今月のプランを訂正する（登録の誤り・請求前のみ）"))
    def correct_plan(self, request: HttpRequest, queryset: QuerySet[Client]):
        client = self._the_one_client(
            request, queryset, _("プランの訂正は顧客を1件だけ選んで行ってください。")
        )
        if client is None:
            return None
        today = japan_today()
        form = PlanChangeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                client_plan, previous = services.correct_plan(
                    client=client, plan=form.cleaned_data["plan"], today=today
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request,
                    _(
                        "%(client)s: %(month)s からのプランを「%(old)s」から"
                        "「%(new)s」に訂正しました。"
                    )
                    % {
                        "client": client.name,
                        "month": date_format(
                            client_plan.effective_month, "YEAR_MONTH_FORMAT"
                        ),
                        "old": previous.name,
                        "new": client_plan.plan.name,
                    },
                    messages.SUCCESS,
                )
                return None
        current = selectors.plan_in_force(client=client, month=today)
        return _action_page(
            self,
            request,
            "admin/clients/client/plan_correction.html",
            action="correct_plan",
            title=_("プランの訂正: %(client)s") % {"client": client.name},
            form=form,
            client=client,
            current=current,
            correctable=current is not None
            and services.plan_correctable(
                client=client, client_plan=current, today=today
            ),
            queryset=queryset,
        )

    @admin.action(description=_("番号を貸し出す"))
    def assign_number(self, request: HttpRequest, queryset: QuerySet[Client]):
        client = self._the_one_client(
            request, queryset, _("番号の貸し出しは顧客を1件だけ選んで行ってください。")
        )
        if client is None:
            return None
        today = japan_today()
        form = AssignNumberForm(
            request.POST if "apply" in request.POST else None,
            initial={"assigned_on": today},
            today=today,
        )
        if "apply" in request.POST and form.is_valid():
            try:
                assignment = services.assign_number(
                    lent_number=form.cleaned_data["number"],
                    client=client,
                    use=form.cleaned_data["use"],
                    assigned_on=form.cleaned_data["assigned_on"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request,
                    _("%(number)s を %(client)s に「%(use)s」で貸し出しました。")
                    % {
                        "number": assignment.number.display,
                        "client": client.name,
                        "use": assignment.get_use_display(),
                    },
                    messages.SUCCESS,
                )
                # A lending dated back into a month already billed.
                warn_of_what_billing_missed(self, request, client)
                extras = selectors.monthly_extras(client=client, month=japan_today())
                if extras.extra_numbers:
                    self.message_user(
                        request,
                        _("追加番号 %(count)d 件: 月額 %(yen)s 円が加算されます。")
                        % {
                            "count": extras.extra_numbers,
                            "yen": f"{extras.extra_numbers_yen:,}",
                        },
                        messages.INFO,
                    )
                return None
        return _action_page(
            self,
            request,
            "admin/clients/client/assign_number.html",
            action="assign_number",
            title=_("番号の貸し出し: %(client)s") % {"client": client.name},
            form=form,
            client=client,
            queryset=queryset,
        )


@admin.register(LentNumber)
class LentNumberAdmin(Listed050Warning, SimpleHistoryAdmin):
    form = LentNumberAdminForm
    list_display = ["number_shown", "kind", "holder", "note"]
    list_filter = ["kind"]
    search_fields = ["number", "note"]

    @admin.display(description=_("番号"), ordering="number")
    def number_shown(self, obj: LentNumber) -> str:
        return obj.display

    def assignments_shown(self, obj: LentNumber) -> QuerySet[NumberAssignment]:
        return obj.assignments.all()

    def get_queryset(self, request: HttpRequest) -> QuerySet[LentNumber]:
        # Each row says who holds the number or until when it rests: its
        # lendings read with the page's rows, not two queries per row.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "assignments",
                    queryset=NumberAssignment.objects.select_related("client"),
                    to_attr="lendings",
                )
            )
        )

    @admin.display(description=_("貸出先"))
    def holder(self, obj: LentNumber) -> str:
        lendings: list[NumberAssignment] = obj.lendings  # type: ignore[attr-defined]
        current = next((a for a in lendings if a.released_on is None), None)
        if current and current.client.contract_ended_before(japan_today()):
            # Until the hourly job returns it (or while it cannot run): the
            # number still reaches the former client, and is not free either.
            return _("%(client)s（%(use)s）: 契約終了（%(day)s）、返却の処理待ち") % {
                "client": current.client.name,
                "use": current.get_use_display(),
                "day": format_day(current.client.cancelled_on),
            }
        if current:
            use = _("（%(note)s）") % {"note": current.get_use_display()}
            return f"{current.client.name}{use}"
        returns = [a.released_on for a in lendings if a.released_on is not None]
        available = rest_ends_on(max(returns)) if returns else None
        if available and available > japan_today():
            return _("休止中（%(date)s から貸出可）") % {"date": format_day(available)}
        return _("空き")


@admin.register(NumberAssignment)
class NumberAssignmentAdmin(Listed050Warning, SimpleHistoryAdmin):
    list_display = ["number", "client", "use", "assigned_on", "released_on"]
    list_filter = ["use", ("released_on", admin.EmptyFieldListFilter)]
    search_fields = ["number__number", "client__name"]
    actions = ["release_numbers"]

    def has_add_permission(self, request) -> bool:
        return False  # lend numbers with the client action, which checks every rule

    def has_delete_permission(self, request, obj=None) -> bool:
        # Return a number instead: its rest (quarantine) and the fee history
        # both read these rows.
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["number", "client", "use", "assigned_on", "released_on"]

    def assignments_shown(self, obj: NumberAssignment) -> QuerySet[NumberAssignment]:
        return NumberAssignment.objects.filter(pk=obj.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        # The page's 返却 button posts the list's action for this lending
        # (admin/clients/numberassignment/change_form.html). Nothing on the
        # page is edited: no 保存 that would save nothing.
        extra_context = {
            **(extra_context or {}),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "show_save": False,
            "show_save_and_continue": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("選んだ番号を返却する"))
    def release_numbers(
        self, request: HttpRequest, queryset: QuerySet[NumberAssignment]
    ):
        today = japan_today()
        assignments = list(queryset.select_related("number", "client"))
        form = ReleaseNumberForm(
            request.POST if "apply" in request.POST else None,
            initial={"released_on": today},
        )
        if "apply" in request.POST and form.is_valid():
            for assignment in assignments:
                try:
                    services.release_number(
                        assignment=assignment,
                        released_on=form.cleaned_data["released_on"],
                        today=today,
                    )
                except ValidationError as exc:
                    self.message_user(
                        request,
                        f"{assignment.number.display}: {' '.join(exc.messages)}",
                        messages.ERROR,
                    )
                else:
                    self.message_user(
                        request,
                        _(
                            "%(number)s を %(client)s から %(date)s 付けで返却しました。"
                            "休止期間のあと再び貸し出せます。"
                        )
                        % {
                            "number": assignment.number.display,
                            "client": assignment.client.name,
                            "date": format_day(form.cleaned_data["released_on"]),
                        },
                        messages.SUCCESS,
                    )
            return None
        return _action_page(
            self,
            request,
            "admin/clients/numberassignment/release.html",
            action="release_numbers",
            title=_("番号の返却"),
            form=form,
            assignments=assignments,
        )


@admin.register(ReportRecipient)
class ReportRecipientAdmin(SimpleHistoryAdmin):
    form = ReportRecipientAdminForm
    # A revert posts the same form as an edit (the client stays read-only).
    history_revert_allowed = True
    # Also an inline row of its client's page, which saves under the client's
    # lock (ClientAdminForm): this page takes it first too, so of the two
    # saved at once the second is refused, not saved over the first
    # (config.admin_site, GuardedAdminMixin._stored_version).
    row_locked_under = "client"
    list_display = [
        "name",
        "client",
        "pc_email",
        "mobile_email",
        "active_from",
        "active_to",
    ]
    list_filter = [("active_to", admin.EmptyFieldListFilter)]
    search_fields = ["name", "pc_email", "mobile_email", "client__name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # set 報告終了日 instead: the monthly fee counts the peak

    def get_readonly_fields(self, request, obj=None):
        # A recipient belongs to one client for life: moved to another, it would
        # leave the old client's fee history counting a stranger's recipient.
        return ["client"] if obj is not None else []

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        # A recipient dated back into a month already billed.
        warn_of_what_billing_missed(self, request, obj.client)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):  # type: ignore[no-untyped-def]
        warn_of_what_billing_missed(self, request, obj.client)
        return super().response_change(request, obj)


# What a user may do follows 役割 (User.role; every admin is a superuser, see
# UserAdmin.save_model): Django's groups and per-user permissions grant nothing
# here, and their menu and the user's pickers only puzzled the office.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    list_display = [
        "username",
        "last_name",
        "first_name",
        "role",
        "client",
        "is_active",
    ]
    list_filter = ["role", "is_active"]
    fieldsets = (
        *(
            (
                name,
                {
                    **options,
                    "fields": [
                        f
                        for f in options["fields"]
                        if f not in ("groups", "user_permissions")
                    ],
                },
            )
            for name, options in DjangoUserAdmin.fieldsets
        ),
        (_("役割"), {"fields": ["role", "client"]}),
    )
    filter_horizontal = ()
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("役割"), {"fields": ["role", "client"]}),
    )
    # Facts the system records, not settings: a typed year 1 was stored on
    # PostgreSQL but could not be read back, and broke the user's pages and login.
    # The admin-site flags follow the role (save_model), so they are shown only.
    readonly_fields = ["last_login", "date_joined", "is_staff", "is_superuser"]
    actions = ["send_login_invitation"]

    @admin.action(description=_("ログイン案内（パスワード設定）メールを送る"))
    def send_login_invitation(self, request: HttpRequest, queryset: QuerySet[User]):
        """Mails each user a link to set their own password (the reset's
        link, clients.password_reset): the admin never types nor tells one."""
        base_url = settings.PORTAL_BASE_URL or request.build_absolute_uri("/")
        sent, skipped, failed = [], [], []
        for user in queryset.order_by("username"):
            if not user.is_active or not user.email:
                skipped.append(user.get_username())
                continue
            try:
                password_reset.send_login_link(
                    user=user, base_url=base_url, invitation=True
                )
            except password_reset.LoginLinkError:
                failed.append(user.get_username())
            else:
                sent.append(f"{user.get_username()}（{user.email}）")
        joined = _("、").join
        if sent:
            self.message_user(
                request,
                _(
                    "ログイン案内メールを送信しました: %(users)s。リンクの有効期限は"
                    "%(validity)sです。期限が過ぎたら、もう一度送ってください。"
                )
                % {"users": joined(sent), "validity": password_reset.link_validity()},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                _(
                    "メールアドレスがないか、無効のユーザーには送っていません: "
                    "%(users)s。メールアドレスを登録し「有効」にしてから送ってください。"
                )
                % {"users": joined(skipped)},
                messages.WARNING,
            )
        if failed:
            self.message_user(
                request,
                _(
                    "メールサーバーにつながらず、送れませんでした: %(users)s。"
                    "しばらくたってから、もう一度送ってください。"
                )
                % {"users": joined(failed)},
                messages.ERROR,
            )
        # The button of a user's page (admin/clients/user/change_form.html)
        # leads back to that page.
        users = list(queryset[:2])
        if request.POST.get("from_change_page") and len(users) == 1:
            return redirect("admin:clients_user_change", users[0].pk)
        return None

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # 役割 decides what a user reaches: an admin the admin site and billing,
        # an operator the console, a client user the portal. A new admin could
        # not open the admin site; an operator could be given it.
        is_admin_role = obj.role == User.Role.ADMIN
        obj.is_staff = obj.is_superuser = is_admin_role
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Untick 有効 instead (Django's own advice on that box): deleting a user
        # blanked who logged each call and made each correction, invoice credit
        # and request, for good.
        return False

    def user_change_password(self, request, id, form_url=""):  # type: ignore[no-untyped-def]
        # An admin sets others' passwords here, without knowing them. Their own
        # goes through the staff page, which asks for the current one: else a
        # session left open on a shared PC could take over the account.
        if str(id) == str(request.user.pk):
            return redirect("password_change")
        return super().user_change_password(request, id, form_url)


@admin.register(ClientPlan)
class ClientPlanAdmin(SimpleHistoryAdmin):
    """Read-only: plan changes go through the client action (month rule, warning);
    this page shows the history of every row."""

    list_display = ["client", "effective_month", "plan", "requested_at", "requested_by"]
    list_filter = ["plan"]
    search_fields = ["client__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
