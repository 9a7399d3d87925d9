"""Billing pages for admins: preview a month's drafts, issue them (the month's,
or one from its own page), mark paid (or a refund refunded) or take a payment
back, void and reissue, credit, and download PDF/CSV. Operators and clients get
403."""

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import selectors, services
from billing.due_dates import due_date_for
from billing.exports import render_counted_calls_csv, render_invoice_lines_csv
from billing.forms import (
    AdjustmentForm,
    MarkPaidForm,
    MarkRefundedForm,
    MonthForm,
    UndoPaymentForm,
    VoidForm,
)
from billing.models import (
    Invoice,
    InvoiceStatus,
    a_later_invoice_will_come,
    no_later_invoice_advice,
)
from billing.pdf import render_invoice_pdf
from clients.access import admin_required
from clients.models import Client
from clients.months import japan_today, previous_month


def _month_url(month) -> str:  # type: ignore[no-untyped-def]
    return f"{reverse('billing:month')}?month={month:%Y-%m}"


@admin_required
def month_page(request: HttpRequest) -> HttpResponse:
    default = previous_month(japan_today())
    # No month (or an empty one): the default month, not a "required" error.
    form = MonthForm(
        request.GET if request.GET.get("month") else {"month": f"{default:%Y-%m}"}
    )
    form.is_valid()
    month = form.cleaned_data.get("month", default)
    only_drafts = form.cleaned_data.get("status") == InvoiceStatus.DRAFT
    invoices = selectors.invoices_for_month(month=month)
    if only_drafts:
        invoices = invoices.filter(status=InvoiceStatus.DRAFT)
    return render(
        request,
        "billing/month.html",
        {
            "form": form,
            "month": month,
            "invoices": list(invoices),
            "only_drafts": only_drafts,
            "overview": selectors.month_overview(month=month),
            "ended": services.month_has_ended(month),
            "changed": selectors.calls_changed_since_built(month=month),
            "stale": selectors.invoices_differing_from_data(month=month),
            "unsettled": selectors.unsettled_cancellations(month=month),
            "unbilled": selectors.unbilled_contracts(month=month),
            "mid_month_prices": selectors.prices_starting_mid_month(month=month),
        },
    )


def _posted_month(request: HttpRequest):  # type: ignore[no-untyped-def]
    form = MonthForm(request.POST)
    if not form.is_valid():
        for message in form.errors["month"]:
            messages.error(request, message)
        return None
    return form.cleaned_data["month"]


@admin_required
@require_POST
def run_month(request: HttpRequest) -> HttpResponse:
    month = _posted_month(request)
    if month is None:
        return redirect("billing:month")
    try:
        summary = services.bill_month(month=month)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_month_url(month))
    messages.success(
        request,
        _(
            "%(month)s の下書きを %(billed)d 件作成しました（対象外 %(skipped)d 件、"
            "合計 %(total)s 円）。"
        )
        % {
            "month": date_format(month, "YEAR_MONTH_FORMAT"),
            "billed": summary.clients_billed,
            "skipped": summary.clients_skipped,
            "total": f"{summary.total_yen:,}",
        },
    )
    return redirect(_month_url(month))


# Clients named in one message about issuing; the others are counted.
NAMED_IN_MESSAGE = 10


def _html(text: str, **params: object) -> SafeString:
    """``text % params`` as HTML for a message: the words and every plain
    string escaped, the links (built with format_html) kept."""
    # Safe: every part is escaped or built by format_html.
    return mark_safe(
        conditional_escape(text)
        % {
            name: conditional_escape(value) if isinstance(value, str) else value
            for name, value in params.items()
        }
    )


def _names(outcomes, describe, *, more_url: str = "") -> SafeString:  # type: ignore[no-untyped-def]
    """The first clients named; the others counted, linked to ``more_url``
    (where they are all listed) when there is one."""
    named = [describe(outcome) for outcome in outcomes[:NAMED_IN_MESSAGE]]
    if len(outcomes) > NAMED_IN_MESSAGE:
        more = _("ほか %(count)d 件") % {"count": len(outcomes) - NAMED_IN_MESSAGE}
        if more_url:
            more = format_html('<a href="{}">{}</a>', more_url, more)
        named.append(more)
    # Safe: each name is escaped or built by format_html.
    return mark_safe(
        conditional_escape(_("、")).join(conditional_escape(name) for name in named)
    )


