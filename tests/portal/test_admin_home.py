"""The admin's start page says what waits for the admin, above the menus."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.admin_site import waiting_for_admin
from portal.models import RequestStatus
from reporting.models import Delivery
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    CancellationRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db


def _waiting_box(admin_client) -> str:
    page = admin_client.get(reverse("admin:index")).content.decode()
    start = page.index('id="waiting-for-admin"')
    box = page[start : page.index("</div>", start)]
    assert start < page.index('class="app-')  # above the menus
    return box


def _rows(box: str) -> dict[str, tuple[str, str]]:
    """Each line of the box: its words -> (its link, its count)."""
    return {
        label: (url, re.sub(r"<[^>]+>|\s+", "", count))
        for url, label, count in re.findall(
            r'<a href="([^"]+)">([^<]+)</a></th>\s*<td>(.*?)</td>', box, flags=re.S
        )
    }


def _failed_deliveries(n: int) -> int:
    """A call reported to ``n`` recipients, its deliveries all failed: how many."""
    client, _recipients = client_with_recipients(n)
    _call, deliveries = save_reported_call(client=client)
    return Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        status=Delivery.Status.FAILED
    )


def test_the_start_page_counts_the_open_requests_and_failed_reports(admin_client):
    PlanChangeRequestFactory.create_batch(2)
    PlanChangeRequestFactory(status=RequestStatus.DONE)
    RecipientChangeRequestFactory(status=RequestStatus.REJECTED)
    BillingEmailChangeRequestFactory()
    CancellationRequestFactory()
    CancellationRequestFactory(status=RequestStatus.REJECTED)
    failed = _failed_deliveries(2)
    assert failed > 0

    rows = _rows(_waiting_box(admin_client))

    plan_list = reverse("admin:portal_planchangerequest_changelist")
    recipient_list = reverse("admin:portal_recipientchangerequest_changelist")
    billing_list = reverse("admin:portal_billingemailchangerequest_changelist")
    cancellation_list = reverse("admin:portal_cancellationrequest_changelist")
    assert rows == {
        "プラン変更のお申し込み": (f"{plan_list}?status__exact=open", "2件"),
        "報告先変更のお申し込み": (f"{recipient_list}?status__exact=open", "なし"),
        "請求書送付先のお申し込み": (f"{billing_list}?status__exact=open", "1件"),
        "解約のお申し込み": (f"{cancellation_list}?status__exact=open", "1件"),
        "送信できなかった報告": (reverse("reporting:failed"), f"{failed}件"),
    }
    # Each link opens the list the count was made of.
    opened = admin_client.get(f"{plan_list}?status__exact=open").content.decode()
    assert opened.count('class="action-select"') == 2
    opened = admin_client.get(cancellation_list).content.decode()
    assert opened.count('class="action-select"') == 1


def test_the_start_page_says_when_nothing_waits(admin_client):
    PlanChangeRequestFactory(status=RequestStatus.DONE)

    box = _waiting_box(admin_client)

    assert "対応待ち" in box
    assert "対応待ちはありません。" in box
    assert "<table" not in box


def test_the_counts_take_one_query_each_whatever_the_rows(
    admin_client, django_assert_num_queries
):
    with django_assert_num_queries(5):
        waiting_for_admin()
    with CaptureQueriesContext(connection) as empty:
        admin_client.get(reverse("admin:index"))

    PlanChangeRequestFactory.create_batch(3)
    RecipientChangeRequestFactory.create_batch(3)
    BillingEmailChangeRequestFactory.create_batch(3)
    CancellationRequestFactory.create_batch(3)
    _failed_deliveries(3)
    with django_assert_num_queries(5):
        waiting_for_admin()
    with CaptureQueriesContext(connection) as full:
        admin_client.get(reverse("admin:index"))

    assert len(full) == len(empty)


def test_only_admins_see_the_start_page(client, client_user):
    client.force_login(client_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "対応待ち" not in response.content.decode()
