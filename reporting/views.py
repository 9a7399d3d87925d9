from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from answering.models import Call
from clients import selectors as client_selectors
from clients.access import admin_required, operator_required
from reporting import selectors, services
from reporting.models import Delivery


@operator_required
# Report texts hold callers' names and numbers: not kept on a shared PC.
@never_cache
def call_deliveries(request: HttpRequest, call_id: int) -> HttpResponse:
    """Every delivery of one call, for operators and admins."""
    call = get_object_or_404(Call.objects.select_related("client"), pk=call_id)
    deliveries = call.deliveries.order_by("created_at", "id")
    return render(
        request,
        "reporting/call_deliveries.html",
        {"call": call, "deliveries": deliveries},
    )


@admin_required
@never_cache
def failed_deliveries(request: HttpRequest) -> HttpResponse:
    deliveries = (
        Delivery.objects.failed()
        .select_related("call", "client")
        .order_by("-failed_at", "-id")[:500]
    )
    return render(
        request,
        "reporting/failed.html",
        {
            "deliveries": deliveries,
            "bouncing": selectors.bouncing_addresses(),
            "full_width": client_selectors.recipients_left_full_width(),
        },
    )


@admin_required
@require_POST
def resend_delivery(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    result = services.resend(delivery_id=delivery.pk)
    if result.queued:
        messages.success(
            request,
            _("%(address)s への再送を予約しました。") % {"address": result.address},
        )
    else:
        messages.warning(request, result.refused)
    return redirect("reporting:failed")
