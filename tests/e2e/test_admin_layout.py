"""The admin pages an admin uses every day, at 1366×768 (the office's laptops)
and 1280×800 (a common smaller laptop), with long company names and e-mail
addresses: no page and no table runs off the right edge, where its last
columns could only be seen by scrolling."""

import datetime as dt

import pytest
from django.utils import timezone

from billing.services import bill_month
from clients.models import Client
from clients.months import japan_today, previous_month
from reporting.models import Delivery
from tests import factories
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)
from tests.reporting.factories import save_reported_call

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 768}
SMALL_LAPTOP = {"width": 1280, "height": 800}

LONG_NAME = "株式会社グローバルコミュニケーションソリューションズ東京本社"
LONG_PERSON = "長谷川 左衛門太郎"


def long_address(who: str) -> str:
    return f"{who}.reception-desk@global-communication-solutions.example.co.jp"


def add_long_rows() -> Client:
    """A client as long as they come, with what an admin sees of it every day:
    recipients, people, lent numbers, plans, calls and their reports (one
    failed), an invoice and each kind of portal request. Also run by hand on
    the demo data to look at the pages."""
    plans = factories.make_plans()
    client = factories.ClientFactory(
        name=LONG_NAME,
        name_kana="グローバルコミュニケーションソリューションズトウキョウホンシャ",
        billing_email=long_address("accounting-department"),
    )
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    factories.ClientPlanFactory(
        client=client, plan=plans["half"], effective_month=dt.date(2025, 6, 1)
    )
    for _ in range(2):
        factories.NumberAssignmentFactory(client=client)
    for role in ("代表取締役社長兼最高経営責任者", "総務部 総務課 課長補佐"):
        factories.ClientPersonFactory(
            client=client,
            name=LONG_PERSON,
            name_kana="ハセガワ サエモンタロウ",
            title=role,
            note="請求書の件は経理部の長谷川まで（内線 1234）",
        )
    recipients = [
        factories.ReportRecipientFactory(
            client=client,
            name=LONG_PERSON,
            pc_email=long_address(f"president-office-{n}"),
            mobile_email=long_address(f"mobile-phone-{n}"),
        )
        for n in range(3)
    ]
    call, deliveries = save_reported_call(
        client=client, caller_name=LONG_PERSON, caller_company=LONG_NAME
    )
    Delivery.objects.filter(pk=deliveries[0].pk).update(
        status=Delivery.Status.FAILED,
        failed_at=timezone.now(),
        last_error="550 5.1.1 <user@example.co.jp>: Recipient address rejected",
        bounced=True,
    )
    bill_month(month=previous_month(japan_today()), client_ids=[client.pk], issue=True)
    RecipientChangeRequestFactory(
        client=client,
        name=LONG_PERSON,
        pc_email=long_address("new-general-affairs"),
        mobile_email=long_address("new-mobile-phone"),
        desired_on=japan_today(),
    )
    RecipientChangeRequestFactory(
        client=client,
        kind="change",
        recipient=recipients[1],
        name=LONG_PERSON,
        pc_email=long_address("changed-general-affairs"),
        mobile_email=long_address("changed-mobile-phone"),
        desired_on=japan_today(),
    )
    PlanChangeRequestFactory(client=client, plan=plans["standard"])
    BillingEmailChangeRequestFactory(
        client=client, billing_email=long_address("new-accounting-department")
    )
    factories.ClientUserFactory(
        client=client, username="global-communication-solutions-tokyo"
    )
    return client


