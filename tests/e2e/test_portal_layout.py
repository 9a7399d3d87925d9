"""The portal's header at phone and PC widths, measured in a real browser."""

import itertools

import pytest

from billing.services import bill_month
from clients.months import japan_today, previous_month
from reporting.services import queue_call_reports
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PC = {"width": 1366, "height": 900}

MEASURE = """() => {
  const box = (el) => el.getBoundingClientRect();
  // The lines the text runs over: the distinct tops of its boxes.
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };
  const header = document.querySelector(".site-header");
  const nav = document.querySelector(".site-nav");
  const links = [...nav.querySelectorAll("a")];
  const current = box(nav.querySelector("[aria-current=page]"));
  return {
    header: box(header).height,
    pageWidth: document.documentElement.scrollWidth,
    linkTops: links.map((a) => Math.round(box(a).top)),
    linkLines: links.map((a) => [a.textContent, lines(a)]),
    barTops: [".brand", ".site-header > a:not(.brand)", ".site-header form"].map(
      (s) => Math.round(box(header.querySelector(s)).top)
    ),
    currentInView: current.left >= box(nav).left - 0.5 && current.right <= box(nav).right + 0.5,
  };
}"""


def test_the_portal_header_is_compact_on_a_phone_and_one_row_on_a_pc(live, open_as):
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    base = live["server"].url

    for width in (375, PHONE["width"]):
        page.set_viewport_size({"width": width, "height": 812})
        page.goto(f"{base}/portal/requests/")
        phone = page.evaluate(MEASURE)
        # It took about 290 px of an 844 px screen: six links stacked, one broken.
        assert phone["header"] <= 140, phone
        assert phone["pageWidth"] == width, phone
        # No link is broken over two lines (お申し込み状況 was).
        assert all(n == 1 for _, n in phone["linkLines"]), phone
        # The brand, the password link and the logout button share one line.
        assert max(phone["barTops"]) - min(phone["barTops"]) <= 8, phone
        # The menu is one row of tabs, scrolled inside itself so that the
        # current one (the last, お申し込み状況) shows.
        assert len(set(phone["linkTops"])) == 1, phone
        assert phone["currentInView"], phone

    page.set_viewport_size(PC)
    page.goto(f"{base}/portal/requests/")
    pc = page.evaluate(MEASURE)
    # The PC layout as before: everything in one row.
    assert pc["header"] <= 60, pc
    tops = pc["linkTops"] + pc["barTops"]
    assert max(tops) - min(tops) <= 8, pc
    assert all(n == 1 for _, n in pc["linkLines"]), pc
    assert pc["currentInView"], pc


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


CALL_CELLS = """() => {
  // The lines the text runs over: the distinct tops of its boxes.
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };
  return {
    pageWidth: document.documentElement.scrollWidth,
    callbacks: [...document.querySelectorAll("table.calls td a[href^='tel:']")].map(
      (a) => [a.textContent, lines(a)]
    ),
    addressees: [...document.querySelectorAll("table.calls td.addressee")].map(
      (td) => [td.textContent, lines(td)]
    ),
  };
}"""