def _draft_link(outcome: services.DraftOutcome) -> str:
    """The client's name, linked to the draft waiting for a look."""
    if outcome.invoice_id is None:
        return outcome.client_name
    return format_html(
        '<a href="{}">{}</a>',
        reverse("billing:invoice", args=[outcome.invoice_id]),
        outcome.client_name,
    )


def _held_change(outcome: services.DraftOutcome) -> SafeString:
    amounts = {
        "name": _draft_link(outcome),
        "was": f"{outcome.was_total_yen or 0:,}",
        "now": f"{outcome.total_yen or 0:,}",
    }
    if outcome.was_total_yen == outcome.total_yen:
        return _html(_("%(name)s（%(now)s 円のまま、明細が変わりました）"), **amounts)
    return _html(_("%(name)s（%(was)s 円 → %(now)s 円）"), **amounts)


def _drafts_url(month: dt.date) -> str:
    """The month's page listing only its drafts."""
    return f"{_month_url(month)}&status={InvoiceStatus.DRAFT}#invoices"


def _issue_messages(
    request: HttpRequest, result: services.IssueResult, *, month: dt.date
) -> None:
    """Say what issuing did, above all what it did not issue as previewed,
    each draft left to look at linked to its page (past the first ones named,
    to the month's drafts)."""
    if result.issued:
        messages.success(
            request, _("%(count)d 件を発行しました。") % {"count": result.issued}
        )
    if result.held:
        messages.warning(
            request,
            _html(
                _(
                    "%(count)d 件は下書きの作成後にデータ（受電の分類、プラン、番号、"
                    "訂正など）が変わっていたため発行せず、今のデータで下書きを"
                    "作り直しました。内容を確認してから、もう一度発行してください: "
                    "%(names)s"
                ),
                count=len(result.held),
                names=_names(result.held, _held_change, more_url=_drafts_url(month)),
            ),
        )
    if result.removed:
        messages.warning(
            request,
            _html(
                _(
                    "%(count)d 件は請求の対象でなくなったため、下書きを削除しました"
                    "（発行していません）: %(names)s"
                ),
                count=len(result.removed),
                names=_names(result.removed, lambda o: o.client_name),
            ),
        )
    if result.added:
        messages.warning(
            request,
            _html(
                _(
                    "%(count)d 件は新たに請求の対象になったため、下書きを作成しました"
                    "（発行していません）。内容を確認してから発行してください: "
                    "%(names)s"
                ),
                count=len(result.added),
                names=_names(
                    result.added,
                    more_url=_drafts_url(month),
                    describe=lambda o: _html(
                        _("%(name)s（%(now)s 円）"),
                        name=_draft_link(o),
                        now=f"{o.total_yen or 0:,}",
                    ),
                ),
            ),
        )
    if not (result.issued or result.held or result.removed or result.added):
        messages.warning(request, _("発行する下書きがありません。"))


@admin_required
@require_POST
def issue_month(request: HttpRequest) -> HttpResponse:
    month = _posted_month(request)
    if month is None:
        return redirect("billing:month")
    try:
        result = services.issue_invoices(month=month)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_month_url(month))
    _issue_messages(request, result, month=month)
    return redirect(_month_url(month))


