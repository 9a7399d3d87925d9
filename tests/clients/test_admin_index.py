"""The admin's start page as the office sees it: the business menus, no
Django groups, the login records last, and the user greeted by name."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, reverse

from tests.factories import AdminFactory, OperatorFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db


def _headings(page: str) -> list[str]:
    return re.findall(r'<caption>\s*<a[^>]*class="section"[^>]*>([^<]+)</a>', page)


def test_groups_are_gone_from_the_menu_and_the_user_page(admin_client):
    """Roles (役割) decide what a user reaches; Django's groups granted nothing."""
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "グループ" not in page
    assert "認証と認可" not in page
    with pytest.raises(NoReverseMatch):
        reverse("admin:auth_group_changelist")
    assert admin_client.get("/admin/auth/group/").status_code == 404
    user = OperatorFactory()
    form = admin_client.get(reverse("admin:clients_user_change", args=[user.pk]))
    assert 'name="groups"' not in form.content.decode()


def test_the_user_page_offers_no_permissions_that_do_nothing(admin_client):
    """Every admin is a superuser and the other roles never reach the admin
    site: a permission ticked for a user granted nothing, yet the page offered
    a picker of a few hundred of them."""
    operator = OperatorFactory(first_name="花子")
    url = reverse("admin:clients_user_change", args=[operator.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="user_permissions"' not in page
    assert "ユーザーパーミッション" not in page
    # A form posted with them anyway saves the rest and grants nothing.
    view_call = Permission.objects.get(codename="view_call")
    response = admin_client.post(
        url,
        {
            **form_values(page, "user_form"),
            "first_name": "春子",
            "user_permissions": [view_call.pk],
        },
    )
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.first_name == "春子"
    assert not operator.user_permissions.exists()


def test_the_login_records_come_last_under_a_japanese_heading(admin_client):
    headings = _headings(admin_client.get(reverse("admin:index")).content.decode())
    assert headings[-1] == "ログインの記録"
    assert len(headings) > 1
    # Still reachable, to unlock a locked-out user.
    assert (
        admin_client.get(reverse("admin:axes_accessattempt_changelist")).status_code
        == 200
    )


def test_the_header_greets_the_user_by_name_as_written(client):
    admin = AdminFactory(username="yamada", last_name="山田", first_name="花子")
    client.force_login(admin)
    page = client.get(reverse("admin:index")).content.decode()
    assert '<strong class="user-name">山田 花子 さん</strong>' in page
    assert "ようこそ" not in page
    # Django's CSS upper-cases #user-tools; ours writes the name as it is.
    css = (settings.BASE_DIR / "static/css/admin_pages.css").read_text()
    assert "#user-tools .user-name { text-transform: none; }" in css
    assert "admin_pages.css" in page


def test_a_user_without_a_name_is_greeted_by_login_name(client):
    admin = AdminFactory(username="office1", last_name="", first_name="")
    client.force_login(admin)
    page = client.get(reverse("admin:index")).content.decode()
    assert '<strong class="user-name">office1 さん</strong>' in page