def test_a_calls_number_and_addressee_read_on_one_line(live, open_as):
    """At 1366 px the history squeezed the callback number and addressee
    columns: 045-222-3333 broke after 045-222-, 鈴木 花子 after 鈴木, while the
    purpose column had room to spare. A number is read, and dialled, whole."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    factories.CallFactory(
        client=client,
        category="nuisance",
        caller_name="",
        caller_name_missing_reason="refused",
        callback_number="",
        callback_number_missing_reason="refused",
        caller_number="+815012345678",
        addressee="鈴木 花子",
        purpose="社長の帰社時間をしつこく尋ね、お答えできないと伝えると切断。",
        is_angry=True,
    )
    factories.CallFactory(
        client=client,
        callback_number="+81452223333",
        addressee="鈴木 花子",
        purpose="見積もりの件で折り返しがほしい。" * 3,
    )
    page = open_as(factories.ClientUserFactory(client=client))
    for viewport in (PC, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"{live['server'].url}/portal/calls/")
        cells = page.evaluate(CALL_CELLS)
        assert cells["pageWidth"] == viewport["width"], cells
        assert cells["callbacks"] == [["045-222-3333", 1]], (viewport, cells)
        assert cells["addressees"] == [["鈴木 花子", 1]] * 2, (viewport, cells)


def test_the_invoice_table_does_not_touch_the_card_under_it(live, open_as):
    """The invoices table ran into the notices card below it, border on border."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    bill_month(month=previous_month(japan_today()), client_ids=[client.pk], issue=True)
    page = open_as(factories.ClientUserFactory(client=client))
    for viewport in (PC, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"{live['server'].url}/portal/invoices/")
        gap = page.evaluate(
            """() => document.querySelector("#invoice-notices").getBoundingClientRect().top
              - document.querySelector("main table").getBoundingClientRect().bottom"""
        )
        assert gap >= 12, (viewport, gap)


def test_a_calls_reports_take_two_lines_each_on_a_phone(live, open_as):
    """Each report sent (one per address, and again for a correction) took
    five labelled lines on a phone: eight addresses ran to two screens."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    for n in range(4):
        factories.ReportRecipientFactory(
            client=client,
            pc_email=f"report{n}@shirahama-design.example.jp",
            mobile_email=f"mobile{n}@shirahama-design.example.jp",
        )
    call = factories.CallFactory(client=client)
    assert len(queue_call_reports(call=call)) == 8
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size(PHONE)
    page.goto(f"{live['server'].url}/portal/calls/{call.pk}/")
    rows = page.evaluate(
        """() => [...document.querySelectorAll("table.deliveries tbody tr")].map((tr) => {
          const line = parseFloat(getComputedStyle(tr).lineHeight);
          return Math.round(tr.getBoundingClientRect().height / line);
        })"""
    )
    assert len(rows) == 8
    assert max(rows) <= 3, rows
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
    # Each still names its address and state.
    text = page.inner_text("table.deliveries")
    assert "report0@shirahama-design.example.jp" in text
    assert any(state in text for state in ("送信待ち", "送信中", "送信済み")), text


@pytest.mark.parametrize("width", [PHONE["width"], 375])
def test_the_plan_advice_table_reads_on_a_phone(live, open_as, width):
    """Its month column broke 2026年10月 after 10, an amount 11,040円 before
    円, and its headings 件数 and スタンダード mid-word. At 375 px it was a
    couple of pixels wider than its card, so it slid sideways under a thumb."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live['server'].url}/portal/plan/")
    table = page.evaluate(
        """() => {
      const lines = (el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      };
      const table = document.querySelector("table.advice-table");
      return {
        months: [...table.querySelectorAll("tbody tr td:first-child")].map(
          (td) => [td.textContent, lines(td)]
        ),
        amounts: [...table.querySelectorAll("td.num")]
          .filter((td) => td.textContent.includes("円"))
          .map((td) => [td.textContent, lines(td.firstChild)]),
        headings: [...table.querySelectorAll("thead th")].map((th) => [th.textContent, lines(th)]),
        overflow: table.parentElement.scrollWidth - table.parentElement.clientWidth,
        pageWidth: document.documentElement.scrollWidth,
      };
    }"""
    )
    assert table["pageWidth"] == width, table
    assert all(n == 1 for _, n in table["headings"]), table
    assert len(table["months"]) == 12
    assert all(n == 1 for _, n in table["months"]), table
    assert table["amounts"] and all(n == 1 for _, n in table["amounts"]), table
    # It fits the card: nothing to scroll sideways.
    assert table["overflow"] <= 0, table


