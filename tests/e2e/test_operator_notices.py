"""A notice to the operators, from the client's phone to the operator's screen,
measured in a real browser."""

import datetime as dt

import pytest

from clients.models import OperatorNotice
from clients.months import japan_today
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
PC = {"width": 1366, "height": 900}
LONG = (
    "年末年始は休業です。"
    + "急ぎのご用件は1月5日以降に折り返しますとお伝えください。" * 5
)


def test_a_notice_written_on_a_phone_shows_on_the_call_form(live, open_as):
    client = factories.ClientFactory(
        name="白浜デザイン", announce_name="白浜デザインです"
    )
    factories.ClientPlanFactory(client=client, plan=factories.make_plans()["small"])
    base = live["server"].url
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/portal/")
    page.click("text=オペレーターへのお知らせ")
    today = japan_today()
    page.fill("#id_text", LONG[:300])
    page.fill("#id_first_day", today.isoformat())
    page.fill("#id_last_day", (today + dt.timedelta(days=3)).isoformat())
    page.click("#notice-form button[type=submit]")
    page.wait_for_load_state()
    assert "お知らせを登録しました" in page.content()
    # Nothing runs off a 375 px screen: the long text wraps, the button fits.
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
    button = page.locator("#notices-current button").bounding_box()
    assert button["x"] + button["width"] <= PHONE["width"]
    page.set_viewport_size(PC)
    assert page.evaluate("document.documentElement.scrollWidth") == PC["width"]

    operator = open_as(factories.OperatorFactory())
    operator.set_viewport_size(PC)
    operator.goto(f"{base}/operator/calls/new?client={client.pk}")
    box = operator.locator(".client-notice")
    assert box.is_visible()
    assert LONG[:20] in box.inner_text()
    # Between the name to announce and the people, without a sideways scroll.
    announce = operator.locator("#announce").bounding_box()
    assert box.bounding_box()["y"] > announce["y"]
    assert operator.evaluate("document.documentElement.scrollWidth") == PC["width"]

    # The client ends it: the next call form no longer shows it.
    page.click("#notices-current button[type=submit]")
    page.wait_for_load_state()
    assert OperatorNotice.objects.get().withdrawn_at is not None
    operator.reload()
    assert operator.locator(".client-notice").count() == 0
