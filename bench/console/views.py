from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.console.models import BareRow


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    """Insert one row and return: the floor of what any Django write can cost."""
    BareRow.objects.create(payload=request.POST.get("payload", "")[:200])
    return HttpResponse("ok", status=201)
