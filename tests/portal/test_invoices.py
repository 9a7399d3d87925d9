import csv
import datetime as dt
import io
import re
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from answering.models import Call, Category, MissingReason
from billing.models import Invoice, LineKind
from billing.selectors import month_to_date_usage
from billing.services import bill_month, mark_paid, void_and_reissue
from clients.months import days_in_month, japan_today, month_start, previous_month
from portal.advice import plan_advice
from tests.factories import CallFactory, ReportRecipientFactory, silent_calls
from tests.portal.conftest import jst
from tests.portal.test_history import MAX_QUERIES

pytestmark = pytest.mark.django_db

OCTOBER = dt.date(2026, 10, 1)


def bill(client, month, *, issue=True):
    bill_month(
        month=month, client_ids=[client.pk], issue=issue, today=dt.date(2026, 11, 2)
    )
    return Invoice.objects.get(
        client=client, billing_month=month, status__in=["draft", "issued"]
    )


@pytest.fixture
def october_invoice(portal_user):
    client = portal_user.client
    for day in range(1, 26):  # 25 counted calls on the Small plan: 5 over
        CallFactory(
            client=client, received_at=jst(2026, 10, day, 10), caller_name=f"十月{day}"
        )
    CallFactory(
        client=client,
        received_at=jst(2026, 10, 3, 11),
        category=Category.SALES,
        caller_name="営業電話の人",
    )
    return bill(client, OCTOBER)


def test_the_list_shows_issued_paid_and_void_invoices_but_never_drafts(
    portal, portal_user, october_invoice
):
    client = portal_user.client
    september = bill(client, dt.date(2026, 9, 1))
    mark_paid(invoice=september, paid_on=dt.date(2026, 11, 10))
    august_draft = bill(client, dt.date(2026, 8, 1), issue=False)
    replacement = void_and_reissue(
        invoice=october_invoice, reason="宛名の訂正", today=dt.date(2026, 11, 3)
    )
    response = portal.get(reverse("portal:invoices"))
    listed = list(response.context["invoices"])
    assert set(listed) == {september, october_invoice, replacement}
    assert august_draft not in listed
    assert (
        portal.get(reverse("portal:invoice", args=[august_draft.pk])).status_code == 404
    )
    assert (
        portal.get(reverse("portal:invoice_pdf", args=[august_draft.pk])).status_code
        == 404
    )
    body = portal.get(
        reverse("portal:invoice", args=[october_invoice.pk])
    ).content.decode()
    assert "宛名の訂正" in body
    assert reverse("portal:invoice", args=[replacement.pk]) in body


def test_detail_shows_the_lines_and_totals(portal, october_invoice):
    response = portal.get(reverse("portal:invoice", args=[october_invoice.pk]))
    body = response.content.decode()
    for line in october_invoice.lines.all():
        assert line.description in body
    assert f"{october_invoice.total_yen:,}円" in body
    assert f"{october_invoice.tax_10_yen:,}円" in body
    over = october_invoice.lines.get(kind="call_over")
    assert over.amount_yen == 5 * 148


