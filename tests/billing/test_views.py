import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse

from billing.due_dates import due_date_for
from billing.models import Adjustment, BillingRun, Invoice, InvoiceStatus
from billing.services import bill_month, issue_invoices, mark_paid, void_and_reissue
from clients.models import Client
from clients.months import japan_today, month_start, next_month
from tests.billing.factories import LATER, OCTOBER, contracted_client, void_confirmed
from tests.factories import ClientFactory
from tests.html_a11y import table_headers
from tests.html_forms import form_values


def post_on(browser, name, invoice, data):
    """POST one of the invoice page's forms, following the redirect if any."""
    return browser.post(reverse(name, args=[invoice.pk]), data, follow=True)


def shown_at(response, invoice) -> str:
    """The page a refusal redirected to, which must be the invoice's own page (a
    language switch there reloads it, not the POST-only URL)."""
    assert response.redirect_chain == [
        (reverse("billing:invoice", args=[invoice.pk]), 302)
    ]
    return response.content.decode()


@pytest.mark.parametrize("who", ["operator_client", "client"])
def test_billing_pages_are_for_admins_only(request, who, draft):
    browser = request.getfixturevalue(who)
    if who == "client":
        from tests.factories import ClientUserFactory

        browser.force_login(ClientUserFactory())
    for url in [
        reverse("billing:month"),
        reverse("billing:invoice", args=[draft.pk]),
        reverse("billing:invoice_pdf", args=[draft.pk]),
    ]:
        assert browser.get(url).status_code == 403
    response = browser.post(reverse("billing:issue"), {"month": "2026-10"})
    assert response.status_code == 403
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("billing:month"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_month_page_previews_drafts_and_issues_them(admin_client, draft):
    page = admin_client.get(reverse("billing:month"), {"month": "2026-10"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "株式会社ビュー" in body
    assert "3,108" in body  # plan 2,960 + 1 over; the deposit shows apart
    response = admin_client.post(reverse("billing:issue"), {"month": "2026-10"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED
    assert draft.number is not None


def test_a_fully_issued_month_says_so_and_its_issue_button_looks_disabled(
    admin_client, draft, settings
):
    def month_page():
        return admin_client.get(
            reverse("billing:month"), {"month": "2026-10"}
        ).content.decode()

    assert "すべて発行済みです" not in month_page()
    admin_client.post(reverse("billing:issue"), {"month": "2026-10"})
    page = month_page()
    assert "この月の請求書はすべて発行済みです。" in page
    assert re.search(r'<button type="submit" class="primary"\s+disabled>', page)
    # The disabled primary button is dimmed, without the hand cursor: a rule for
    # every disabled button, after button.primary's so that it wins.
    css = (settings.BASE_DIR / "static/css/app.css").read_text()
    disabled = re.search(r"button:disabled\s*\{([^}]*)\}", css)
    assert disabled and "cursor:not-allowed" in disabled.group(1).replace(" ", "")
    assert "opacity" in disabled.group(1)
    assert css.index("button.primary,") < disabled.start()


def test_bad_month_shows_japanese_error_not_500(admin_client, draft):
    page = admin_client.get(reverse("billing:month"), {"month": "2026-13"})
    assert page.status_code == 200
    assert "2026-10（または 2026年10月）の形で" in page.content.decode()
    response = admin_client.post(reverse("billing:run"), {"month": "abc"}, follow=True)
    assert response.status_code == 200
    assert "2026-10（または 2026年10月）の形で" in response.content.decode()


@pytest.mark.parametrize(
    "typed", ["2026年10月", "２０２６年１０月", "２０２６－１０", "2026/10"]
)
def test_a_month_is_read_as_typed_in_japan(admin_client, draft, typed):
    """2026年10月 was refused as "at most 7 characters", ２０２６－１０ as a bad form."""
    page = admin_client.get(reverse("billing:month"), {"month": typed})
    body = page.content.decode()
    assert "株式会社ビュー" in body and 'class="errors"' not in body


def test_an_empty_month_shows_the_default_month_without_an_error(admin_client, draft):
    body = admin_client.get(reverse("billing:month"), {"month": ""}).content.decode()
    assert "必須" not in body


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_a_month_beyond_the_calendar_is_refused_not_500(admin_client, draft, month):
    page = admin_client.get(reverse("billing:month"), {"month": month})
    assert page.status_code == 200
    assert "2000-01-01 から 2100-12-31 まで" in page.content.decode()
    for action in ("billing:run", "billing:issue"):
        response = admin_client.post(reverse(action), {"month": month}, follow=True)
        assert response.status_code == 200
        assert "2000-01-01 から 2100-12-31 まで" in response.content.decode()
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT


def test_a_month_not_over_is_shown_but_cannot_be_billed(admin_client, small):
    client = contracted_client(small)
    this_month = month_start(japan_today())
    shown = f"{this_month:%Y-%m}"
    page = admin_client.get(reverse("billing:month"), {"month": shown})
    assert page.status_code == 200
    assert "この月はまだ終わっていません。" in page.content.decode()
    response = admin_client.post(reverse("billing:run"), {"month": shown}, follow=True)
    assert (
        f"{this_month.year}年{this_month.month}月はまだ終わっていない"
        in response.content.decode()
    )
    assert not Invoice.objects.exists()
    # Drafts made before the rule existed are not issued either.
    bill_month(month=this_month, today=next_month(this_month))
    response = admin_client.post(
        reverse("billing:issue"), {"month": shown}, follow=True
    )
    assert response.redirect_chain == [
        (f"{reverse('billing:month')}?month={shown}", 302)
    ]
    assert "まだ終わっていない" in response.content.decode()
    assert Invoice.objects.get(client=client).status == InvoiceStatus.DRAFT


def test_run_button_builds_drafts(admin_client, small):
    contracted_client(small)
    response = admin_client.post(
        reverse("billing:run"), {"month": "2026-10"}, follow=True
    )
    assert response.status_code == 200
    assert Invoice.objects.filter(billing_month=OCTOBER).count() == 1
    assert "下書きを 1 件作成しました" in response.content.decode()


def test_mark_paid_void_reissue_and_credit(admin_client, draft):
    admin_client.post(reverse("billing:issue"), {"month": "2026-10"})
    # Void without a reason: the form says why, nothing changes.
    response = admin_client.post(
        reverse("billing:void", args=[draft.pk]), {"void-reason": ""}
    )
    assert response.status_code == 400
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.ISSUED
    response = admin_client.post(
        reverse("billing:void", args=[draft.pk]), void_confirmed("宛名の誤り")
    )
    new = Invoice.objects.get(replaces=draft)
    assert response["Location"] == reverse("billing:invoice", args=[new.pk])
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.VOID
    # Bad date keeps the page, with the error.
    response = admin_client.post(
        reverse("billing:mark_paid", args=[new.pk]), {"paid-paid_on": "not a date"}
    )
    assert response.status_code == 400
    # Issued today: paid today (a payment date is never before the issue date).
    today = japan_today()
    admin_client.post(
        reverse("billing:mark_paid", args=[new.pk]), {"paid-paid_on": f"{today}"}
    )
    new.refresh_from_db()
    assert (new.status, new.paid_on) == (InvoiceStatus.PAID, today)
    response = admin_client.post(
        reverse("billing:adjust", args=[new.pk]),
        {"adjust-amount_yen": "0", "adjust-reason": "x"},
    )
    assert response.status_code == 400
    admin_client.post(
        reverse("billing:adjust", args=[new.pk]),
        {"adjust-amount_yen": "148", "adjust-reason": "1件の誤計上"},
    )
    assert Adjustment.objects.get().amount_yen == 148


def test_downloads(admin_client, draft):
    pdf = admin_client.get(reverse("billing:invoice_pdf", args=[draft.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    lines = admin_client.get(reverse("billing:invoice_csv", args=[draft.pk]))
    assert "超過料金" in lines.content.decode("utf-8-sig")
    counted = admin_client.get(reverse("billing:invoice_calls", args=[draft.pk]))
    assert len(counted.content.decode("utf-8-sig").strip().splitlines()) == 1 + 21
    usage = admin_client.get(reverse("billing:usage", args=[draft.client_id]))
    assert usage.status_code == 200


def test_django_admin_shows_invoices_read_only_and_adds_credits(admin_client, draft):

    issue_invoices(month=OCTOBER)
    assert (
        admin_client.get(reverse("admin:billing_invoice_changelist")).status_code == 200
    )
    page = admin_client.get(reverse("admin:billing_invoice_change", args=[draft.pk]))
    assert page.status_code == 200
    response = admin_client.post(
        reverse("admin:billing_adjustment_add"),
        {
            "client": draft.client_id,
            "corrects_invoice": draft.pk,
            "amount_yen": "300",
            "reason": "割増の誤り",
        },
    )
    assert response.status_code == 302
    adjustment = Adjustment.objects.get()
    assert (adjustment.amount_yen, adjustment.applied_to) == (300, None)


def test_django_admin_shows_billing_runs_but_never_deletes_or_edits_them(
    admin_client, draft
):
    run = BillingRun.objects.get(billing_month=OCTOBER)
    changelist = reverse("admin:billing_billingrun_changelist")
    listed = admin_client.get(changelist)
    assert listed.status_code == 200
    assert "2026年10月" in listed.content.decode()
    page = admin_client.get(reverse("admin:billing_billingrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert reverse("admin:billing_billingrun_delete", args=[run.pk]) not in (
        page.content.decode()
    )

    one = admin_client.post(
        reverse("admin:billing_billingrun_delete", args=[run.pk]), {"post": "yes"}
    )
    bulk = admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [run.pk], "post": "yes"},
    )
    edit = admin_client.post(
        reverse("admin:billing_billingrun_change", args=[run.pk]),
        {"billing_month": "2026-09-01", "total_yen": "0"},
    )

    assert one.status_code == 403
    assert edit.status_code == 403
    assert bulk.status_code in (200, 302)
    kept = BillingRun.objects.get(pk=run.pk)
    assert (kept.billing_month, kept.total_yen) == (run.billing_month, run.total_yen)


def test_invoice_page_credits_read_whole_in_either_language(admin_client, draft):

    issue_invoices(month=OCTOBER)
    issued = Invoice.objects.get(pk=draft.pk)
    Adjustment.objects.create(
        client=issued.client, corrects_invoice=issued, amount_yen=1480, reason="誤計上"
    )
    Adjustment.objects.create(
        client=issued.client, corrects_invoice=issued, amount_yen=148, reason="重複"
    )
    bill_month(month=dt.date(2026, 11, 1), client_ids=[issued.client_id], today=LATER)
    november = Invoice.objects.get(billing_month=dt.date(2026, 11, 1))
    # The second credit waits for a later invoice.
    Adjustment.objects.filter(reason="重複").update(applied_to=None)
    assert november.pk != issued.pk
    url = reverse("billing:invoice", args=[issued.pk])

    japanese = admin_client.get(url).content.decode()
    assert "← 2026年10月の一覧" in japanese
    assert "2026年10月分" in japanese
    assert "-1,480円 誤計上（2026年11月分に反映）" in japanese
    assert "-148円 重複（未反映）" in japanese

    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = admin_client.get(url).content.decode()
    assert "← Back to October 2026" in english
    assert "October 2026 invoice" in english
    assert "-1,480 yen 誤計上 (applied to the November 2026 invoice)" in english
    assert "-148 yen 重複 (not yet applied)" in english


def test_usage_page_reads_whole_in_english(admin_client, draft, small):
    url = reverse("billing:usage", args=[draft.client_id])
    plan = small.name
    assert f"{plan}プラン:" in admin_client.get(url).content.decode()
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = admin_client.get(url).content.decode()
    assert f"{plan} plan:" in english
    assert " (as of " in english
    assert "時点" not in english


NOT_BILLED = "今月は請求の対象外です（お試し期間中、または契約開始前）。"


def _usage_of(browser, client) -> str:
    return browser.get(reverse("billing:usage", args=[client.pk])).content.decode()


def test_usage_page_tells_the_free_trial_apart_from_a_contract_awaiting_a_plan(
    admin_client, plans
):
    """Under contract with no plan, or a plan with no price, the month is
    skipped by billing until an admin registers one: the page said it was the
    free trial's "not billed", not what to register."""
    today = japan_today()
    this_month = month_start(today)
    in_trial = contracted_client(
        plans["small"],
        effective_month=this_month,
        trial_started_on=today,
        contract_started_on=None,
    )
    no_plan = ClientFactory()
    unpriced = contracted_client(plans["half"])
    plans["half"].prices.update(valid_from=next_month(LATER))
    day = f"{this_month.year}年{this_month.month}月1日"

    trial_page = _usage_of(admin_client, in_trial)
    no_plan_page = _usage_of(admin_client, no_plan)
    unpriced_page = _usage_of(admin_client, unpriced)

    assert NOT_BILLED in trial_page
    assert "登録するまで今月分は請求できません。" not in trial_page
    assert NOT_BILLED not in no_plan_page
    assert (
        f"今月は{day}から請求する契約ですが、プランが登録されていません。"
        "顧客一覧の「プラン変更を登録する」で最初のプランを登録してください。"
    ) in no_plan_page
    assert NOT_BILLED not in unpriced_page
    assert (
        f"「ハーフ」プランに{day}時点の料金が登録されていません。"
        f"プランの画面で、適用開始日が{day}以前の料金を登録してください。"
    ) in unpriced_page


def test_each_label_on_the_invoice_page_names_its_own_field(admin_client, draft):

    issue_invoices(month=OCTOBER)
    html = admin_client.get(reverse("billing:invoice", args=[draft.pk])).content
    html = html.decode()
    targets = re.findall(r'<label for="([^"]+)"', html)
    assert len(targets) == 4  # payment date; void reason; credit amount and reason
    for target in targets:
        assert html.count(f'id="{target}"') == 1, target


@pytest.mark.parametrize(
    ("typed", "message"),
    [("0001-01-01", "発行日（2026年11月2日）より前"), ("9999-12-31", "未来の日付")],
)
def test_a_payment_date_out_of_range_is_refused_on_the_form(
    admin_client, issued, typed, message
):
    response = admin_client.post(
        reverse("billing:mark_paid", args=[issued.pk]), {"paid-paid_on": typed}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert f'value="{typed}"' in html
    assert Invoice.objects.get().status == InvoiceStatus.ISSUED


def test_a_credit_on_a_draft_is_refused_with_the_reason(admin_client, draft):
    response = post_on(
        admin_client,
        "billing:adjust",
        draft,
        {"adjust-amount_yen": "100", "adjust-reason": "x"},
    )
    assert "発行済みの請求書を選んでください。" in shown_at(response, draft)
    assert not Adjustment.objects.exists()


def test_a_credit_form_sent_twice_credits_once(admin_client, issued):
    page = admin_client.get(reverse("billing:invoice", args=[issued.pk]))
    blank = form_values(page.content.decode(), "adjust-form")
    # The whole 10% total: counted twice, the second would be refused as too much.
    typed = {
        **blank,
        "adjust-amount_yen": str(issued.taxable_10_yen),
        "adjust-reason": "超過分の誤り",
    }
    for _ in range(2):  # a double click, or a resend after a dropped answer
        response = post_on(admin_client, "billing:adjust", issued, typed)
        assert "訂正を登録しました。" in shown_at(response, issued)
    credit = Adjustment.objects.get()
    assert (credit.amount_yen, credit.reason) == (issued.taxable_10_yen, "超過分の誤り")
    # The next blank form is a new credit (refused here: nothing is left).
    following = form_values(response.content.decode(), "adjust-form")
    assert following["adjust-submission_id"] != blank["adjust-submission_id"]
    response = admin_client.post(
        reverse("billing:adjust", args=[issued.pk]),
        {**following, "adjust-amount_yen": "1", "adjust-reason": "x"},
    )
    assert "0 円までです" in response.content.decode()


def test_a_credit_form_sent_again_with_other_values_is_another_credit(
    admin_client, issued
):
    """The browser's Back button shows the form with its hidden id again: what
    is typed then is a new credit, not a resend to drop."""
    page = admin_client.get(reverse("billing:invoice", args=[issued.pk]))
    blank = form_values(page.content.decode(), "adjust-form")
    for amount, reason in [("100", "一件目"), ("200", "二件目")]:
        typed = {**blank, "adjust-amount_yen": amount, "adjust-reason": reason}
        response = post_on(admin_client, "billing:adjust", issued, typed)
        assert "訂正を登録しました。" in shown_at(response, issued)
    assert sorted(Adjustment.objects.values_list("amount_yen", flat=True)) == [
        100,
        200,
    ]


def test_a_second_click_on_paid_says_it_is_already_paid(admin_client, issued):
    for paid_on in ("2026-11-20", "2026-11-21"):
        response = post_on(
            admin_client, "billing:mark_paid", issued, {"paid-paid_on": paid_on}
        )
    assert "この請求書はすでに入金済みです。" in shown_at(response, issued)
    issued.refresh_from_db()
    assert (issued.status, issued.paid_on) == (
        InvoiceStatus.PAID,
        dt.date(2026, 11, 20),
    )


def test_a_paid_invoice_cannot_be_voided_and_says_so(admin_client, issued):
    post_on(admin_client, "billing:mark_paid", issued, {"paid-paid_on": "2026-11-20"})
    response = post_on(admin_client, "billing:void", issued, void_confirmed("宛名"))
    assert "発行済み（未入金）の請求書だけを無効にできます。" in shown_at(
        response, issued
    )
    assert Invoice.objects.get().status == InvoiceStatus.PAID


def test_a_draft_can_be_neither_paid_nor_voided_and_says_so(admin_client, draft):
    response = post_on(
        admin_client, "billing:mark_paid", draft, {"paid-paid_on": "2026-11-20"}
    )
    assert "発行済みの請求書だけを入金済みにできます。" in shown_at(response, draft)
    response = post_on(admin_client, "billing:void", draft, void_confirmed("宛名"))
    assert "発行済み（未入金）の請求書だけを無効にできます。" in shown_at(
        response, draft
    )
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT


def test_voiding_an_invoice_that_should_not_exist_says_no_reissue(admin_client, issued):
    # The contract start was mistyped: the client owes nothing for October.
    Client.objects.filter(pk=issued.client_id).update(
        contract_started_on=dt.date(2026, 11, 1)
    )
    response = post_on(
        admin_client, "billing:void", issued, void_confirmed("契約開始日の誤り")
    )
    page = shown_at(response, issued)
    assert f"請求書 {issued.number_display} を無効にしました。" in page
    assert "再発行はしていません" in page
    assert [i.status for i in Invoice.objects.all()] == [InvoiceStatus.VOID]


def test_a_payment_date_is_read_as_typed_in_japan(admin_client, issued):
    response = post_on(
        admin_client, "billing:mark_paid", issued, {"paid-paid_on": "20/11/2026"}
    )
    assert "年・月・日の順で入力してください" in response.content.decode()
    post_on(admin_client, "billing:mark_paid", issued, {"paid-paid_on": "2026/11/20"})
    issued.refresh_from_db()
    assert (issued.status, issued.paid_on) == (
        InvoiceStatus.PAID,
        dt.date(2026, 11, 20),
    )


def test_a_reissue_names_the_invoice_it_replaces(admin_client, issued):
    new = void_and_reissue(invoice=issued, reason="宛名の誤り", today=LATER)
    body = admin_client.get(reverse("billing:invoice", args=[new.pk])).content.decode()
    assert (
        f"本請求書は、請求書番号 {issued.number_display}（発行日 2026年11月2日）"
        "を取り消し、再発行したものです。"
    ) in body
    assert reverse("billing:invoice", args=[issued.pk]) in body


def test_the_admin_invoice_list_writes_month_number_and_amount_as_elsewhere(
    admin_client, issued
):
    assert issued.number == 1 and issued.total_yen >= 1000
    page = admin_client.get("/admin/billing/invoice/").content.decode()
    row = page[page.index("株式会社ビュー") :]
    row = row[: row.index("</tr>")]
    assert "2026年10月<" in row and "2026年10月1日" not in row
    assert ">00000001<" in row
    assert f">{issued.total_yen:,}<" in row
    # Still sorted by those columns (by the stored values).
    for name in ("billing_month_label", "number_label", "total_label"):
        assert f'class="sortable column-{name}' in page
    response = admin_client.get("/admin/billing/invoice/?o=-2.-4.-5")
    assert response.status_code == 200
    assert "株式会社ビュー" in response.content.decode()


def test_the_admin_invoice_page_writes_month_number_and_amount_as_elsewhere(
    admin_client, issued
):
    page = admin_client.get(f"/admin/billing/invoice/{issued.pk}/change/")
    html = page.content.decode()

    def shown(label: str) -> str:
        after = html[html.index(f">{label}") :]
        after = after[after.index('class="readonly">') + len('class="readonly">') :]
        return after[: after.index("<")]

    assert shown("請求対象月") == "2026年10月"
    assert shown("請求書番号") == "00000001"
    assert shown("ご請求金額（円）") == f"{issued.total_yen:,}"


def test_billing_pages_write_yen_as_the_portal_does(admin_client, draft):
    """13,160円 with no space; a money column's bare numbers are headed （円）."""
    month = admin_client.get(reverse("billing:month"), {"month": "2026-10"})
    body = month.content.decode()
    assert f"（合計 {draft.total_yen:,}円）" in body
    assert not re.search(r"\d 円", body)
    for header in (
        "10%対象（円）",
        "うち消費税（円）",
        "対象外（円）",
        "ご請求金額（円）",
    ):
        assert f'<th class="num">{header}</th>' in body

    invoice = admin_client.get(reverse("billing:invoice", args=[draft.pk]))
    body = invoice.content.decode()
    assert '<th class="num">単価（円）</th>' in body
    assert '<th class="num">金額（税込・円）</th>' in body
    assert not re.search(r"\d 円", body)

    usage = admin_client.get(reverse("billing:usage", args=[draft.client_id]))
    body = usage.content.decode()
    assert not re.search(r"\d 円", body)
    assert re.search(r"基本料金 [\d,]+円、", body)
    assert f"{draft.total_yen:,}円</td>" in body  # the client's invoices


def test_a_month_not_over_says_when_drafts_can_be_made(admin_client, small):
    contracted_client(small)
    shown = f"{month_start(japan_today()):%Y-%m}"
    body = admin_client.get(reverse("billing:month"), {"month": shown}).content
    body = body.decode()
    assert "下書きは翌月1日から作成できます。" in body
    assert "「下書きを作成・更新」を押してください" not in body


def test_an_ended_month_without_invoices_still_points_to_the_button(admin_client, db):
    body = admin_client.get(reverse("billing:month"), {"month": "2026-09"}).content
    assert "「下書きを作成・更新」を押してください" in body.decode()


def test_every_column_of_the_month_page_has_a_header_a_screen_reader_can_read(
    admin_client, draft
):
    page = admin_client.get(reverse("billing:month"), {"month": "2026-10"})
    headers = table_headers(page.content.decode())
    assert "操作" in headers  # the column of 詳細 links
    assert all(headers)


def test_void_and_reissue_asks_first_and_says_what_will_happen(admin_client, issued):
    response = post_on(admin_client, "billing:void", issued, {"void-reason": "宛名"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"請求書 {issued.number_display} を無効にします。" in page
    assert "元に戻すことはできません" in page and "新しい請求書番号" in page
    assert "毎日のお知らせの送信で、お客様にメールで届きます" in page
    due = due_date_for(issued.billing_month, issued_on=japan_today())
    assert (
        f"新しい請求書のお支払期限は{due.year}年{due.month}月{due.day}日になります。"
        in page
    )
    assert "実行する" in page
    assert f'href="{reverse("billing:invoice", args=[issued.pk])}">戻る' in page
    # Nothing happened yet.
    assert [i.status for i in Invoice.objects.all()] == [InvoiceStatus.ISSUED]
    # 実行する sends the confirmation; the helper the other tests use is it.
    sent = form_values(page, "void-confirm-form")
    sent.pop("csrfmiddlewaretoken", None)
    assert sent == void_confirmed("宛名")
    response = post_on(admin_client, "billing:void", issued, sent)
    new = Invoice.objects.get(status=InvoiceStatus.ISSUED)
    assert new.replaces_id == issued.pk
    assert f"{new.due_on:%Y年%-m月%-d日}" in page  # the date it announced
    assert f"{issued.number_display} を無効にし" in response.content.decode()


def _status_badge(page: str) -> str:
    """The classes of the status badge in the invoice page's heading."""
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    return re.search(r'<span class="(badge[^"]*)"', heading).group(1)


def test_the_invoice_page_colours_its_state_as_the_month_page_does(admin_client, draft):
    """A draft is yellow and a paid invoice green on its own page too, as in the
    month's list one click before."""
    url = reverse("billing:invoice", args=[draft.pk])
    assert _status_badge(admin_client.get(url).content.decode()) == "badge warn"
    issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2))
    assert _status_badge(admin_client.get(url).content.decode()) == "badge"
    mark_paid(
        invoice=Invoice.objects.get(pk=draft.pk),
        paid_on=dt.date(2026, 11, 20),
        today=dt.date(2026, 11, 20),
    )
    assert _status_badge(admin_client.get(url).content.decode()) == "badge ok"


def test_a_drafts_page_says_it_is_not_issued_and_where_to_issue_it(admin_client, draft):
    url = reverse("billing:invoice", args=[draft.pk])
    page = admin_client.get(url).content.decode()
    note = page.split('id="draft-note">', 1)[1].split("</p>", 1)[0]
    assert "まだ発行しておらず、お客様のポータルにも表示されません" in note
    assert f'href="{reverse("billing:month")}?month=2026-10"' in note
    issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2))
    assert 'id="draft-note"' not in admin_client.get(url).content.decode()
