"""PDF and CSV of an invoice, read back the way a person's tools would."""

import csv
import datetime as dt
import io
import os

import pypdf
import pytest
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from answering.models import Call, Category
from billing.exports import render_counted_calls_csv, render_invoice_lines_csv
from billing.models import Invoice
from billing.pdf import FALLBACK_FONT_PATHS, render_invoice_pdf
from billing.selectors import counted_calls_for_invoice
from billing.services import add_adjustment, bill_month, mark_paid, void_and_reissue
from clients.models import Client
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.factories import ClientPlanFactory, ClientUserFactory

NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def invoice(small):
    client = contracted_client(small, name="株式会社山田商事")
    calls(client, 24)
    calls(client, 3, category="sales")
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    return Invoice.objects.get(client=client)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_has_extractable_japanese_and_qualified_invoice_fields(invoice):
    data = render_invoice_pdf(invoice)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "株式会社山田商事" in text
    assert "T5010001234567" in text
    assert "適格請求書発行事業者登録番号" in text
    assert "請求書" in text
    # 2,960 + 4 × 148 = 3,552 at 10%; tax floor(3552 × 10 / 110) = 322.
    assert invoice.tax_10_yen == 322
    assert "322円" in text
    assert "3,552円" in text
    assert invoice.number_display in text
    assert "2026年11月30日" in text  # due date


def test_typed_reasons_and_names_are_printed_as_typed(small):
    # reportlab reads markup in a paragraph: unescaped, "<b>" broke the PDF and
    # <img src=...> made the server open a file or a URL.
    client = contracted_client(small, name="<b>R&D商事")
    calls(client, 1)
    long_reason = "深夜の緊急対応" + "あ" * 193  # the longest reason the form takes
    calls(client, 1, surcharge_yen=500, surcharge_reason=long_reason)
    calls(client, 1, surcharge_yen=300, surcharge_reason='<img src="/etc/hostname"/>')
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    invoice = Invoice.objects.get(client=client)
    descriptions = list(invoice.lines.values_list("description", flat=True))
    assert any(d.endswith(long_reason) for d in descriptions)
    text = pdf_text(render_invoice_pdf(invoice))
    assert "<b>R&D商事" in text
    assert '<img src="/etc/hostname"/>' in text
    assert "深夜の緊急対応" in text


@pytest.mark.skipif(
    not any(path.exists() for path in FALLBACK_FONT_PATHS) and not os.environ.get("CI"),
    reason="no fallback font: apt-get install fonts-hanazono",
)
def test_kanji_the_main_font_lacks_are_printed_from_a_fallback_font(small):
    """「𠮷」 (𠮷田, 𠮷野) is not in IPAexGothic: the addressee of the qualified
    invoice printed as 「□田商店 御中」."""
    client = contracted_client(small, name="𠮷田商店")
    calls(client, 1, surcharge_yen=500, surcharge_reason="𠮷野様の件")
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    text = pdf_text(render_invoice_pdf(Invoice.objects.get(client=client)))
    assert "𠮷田商店 御中" in text
    assert "𠮷野様の件" in text


def test_invoices_stay_japanese_when_the_admin_reads_english(small):
    client = contracted_client(small, name="株式会社英語画面")
    calls(client, 24)
    with translation.override("en"):
        bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
        invoice = Invoice.objects.get(client=client)
        text = pdf_text(render_invoice_pdf(invoice))
    descriptions = " ".join(invoice.lines.values_list("description", flat=True))
    assert "基本料金" in descriptions and "2026年10月分" in descriptions
    assert "適格請求書発行事業者登録番号" in text and "基本料金" in text


def test_pdf_embeds_its_font(invoice):
    reader = pypdf.PdfReader(io.BytesIO(render_invoice_pdf(invoice)))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    descendant = [f.get_object() for f in fonts.values()]
    assert any("IPAexGothic" in str(f.get("/BaseFont")) for f in descendant)


def test_draft_pdf_says_it_is_not_an_invoice(small):
    client = contracted_client(small)
    bill_month(month=OCTOBER)
    text = pdf_text(render_invoice_pdf(Invoice.objects.get(client=client)))
    assert "下書き" in text


def test_lines_csv(invoice):
    text = render_invoice_lines_csv(invoice)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][2] == "内容"
    # A month Excel shows as the invoice writes it (it turned 2026-10 into Oct-26).
    assert rows[1][1] == "2026年10月"
    amounts = [
        int(r[5]) for r in rows[1:] if len(r) > 5 and r[0] == invoice.number_display
    ]
    assert sum(amounts) == invoice.total_yen
    assert ["ご請求金額", "", "", "", "", str(invoice.total_yen)] in rows