def test_the_cancellation_form_and_its_summary_fit_a_phone(live, open_as):
    """The month ends to choose, then the summary with its two buttons, at
    375 px: nothing runs off the side of the screen."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    base = live["server"].url
    width = 375
    page.set_viewport_size({"width": width, "height": 800})

    page.goto(f"{base}/portal/cancellation/")
    assert page.evaluate("document.documentElement.scrollWidth") == width
    page.locator("input[name=last_day]").nth(1).check()
    page.select_option("select[name=reason]", "cost")
    page.click("#cancellation-form button[type=submit]")
    page.wait_for_load_state()

    assert page.is_visible("#cancellation-summary")
    assert page.evaluate("document.documentElement.scrollWidth") == width
    buttons = page.locator("#cancellation-confirm button")
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
    page.click("button[name=confirm]")
    page.wait_for_load_state()
    assert page.is_visible("button[name=withdraw]")


def test_a_calls_date_badges_and_caller_lines_read_whole_on_a_phone(live, open_as):
    """On a phone each cell was a flex row: the date, its badges and the
    caller's name, company and number were squeezed side by side, so the time
    fell under the date (2026/11/27 over 11:41), a badge broke mid-word
    (お困 over り) and the company sat beside the name instead of under it."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    factories.CallFactory(
        client=client,
        category="nuisance",
        caller_name="山田 太郎",
        caller_company="株式会社やまだ商事",
        is_angry=True,
        is_troubled=True,
    )
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live['server'].url}/portal/calls/")
    cells = page.evaluate(
        """() => {
      const lines = (el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      };
      const top = (node) => {
        const range = document.createRange();
        range.selectNodeContents(node);
        return Math.round(range.getClientRects()[0].top);
      };
      const row = document.querySelector("table.calls tbody tr");
      const [when, caller] = row.querySelectorAll("td");
      return {
        pageWidth: document.documentElement.scrollWidth,
        date: lines(when.querySelector("a")),
        badges: [...when.querySelectorAll(".badge")].map((b) => [b.textContent, lines(b)]),
        nameTop: top(caller.firstChild),
        companyTop: Math.round(caller.querySelector("small").getBoundingClientRect().top),
        labelLeft: Math.round(caller.getBoundingClientRect().left),
        companyLeft: Math.round(caller.querySelector("small").getBoundingClientRect().left),
      };
    }"""
    )
    assert cells["pageWidth"] == 375, cells
    assert cells["date"] == 1, cells
    assert sorted(label for label, _ in cells["badges"]) == sorted(
        ["いたずら・嫌がらせ・無言", "お怒り", "お困り"]
    ), cells
    assert all(n == 1 for _, n in cells["badges"]), cells
    # The company is under the name, in the content column beside the label.
    assert cells["companyTop"] > cells["nameTop"], cells
    assert cells["companyLeft"] - cells["labelLeft"] >= 90, cells


