"""The admin's permission pickers name permissions in Japanese, while the rows
keep the names Django gives them (a migrate would write those back anyway)."""

import html
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def _options(page) -> dict[str, bool]:
    """Each option of the page's select boxes: its label, and whether chosen."""
    return {
        html.unescape(label): "selected" in attributes
        for attributes, label in re.findall(
            r"<option ([^>]*)>([^<]*)</option>", page.content.decode()
        )
    }


def test_the_permission_picker_speaks_japanese(
    admin_client, django_assert_max_num_queries
):
    operator = OperatorFactory()
    url = reverse("admin:clients_user_change", args=[operator.pk])
    with django_assert_max_num_queries(20):  # not one query per permission
        page = admin_client.get(url)

    options = _options(page)
    assert "顧客・契約 | 顧客 | 顧客を追加できる" in options
    assert "受電 | 受電 | 受電を閲覧できる" in options
    assert "顧客・契約 | 顧客の変更履歴 | 顧客の変更履歴を閲覧できる" in options
    # django-axes ships no Japanese: locale/ja names its models.
    assert (
        "ログインの記録 | ログイン試行の有効期限 | ログイン試行の有効期限を閲覧できる"
        in (options)
    )
    assert not [label for label in options if "Can " in label or "historical" in label]
    # The rows are Django's, untouched.
    assert Permission.objects.get(codename="add_client").name == "Can add 顧客"


def test_the_user_permission_picker_speaks_japanese(admin_client):
    operator = OperatorFactory()
    operator.user_permissions.add(Permission.objects.get(codename="view_call"))

    page = admin_client.get(reverse("admin:clients_user_change", args=[operator.pk]))

    options = _options(page)
    assert options["受電 | 受電 | 受電を閲覧できる"] is True
    assert options["受電 | 受電 | 受電を追加できる"] is False
    assert not [label for label in options if "Can " in label]
