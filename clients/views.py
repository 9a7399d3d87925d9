from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    is_client_user = getattr(request.user, "is_client_user", False)
    target = "portal:home" if is_client_user else "console:home"
    try:
        return redirect(target)
    except NoReverseMatch:
        return render(request, "home.html")