@pytest.mark.parametrize(
    ("path", "name"),
    [("/portal/cancellation/", "last_day"), ("/portal/plan/", "plan")],
)
def test_a_choice_is_a_row_a_thumb_can_hit_on_a_phone(live, open_as, path, name):
    """The month ends to cancel on, and the plans, were 13 px circles on
    lines 24 px apart: a thumb picked the neighbour."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live['server'].url}{path}")
    boxes = page.evaluate(
        """(name) => [...document.querySelectorAll(`input[name=${name}]`)].map((input) => {
          const label = input.closest("label").getBoundingClientRect();
          const circle = input.getBoundingClientRect();
          return {top: label.top, height: label.height, circle: circle.width};
        })""",
        name,
    )
    assert len(boxes) >= 3, boxes
    assert all(box["height"] >= 44 and box["circle"] >= 20 for box in boxes), boxes
    # Stacked one under another, not side by side.
    assert all(b["top"] >= a["top"] + 44 for a, b in itertools.pairwise(boxes)), boxes


def a_client_user_with_long_texts():
    """A client with long names, addresses and texts, a first month billed pro
    rata, a call and an invoice: a portal user, and every page the user opens."""
    plans = factories.make_plans()
    last_month = previous_month(japan_today())
    client = factories.ClientFactory(
        name="株式会社しらはまデザインオフィスアンドコンサルティング",
        billing_email="keiri-department-long-address@shirahama-design.example.jp",
        # Billed from the 11th of last month: the plan advice notes （21日/31日の日割り）.
        trial_started_on=last_month,
        contract_started_on=last_month,
    )
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    factories.ReportRecipientFactory(
        client=client,
        name="経理部 請求書担当 白浜 花子",
        pc_email="hanako.shirahama.accounting@shirahama-design.example.jp",
        mobile_email="hanako-shirahama-mobile@docomo-long-domain.example.ne.jp",
    )
    call = factories.CallFactory(
        client=client,
        category="nuisance",
        caller_name="名乗らない男性",
        caller_company="株式会社とても長い名前の取引先ホールディングス",
        caller_number="+815012345678",
        addressee="代表取締役社長 白浜 一郎",
        purpose="https://example.jp/a-very-long-address-without-any-break " * 3,
        is_angry=True,
        is_troubled=True,
    )
    bill_month(month=last_month, client_ids=[client.pk], issue=True)
    invoice = client.invoices.get()
    paths = [
        "/portal/",
        "/portal/calls/",
        f"/portal/calls/{call.pk}/",
        "/portal/invoices/",
        f"/portal/invoices/{invoice.pk}/",
        f"/portal/invoices/{invoice.pk}/calls/",
        "/portal/invoices/billing-email/",
        "/portal/recipients/",
        "/portal/plan/",
        "/portal/requests/",
        "/portal/notices/",
        "/portal/cancellation/",
        "/portal/password/",
    ]
    return factories.ClientUserFactory(client=client), paths


def visit_on_a_phone(live, page, paths, script):
    """``script``'s finding on each page at 375 px, for the pages where it found
    something."""
    page.set_viewport_size({"width": 375, "height": 812})
    found = {}
    for path in paths:
        response = page.goto(f"{live['server'].url}{path}")
        assert response is not None and response.status == 200, path
        finding = page.evaluate(script)
        if finding:
            found[path] = finding
    return found


# Everything inside the page's width: the page itself, and every box in it but
# those inside a box that scrolls sideways on purpose (a wide table in its
# .table-scroll, the menu's tabs); that box itself fits.
SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth;
  const scrollers = [...document.querySelectorAll(".table-scroll, .site-nav")];
  const inScroller = (el) => scrollers.some((s) => s !== el && s.contains(el));
  const beyond = [...document.querySelectorAll("body *")]
    .filter((el) => !inScroller(el) && el.getBoundingClientRect().right > width + 0.5)
    .map((el) => `${el.tagName}.${el.className}: ${el.textContent.trim().slice(0, 30)}`);
  // What is cut off in a scroller must be reachable by scrolling it.
  const stuck = scrollers
    .filter((s) => s.scrollWidth > s.clientWidth && getComputedStyle(s).overflowX !== "auto")
    .map((s) => s.className);
  const pageWidth = document.documentElement.scrollWidth;
  return pageWidth !== width || beyond.length || stuck.length
    ? {pageWidth, beyond, stuck} : null;
}"""


def test_no_portal_page_scrolls_sideways_on_a_375_px_phone(live, open_as):
    """Every page a client opens, with long names, addresses and texts in it,
    fits a 375 px phone: nothing is cut at the right edge or needs a sideways
    scroll."""
    user, paths = a_client_user_with_long_texts()
    assert not visit_on_a_phone(live, open_as(user), paths, SIDEWAYS)


# Each drawn text whose letters are under 12 px: text nodes, and the labels a
# stylesheet draws (a card's 月額, 件数), at the size they are drawn (an SVG's
# text at its viewBox's scale).
SMALL_TEXT = """() => {
  const small = [];
  const note = (el, size, text) => {
    if (size < 12) {
      const name = el.className.baseVal ?? el.className;
      small.push(`${size.toFixed(1)} px ${el.tagName}.${name}: ${text.trim().slice(0, 30)}`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.checkVisibility({visibilityProperty: true})) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (range.getClientRects().length === 0) continue;  // not drawn: an SVG <title>
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGGraphicsElement) size *= el.getScreenCTM().a;
    note(el, size, node.textContent);
  }
  for (const el of document.querySelectorAll("body *")) {
    const before = getComputedStyle(el, "::before");
    if (!["none", "normal", '""'].includes(before.content) && el.checkVisibility()) {
      note(el, parseFloat(before.fontSize), before.content);
    }
  }
  return small;
}"""


