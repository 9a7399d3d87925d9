"""The issue's five journeys in a real browser against the app served for real:
gunicorn, a Celery worker on a private Redis, and a local SMTP peer.

Assertions read DOM text (headless chromium may lack CJK glyphs) and what the
SMTP peer received.
"""

import re
from pathlib import Path

import pytest

from answering.models import Call
from billing import services as billing_services
from clients.months import japan_today, month_start, next_month, previous_month
from reporting.models import Delivery
from tests import factories
from tests.reporting.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def a_client(**kwargs):
    plans = factories.make_plans()
    client = factories.ClientFactory(**kwargs)
    factories.ClientPlanFactory(client=client, plan=plans["small"])
    return client


def reload_until(page, selector: str, text: str, *, timeout: float = 20.0) -> bool:
    def shown() -> bool:
        page.reload()
        return text in page.inner_text(selector)

    return wait_until(shown, timeout=timeout, interval=0.5)


def test_operator_screen_pop_logs_a_call_and_the_report_arrives(live, open_as):
    client = a_client(name="青空商事株式会社", announce_name="青空商事でございます")
    factories.NumberAssignmentFactory(
        client=client, number=factories.LentNumberFactory(number="+81350501234")
    )
    factories.ReportRecipientFactory(
        client=client, pc_email="boss@aozora.example.jp", mobile_email=""
    )
    operator = factories.OperatorFactory()
    page = open_as(operator)
    base = live["server"].url

    page.goto(f"{base}/operator/calls/new?dialed=0350501234&caller=09011112222")
    assert page.inner_text("#announce") == "青空商事でございます"

    page.fill("#id_caller_name", "山田太郎")
    page.fill("#id_caller_company", "株式会社サンプル工業")
    page.fill("#id_callback_number", "０９０（３３３３）４４４４")
    page.fill("#id_purpose", "見積もりの件で折り返しをお願いします")
    page.click("#call-form button[type=submit]")
    page.wait_for_selector("#saved-banner")
    banner = page.inner_text("#saved-banner")
    assert "山田太郎" in banner
    assert "090-3333-4444" in banner
    assert reload_until(page, "#saved-banner", "報告済"), page.inner_text(
        "#saved-banner"
    )

    smtp = live["smtp"]
    assert smtp.count() == 1
    message = smtp.messages[0]
    assert message["to"] == ["boss@aozora.example.jp"]
    assert "山田太郎様" in message["subject"]
    assert "株式会社サンプル工業" in message["subject"]
    assert "■お名前: 山田太郎様" in message["body"]
    assert "■ご用件: 見積もりの件で折り返しをお願いします" in message["body"]
    assert "■折り返し先: 090-3333-4444" in message["body"]
    call = Call.objects.get()
    assert call.dialed_number == "+81350501234"
    assert call.caller_number == "+819011112222"
    assert call.logged_by == operator


def focused(page) -> str:
    return page.evaluate("document.activeElement.id")


def test_operator_logs_calls_with_the_keyboard_alone(live, open_as):
    client = a_client(name="若葉商店", announce_name="若葉商店でございます")
    factories.NumberAssignmentFactory(
        client=client, number=factories.LentNumberFactory(number="+81350505678")
    )
    factories.ReportRecipientFactory(client=client, mobile_email="")
    page = open_as(factories.OperatorFactory())
    page.goto(f"{live['server'].url}/operator/calls/new?dialed=0350505678")
    # The category has the focus as the page opens: no mouse needed.
    assert focused(page) == "id_category_normal"

    # A sales call: two keystrokes.
    page.keyboard.press("2")
    assert page.is_checked("#id_category_sales")
    assert page.is_hidden("#id_caller_name")  # what a sales call does not need
    page.keyboard.press("Enter")
    page.wait_for_selector("#saved-banner")
    assert "営業電話" in page.inner_text("#saved-banner")
    # Ready for the next call: a blank form, the category focused again.
    assert focused(page) == "id_category_normal"
    assert page.input_value("#id_caller_name") == ""

    # A normal call, field after field with Tab, saved with Ctrl+Enter.
    for expected, text in [
        ("id_caller_name", "山田太郎"),
        ("id_caller_name_missing_reason", None),
        ("id_caller_company", "山田商事"),
        ("id_callback_number", "09012345678"),
        ("id_callback_number_missing_reason", None),
        ("id_purpose", "折り返しをお願いします"),
    ]:
        page.keyboard.press("Tab")
        assert focused(page) == expected
        if text:
            page.keyboard.insert_text(text)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#saved-banner")
    assert "山田太郎" in page.inner_text("#saved-banner")
    assert "090-1234-5678" in page.inner_text("#saved-banner")
    calls = Call.objects.filter(client=client).order_by("id")
    assert [c.category for c in calls] == ["sales", "normal"]
    assert calls[1].callback_number == "+819012345678"
    assert Delivery.objects.filter(call=calls[1]).count() == 1
    assert not Delivery.objects.filter(call=calls[0]).exists()


def usage_counts(page, base: str, client) -> tuple[int, int]:
    page.goto(f"{base}/billing/clients/{client.pk}/usage/")
    text = (
        page.inner_text("main")
        if page.query_selector("main")
        else page.inner_text("body")
    )
    match = re.search(r"対象 (\d+) 件.*営業電話 (\d+) 件", text)
    assert match, text
    return int(match.group(1)), int(match.group(2))


