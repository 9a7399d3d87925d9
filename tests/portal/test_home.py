import datetime as dt

import pytest
from django.urls import reverse

from answering.models import Category
from portal.selectors import month_usage
from tests.factories import CallFactory
from tests.portal.conftest import jst

pytestmark = pytest.mark.django_db


def test_month_usage_counts_this_japan_month_only(portal_user):
    client = portal_user.client
    # The first minutes of November in Japan are still October 31 in UTC.
    CallFactory(client=client, received_at=jst(2026, 11, 1, 0, 5))
    CallFactory(client=client, received_at=jst(2026, 10, 31, 23, 55))
    CallFactory(client=client, received_at=jst(2026, 11, 2, 10), category=Category.GREY)
    CallFactory(
        client=client, received_at=jst(2026, 11, 3, 10), category=Category.SALES
    )
    usage = month_usage(client=client, today=dt.date(2026, 11, 25))
    assert usage.counted_calls == 2
    assert usage.sales_calls == 1
    assert usage.included_calls == 20
    assert usage.plan_name == "スモール"
    assert usage.remaining_included == 18
    assert usage.meter_percent == 10


def test_over_the_included_calls(portal_user):
    client = portal_user.client
    for i in range(25):
        CallFactory(
            client=client, received_at=jst(2026, 11, 2, 9) + dt.timedelta(minutes=i)
        )
    usage = month_usage(client=client, today=dt.date(2026, 11, 25))
    assert usage.over_included == 5
    assert usage.meter_percent == 100


def test_home_page_shows_the_meter_and_the_sales_count(portal, portal_user):
    client = portal_user.client
    CallFactory(client=client)
    CallFactory(client=client, category=Category.SALES)
    CallFactory(client=client, category=Category.SALES)
    body = portal.get(reverse("portal:home")).content.decode()
    assert "1件 / 基本料金内 20件" in body
    assert "無料でお断りした件数: 2件" in body
    assert 'value="1"' in body  # the meter