def test_pdf_download(portal, portal_user, october_invoice):
    response = portal.get(reverse("portal:invoice_pdf", args=[october_invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages)
    assert portal_user.client.name in text
    assert october_invoice.number_display in text


def test_the_invoice_dates_read_alike_on_the_detail_page_and_the_pdf(
    portal, october_invoice
):
    """The dense list keeps 2026/11/02; the detail page reads as the PDF does."""
    mark_paid(invoice=october_invoice, paid_on=dt.date(2026, 11, 10))
    listed = portal.get(reverse("portal:invoices")).content.decode()
    assert "2026/11/02" in listed
    page = portal.get(reverse("portal:invoice", args=[october_invoice.pk]))
    body = page.content.decode()
    period = "2026年10月1日〜2026年10月31日"
    assert f"<dt>対象期間</dt><dd>{period}</dd>" in body
    assert "<dt>発行日</dt><dd>2026年11月2日</dd>" in body
    assert "（2026年11月10日）" in body
    assert "2026/10/01" not in body and "2026/11/10" not in body
    pdf = portal.get(reverse("portal:invoice_pdf", args=[october_invoice.pk]))
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert period in text


def test_the_counted_calls_of_an_invoice(portal, october_invoice):
    response = portal.get(reverse("portal:invoice_calls", args=[october_invoice.pk]))
    body = response.content.decode()
    assert len(response.context["rows"]) == 25
    assert "十月1" in body and "十月25" in body
    assert "営業電話の人" not in body
    response = portal.get(
        reverse("portal:invoice_calls_csv", args=[october_invoice.pk])
    )
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    assert text.count("\r\n") == 26  # header + 25 calls
    assert "090-1234-5678" in text and "+819012345678" not in text
    assert "営業電話の人" not in text


def test_the_counted_calls_csv_gives_numbers_and_nuisance_repeat_counts(
    portal, portal_user, october_invoice
):
    client = portal_user.client
    Call.objects.filter(
        client=client, caller_name__in=["十月1", "十月2", "十月3"]
    ).update(category=Category.NUISANCE, caller_number="+819011112222")
    Call.objects.filter(client=client, caller_name="十月4").update(caller_number="")
    response = portal.get(
        reverse("portal:invoice_calls_csv", args=[october_invoice.pk])
    )
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][5] == "発信者番号"
    assert rows[0][-1] == "この番号からのいたずら等の件数"
    cells = {row[2]: (row[5], row[-1]) for row in rows[1:]}
    assert cells["十月1"] == ("090-1111-2222", "3")
    assert cells["十月4"] == ("非通知", "")
    assert cells["十月5"] == ("090-1234-5678", "")


def test_home_shows_the_projected_bill_from_billing(portal, portal_user):
    client = portal_user.client
    CallFactory(client=client)
    usage = month_to_date_usage(client=client)
    body = portal.get(reverse("portal:home")).content.decode()
    assert f"今月のご請求見込み: {usage.projected_total_yen:,}円" in body
    assert usage.projected_total_yen >= 2960


def test_plan_advice_marks_the_cheapest_plan_each_month(portal_user, plans):
    client = portal_user.client
    for i in range(25):  # October: 25 calls -> Small 3,700 < Half 5,720
        CallFactory(
            client=client, received_at=jst(2026, 10, 1, 9) + dt.timedelta(hours=i)
        )
    for i in range(60):  # September: 60 calls -> Half 8,580 < Small 8,880 < Std 11,040
        CallFactory(
            client=client, received_at=jst(2026, 9, 1, 9) + dt.timedelta(hours=i)
        )
    CallFactory(client=client, received_at=jst(2026, 9, 2, 9), category=Category.SALES)
    advice = plan_advice(client=client, today=dt.date(2026, 11, 25))
    assert len(advice.rows) == 12
    assert advice.rows[-1].month == OCTOBER
    by_month = {row.month: row for row in advice.rows}
    names = [p.name for p in advice.plans]
    october = dict(zip(names, by_month[OCTOBER].cells, strict=True))
    september = dict(zip(names, by_month[dt.date(2026, 9, 1)].cells, strict=True))
    assert by_month[dt.date(2026, 9, 1)].counted_calls == 60  # the sales call is free
    assert october["スモール"].yen == 3700 and october["スモール"].cheapest
    assert not october["ハーフ"].cheapest
    assert september["ハーフ"].yen == 8580 and september["ハーフ"].cheapest
    assert september["スモール"].yen == 8880 and not september["スモール"].cheapest
    # Ten quiet months on Small (2,960) make Small the cheapest over the year.
    totals = dict(zip(names, advice.totals, strict=True))
    assert totals["スモール"].yen == 10 * 2960 + 3700 + 8880
    assert advice.cheapest_in_total == [plans["small"]]
    assert len(advice.bars) == 12


def test_the_plan_page_shows_the_chart_and_table(portal):
    body = portal.get(reverse("portal:plan")).content.decode()
    assert "<svg" in body and body.count("<rect") == 12
    assert "12か月の合計" in body
    assert "1年間の合計でお選びください" in body
    assert "http" not in body.split("<svg")[1].split("</svg>")[0].replace(
        "http://www.w3.org", ""
    )


def _advice_note(body: str) -> str:
    return " ".join(re.findall(r'<p class="advice-note[^"]*">(.*?)</p>', body, re.S))


def test_the_advice_names_the_months_it_compared(portal, portal_user):
    last_month = previous_month(month_start(japan_today()))
    first_month = last_month
    for _step in range(11):
        first_month = previous_month(first_month)
    note = _advice_note(portal.get(reverse("portal:plan")).content.decode())
    assert (
        f"過去12か月（{first_month.year}年{first_month.month}月〜"
        f"{last_month.year}年{last_month.month}月）の合計で比べると"
        "「スモール」がいちばんお得でした。"
    ) in note
    assert "1年を通して" not in note

    # Billed for three months only: the note says three, and which.
    client = portal_user.client
    client.trial_started_on = None
    client.contract_started_on = previous_month(previous_month(last_month))
    client.save()
    body = portal.get(reverse("portal:plan")).content.decode()
    assert "3か月の合計" in body  # the table's total row
    start = client.contract_started_on
    assert (
        f"ご請求のあった3か月（{start.year}年{start.month}月〜"
        f"{last_month.year}年{last_month.month}月）の合計で比べると"
        "「スモール」がいちばんお得でした。"
    ) in _advice_note(body)


@pytest.mark.parametrize(("calls", "warned"), [(20, False), (21, True)])
def test_the_advice_says_when_this_month_already_passed_its_included_calls(
    portal, portal_user, calls, warned
):
    today = japan_today()
    for second in range(calls):  # today, on the Small plan (20 included)
        CallFactory(
            client=portal_user.client,
            received_at=jst(today.year, today.month, today.day, 0, 0, second),
        )
    note = _advice_note(portal.get(reverse("portal:plan")).content.decode())
    assert "「スモール」がいちばんお得でした" in note
    warning = (
        f"ただし今月（{today.year}年{today.month}月）は今日までに{calls}件で、"
        "「スモール」の基本料金内の20件をすでに超えています。"
        "上の比較に今月は含まれていません。"
    )
    assert (warning in note) is warned


def test_months_before_the_contract_are_not_listed(portal_user):
    """A client of two months read ten rows of ご請求のない月 above its own
    two (before the contract, nothing to compare)."""
    client = portal_user.client
    client.trial_started_on = dt.date(2026, 8, 22)  # billed from September 1st
    client.contract_started_on = dt.date(2026, 8, 22)
    client.save()
    CallFactory(client=client, received_at=jst(2026, 8, 25, 10))  # in the trial
    CallFactory(client=client, received_at=jst(2026, 9, 10, 10))
    advice = plan_advice(client=client, today=dt.date(2026, 11, 25))
    assert [row.month for row in advice.rows] == [dt.date(2026, 9, 1), OCTOBER]
    assert [row.counted_calls for row in advice.rows] == [1, 0]
    assert all(row.billed for row in advice.rows)
    assert advice.billed_months == 2
    assert [bar.month for bar in advice.bars] == [dt.date(2026, 9, 1), OCTOBER]
    small_total = next(
        cell
        for plan, cell in zip(advice.plans, advice.totals, strict=True)
        if plan.code == "small"
    )
    assert small_total.yen == 2 * 2960


def test_a_client_not_billed_for_a_whole_month_yet_is_told_there_is_nothing_to_compare(
    portal, portal_user
):
    """Billed from this month: the advice drew an empty chart and a table of
    twelve rows of ご請求のない月."""
    client = portal_user.client
    client.trial_started_on = None
    client.contract_started_on = month_start(japan_today())
    client.save()
    body = portal.get(reverse("portal:plan")).content.decode()
    advice = body[body.index("プランの見直し") :]
    advice = advice[: advice.index("</section>")]
    assert "先月までにご請求のあった月がないため、まだ比べられません。" in advice
    assert "<svg" not in advice and "<table" not in advice
    assert "ご請求のない月" not in advice


def test_a_call_reclassified_after_issue_stays_listed_without_a_dead_link(
    portal, october_invoice
):
    """The list matches the invoice's count; the call, now a sales call the
    portal does not show, is marked instead of linking to a 404."""
    url = reverse("portal:invoice_calls", args=[october_invoice.pk])
    first = portal.get(url).context["rows"][0]
    Call.objects.filter(pk=first.pk).update(category=Category.SALES)
    response = portal.get(url)
    body = response.content.decode()
    assert len(response.context["rows"]) == 25
    assert "請求後に営業電話へ訂正" in body
    assert f'{reverse("portal:calls")}{first.pk}/"' not in body


def test_a_first_month_after_the_trial_is_priced_pro_rata_as_billed(portal_user):
    # Trial 2026-10-01..10, billed from the 11th: 21 of October's 31 days.
    client = portal_user.client
    client.trial_started_on = dt.date(2026, 10, 1)
    client.contract_started_on = dt.date(2026, 10, 1)
    client.save()
    for i in range(20):  # after the trial: 20 counted calls
        CallFactory(
            client=client, received_at=jst(2026, 10, 20, 9) + dt.timedelta(minutes=i)
        )
    advice = plan_advice(client=client, today=dt.date(2026, 11, 25))
    october = advice.rows[-1]
    assert october.billed and october.counted_calls == 20
    small = next(
        cell
        for plan, cell in zip(advice.plans, october.cells, strict=True)
        if plan.code == "small"
    )
    # Fee 2,960 x 21/31 = 2,005 (down); included 20 x 21/31 = 14 (up);
    # 6 calls over x 148 = 888: what the October invoice charges.
    assert small.yen == 2005 + 888
    assert october.pro_rata_note == "（21日/31日の日割り）"
    assert advice.rows == [october]  # September was before the contract


def test_the_plan_page_marks_a_pro_rata_month(portal, portal_user):
    last_month = previous_month(month_start(japan_today()))
    client = portal_user.client
    client.trial_started_on = last_month  # billed from the 11th
    client.contract_started_on = last_month
    client.save()
    month_days = days_in_month(last_month)
    body = portal.get(reverse("portal:plan")).content.decode()
    assert f"（{month_days - 10}日/{month_days}日の日割り）" in body


@pytest.mark.parametrize(
    ("trial_started_on", "contract_started_on"),
    [
        # Trial 1..10, contract signed from the 20th: the 11th..19th are not billed.
        (dt.date(2026, 10, 1), dt.date(2026, 10, 20)),
        # No trial, contract from the 20th; calls logged from the 12th (set-up).
        (None, dt.date(2026, 10, 20)),
    ],
)
def test_advice_for_a_pro_rata_month_matches_its_invoice(
    portal_user, trial_started_on, contract_started_on
):
    client = portal_user.client
    client.trial_started_on = trial_started_on
    client.contract_started_on = contract_started_on
    client.save()
    for day in range(12, 32):  # one call a day, 12th..31st: 8 before the 20th
        CallFactory(client=client, received_at=jst(2026, 10, day, 10))
    bill_month(
        month=OCTOBER, client_ids=[client.pk], issue=True, today=dt.date(2026, 11, 2)
    )
    invoice = Invoice.objects.get(client=client, billing_month=OCTOBER)
    billed = sum(
        line.amount_yen
        for line in invoice.lines.all()
        if line.kind in (LineKind.PLAN_FEE, LineKind.CALL_OVER)
    )
    advice = plan_advice(client=client, today=dt.date(2026, 11, 25))
    october = advice.rows[-1]
    small = next(
        cell
        for plan, cell in zip(advice.plans, october.cells, strict=True)
        if plan.code == "small"
    )
    assert (october.counted_calls, small.yen) == (
        invoice.lines.get(kind=LineKind.CALL_OVER).counted_calls,
        billed,
    )


def test_a_reissue_names_the_invoice_it_replaces(portal, october_invoice):
    replacement = void_and_reissue(
        invoice=october_invoice, reason="宛名の訂正", today=dt.date(2026, 11, 3)
    )
    body = portal.get(reverse("portal:invoice", args=[replacement.pk])).content.decode()
    assert (
        f"本請求書は、請求書番号 {october_invoice.number_display}"
        "（発行日 2026年11月2日）を取り消し、再発行したものです。"
    ) in body
    assert reverse("portal:invoice", args=[october_invoice.pk]) in body


def test_the_invoices_page_says_where_invoice_notices_go(portal, portal_user):
    client = portal_user.client
    ReportRecipientFactory(client=client, pc_email="tanto@example.jp")
    url = reverse("portal:invoices")

    page = portal.get(url).content.decode()
    assert "請求書のお知らせは、報告先のPCメールアドレス（tanto@example.jp）" in page
    # The client asks for another address itself (tests/portal/test_billing_email.py).
    assert reverse("portal:billing_email") in page

    client.billing_email = "keiri@example.jp"
    client.save(update_fields=["billing_email"])
    page = portal.get(url).content.decode()
    assert "請求書のお知らせは keiri@example.jp にお送りします。" in page
    assert "tanto@example.jp" not in page


def test_the_invoices_page_says_when_notices_have_nowhere_to_go(portal):
    page = portal.get(reverse("portal:invoices")).content.decode()
    assert "請求書のお知らせの送り先がありません" in page


def test_the_counted_calls_page_shows_numbers_and_nuisance_repeat_counts(
    portal, portal_user, october_invoice
):
    """As the history does: a nuisance call's number, linking to the calls from
    it, and how many nuisance calls that number made."""
    client = portal_user.client
    Call.objects.filter(
        client=client, caller_name__in=["十月1", "十月2", "十月3"]
    ).update(category=Category.NUISANCE, caller_number="+819011112222")
    Call.objects.filter(client=client, caller_name="十月4").update(
        category=Category.NUISANCE, caller_number=""
    )
    body = portal.get(
        reverse("portal:invoice_calls", args=[october_invoice.pk])
    ).content.decode()
    assert body.count("この番号からのいたずら等 3件") == 3
    # Marked in red, as in the history.
    assert body.count('<span class="badge danger">いたずら・嫌がらせ・無言</span>') == 4
    link = f"{reverse('portal:calls')}?q=090-1111-2222"
    assert body.count(f'href="{link}"') == 3
    assert body.count(">090-1111-2222</a>") == 3
    assert "発信者番号: 非通知" in body
    # A normal call's row shows no caller number, as in the history.
    assert "090-1234-5678" not in body


def test_a_silent_call_reads_silent_as_its_purpose_among_the_counted_calls(
    portal, portal_user, october_invoice
):
    """As the history and the call's page say it, not 「—」."""
    Call.objects.filter(client=portal_user.client, caller_name="十月1").update(
        category=Category.NUISANCE,
        caller_name="",
        callback_number="",
        purpose="",
        caller_name_missing_reason=MissingReason.SILENT,
        callback_number_missing_reason=MissingReason.SILENT,
        purpose_missing_reason=MissingReason.SILENT,
    )
    body = portal.get(
        reverse("portal:invoice_calls", args=[october_invoice.pk])
    ).content.decode()
    purposes = re.findall(r'data-label="用件">([^<]*)</td>', body)
    assert len(purposes) == 25
    assert purposes[0] == "無言"
    assert set(purposes[1:]) == {"折り返しのお願い"}


def _invoice_calls_queries(portal, invoice) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = portal.get(reverse("portal:invoice_calls", args=[invoice.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_counted_calls_page_uses_a_fixed_number_of_queries(
    portal, portal_user, october_invoice
):
    client = portal_user.client
    without_nuisance = _invoice_calls_queries(portal, october_invoice)
    Call.objects.filter(client=client, caller_name="十月1").update(
        category=Category.NUISANCE, caller_number="+819011112222"
    )
    one_number = _invoice_calls_queries(portal, october_invoice)
    # Every counted call a nuisance call, each from a number of its own.
    for i, call in enumerate(Call.objects.filter(client=client).counted()):
        Call.objects.filter(pk=call.pk).update(
            category=Category.NUISANCE, caller_number=f"+81903333{i:04d}"
        )
    many_numbers = _invoice_calls_queries(portal, october_invoice)
    # A month with a third as many calls costs the same.
    silent_calls(client, count=8, numbers=3, from_=jst(2026, 9, 1, 9))
    september = bill(client, dt.date(2026, 9, 1))
    assert (
        without_nuisance
        == one_number
        == many_numbers
        == _invoice_calls_queries(portal, september)
        <= MAX_QUERIES
    )


def test_a_void_invoice_asks_for_no_payment(portal, october_invoice):
    """A voided invoice is replaced by its reissue: its page must not ask the
    client to pay it by its due date into the bank account (it did, under the
    void notice: a client who followed it paid the month twice)."""
    page = portal.get(reverse("portal:invoice", args=[october_invoice.pk]))
    assert "までに振込先の口座へお振込みください" in page.content.decode()
    replacement = void_and_reissue(
        invoice=october_invoice, reason="宛名の訂正", today=dt.date(2026, 11, 3)
    )
    body = portal.get(
        reverse("portal:invoice", args=[october_invoice.pk])
    ).content.decode()
    assert "この請求書へのお支払いは不要です。" in body
    assert "お振込みください" not in body
    assert 'id="transfer-account"' not in body
    assert "<dt>お支払期限</dt>" not in body
    # The reissue asks for the payment instead.
    body = portal.get(reverse("portal:invoice", args=[replacement.pk])).content.decode()
    assert "までに振込先の口座へお振込みください" in body
    assert 'id="transfer-account"' in body


PREPARING = "2026年10月分のご請求書は準備中です。"


def _invoices_page(portal, monkeypatch, today: dt.date) -> tuple[str, int]:
    """The invoices page on ``today``, and how many queries it read."""
    monkeypatch.setattr("portal.views.japan_today", lambda: today)
    with CaptureQueriesContext(connection) as ctx:
        response = portal.get(reverse("portal:invoices"))
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def test_the_invoices_page_says_last_months_invoice_is_being_prepared(
    portal, portal_user, monkeypatch
):
    """After the month ends and before the admin issues its invoices (drafts
    are never shown), the page said nothing of the month's invoice."""
    client = portal_user.client
    CallFactory(client=client, received_at=jst(2026, 10, 5, 10))
    body, _ = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 1))
    # No address to e-mail: the page does not promise an e-mail.
    assert PREPARING + "発行しましたらこのページに表示します。" in body
    assert "メールでお知らせします" not in body

    ReportRecipientFactory(client=client, pc_email="tanto@example.jp")
    draft = bill(client, OCTOBER, issue=False)
    body, preparing_queries = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 3))
    assert PREPARING + "発行しましたらメールでお知らせします。" in body
    assert reverse("portal:invoice", args=[draft.pk]) not in body

    bill(client, OCTOBER)  # issued
    body, issued_queries = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 3))
    assert "準備中" not in body
    # The line costs no query of its own.
    assert preparing_queries == issued_queries