def test_every_text_on_a_portal_page_is_at_least_12_px_on_a_phone(live, open_as):
    """The plan advice's chart drew its months and counts at about 6 px on a
    375 px phone, and a first month's （21日/31日の日割り） was 11 px."""
    user, paths = a_client_user_with_long_texts()
    page = open_as(user)
    assert not visit_on_a_phone(live, page, paths, SMALL_TEXT)
    # The figures are still there, in the table.
    page.goto(f"{live['server'].url}/portal/plan/")
    assert "日割り" in page.inner_text("table.advice-table")


# The header's and footer's links and buttons, each with its height, and the
# header's height.
TARGETS = """() => {
  const targets = [...document.querySelectorAll(
    ".site-header a, .site-header button, .site-footer a, .site-footer button"
  )].filter((el) => el.checkVisibility());
  const header = document.querySelector(".site-header").getBoundingClientRect().height;
  const short = targets
    .map((el) => [el.textContent.trim(), el.getBoundingClientRect().height])
    .filter(([, height]) => height < 44);
  return targets.length < 10 || short.length || header > 140
    ? {count: targets.length, short, header} : null;
}"""


def test_every_header_and_footer_target_is_a_thumbs_height_on_a_phone(live, open_as):
    """The brand, the menu, パスワードの変更, ログアウト and the language switch
    were about 20 px tall: a thumb hit the neighbour. Each is 44 px, and the
    header still leaves the screen to the page."""
    user, paths = a_client_user_with_long_texts()
    assert not visit_on_a_phone(live, open_as(user), paths, TARGETS)


def test_an_invoices_totals_read_each_on_one_line_on_a_phone(live, open_as):
    """Each total (合計, 消費税, ご請求金額) put its label on one line, half
    underlined, and its amount on the next, pushed in under nothing."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    bill_month(month=previous_month(japan_today()), client_ids=[client.pk], issue=True)
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live['server'].url}/portal/invoices/{client.invoices.get().pk}/")
    totals = page.evaluate(
        """() => {
      const table = document.querySelector("main table").getBoundingClientRect();
      return [...document.querySelectorAll("main table tfoot tr")].map((tr) => {
        const label = tr.querySelector("th").getBoundingClientRect();
        // The amount's text, not its cell (a block as wide as the row).
        const range = document.createRange();
        range.selectNodeContents(tr.querySelector("td"));
        const amount = range.getBoundingClientRect();
        return {
          text: tr.querySelector("th").textContent.trim(),
          sameLine: Math.abs(label.top - amount.top) < 8,
          toTheRight: table.right - amount.right < 12,
        };
      });
    }"""
    )
    assert totals[-1]["text"] == "ご請求金額", totals
    assert all(t["sameLine"] and t["toTheRight"] for t in totals), totals


def test_the_cancellations_two_buttons_stand_apart_on_a_phone(live, open_as):
    """On a phone この内容で解約を申し込む sat right on top of 戻って修正する,
    border on border: a thumb going back could send the cancellation."""
    plans = factories.make_plans()
    client = factories.ClientFactory(name="白浜デザイン")
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    page = open_as(factories.ClientUserFactory(client=client))
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live['server'].url}/portal/cancellation/")
    page.locator("input[name=last_day]").nth(1).check()
    page.click("#cancellation-form button[type=submit]")
    page.wait_for_load_state()

    send = page.locator("button[name=confirm]").bounding_box()
    back = page.locator("button[name=back]").bounding_box()
    assert send is not None and back is not None
    apart_down = back["y"] - (send["y"] + send["height"])
    apart_across = back["x"] - (send["x"] + send["width"])
    assert max(apart_down, apart_across) >= 8, (send, back)
