"""Client portal pages. Every view runs behind ``client_required`` and reads only
through the client it sets: objects of another client are a 404, never a 403,
so ids of other clients' objects cannot even be probed."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import PasswordChangeDoneView
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Least
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from answering.models import Call, caller_number_text
from answering.selectors import nuisance_counts, nuisance_counts_among
from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from billing.selectors import (
    counted_calls_for_invoice,
    invoice_notice_addresses,
    invoices_for_client,
    month_to_date_usage,
)
from clients.models import (
    EXTRA_RECIPIENT_FEE_YEN,
    FREE_RECIPIENT_PERSONS,
    Client,
    OperatorNotice,
    ReportRecipient,
)
from clients.months import japan_today
from clients.selectors import monthly_extras, plan_in_force
from clients.services import (
    PLAN_CHANGE_WARNING_THRESHOLD,
    plan_change_effective_month,
    plan_changes_in_last_12_months,
    post_operator_notice,
    withdraw_operator_notice,
)
from clients.views import PasswordChangeView
from portal import advice, csv_export, display, selectors, services
from portal.access import client_required, portal_client
from portal.forms import (
    BillingEmailChangeRequestForm,
    CancellationRequestForm,
    HistoryFilterForm,
    OperatorNoticeForm,
    PlanChangeRequestForm,
    RecipientChangeRequestForm,
)
from portal.models import (
    BillingEmailChangeRequest,
    CancellationRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    RequestStatus,
    cancellation_days,
    pro_rata_from,
)
from reporting.selectors import report_status_by_call


@require_GET
@client_required
def home(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    today = japan_today()
    term = selectors.contract_term(client=client, today=today)
    # After the contract's end this month has nothing billed and no call
    # answered: the page shows the contract's last month, to its last day.
    usage_day = client.cancelled_on if term.ended and client.cancelled_on else today
    usage = month_to_date_usage(client=client, today=usage_day)
    # Outside billed days (free trial, before the contract) billing reports no
    # counted calls; the client still sees how many calls were answered.
    unbilled_usage = (
        None if usage.billed else selectors.month_usage(client=client, today=usage_day)
    )
    open_requests = (
        PlanChangeRequest.objects.filter(client=client, status="open").count()
        + RecipientChangeRequest.objects.filter(client=client, status="open").count()
        + BillingEmailChangeRequest.objects.filter(client=client, status="open").count()
        + CancellationRequest.objects.filter(client=client, status="open").count()
    )
    return render(
        request,
        "portal/home.html",
        {
            "client": client,
            "usage": usage,
            "unbilled_usage": unbilled_usage,
            "contract_ended": term.ended,
            "contract_ends_on": term.ends_on,
            "trial_ends_on": term.trial_ends_on,
            "meter_percent": min(
                100, usage.counted_calls * 100 // max(usage.included_calls, 1)
            ),
            "remaining_included": max(usage.included_calls - usage.counted_calls, 0),
            "open_requests": open_requests,
            "undelivered": selectors.undelivered_reports(client=client),
        },
    )


@require_http_methods(["GET", "POST"])
@client_required
def notices(request: HttpRequest) -> HttpResponse:
    """The client's notices to the operators (away, closed, a call expected):
    those in force and to come, and a form to add one."""
    client = portal_client(request)
    today = japan_today()
    contract_ended = client.contract_ended_before(today)
    form = OperatorNoticeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not contract_ended and form.is_valid():
        try:
            post_operator_notice(
                client=client,
                written_by=request.user,  # type: ignore[arg-type]
                **form.cleaned_data,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("お知らせを登録しました。期間中、オペレーターの画面に表示されます。"),
            )
            return redirect("portal:notices")
    rows = list(
        OperatorNotice.objects.filter(client=client)
        .open_on(today)
        .order_by("first_day", "id")
    )
    return render(
        request,
        "portal/notices.html",
        {
            "client": client,
            "today": today,
            "form": form,
            "contract_ended": contract_ended,
            "current": [n for n in rows if n.first_day <= today],
            "coming": [n for n in rows if n.first_day > today],
        },
    )


@require_http_methods(["GET", "POST"])
@client_required
def notice_end(request: HttpRequest, notice_id: int) -> HttpResponse:
    """End a notice before its last day (or drop one not yet begun). The list's
    button posts here at once; a GET (a link opened again) asks first."""
    client = portal_client(request)
    notice = get_object_or_404(OperatorNotice, pk=notice_id, client=client)
    today = japan_today()
    if request.method == "GET":
        return render(
            request,
            "portal/notice_end.html",
            {
                "notice": notice,
                "today": today,
                "is_open": notice.withdrawn_at is None and notice.last_day >= today,
            },
        )
    if withdraw_operator_notice(notice=notice, withdrawn_by=request.user):  # type: ignore[arg-type]
        messages.success(request, _("お知らせを終了しました。"))
    else:
        messages.info(request, _("このお知らせはすでに終了しています。"))
    return redirect("portal:notices")


def _history_form(request: HttpRequest) -> HistoryFilterForm:
    return HistoryFilterForm(request.GET or None)


def _render_call_list(
    request: HttpRequest,
    *,
    client: Client,
    form: HistoryFilterForm,
    page: selectors.HistoryPage | None,
    status: int = 200,
) -> HttpResponse:
    calls = page.calls if page else []
    return render(
        request,
        "portal/call_list.html",
        {
            "form": form,
            "page": page,
            "rows": display.history_rows(
                calls,
                report_status=report_status_by_call([c.pk for c in calls]),
                # Repeat harassers: one query, for the nuisance calls on the page.
                nuisance_counts=nuisance_counts(
                    client_id=client.pk,
                    caller_numbers=[c.caller_number for c in calls if c.is_nuisance],
                ),
            )
            if page
            else [],
            # One reverse() for the page instead of one per row.
            "call_url_prefix": reverse("portal:calls"),
            "addressees": selectors.addressee_suggestions(client=client),
            # The extra filters stay folded on a phone unless they are in use
            # (a date with an error must be seen).
            "show_filters": any(
                request.GET.get(name)
                for name in ("date_from", "date_to", "category", "addressee")
            ),
        },
        status=status,
    )


@require_GET
@client_required
def call_list(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    form = _history_form(request)
    page = None
    if form.is_bound and not form.is_valid():
        pass  # the form shows its errors; nothing typed is lost
    else:
        filters = form.to_filters() if form.is_bound else selectors.HistoryFilters()
        page = selectors.call_history(
            client=client,
            filters=filters,
            before=selectors.Cursor.decode(request.GET.get("before", "")),
            after=selectors.Cursor.decode(request.GET.get("after", "")),
        )
    return _render_call_list(request, client=client, form=form, page=page)


@require_GET
@client_required
def call_export(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    form = _history_form(request)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("条件に誤りがあるため CSV を作成できませんでした。"))
        return _render_call_list(
            request, client=client, form=form, page=None, status=400
        )
    filters = form.to_filters() if form.is_bound else selectors.HistoryFilters()
    calls = selectors.calls_for_export(
        client=client, filters=filters, fields=csv_export.EXPORT_FIELDS
    )
    counts = nuisance_counts_among(
        client_id=client.pk,
        calls=selectors.filtered_calls(client=client, filters=filters),
    )
    response = StreamingHttpResponse(
        csv_export.stream_csv(csv_export.call_rows(calls, nuisance_counts=counts)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"calls-{japan_today():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@client_required
def call_detail(request: HttpRequest, call_id: int) -> HttpResponse:
    client = portal_client(request)
    call = Call.objects.reported().filter(pk=call_id, client=client).first()
    if call is None:
        # Reports link here: a person receiving several clients' reports may be
        # logged in as another of them. Still a 404 that tells nothing of the
        # call (another client's, a sales call or none), but it says who is
        # logged in and how to open the link as the account it was sent to.
        return render(
            request,
            "portal/call_not_found.html",
            {
                "client": client,
                "login_next": f"{reverse('login')}?"
                + urlencode({"next": request.path}),
            },
            status=404,
        )
    return render(
        request,
        "portal/call_detail.html",
        {
            "call": call,
            # As the history list shows it: 非通知 when withheld, blank once erased.
            "caller_number": caller_number_text(
                call.caller_number, erased=call.personal_data_erased_at is not None
            ),
            "deliveries": selectors.call_deliveries(call=call),
            "corrections": selectors.call_corrections(call=call),
        },
    )


def _request_summary(change_request: RecipientChangeRequest) -> str:
    """「2026/11/01 10:00 停止（山田太郎）」: which request, for a message."""
    return _("%(when)s %(kind)s（%(who)s）") % {
        "when": date_format(
            timezone.localtime(change_request.requested_at), "SHORT_DATETIME_FORMAT"
        ),
        "kind": change_request.get_kind_display(),
        "who": change_request.who,
    }


@require_http_methods(["GET", "POST"])
@client_required
def recipients(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    today = japan_today()
    # After the contract's last day there is nobody left to report to: the page
    # says so and takes no request (the service refuses one too).
    contract_ended = client.contract_ended_before(today)
    form = None
    if not contract_ended:
        form = RecipientChangeRequestForm(
            request.POST if request.method == "POST" else None,
            client=client,
            today=today,
        )
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.request_recipient_change(
                client=client,
                kind=data["kind"],
                recipient=data.get("recipient"),
                name=data.get("name", ""),
                pc_email=data.get("pc_email", ""),
                mobile_email=data.get("mobile_email", ""),
                desired_on=data.get("desired_on"),
                message=data.get("message", ""),
                requested_by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not result.created:
                messages.info(
                    request,
                    _(
                        "同じ内容のご依頼（%(request)s）をすでにお受けしています。"
                        "担当者が設定するまでお待ちください。"
                    )
                    % {"request": _request_summary(result.change_request)},
                )
                return redirect("portal:recipients")
            messages.success(
                request,
                _(
                    "報告先の変更を受け付けました。担当者が設定し、完了したらこの画面に表示されます。"
                ),
            )
            for replaced in result.replaced:
                messages.info(
                    request,
                    _(
                        "同じ方への以前のご依頼（%(request)s）は、このご依頼に置き換えました。"
                    )
                    % {"request": _request_summary(replaced)},
                )
            return redirect("portal:recipients")
    if contract_ended:
        # Nothing is reported any more: the page shows who received the reports
        # on the contract's last day, and that their reports ended then.
        last_day = client.cancelled_on
        current = list(
            ReportRecipient.objects.filter(client=client)
            .active_on(last_day)
            .annotate(
                reported_to=Least(
                    Coalesce("active_to", Value(last_day)), Value(last_day)
                )
            )
            .order_by("active_from", "id")
        )
        upcoming = []
    else:
        current = list(
            ReportRecipient.objects.filter(client=client)
            .active_on(today)
            .annotate(reported_to=F("active_to"))
            .order_by("active_from", "id")
        )
        upcoming = list(
            ReportRecipient.objects.filter(
                client=client, active_from__gt=today
            ).order_by("active_from", "id")
        )
    # As the invoice counts them: from the first billed day (none in the trial).
    billed_from = client.first_billed_day(today)
    extras = monthly_extras(client=client, month=today, first_day=billed_from)
    client_requests = RecipientChangeRequest.objects.filter(
        client=client
    ).select_related("recipient")
    return render(
        request,
        "portal/recipients.html",
        {
            "client": client,
            "extras_billed": billed_from is not None,
            "form": form,
            "contract_ended": contract_ended,
            "current": current,
            "upcoming": upcoming,
            "extras": extras,
            # Said before the client asks (the service refuses it too).
            "chatwork_only_note": services.reports_by_chatwork_only_message()
            if services.email_recipient_unreported(
                client=client, kind=RecipientChangeRequest.Kind.ADD
            )
            else "",
            "free_persons": FREE_RECIPIENT_PERSONS,
            "fee_yen": EXTRA_RECIPIENT_FEE_YEN,
            "open_requests": client_requests.filter(status=RequestStatus.OPEN).order_by(
                "requested_at", "id"
            ),
            "closed_requests": client_requests.exclude(
                status=RequestStatus.OPEN
            ).order_by("-requested_at", "-id")[:10],
        },
    )


@require_http_methods(["GET", "POST"])
@client_required
def plan(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    today = japan_today()
    effective_month = plan_change_effective_month()
    contract_ended = client.contract_ended_before(today)
    # Ended, or ends before a change could apply: nothing left to change.
    can_change = not client.contract_ended_before(effective_month)
    current = None if contract_ended else plan_in_force(client=client, month=today)
    # After the end the page names the plan the contract ended on, not a current one.
    last_plan = (
        plan_in_force(client=client, month=client.cancelled_on)
        if contract_ended and client.cancelled_on
        else None
    )
    from_effective = plan_in_force(client=client, month=effective_month)
    open_request = (
        PlanChangeRequest.objects.filter(
            client=client, status="open", effective_month=effective_month
        )
        .select_related("plan")
        .first()
    )
    form = PlanChangeRequestForm(
        request.POST if request.method == "POST" and can_change else None,
        effective_month=effective_month,
        plan_from_effective_month=from_effective.plan if from_effective else None,
        has_open_request=open_request is not None,
        initial={"plan": open_request.plan if open_request else None},
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and from_effective is not None
        and form.cleaned_data["plan"] == from_effective.plan
    ):
        services.withdraw_plan_change(client=client)
        messages.success(
            request,
            _("お申し込みを取り消しました。%(month)s分からも「%(plan)s」のままです。")
            % {
                "plan": from_effective.plan.name,
                "month": date_format(effective_month, "YEAR_MONTH_FORMAT"),
            },
        )
        return redirect("portal:plan")
    if request.method == "POST" and form.is_valid():
        try:
            change_request = services.request_plan_change(
                client=client,
                plan=form.cleaned_data["plan"],
                message=form.cleaned_data["message"],
                requested_by=request.user,
            )
        except ValidationError as exc:
            # A cancellation saved since this page read the contract.
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _(
                    "プラン変更（%(plan)s）を受け付けました。%(month)s分から適用されます。"
                )
                % {
                    "plan": change_request.plan.name,
                    "month": date_format(
                        change_request.effective_month, "YEAR_MONTH_FORMAT"
                    ),
                },
            )
            return redirect("portal:plan")
    # The prices a change would be billed at: those of the month it applies from.
    plans = []
    for candidate in form.fields["plan"].queryset:
        plans.append({"plan": candidate, "price": candidate.price_on(effective_month)})
    changes = plan_changes_in_last_12_months(client=client)
    return render(
        request,
        "portal/plan.html",
        {
            "client": client,
            "form": form,
            "current": current,
            "last_plan": last_plan,
            "from_effective": from_effective if can_change else None,
            "effective_month": effective_month,
            "contract_ended": contract_ended,
            "can_change": can_change,
            "open_request": open_request,
            "plans": plans,
            "changes_in_12_months": changes,
            # Which plan to choose for the year: nothing to choose once no
            # change can apply.
            "advice": advice.plan_advice(client=client) if can_change else None,
            "too_many_changes": changes >= PLAN_CHANGE_WARNING_THRESHOLD,
        },
    )


@require_GET
@client_required
def request_list(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    return render(
        request,
        "portal/request_list.html",
        {
            "plan_requests": PlanChangeRequest.objects.filter(client=client)
            .select_related("plan")
            .order_by("-requested_at", "-id")[:50],
            "recipient_requests": RecipientChangeRequest.objects.filter(client=client)
            .select_related("recipient")
            .order_by("-requested_at", "-id")[:50],
            "billing_email_requests": BillingEmailChangeRequest.objects.filter(
                client=client
            ).order_by("-requested_at", "-id")[:50],
            "cancellation_requests": CancellationRequest.objects.filter(
                client=client
            ).order_by("-requested_at", "-id")[:50],
        },
    )


@require_GET
@client_required
def plan_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    change_request = get_object_or_404(
        PlanChangeRequest.objects.select_related("plan"),
        pk=request_id,
        client=portal_client(request),
    )
    return render(
        request,
        "portal/request_detail.html",
        {"change_request": change_request, "kind": "plan"},
    )


@require_GET
@client_required
def recipient_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    change_request = get_object_or_404(
        RecipientChangeRequest.objects.select_related("recipient"),
        pk=request_id,
        client=portal_client(request),
    )
    return render(
        request,
        "portal/request_detail.html",
        {"change_request": change_request, "kind": "recipient"},
    )


@require_GET
@client_required
def billing_email_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    change_request = get_object_or_404(
        BillingEmailChangeRequest, pk=request_id, client=portal_client(request)
    )
    return render(
        request,
        "portal/request_detail.html",
        {"change_request": change_request, "kind": "billing_email"},
    )


@require_GET
@client_required
def cancellation_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    change_request = get_object_or_404(
        CancellationRequest, pk=request_id, client=portal_client(request)
    )
    return render(
        request,
        "portal/request_detail.html",
        {"change_request": change_request, "kind": "cancellation"},
    )


@require_http_methods(["GET", "POST"])
@client_required
def cancellation(request: HttpRequest) -> HttpResponse:
    """Asking to end the contract at a month end (an admin sets the 解約日),
    confirmed on a summary of what happens before it is sent; or what
    applies instead (already cancelled, in the trial, a request open)."""
    client = portal_client(request)
    today = japan_today()
    if request.method == "POST" and "withdraw" in request.POST:
        if services.withdraw_cancellation(client=client):
            messages.success(
                request,
                _("解約のお申し込みを取り消しました。ご契約はこのまま続きます。"),
            )
        else:
            messages.info(request, _("受付中のお申し込みはありません。"))
        return redirect("portal:cancellation")
    term = selectors.contract_term(client=client, today=today)
    open_request = CancellationRequest.objects.filter(
        client=client, status=RequestStatus.OPEN
    ).first()
    # Only a contract going on with no end set and no request open is asked
    # about; the page says what applies otherwise (the service refuses too).
    can_request = (
        client.cancelled_on is None
        and open_request is None
        and term.trial_ends_on is None
        and client.contract_started_on is not None
    )
    days = cancellation_days(client=client, today=today)
    form = CancellationRequestForm(
        request.POST if request.method == "POST" and can_request else None,
        days=days,
        client=client,
    )
    confirming = False
    if form.is_bound and form.is_valid():
        if "confirm" in request.POST:
            data = form.cleaned_data
            try:
                result = services.request_cancellation(
                    client=client,
                    last_day=data["last_day"],
                    reason=data["reason"],
                    message=data["message"],
                    requested_by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _(
                        "解約のお申し込みを受け付けました。担当者が手続きし、"
                        "完了したらこの画面でお知らせします。"
                    )
                    if result.created
                    else _(
                        "同じ内容のお申し込みをすでにお受けしています。"
                        "担当者の手続きをお待ちください。"
                    ),
                )
                return redirect("portal:cancellation")
        else:
            # "back" shows the form again as filled in.
            confirming = "back" not in request.POST
    last_day = form.cleaned_data["last_day"] if confirming else None
    # The last day the page's summary is about (none once the contract ended).
    summary_day = term.ends_on or (open_request.last_day if open_request else last_day)
    return render(
        request,
        "portal/cancellation.html",
        {
            "client": client,
            "term": term,
            "open_request": open_request,
            "can_request": can_request,
            "form": form,
            "confirming": confirming,
            "last_day": last_day,
            "pro_rata_from": pro_rata_from(client=client, last_day=summary_day)
            if summary_day
            else None,
            # A contract set to end while still in its free trial (an admin
            # sets it; the page asks no trial client): nothing is ever billed.
            "nothing_billed": summary_day is not None
            and client.first_billed_day(summary_day) is None,
            # The intro, before a day is chosen, names the first month end
            # offered when it is billed by days.
            "first_pro_rata_from": pro_rata_from(client=client, last_day=days[0]),
            # Whom to call to move a date already set, or to end a trial.
            "company_name": settings.COMPANY_NAME,
            "company_phone": settings.COMPANY_PHONE,
            "reason_label": dict(form.fields["reason"].choices).get(
                form.cleaned_data["reason"]
            )
            if confirming and form.cleaned_data["reason"]
            else "",
            # The numbers that stop reaching the client after its last day.
            "lent_numbers": list(
                client.number_assignments.current()
                .select_related("number")
                .order_by("assigned_on", "id")
            )
            if confirming or open_request or term.ends_on
            else [],
        },
    )


def _open_billing_email_request(client: Client) -> BillingEmailChangeRequest | None:
    return BillingEmailChangeRequest.objects.filter(
        client=client, status=RequestStatus.OPEN
    ).first()


@require_http_methods(["GET", "POST"])
@client_required
def billing_email(request: HttpRequest) -> HttpResponse:
    """Where invoice notices go, and a request to set, change or clear the
    billing address (an admin applies it)."""
    client = portal_client(request)
    open_request = _open_billing_email_request(client)
    if request.method == "POST" and "withdraw" in request.POST:
        if services.withdraw_billing_email_change(client=client):
            messages.success(request, _("お申し込みを取り消しました。"))
        else:
            messages.info(request, _("受付中のお申し込みはありません。"))
        return redirect("portal:billing_email")
    form = BillingEmailChangeRequestForm(
        request.POST if request.method == "POST" else None,
        current=client.billing_email,
        has_open_request=open_request is not None,
        # The wish already sent, else the address in force: never empty by
        # itself, as an empty address asks to go back to the recipients.
        initial={
            "billing_email": open_request.billing_email
            if open_request
            else client.billing_email
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.request_billing_email_change(
                client=client,
                billing_email=form.cleaned_data["billing_email"],
                message=form.cleaned_data["message"],
                requested_by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if result.change_request is None:
                # The address in force, with a request open: the last wish wins.
                messages.success(
                    request, _("お申し込みを取り消しました。送り先は今のままです。")
                )
            elif result.created:
                messages.success(
                    request,
                    _(
                        "請求書送付先の変更を受け付けました。"
                        "担当者が設定するまでは、今の送り先にお送りします。"
                    ),
                )
            else:
                messages.info(
                    request,
                    _(
                        "同じ内容のお申し込みをすでにお受けしています。"
                        "担当者が設定するまでお待ちください。"
                    ),
                )
            for replaced in result.replaced:
                messages.info(
                    request,
                    _(
                        "以前のお申し込み（%(wish)s）は、このお申し込みに置き換えました。"
                    )
                    % {"wish": replaced.wish},
                )
            return redirect("portal:billing_email")
    return render(
        request,
        "portal/billing_email.html",
        {
            "form": form,
            "open_request": open_request,
            "billing_email": client.billing_email,
            "notice_addresses": invoice_notice_addresses(
                client=client, today=japan_today()
            ),
        },
    )


def _client_invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    """One of this client's invoices that it may see (never a draft), or 404."""
    return get_object_or_404(
        invoices_for_client(client=portal_client(request)), pk=invoice_id
    )