def _detail_context(invoice: Invoice, **forms) -> dict:  # type: ignore[no-untyped-def]
    changed = next(
        iter(
            selectors.calls_changed_since_built(
                month=invoice.billing_month, invoice_ids=[invoice.pk]
            )
        ),
        None,
    )
    credit_possible = changed is not None and a_later_invoice_will_come(invoice)
    stale = next(
        iter(selectors.invoices_differing_from_data(invoice_ids=[invoice.pk])), None
    )
    adjust_initial: dict[str, Any] = {"submission_id": uuid.uuid4()}
    if (
        changed is not None
        and credit_possible
        and invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID)
        and changed.credit_still_due_yen
    ):
        # What the calls changed since the invoice was built took off: the
        # credit to record, its reason in the invoice's language.
        adjust_initial["amount_yen"] = changed.credit_still_due_yen
        with translation.override(settings.LANGUAGE_CODE):
            adjust_initial["reason"] = _("発行後の受電の訂正")
    elif stale is not None and stale.credit_possible and stale.credit_still_due_yen:
        # What the contract, numbers or recipients changed since took off.
        adjust_initial["amount_yen"] = stale.credit_still_due_yen
        with translation.override(settings.LANGUAGE_CODE):
            adjust_initial["reason"] = _("発行後の契約・番号・報告先の訂正")
    corrections = list(invoice.corrections.select_related("applied_to"))
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "changed": changed,
        "stale": stale,
        "change_advice": selectors.change_advice(
            invoice, changed, credit_possible=credit_possible
        )
        if changed
        else "",
        "paid_form": MarkPaidForm(initial={"paid_on": japan_today()}),
        "refund_form": MarkRefundedForm(initial={"refunded_on": japan_today()}),
        "void_form": VoidForm(),
        "adjust_form": AdjustmentForm(initial=adjust_initial),
        "corrections": corrections,
        # Shown instead of the credit form, which would refuse it (the final
        # invoice of a cancelled client: no later invoice to deduct it from).
        "adjust_refusal": ""
        if a_later_invoice_will_come(invoice)
        else no_later_invoice_advice(invoice),
        # Shown instead of the button taking a payment back, which would
        # refuse it (a later invoice relied on the payment). A refund paid out
        # shows neither.
        "undo_payment_refusal": services.undo_payment_refusal(invoice=invoice)
        if invoice.status == InvoiceStatus.PAID and not invoice.refund_yen
        else "",
        # Shown instead of the void form, which would refuse it.
        "void_refusal": selectors.credits_refusing_reissue(invoice=invoice)
        if invoice.status == InvoiceStatus.ISSUED
        else "",
        # Where the daily job will send the notice still to go, read as the
        # job reads it (at most one query: the client is already loaded).
        "notice_to": _("、").join(
            selectors.invoice_notice_addresses(
                client=invoice.client, today=japan_today()
            )
        )
        if invoice.status == InvoiceStatus.ISSUED
        and invoice.payment_method
        and not invoice.notified_at
        else "",
        "reissues": list(invoice.reissues.all()),
        "unsettled": next(
            iter(selectors.unsettled_cancellations(invoice_ids=[invoice.pk])), None
        ),
    }
    context.update(forms)
    return context


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("client", "replaces")


def _get_invoice(pk: int) -> Invoice:
    return get_object_or_404(_invoices(), pk=pk)


def _gone_draft(
    request: HttpRequest, pk: int, *, issuing: bool = False, file: bool = False
) -> HttpResponse:
    """A draft's page, its 発行する, or its PDF/CSV, after the draft was built
    again under a new id (by a run or a held-back issue, from another screen):
    the client's invoice of that month now, or the month's list, saying why.
    ``issuing``: nothing was issued. ``file``: no file of another invoice is
    sent in its place. 404 for an id that was never an invoice."""
    gone = selectors.gone_draft(invoice_id=pk)
    if gone is None:
        raise Http404
    if gone.now is None:
        if issuing:
            why = _("開いていた下書きは、その後に削除されたため、発行していません。")
        elif file:
            why = _(
                "開いていた下書きは、その後に削除されたため、そのPDF・CSVはありません。"
            )
        else:
            why = _("開いていた下書きは、その後に削除されました。")
        messages.warning(
            request, why + _("この顧客は、この月の請求の対象でなくなりました。")
        )
        return redirect(_month_url(gone.billing_month))
    if issuing:
        why = _(
            "開いていた下書きは、その後に作り直されたため、発行していません。"
            "今の内容を確認してから発行してください。"
        )
    elif file:
        why = _(
            "開いていた下書きは、その後に作り直されたため、そのPDF・CSVはありません。"
            "この顧客の今の請求書を表示しています。PDF・CSVはこの画面から開いてください。"
        )
    else:
        why = _(
            "開いていた下書きは、その後に作り直されました（「下書きを作成・更新」や、"
            "データが変わった下書きの発行で作り直されます）。"
            "この顧客の今の請求書を表示しています。"
        )
    messages.warning(request, why)
    return redirect("billing:invoice", pk=gone.now.pk)


@admin_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoices().filter(pk=pk).first()
    if invoice is None:
        return _gone_draft(request, pk)
    return render(request, "billing/invoice.html", _detail_context(invoice))


def _form_or_rerender(request, invoice, name, form):  # type: ignore[no-untyped-def]
    return render(
        request,
        "billing/invoice.html",
        _detail_context(invoice, **{name: form}),
        status=400,
    )