def test_counted_calls_are_the_billed_ones(small):
    client = contracted_client(
        small,
        trial_started_on=dt.date(2026, 10, 1),
        contract_started_on=dt.date(2026, 10, 11),
    )
    calls(client, 2, at=jst(2026, 10, 10, 23, 59, 59))  # trial
    calls(client, 3, at=jst(2026, 10, 11, 0, 0, 0))
    calls(client, 1, at=jst(2026, 10, 12), category=Category.SALES)
    calls(client, 1, at=jst(2026, 11, 1, 0, 0, 0))
    bill_month(month=OCTOBER)
    invoice = Invoice.objects.get(client=client)
    counted = list(counted_calls_for_invoice(invoice))
    assert len(counted) == 3
    assert invoice.lines.get(kind="call_over").counted_calls == 3
    rows = list(
        csv.reader(io.StringIO(render_counted_calls_csv(invoice).lstrip("\ufeff")))
    )
    assert len(rows) == 1 + 3
    assert rows[1][0] == "2026-10-11 00:00:00"


def test_an_issued_invoices_call_list_stays_as_it_counted(small):
    """The client checks the list against 対象N件: a call reclassified, or logged
    late for the month, after the invoice was issued must not change it."""
    client = contracted_client(small)
    billed = calls(client, 3)
    bill_month(month=OCTOBER, today=dt.date(2026, 11, 2))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))  # a rerun
    invoice = Invoice.objects.get(client=client)
    assert list(counted_calls_for_invoice(invoice)) == billed
    Call.objects.filter(pk=billed[0].pk).update(category=Category.SALES)
    calls(client, 1, at=jst(2026, 10, 30))  # logged late, never billed
    listed = list(counted_calls_for_invoice(invoice))
    assert listed == billed
    assert len(listed) == invoice.lines.get(kind="call_over").counted_calls


def test_an_invoice_built_before_calls_were_recorded_lists_them_as_now(small):
    client = contracted_client(small)
    billed = calls(client, 2)
    bill_month(month=OCTOBER)
    invoice = Invoice.objects.get(client=client)
    Invoice.objects.filter(pk=invoice.pk).update(calls_recorded=False)
    invoice.refresh_from_db()
    Call.objects.filter(pk=billed[0].pk).update(category=Category.SALES)
    assert list(counted_calls_for_invoice(invoice)) == billed[1:]


