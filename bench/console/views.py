from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.console.models import BareRow
from clients.access import operator_required


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    """Insert one row and return: the floor of what any Django write can cost."""
    BareRow.objects.create(payload=request.POST.get("payload", "")[:200])
    return HttpResponse("ok", status=201)


@operator_required
@require_POST
def logged_in_noop(request: HttpRequest) -> HttpResponse:
    """An operator's POST that does nothing: session, user and CSRF check only.

    What every console save pays before its own work (form, call, deliveries):
    the most any logged-in write can reach against the bare insert.
    """
    return HttpResponse(status=204)