@admin_required
@require_POST
def issue_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """発行する on a draft's page: as the month's list issues, for this draft
    alone (no confirmation first, as there)."""
    invoice = _invoices().filter(pk=pk).first()
    if invoice is None:
        return _gone_draft(request, pk, issuing=True)
    try:
        result = services.issue_draft(invoice=invoice)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        if not Invoice.objects.filter(pk=invoice.pk).exists():  # built again
            return redirect(_month_url(invoice.billing_month))
        return redirect("billing:invoice", pk=invoice.pk)
    if result.issued_ids:
        issued = Invoice.objects.get(pk=result.issued_ids[0])
        messages.success(
            request,
            _("請求書 %(number)s を発行しました。") % {"number": issued.number_display},
        )
        return redirect("billing:invoice", pk=issued.pk)
    _issue_messages(request, result, month=invoice.billing_month)
    if result.held:  # built again: the new draft, to look at
        return redirect("billing:invoice", pk=result.held[0].invoice_id)
    return redirect(_month_url(invoice.billing_month))  # deleted


def _settle_form_or_refusal(request, invoice, name, form):  # type: ignore[no-untyped-def]
    """A settlement form with a bad date, shown again; or, when the invoice
    cannot be settled that way at all (the page, sent from a stale screen,
    shows no such form), why not, whatever the date."""
    refusal = services.settlement_refusal(invoice=invoice, refund=name == "refund_form")
    if refusal:
        messages.error(request, refusal)
        return redirect("billing:invoice", pk=invoice.pk)
    return _form_or_rerender(request, invoice, name, form)


def _refused(request, invoice, name, form, error):  # type: ignore[no-untyped-def]
    """Show why a service refused what the form asked.

    Errors about the form's own fields go onto the form, shown again with what
    was typed. Any other error is about the invoice (already paid, still a
    draft), whose page may not show this form at all, as after a second click
    on its button: it goes to the messages on the invoice's page, unchanged.
    """
    errors = error.update_error_dict({})
    if not any(field in form.fields for field in errors):
        for message in error.messages:
            messages.error(request, message)
        return redirect("billing:invoice", pk=invoice.pk)
    for field, field_errors in errors.items():
        form.add_error(field if field in form.fields else None, field_errors)
    return _form_or_rerender(request, invoice, name, form)


@admin_required
@require_POST
def mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        return _settle_form_or_refusal(request, invoice, "paid_form", form)
    try:
        services.mark_paid(invoice=invoice, paid_on=form.cleaned_data["paid_on"])
    except ValidationError as error:
        return _refused(request, invoice, "paid_form", form, error)
    messages.success(request, _("入金済みにしました。"))
    # The client's final invoice may have kept the deposit while this one was
    # unpaid: its page and its month's list say so, but the admin is here.
    for unsettled in selectors.unsettled_cancellations(client_ids=[invoice.client_id]):
        if unsettled.invoice.pk != invoice.pk and not unsettled.beyond_contract:
            messages.warning(
                request,
                _("解約月（%(month)s分）の請求書 %(number)s：%(advice)s")
                % {
                    "month": date_format(
                        unsettled.invoice.billing_month, "YEAR_MONTH_FORMAT"
                    ),
                    "number": unsettled.invoice.number_display or _("（下書き）"),
                    "advice": unsettled.advice,
                },
            )
    return redirect("billing:invoice", pk=invoice.pk)