# What runs off the right edge: the page itself, a table past the window, or
# a list's scroll box (Django's .results) holding columns out of view.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width)
    out.push(`page ${document.documentElement.scrollWidth} > ${width}`);
  for (const table of document.querySelectorAll("table")) {
    const right = Math.round(table.getBoundingClientRect().right);
    if (right > width)
      out.push(`table ${table.id || table.closest("[id]").id} ends at ${right}`);
  }
  for (const box of document.querySelectorAll(".results")) {
    if (box.scrollWidth > box.clientWidth + 1)
      out.push(`list ${box.scrollWidth} in ${box.clientWidth}`);
  }
  // A column squeezed until its header reads a character or two a line:
  // the lines its words take (the header row's height is its tallest's).
  for (const th of document.querySelectorAll("thead th")) {
    const tops = new Set();
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode;
      // Not the sorting's priority digits, which sit above the words.
      if (!text.textContent.trim() || text.parentElement.closest(".sortoptions"))
        continue;
      const range = document.createRange();
      range.selectNodeContents(text);
      for (const rect of range.getClientRects())
        if (rect.width > 0) tops.add(Math.round(rect.top));
    }
    const words = th.innerText.replace(/\\s+/g, "");
    if (tops.size > 2 && words.length / tops.size < 4)
      out.push(`header ${words} in ${tops.size} lines`);
  }
  return out;
}"""


# The office reads Japanese; English is offered (its words are longer).
@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("viewport", [LAPTOP, SMALL_LAPTOP], ids=["1366", "1280"])
def test_the_daily_admin_pages_fit_an_office_laptop(live, open_as, language, viewport):
    client = add_long_rows()
    page = open_as(factories.AdminFactory())
    page.set_viewport_size(viewport)
    base = live["server"].url
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": base}]
    )
    every = "?status__exact=all"
    urls = [
        f"/admin/clients/client/{client.pk}/change/",
        "/admin/clients/client/",
        "/admin/answering/call/",
        "/admin/reporting/delivery/",
        "/reports/failed/",
        "/admin/clients/lentnumber/",
        "/admin/clients/numberassignment/",
        "/admin/clients/reportrecipient/",
        "/admin/clients/clientplan/",
        "/admin/billing/invoice/",
        f"/admin/portal/recipientchangerequest/{every}",
        f"/admin/portal/planchangerequest/{every}",
        f"/admin/portal/billingemailchangerequest/{every}",
        "/admin/clients/user/",
    ]
    overflowing = {}
    for url in urls:
        page.goto(base + url)
        assert LONG_NAME in page.content(), url
        if found := page.evaluate(OVERFLOW):
            overflowing[url] = found
    assert overflowing == {}


def test_the_bouncing_addresses_start_where_the_other_fields_values_do(live, open_as):
    """The client page's 不達が続いているメールアドレス started 170 px right of
    the values above and below it, as if under another heading."""
    client = add_long_rows()
    page = open_as(factories.AdminFactory())
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live['server'].url}/admin/clients/client/{client.pk}/change/")

    def left(selector: str) -> int:
        return round(page.locator(selector).first.bounding_box()["x"])

    assert left("ul.bouncing li") == left("#id_billing_email")


# A text box whose value runs past its edge: on the form it should not happen;
# in a table's row, whose boxes share the page's width, its tooltip reads it.
CUT_VALUES = """() => {
  const out = [];
  for (const box of document.querySelectorAll(
      "#client_form input[type=text], #client_form input[type=email]")) {
    if (!box.value || box.scrollWidth <= box.clientWidth + 1) continue;
    if (!box.closest(".inline-group")) out.push(`${box.name} cut`);
    else if (box.title !== box.value) out.push(`${box.name} cut, no tooltip`);
  }
  return out;
}"""


@pytest.mark.parametrize("viewport", [LAPTOP, SMALL_LAPTOP], ids=["1366", "1280"])
def test_the_client_pages_long_values_can_be_read_whole(live, open_as, viewport):
    """The company's name, its kana, 名乗り and the billing address showed
    their first 20 characters or so in Django's boxes; the people's notes and
    the recipients' addresses were cut at their boxes' edge with no way to
    read the rest but scrolling inside the box."""
    client = add_long_rows()
    page = open_as(factories.AdminFactory())
    page.set_viewport_size(viewport)
    page.goto(f"{live['server'].url}/admin/clients/client/{client.pk}/change/")

    assert page.evaluate(CUT_VALUES) == []
    assert page.input_value("#id_name") == LONG_NAME