@require_GET
@client_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    client = portal_client(request)
    today = japan_today()
    invoices = list(invoices_for_client(client=client))
    return render(
        request,
        "portal/invoice_list.html",
        {
            "invoices": invoices,
            "preparing_month": selectors.month_of_invoice_in_preparation(
                client=client, invoices=invoices, today=today
            ),
            "billing_email": client.billing_email,
            # Where the next notice goes, as the notice job reads it.
            "notice_addresses": invoice_notice_addresses(client=client, today=today),
            "open_billing_email_request": _open_billing_email_request(client),
        },
    )


@require_GET
@client_required
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _client_invoice(request, invoice_id)
    client = portal_client(request)
    return render(
        request,
        "portal/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "reissues": invoices_for_client(client=client).filter(replaces=invoice),
        },
    )


def _invoice_filename(invoice: Invoice, suffix: str) -> str:
    return f"invoice-{invoice.billing_month:%Y-%m}-{invoice.number_display}{suffix}"


@require_GET
@client_required
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _client_invoice(request, invoice_id)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{_invoice_filename(invoice, ".pdf")}"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@client_required
def invoice_calls(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _client_invoice(request, invoice_id)
    counted = counted_calls_for_invoice(invoice)
    calls = list(counted)
    return render(
        request,
        "portal/invoice_calls.html",
        {
            "invoice": invoice,
            "rows": display.history_rows(
                calls,
                # As the CSV counts them: one query, the numbers read in a
                # subquery, however many calls the month had.
                nuisance_counts=nuisance_counts_among(
                    client_id=invoice.client_id, calls=counted
                ),
            ),
            "call_url_prefix": reverse("portal:calls"),
        },
    )


@require_GET
@client_required
def invoice_calls_csv(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _client_invoice(request, invoice_id)
    counted = counted_calls_for_invoice(invoice)
    calls = counted.values_list(*csv_export.EXPORT_FIELDS).iterator(chunk_size=2000)
    counts = nuisance_counts_among(client_id=invoice.client_id, calls=counted)
    response = StreamingHttpResponse(
        csv_export.stream_csv(csv_export.call_rows(calls, nuisance_counts=counts)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{_invoice_filename(invoice, "-calls.csv")}"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


# The staff pages' templates (templates/registration/), in the portal's layout.
_PORTAL_LAYOUT = {
    "base_template": "portal/base.html",
    "home_url": reverse_lazy("portal:home"),
}
password_change = client_required(
    PasswordChangeView.as_view(
        success_url=reverse_lazy("portal:password_change_done"),
        extra_context=_PORTAL_LAYOUT,
    )
)
password_change_done = client_required(
    PasswordChangeDoneView.as_view(extra_context=_PORTAL_LAYOUT)
)
