"""CSV documents of an invoice: its lines, and the calls it counted.

Written with clients.spreadsheet: UTF-8 with a BOM for Excel, formula-like
cells (a caller's name such as ``=HYPERLINK(...)``) neutralised.
"""

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from answering.models import caller_number_text
from answering.selectors import nuisance_counts_among
from billing.models import Invoice, TaxCategory
from billing.selectors import counted_calls_for_invoice
from clients.months import JST
from clients.spreadsheet import csv_text


def render_invoice_lines_csv(invoice: Invoice) -> str:
    rows: list[list] = [
        [
            _("請求書番号"),
            _("請求対象月"),
            _("内容"),
            _("数量"),
            _("単価（税込）"),
            _("金額（税込）"),
            _("税率"),
        ]
    ]
    for line in invoice.lines.all():
        rows.append(
            [
                invoice.number_display,
                # 2026年10月, as the invoice says: Excel turns 2026-10 into Oct-26.
                date_format(invoice.billing_month, "YEAR_MONTH_FORMAT"),
                line.description,
                line.quantity,
                line.unit_price_yen,
                line.amount_yen,
                "10%" if line.tax_category == TaxCategory.STANDARD_10 else _("対象外"),
            ]
        )
    rows.append([])
    rows.append([_("10%対象 合計（税込）"), "", "", "", "", invoice.taxable_10_yen])
    rows.append([_("うち消費税（10%）"), "", "", "", "", invoice.tax_10_yen])
    rows.append([_("対象外（保証金）"), "", "", "", "", invoice.non_taxable_yen])
    rows.append([_("ご請求金額"), "", "", "", "", invoice.total_yen])
    return csv_text(rows)


def render_counted_calls_csv(invoice: Invoice) -> str:
    rows: list[list] = [
        [
            _("受電日時"),
            _("分類"),
            _("お名前"),
            _("会社名"),
            _("割増料金"),
            _("割増の理由"),
            # Added later: last, so admins' spreadsheets keep their columns.
            _("発信者番号"),
            _("この番号からのいたずら等の件数"),
        ]
    ]
    calls = counted_calls_for_invoice(invoice)
    counts = nuisance_counts_among(client_id=invoice.client_id, calls=calls)
    for call in calls.only(
        "received_at",
        "category",
        "caller_name",
        "caller_company",
        "surcharge_yen",
        "surcharge_reason",
        "caller_number",
        "personal_data_erased_at",
    ):
        rows.append(
            [
                f"{call.received_at.astimezone(JST):%Y-%m-%d %H:%M:%S}",
                call.get_category_display(),
                call.caller_name,
                call.caller_company,
                call.surcharge_yen,
                call.surcharge_reason,
                caller_number_text(
                    call.caller_number,
                    erased=call.personal_data_erased_at is not None,
                ),
                counts.get(call.caller_number, "") if call.is_nuisance else "",
            ]
        )
    return csv_text(rows)
