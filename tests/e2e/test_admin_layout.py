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


LONG_ADDRESS = long_address("office-of-the-president-tokyo-headquarters")
# A map's link a client pasted into a notice: its 150 characters of place
# data have nowhere to wrap.
LONG_LINK = (
    "https://maps.example.co.jp/place/data=4m6x3m5x1s0x60188bfbd89f700b0x277c49ba"
    "34ed38x8m2x3d356812362x4d1397671248x16zL20vMDFnMTZsx5m1x1e2x4m6x3m5x1s0x60188"
    "bfbd89f700b0x277c49ba34ed38x8m2x3d356812362x4d1397671248"
)


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
    factories.OperatorNoticeFactory(client=client, text=f"年末年始のご案内 {LONG_LINK}")
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


def _client_page(live, open_as, client: Client, viewport: dict[str, int]):
    page = open_as(factories.AdminFactory())
    page.set_viewport_size(viewport)
    page.goto(f"{live['server'].url}/admin/clients/client/{client.pk}/change/")
    return page


# The boxes of a table's saved rows whose value is cut at an edge: sideways (a
# text box) or below (a text area of too few lines), or past the window.
BOXES_CUT = """(table) => {
  const out = [];
  for (const box of document.querySelectorAll(
      `${table} tr.has_original :is(input[type=text], input[type=email], textarea)`)) {
    if (box.scrollWidth > box.clientWidth + 1) out.push(`${box.value} cut sideways`);
    if (box.scrollHeight > box.clientHeight + 1) out.push(`${box.value} cut below`);
    if (box.getBoundingClientRect().right > window.innerWidth)
      out.push(`${box.value} past the window`);
  }
  return out;
}"""

PAGE_SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


@pytest.mark.parametrize("viewport", [LAPTOP, SMALL_LAPTOP], ids=["1366", "1280"])
def test_a_recipients_long_address_is_read_whole_in_its_box(live, open_as, viewport):
    """The recipients' addresses were cut at their boxes' edge
    (office-of-the-president-tokyo-headquarters.reception-desk@glob), read
    whole only in a tooltip: the box wraps an address over its lines."""
    client = add_long_rows()
    recipient = client.recipients.order_by("pk").first()
    recipient.pc_email = LONG_ADDRESS
    recipient.save(update_fields=["pc_email"])
    assert len(LONG_ADDRESS) == 102

    page = _client_page(live, open_as, client, viewport)

    addresses = page.locator("#recipients-group tr.has_original [name$=_email]")
    assert LONG_ADDRESS in [box.input_value() for box in addresses.all()]
    assert page.evaluate(BOXES_CUT, "#recipients-group") == []
    assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS)


@pytest.mark.parametrize("viewport", [LAPTOP, SMALL_LAPTOP], ids=["1366", "1280"])
def test_a_persons_values_are_read_whole_in_their_boxes(live, open_as, viewport):
    """At 1280 px the people's table cut 長谷川 左衛門太郎, ハセガワ サエモンタロウ
    and 代表取締役社長兼最高経営責任者 at their boxes' edge, beside a 表示順
    box wide enough for five digits."""
    client = add_long_rows()

    page = _client_page(live, open_as, client, viewport)

    assert page.evaluate(BOXES_CUT, "#people-group") == []
    assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS)


# The lines a cell's text takes, by the tops of its lines.
LINES_OF = """(cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


@pytest.mark.parametrize("viewport", [LAPTOP, SMALL_LAPTOP], ids=["1366", "1280"])
def test_a_long_link_in_a_notice_wraps_within_its_cell(live, open_as, viewport):
    """A link with nowhere to wrap ran the notices' table, and the page, past
    the window's right edge; its days wrapped a character or two a line."""
    client = add_long_rows()

    page = _client_page(live, open_as, client, viewport)

    notices = page.locator("#operator_notices-group")
    words = notices.locator("tr.has_original td.field-text p")
    assert LONG_LINK in words.inner_text()
    assert words.evaluate(LINES_OF) > 1
    assert words.evaluate("(p) => p.scrollWidth <= p.clientWidth")
    table = notices.locator("table").bounding_box()
    assert table["x"] + table["width"] <= viewport["width"]
    for day in ("first_day", "last_day", "written_at"):
        cell = notices.locator(f"tr.has_original td.field-{day} p")
        assert cell.evaluate(LINES_OF) == 1, day
    assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS)


def test_an_address_box_holds_one_line(live, open_as):
    """The box that wraps a long address is an address's box still: a line
    tall as the name's box beside it, Enter adds no line, and line breaks
    pasted with addresses are spaces, which the page refuses in Japanese."""
    recipient = factories.ReportRecipientFactory(
        client=factories.ClientFactory(), pc_email="taro@example.jp"
    )
    page = _client_page(live, open_as, recipient.client, LAPTOP)
    box = page.locator("[name=recipients-0-pc_email]")
    name_box = page.locator("[name=recipients-0-name]")

    assert box.bounding_box()["height"] == pytest.approx(
        name_box.bounding_box()["height"], abs=2
    )
    box.click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("p")
    assert box.input_value() == "taro@example.jpp"

    box.fill("")
    page.keyboard.insert_text("hanako@example.jp\nsato@example.jp\n")
    assert box.input_value() == "hanako@example.jp sato@example.jp "
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    errors = page.locator("#recipients-group .errorlist").inner_text()
    assert "有効なメールアドレスを入力してください。" in errors
    recipient.refresh_from_db()
    assert recipient.pc_email == "taro@example.jp"
