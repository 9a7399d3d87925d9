"""Only client users reach the portal; client users reach nothing else."""

import pytest
from django.urls import NoReverseMatch, resolve, reverse

from tests.factories import AdminFactory, OperatorFactory

pytestmark = pytest.mark.django_db

PORTAL_PAGES = ["portal:home", "portal:calls", "portal:plan", "portal:recipients"]


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize("factory", [OperatorFactory, AdminFactory])
@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_operators_and_admins_are_refused(client, factory, name):
    client.force_login(factory())
    assert client.get(reverse(name)).status_code == 403


def test_a_client_user_sees_the_portal_and_the_site_home_sends_them_there(portal):
    assert portal.get(reverse("portal:home")).status_code == 200
    response = portal.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_an_inactive_client_user_cannot_use_a_live_session(portal, portal_user):
    portal_user.is_active = False
    portal_user.save()
    response = portal.get(reverse("portal:home"))
    assert response.status_code in (302, 403)


@pytest.mark.parametrize(
    "prefix", ["/operator/", "/billing/", "/reports/failed/", "/admin/"]
)
def test_client_users_cannot_reach_staff_pages(portal, prefix):
    resolve(prefix)  # a real page, not a 404 that would pass for a refusal
    response = portal.get(prefix)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "login" in response["Location"]


def test_client_users_cannot_reach_any_admin_page(portal, portal_user):
    for url in [
        reverse("admin:index"),
        reverse("admin:clients_client_changelist"),
        reverse("admin:clients_client_change", args=[portal_user.client_id]),
        reverse("admin:portal_planchangerequest_changelist"),
    ]:
        response = portal.get(url)
        assert response.status_code == 302, url
        assert "login" in response["Location"]


def _no_argument_urls(namespace: str) -> list[str]:
    from importlib import import_module

    module = import_module(f"{namespace}.urls")
    urls = []
    for pattern in module.urlpatterns:
        if getattr(pattern, "name", None) and not pattern.pattern.regex.groupindex:
            try:
                urls.append(reverse(f"{module.app_name}:{pattern.name}"))
            except NoReverseMatch:
                continue
    return urls


@pytest.mark.parametrize("app", ["console", "billing", "reporting"])
def test_client_users_are_refused_on_every_staff_app_page(portal, app):
    urls = _no_argument_urls(app)
    if not urls:
        pytest.skip(f"{app} has no pages yet in this branch")
    for url in urls:
        response = portal.get(url)
        assert response.status_code in (302, 403, 405), url
        if response.status_code == 302:
            assert "login" in response["Location"] or "portal" in response["Location"]
