"""The portal's header at phone and PC widths, measured in a real browser."""

import pytest

from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PC = {"width": 1366, "height": 900}

MEASURE = """() => {
  const box = (el) => el.getBoundingClientRect();
  const header = document.querySelector(".site-header");
  const links = [...document.querySelectorAll(".site-nav a")];
  return {
    header: box(header).height,
    pageWidth: document.documentElement.scrollWidth,
    linkTops: links.map((a) => Math.round(box(a).top)),
    linkHeights: links.map((a) => box(a).height),
    lineHeight: parseFloat(getComputedStyle(links[0]).lineHeight),
    barTops: [".brand", ".site-header > a:not(.brand)", ".site-header form"].map(
      (s) => Math.round(box(header.querySelector(s)).top)
    ),
    brandTop: Math.round(box(header.querySelector(".brand")).top),
  };
}"""


def test_the_portal_header_is_compact_on_a_phone_and_one_row_on_a_pc(live, open_as):
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    base = live["server"].url

    page.set_viewport_size(PHONE)
    page.goto(f"{base}/portal/requests/")
    phone = page.evaluate(MEASURE)
    # It took about 290 px of an 844 px screen: six links stacked, one broken.
    assert phone["header"] <= 140, phone
    assert phone["pageWidth"] == PHONE["width"], phone
    # No link is broken over two lines (お申し込み状況 was).
    assert max(phone["linkHeights"]) < 1.8 * phone["lineHeight"], phone
    # The brand, the password link and the logout button share one line.
    assert max(phone["barTops"]) - min(phone["barTops"]) <= 8, phone
    # The menu is rows of links, not a column: at most two rows at 390 px.
    assert len(set(phone["linkTops"])) <= 2, phone

    page.set_viewport_size(PC)
    page.goto(f"{base}/portal/requests/")
    pc = page.evaluate(MEASURE)
    # The PC layout as before: everything in one row.
    assert pc["header"] <= 60, pc
    tops = pc["linkTops"] + pc["barTops"]
    assert max(tops) - min(tops) <= 8, pc
    assert max(pc["linkHeights"]) < 1.8 * pc["lineHeight"], pc


def test_a_message_sits_in_the_pages_column_in_a_box(live, open_as):
    """A message (saved, refused, held back) starts where the page's content
    starts, in a box: it was drawn full width from the window's left edge, a
    line of coloured text that a wide screen put far from the page."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size({"width": 1920, "height": 900})
    page.goto(f"{live['server'].url}/portal/plan/")
    page.check(f"input[name=plan][value='{plans['half'].pk}']")
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    placed = page.evaluate(
        """() => {
      const message = document.querySelector(".messages li");
      const heading = document.querySelector("main h1");
      const style = getComputedStyle(message);
      return {
        text: message.textContent,
        left: message.getBoundingClientRect().left,
        contentLeft: heading.getBoundingClientRect().left,
        border: parseFloat(style.borderLeftWidth),
        background: style.backgroundColor,
      };
    }"""
    )
    assert "を受け付けました" in placed["text"], placed
    assert abs(placed["left"] - placed["contentLeft"]) <= 2, placed
    assert placed["border"] >= 3, placed
    assert placed["background"] == "rgb(255, 255, 255)", placed