def test_counted_calls_csv_neutralises_formula_like_caller_text(small):
    client = contracted_client(small)
    calls(
        client,
        1,
        caller_name='=HYPERLINK("http://evil.example","x")',
        caller_company="@SUM(A1)",
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    text = render_counted_calls_csv(Invoice.objects.get(client=client))
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text


def _counted_calls_csv(invoice) -> list[list[str]]:
    text = render_counted_calls_csv(invoice)
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_counted_calls_csv_gives_numbers_and_nuisance_repeat_counts(small):
    client = contracted_client(small)
    caller = "+819011112222"
    calls(client, 2, category=Category.NUISANCE, caller_number=caller)
    calls(client, 1, category=Category.NUISANCE, caller_number="")
    calls(client, 1, caller_number=caller, caller_name="普通の電話")
    # The same number's harassment in November counts too: all time, as the
    # client's page and the portal count it.
    calls(
        client, 1, category=Category.NUISANCE, caller_number=caller, at=jst(2026, 11, 2)
    )
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    rows = _counted_calls_csv(Invoice.objects.get(client=client))
    # The earlier columns stay where admins' spreadsheets expect them.
    assert rows[0] == [
        *["受電日時", "分類", "お名前", "会社名", "割増料金", "割増の理由"],
        *["発信者番号", "この番号からのいたずら等の件数"],
    ]
    assert sorted(tuple(row[6:]) for row in rows[1:]) == [
        ("090-1111-2222", ""),  # the normal call
        ("090-1111-2222", "3"),
        ("090-1111-2222", "3"),
        ("非通知", ""),
    ]


def test_counted_calls_csv_takes_as_many_queries_for_many_numbers(small):
    few, many = contracted_client(small), contracted_client(small)
    calls(few, 1, category=Category.NUISANCE, caller_number="+819011112222")
    for i in range(40):
        calls(many, 1, category=Category.NUISANCE, caller_number=f"+8190{i:08d}")
    calls(many, 20)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    queries = {}
    for client in (few, many):
        invoice = Invoice.objects.get(client=client)
        with CaptureQueriesContext(connection) as ctx:
            rows = _counted_calls_csv(invoice)
        queries[len(rows) - 1] = len(ctx.captured_queries)
    assert queries[60] == queries[1]


def test_a_reissue_names_the_invoice_it_replaces_in_its_pdf(invoice):
    """A qualified invoice that replaces another says which one (number and
    issue date), so the client can set the first one aside."""
    new = void_and_reissue(
        invoice=invoice, reason="宛名の誤り", today=dt.date(2026, 11, 5)
    )
    text = pdf_text(render_invoice_pdf(new)).replace("\n", "")
    assert (
        f"本請求書は、請求書番号 {invoice.number_display}（発行日 2026年11月2日）"
        "を取り消し、再発行したものです。"
    ) in text
    # The original names none.
    assert "再発行したもの" not in pdf_text(render_invoice_pdf(invoice))


def test_a_void_invoices_pdf_says_it_is_void_and_asks_for_no_payment(invoice):
    """The PDF of a voided month, which the client may hold beside its reissue,
    says plainly that it is void and needs no payment, and which invoice took
    its place; no due date, no how-to-pay sentence, no bank account (it printed
    them all under a small 無効 header). It stays the qualified invoice it was."""
    account = invoice.company_bank_account
    assert account
    new = void_and_reissue(
        invoice=invoice, reason="宛名の誤り", today=dt.date(2026, 11, 5)
    )
    invoice.refresh_from_db()
    text = "".join(pdf_text(render_invoice_pdf(invoice)).split())
    assert "この請求書は無効です。お支払いは不要です。" in text
    assert "無効の理由:宛名の誤り" in text
    assert (
        f"この請求書に代わる請求書:請求書番号{new.number_display}"
        "（発行日2026年11月5日）"
    ) in text
    assert "この請求書へのお支払いは不要です。" in text
    for gone in (
        "お支払期限",
        "2026年11月30日",
        "お振込み",
        "振込先",
        "ご請求申し上げます",
    ):
        assert gone not in text
    assert "".join(account.split()) not in text
    # What a qualified invoice states is all still there.
    for kept in (
        "株式会社山田商事",
        invoice.number_display,
        "発行日:2026年11月2日",
        "適格請求書発行事業者登録番号:T5010001234567",
        "3,552円",
        "322円",
    ):
        assert kept in text
    # The reissue asks for the payment instead.
    text = "".join(pdf_text(render_invoice_pdf(new)).split())
    assert "お振込みください" in text and "".join(account.split()) in text
    assert "無効" not in text


def test_a_credit_line_names_the_month_and_invoice_it_corrects(small, admin_client):
    """A qualified invoice says when the supply an adjustment concerns took
    place: November's credit line names October's invoice and its month, on
    the admin's page, the client's portal page and the PDF."""
    client = contracted_client(small, name="株式会社訂正商事")
    calls(client, 21)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    add_adjustment(invoice=october, amount_yen=148, reason="営業電話の誤分類")
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 1))
    november = Invoice.objects.get(client=client, billing_month=NOVEMBER)
    expected = (
        f"訂正（2026年10月分 請求書番号 {october.number_display}） 営業電話の誤分類"
    )
    page = admin_client.get(reverse("billing:invoice", args=[november.pk]))
    assert expected in page.content.decode()
    portal = DjangoClient()
    portal.force_login(ClientUserFactory(client=client))
    page = portal.get(reverse("portal:invoice", args=[november.pk]))
    assert expected in page.content.decode()
    # The line wraps before the reason in the PDF's cell.
    assert expected in " ".join(pdf_text(render_invoice_pdf(november)).split())


def test_a_final_invoice_that_returns_more_than_it_charges_reads_as_a_refund(
    small, standard, admin_client
):
    """On Standard (deposit 11,040), down to Small for its last month: the final
    invoice charges 2,960 and returns 11,040. The client is owed 8,080 yen, and
    its documents say so instead of asking for -8,080 yen by a due date."""
    client = contracted_client(standard, name="株式会社解約商事")
    bill_month(month=dt.date(2026, 9, 1), issue=True, today=dt.date(2026, 10, 2))
    september = Invoice.objects.get(client=client)
    mark_paid(invoice=september, paid_on=dt.date(2026, 10, 20), today=LATER)
    ClientPlanFactory(client=client, plan=small, effective_month=OCTOBER)
    Client.objects.filter(pk=client.pk).update(cancelled_on=dt.date(2026, 10, 31))
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    final = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert (final.taxable_10_yen, final.non_taxable_yen) == (2960, -11040)
    assert final.total_yen == -8080

    text = " ".join(pdf_text(render_invoice_pdf(final)).split())
    assert "ご返金額 8,080円" in text
    assert "下記のとおりご精算いたします。" in text and "ご請求申し上げます" not in text
    assert "お支払いは不要です。ご返金の方法は別途ご案内いたします。" in text
    assert "-8,080" not in text
    assert "お支払期限" not in text

    portal = DjangoClient()
    portal.force_login(ClientUserFactory(client=client))
    page = portal.get(reverse("portal:invoice", args=[final.pk])).content.decode()
    assert "ご返金額" in page and "8,080円" in page
    assert "お支払いは不要です" in page
    assert "-8,080" not in page and "お支払期限" not in page
    listing = portal.get(reverse("portal:invoices")).content.decode()
    assert "ご返金 8,080円" in listing and "-8,080" not in listing
    page = admin_client.get(reverse("billing:invoice", args=[final.pk]))
    assert "ご返金額" in page.content.decode()
