"""The admin site keeps at least one active admin: users and roles are managed
only there, so the last one locked out would lock everyone out."""

import threading

import pytest
from django.db import transaction
from django.forms import modelform_factory
from django.urls import reverse

from clients.forms import UserAdminChangeForm
from clients.models import User
from tests import concurrency
from tests.factories import AdminFactory, OperatorFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db
LAST_ADMIN = "このユーザーは最後の有効な管理者です。"


def _edit(admin_client, user, **changes):
    url = reverse("admin:clients_user_change", args=[user.pk])
    data = form_values(admin_client.get(url).content.decode(), "user_form")
    data.update(changes)
    if changes.get("is_active") is False:
        del data["is_active"]  # an unticked box is not posted
    return admin_client.post(url, data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"role": "operator"}, "role"),
        ({"is_active": False}, "is_active"),
        ({"role": "operator", "is_active": False}, "role"),
    ],
)
def test_the_only_admin_can_neither_give_up_the_role_nor_be_deactivated(
    admin_client, admin_user, changes, field
):
    AdminFactory(is_active=False)  # a deactivated admin opens nothing
    page = _edit(admin_client, admin_user, **changes)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors[field]
    assert errors[0].startswith(LAST_ADMIN)
    admin_user.refresh_from_db()
    assert (admin_user.role, admin_user.is_active, admin_user.is_staff) == (
        User.Role.ADMIN,
        True,
        True,
    )


def test_with_another_active_admin_the_role_can_be_given_up(admin_client, admin_user):
    other = AdminFactory()
    assert _edit(admin_client, other, is_active=False).status_code == 302
    other.refresh_from_db()
    assert not other.is_active
    # Now she is the last one again.
    assert _edit(admin_client, admin_user, role="operator").status_code == 200
    other.is_active = True
    other.save()
    assert _edit(admin_client, admin_user, role="operator").status_code == 302
    admin_user.refresh_from_db()
    assert (admin_user.role, admin_user.is_staff) == (User.Role.OPERATOR, False)


def test_other_users_are_edited_as_before(admin_client, operator):
    assert _edit(admin_client, operator, is_active=False).status_code == 302
    operator.refresh_from_db()
    assert not operator.is_active


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one():
    first, second = AdminFactory(), AdminFactory()
    form_class = modelform_factory(
        User, form=UserAdminChangeForm, fields=["username", "role", "is_active"]
    )
    checked, go_on = threading.Event(), threading.Event()
    outcomes: dict[str, bool] = {}

    def demote(user, *, hold: bool):
        def target():
            form = form_class(
                {"username": user.username, "role": "operator", "is_active": "on"},
                instance=User.objects.get(pk=user.pk),
            )
            with transaction.atomic():  # as the admin's change view
                outcomes[user.username] = form.is_valid()
                if hold:
                    checked.set()
                    go_on.wait(timeout=10)
                if form.is_valid():
                    form.save()

        return target

    demoting_second = concurrency.start(demote(second, hold=True))
    assert checked.wait(timeout=10)
    demoting_first = concurrency.start(demote(first, hold=False))
    demoting_first.wait_until_blocked()
    go_on.set()
    demoting_second.join(timeout=30)
    demoting_first.join(timeout=30)
    assert (demoting_second.error, demoting_first.error) == (None, None)
    assert outcomes == {second.username: True, first.username: False}
    assert list(
        User.objects.filter(role=User.Role.ADMIN, is_active=True).values_list(
            "pk", flat=True
        )
    ) == [first.pk]


def test_a_users_address_typed_full_width_is_kept_half_width(admin_client):
    operator = OperatorFactory()
    page = _edit(admin_client, operator, email="　ｓａｔｏ＠ｅｘａｍｐｌｅ．ｊｐ")
    assert page.status_code == 302
    operator.refresh_from_db()
    assert operator.email == "sato@example.jp"