def test_no_invoice_is_said_to_be_prepared_for_a_month_not_billed(
    portal, portal_user, monkeypatch
):
    client = portal_user.client
    # Still in the month: nothing has ended to bill.
    body, _ = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 30))
    assert "2026年11月分" not in body and PREPARING in body
    # A trial that began in October and runs into November bills nothing for
    # October.
    client.trial_started_on = dt.date(2026, 10, 25)
    client.contract_started_on = dt.date(2026, 10, 25)
    client.save()
    body, _ = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 3))
    assert "準備中" not in body
    # A contract that ended in September has no October invoice.
    client.trial_started_on = dt.date(2025, 1, 1)
    client.contract_started_on = dt.date(2025, 1, 11)
    client.status = "cancelled"
    client.cancelled_on = dt.date(2026, 9, 30)
    client.save()
    body, _ = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 3))
    assert "準備中" not in body
    # One that ended with October gets its final invoice for October.
    client.cancelled_on = dt.date(2026, 10, 31)
    client.save()
    body, _ = _invoices_page(portal, monkeypatch, dt.date(2026, 11, 3))
    assert PREPARING in body


def test_a_paid_invoice_no_longer_asks_for_the_payment(portal, october_invoice):
    """Once paid, the page still asked to pay by the due date into the
    account, above its own 入金済み."""
    mark_paid(invoice=october_invoice, paid_on=dt.date(2026, 11, 10))
    body = portal.get(
        reverse("portal:invoice", args=[october_invoice.pk])
    ).content.decode()
    assert "入金済み（2026年11月10日）" in body
    assert "お振込みください" not in body
    assert 'id="transfer-account"' not in body


def test_an_invoice_without_counted_calls_says_so_and_offers_no_csv(
    portal, portal_user
):
    client = portal_user.client
    CallFactory(
        client=client, received_at=jst(2026, 10, 3, 11), category=Category.SALES
    )
    invoice = bill(client, OCTOBER)
    response = portal.get(reverse("portal:invoice_calls", args=[invoice.pk]))
    body = response.content.decode()
    assert "この請求期間に件数に数えた受電はありません。" in body
    assert reverse("portal:invoice_calls_csv", args=[invoice.pk]) not in body
    assert "<table" not in body