def test_a_sales_call_sends_nothing_and_the_month_count_stays(live, open_as):
    client = a_client(name="緑山工務店")
    factories.ReportRecipientFactory(client=client)
    factories.CallFactory(client=client)  # one counted call already this month
    base = live["server"].url
    admin_page = open_as(factories.AdminFactory())
    assert usage_counts(admin_page, base, client) == (1, 0)

    page = open_as(factories.OperatorFactory())
    page.goto(f"{base}/operator/calls/new?client={client.pk}")
    page.check("#id_category_sales")
    page.fill("#id_note", "複合機リースの営業")
    page.click("#call-form button[type=submit]")
    page.wait_for_selector("#saved-banner")
    assert "営業電話" in page.inner_text("#saved-banner")
    assert "報告なし" in page.inner_text("#saved-banner")

    sales = Call.objects.get(category="sales")
    assert sales.note == "複合機リースの営業"
    assert not Delivery.objects.filter(call=sales).exists()
    # The worker is live: give a stray report time to arrive before saying none did.
    assert not wait_until(lambda: live["smtp"].count() > 0, timeout=3)
    assert usage_counts(admin_page, base, client) == (1, 1)


def test_client_user_searches_downloads_csv_and_invoice_pdf(live, open_as):
    client = a_client(name="白浜デザイン")
    factories.CallFactory(client=client, caller_name="佐藤花子", purpose="打合せ日程")
    factories.CallFactory(client=client, caller_name="鈴木一郎", purpose="納品の件")
    last_month = previous_month(japan_today())
    billing_services.bill_month(month=last_month, client_ids=[client.pk], issue=True)
    user = factories.ClientUserFactory(client=client)
    base = live["server"].url

    page = open_as(user)
    page.goto(f"{base}/portal/calls/")
    page.fill("#id_q", "佐藤")
    page.click(".search-row button[type=submit]")
    page.wait_for_load_state()
    assert "q=" in page.url
    listing = page.inner_text("table")
    assert "佐藤花子" in listing
    assert "鈴木一郎" not in listing

    with page.expect_download() as download_info:
        page.click("text=この条件でCSVをダウンロード")
    raw = Path(download_info.value.path()).read_bytes()
    try:
        csv_text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        csv_text = raw.decode("cp932")
    assert "佐藤花子" in csv_text
    assert "鈴木一郎" not in csv_text

    page.goto(f"{base}/portal/invoices/")
    assert f"{last_month:%Y}年{last_month.month}月" in page.inner_text("table")
    with page.expect_download() as download_info:
        page.click("table >> text=ダウンロード")
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert download_info.value.suggested_filename.endswith(".pdf")


def invoice_text(page, base: str, month) -> str:
    # A month is billed once it has ended (month-end close), so the draft is
    # built as the beat task builds it on the 1st of the month after.
    billing_services.bill_month(month=month, today=next_month(month))
    page.goto(f"{base}/billing/?month={month:%Y-%m}")
    page.click("table >> text=詳細")
    page.wait_for_load_state()
    return page.inner_text("body")


def test_admin_schedules_a_plan_change_and_next_month_bills_the_new_plan(live, open_as):
    client = a_client(name="黒川法律事務所")
    this_month = month_start(japan_today())
    base = live["server"].url
    page = open_as(factories.AdminFactory())

    page.goto(f"{base}/admin/clients/client/")
    page.check(f"input[name=_selected_action][value='{client.pk}']")
    page.select_option("select[name=action]", "schedule_plan_change")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert f"{next_month(this_month):%Y}年{next_month(this_month).month}月" in (
        page.inner_text("#content")
    )
    page.select_option("select[name=plan]", label="ハーフ")
    page.click("input[type=submit][value='プラン変更を登録する']")
    page.wait_for_load_state()
    assert "「ハーフ」に変更します" in page.inner_text("body")

    following = invoice_text(page, base, next_month(this_month))
    assert "ハーフプラン 基本料金" in following
    assert "5,720" in following
    assert "スモールプラン" not in following

    current = invoice_text(page, base, this_month)
    assert "スモールプラン 基本料金" in current
    assert "2,960" in current
    assert "ハーフプラン" not in current


def test_client_user_cannot_reach_another_clients_call_or_invoice(live, open_as):
    mine = a_client(name="自社")
    other = a_client(name="他社")
    my_call = factories.CallFactory(client=mine)
    their_call = factories.CallFactory(client=other, caller_name="他社の発信者")
    last_month = previous_month(japan_today())
    billing_services.bill_month(month=last_month, issue=True)
    my_invoice = mine.invoices.get()
    their_invoice = other.invoices.get()
    base = live["server"].url
    page = open_as(factories.ClientUserFactory(client=mine))

    assert page.goto(f"{base}/portal/calls/{my_call.pk}/").status == 200
    assert page.goto(f"{base}/portal/invoices/{my_invoice.pk}/").status == 200

    response = page.goto(f"{base}/portal/calls/{their_call.pk}/")
    assert response.status == 404
    assert "他社の発信者" not in page.content()
    for path in (
        f"/portal/invoices/{their_invoice.pk}/",
        f"/portal/invoices/{their_invoice.pk}/pdf/",
        f"/portal/invoices/{their_invoice.pk}/calls/",
    ):
        assert page.goto(f"{base}{path}").status == 404, path