@admin_required
@require_POST
def mark_refunded(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    form = MarkRefundedForm(request.POST)
    if not form.is_valid():
        return _settle_form_or_refusal(request, invoice, "refund_form", form)
    try:
        services.mark_refunded(
            invoice=invoice, refunded_on=form.cleaned_data["refunded_on"]
        )
    except ValidationError as error:
        return _refused(request, invoice, "refund_form", form, error)
    messages.success(request, _("返金済みにしました。"))
    return redirect("billing:invoice", pk=invoice.pk)


def _confirm(  # type: ignore[no-untyped-def]
    request, invoice, *, refusal, form, template, title, action, **context
):
    """The first post of a step the admin confirms first: the page saying what
    will happen (``template``, extending billing/confirm.html), whose 実行する
    posts ``form`` (made with ``confirmed``) to ``action``; or, when the
    service would refuse it anyway (a stale page, a second click), why not,
    on the invoice's page."""
    if refusal:
        messages.error(request, refusal)
        return redirect("billing:invoice", pk=invoice.pk)
    return render(
        request,
        template,
        {
            "invoice": invoice,
            "form": form,
            "title": title,
            "confirm_id": f"{form.prefix}-confirm",
            "action": reverse(action, args=[invoice.pk]),
            **context,
        },
    )


@admin_required
@require_POST
def undo_payment(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    form = UndoPaymentForm(request.POST)
    form.is_valid()  # a hidden flag only: anything but "True" asks first
    if not form.cleaned_data.get("confirmed"):
        # What it changes is seen by the client (未入金 again) and may send the
        # notice: say so first, as for a void.
        return _confirm(
            request,
            invoice,
            refusal=services.undo_payment_refusal(invoice=invoice),
            form=UndoPaymentForm(initial={"confirmed": True}),
            template="billing/undo_payment_confirm.html",
            title=_("入金の記録の取り消しの確認"),
            action="billing:undo_payment",
        )
    try:
        services.undo_payment(invoice=invoice)
    except ValidationError as error:
        return _refused(request, invoice, "undo_payment_form", form, error)
    messages.success(request, _("入金の記録を取り消し、未入金に戻しました。"))
    return redirect("billing:invoice", pk=invoice.pk)


@admin_required
@require_POST
def void_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    form = VoidForm(request.POST)
    if not form.is_valid():
        return _form_or_rerender(request, invoice, "void_form", form)
    if not form.cleaned_data["confirmed"]:
        # Irreversible and seen by the client: say what will happen first.
        return _confirm(
            request,
            invoice,
            refusal=services.void_refusal(invoice=invoice),
            form=VoidForm(
                initial={"reason": form.cleaned_data["reason"], "confirmed": True}
            ),
            template="billing/void_confirm.html",
            title=_("無効にして再発行の確認"),
            action="billing:void",
            reason=form.cleaned_data["reason"],
            new_due_on=due_date_for(invoice.billing_month, issued_on=japan_today()),
        )
    try:
        new = services.void_and_reissue(
            invoice=invoice, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        return _refused(request, invoice, "void_form", form, error)
    if new is None:
        messages.success(
            request,
            _(
                "請求書 %(old)s を無効にしました。現在の契約内容ではこの月の請求がないため、"
                "再発行はしていません。"
            )
            % {"old": invoice.number_display},
        )
        return redirect("billing:invoice", pk=invoice.pk)
    messages.success(
        request,
        _("請求書 %(old)s を無効にし、%(new)s を発行しました。")
        % {"old": invoice.number_display, "new": new.number_display},
    )
    return redirect("billing:invoice", pk=new.pk)


@admin_required
@require_POST
def add_adjustment(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _get_invoice(pk)
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        return _form_or_rerender(request, invoice, "adjust_form", form)
    try:
        services.add_adjustment(
            invoice=invoice,
            amount_yen=form.cleaned_data["amount_yen"],
            reason=form.cleaned_data["reason"],
            created_by=request.user,  # type: ignore[arg-type]
            submission_id=form.cleaned_data["submission_id"],
        )
    except ValidationError as error:
        return _refused(request, invoice, "adjust_form", form, error)
    messages.success(request, _("訂正を登録しました。次回の請求書で減額されます。"))
    return redirect("billing:invoice", pk=invoice.pk)


def _filename(invoice: Invoice, suffix: str) -> str:
    label = invoice.number_display or f"draft-{invoice.pk}"
    return f"invoice-{invoice.billing_month:%Y-%m}-{label}{suffix}"


@admin_required
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoices().filter(pk=pk).first()
    if invoice is None:
        return _gone_draft(request, pk, file=True)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_filename(invoice, ".pdf")}"'
    return response


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_required
def invoice_lines_csv(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoices().filter(pk=pk).first()
    if invoice is None:
        return _gone_draft(request, pk, file=True)
    return _csv_response(
        render_invoice_lines_csv(invoice), _filename(invoice, "-lines.csv")
    )


@admin_required
def invoice_calls_csv(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoices().filter(pk=pk).first()
    if invoice is None:
        return _gone_draft(request, pk, file=True)
    return _csv_response(
        render_counted_calls_csv(invoice), _filename(invoice, "-calls.csv")
    )


@admin_required
def client_usage(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    usage = selectors.month_to_date_usage(client=client)
    return render(
        request,
        "billing/usage.html",
        {
            "client": client,
            "usage": usage,
            "contract_ended": client.contract_ended_before(usage.month),
            "history": selectors.counted_calls_by_month(client=client),
            "invoices": list(
                Invoice.objects.filter(client=client).order_by("-billing_month", "-id")
            ),
            "draft": InvoiceStatus.DRAFT,
        },
    )
