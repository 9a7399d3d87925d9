from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    user = request.user
    target = "portal:home" if user.is_client_user else "console:home"
    try:
        return redirect(target)
    except NoReverseMatch:
        return render(request, "home.html")
