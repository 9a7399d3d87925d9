"""The invoice as a PDF (適格請求書), drawn with reportlab.

Japanese text is set in IPAexGothic, a TrueType font kept beside this module in
``billing/fonts/`` with its licence (the IPA Font License lets it be passed on
unchanged with the licence), so the embedded default needs no system fonts and
no font package. reportlab embeds a subset of it, which keeps the text
extractable by PDF tools.
"""

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice, InvoiceStatus, TaxCategory

FONT_NAME = "IPAexGothic"
FONT_PATH = Path(__file__).resolve().parent / "fonts" / "ipaexg.ttf"
# Kanji IPAexGothic lacks (𠮷 of 𠮷田 and 𠮷野, other characters outside JIS X
# 0208) are set in the first of these that has them: Debian's fonts-hanazono
# (the Dockerfile installs it). Without it they print as an empty box.
FALLBACK_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
    Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"),
)


def _to_unicode_in_utf16(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode map, with characters outside the BMP in UTF-16.

    It writes 𠮷 (U+20BB7) as <20BB7>, which PDF readers take for ₻: copying or
    searching the invoice lost the character. The PDF format asks for UTF-16
    (a surrogate pair, <D842DFB7>).
    """

    def utf16(match: re.Match[str]) -> str:
        code = chr(int(match.group(2), 16)).encode("utf-16-be").hex().upper()
        return f"{match.group(1)}<{code}>"

    cmap = _reportlab_to_unicode(fontname, subset)
    return re.sub(r"^(<[0-9A-F]{2}> )<([0-9A-F]{5,6})>$", utf16, cmap, flags=re.M)


_reportlab_to_unicode = ttfonts.makeToUnicodeCMap
ttfonts.makeToUnicodeCMap = _to_unicode_in_utf16


@dataclass(frozen=True)
class _Font:
    name: str
    has: Callable[[int], bool]  # whether it draws this code point


def _registered(name: str, path: Path) -> _Font:
    font = TTFont(name, str(path))
    pdfmetrics.registerFont(font)
    return _Font(name=name, has=font.face.charToGlyph.__contains__)


@lru_cache(maxsize=1)
def _fonts() -> tuple[_Font, ...]:
    """The main font, then each fallback installed."""
    return (
        _registered(FONT_NAME, FONT_PATH),
        *(
            _registered(f"Fallback{index}", path)
            for index, path in enumerate(FALLBACK_FONT_PATHS)
            if path.exists()
        ),
    )


def _register_font() -> str:
    return _fonts()[0].name


def _with_fallbacks(markup: str) -> str:
    """``markup`` with each run of characters the main font lacks set in a
    fallback font that has them."""
    main, *fallbacks = _fonts()
    out: list[str] = []
    for char in markup:
        code = ord(char)
        font = None
        if not main.has(code):
            font = next((f.name for f in fallbacks if f.has(code)), None)
        out.append(char if font is None else f'<font name="{font}">{char}</font>')
    return "".join(out)


def _yen(amount: int) -> str:
    return f"{amount:,}円"


def _text(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text. reportlab reads a paragraph as markup: a typed
    "<b>" broke the PDF, and "<img src=...>" made it read a file or fetch a URL."""
    return Paragraph(_with_fallbacks(escape(text)), style)


def _date(day) -> str:  # type: ignore[no-untyped-def]
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """One A4 page (more when there are many lines) for ``invoice``.

    Always in Japanese: a qualified invoice (適格請求書) is a Japanese document,
    whatever language the person downloading it reads the screens in.
    """
    with translation.override(settings.LANGUAGE_CODE):
        return _render_pdf(invoice)


def _void_notice(invoice: Invoice, styles: dict[str, ParagraphStyle]) -> Table:
    """The boxed notice atop a void invoice: that it is void and asks for no
    payment, why, and which invoice took its place (as the portal's page says),
    so a client holding both pays the month once."""
    rows = [
        [_text(_("この請求書は無効です。お支払いは不要です。"), styles["void"])],
        [
            _text(
                _("無効の理由: %(reason)s") % {"reason": invoice.void_reason},
                styles["warn"],
            )
        ],
    ]
    for reissue in invoice.reissues.exclude(status=InvoiceStatus.DRAFT).order_by(
        "number"
    ):
        rows.append(
            [
                _text(
                    _(
                        "この請求書に代わる請求書: 請求書番号 %(number)s"
                        "（発行日 %(issued_on)s）"
                    )
                    % {
                        "number": reissue.number_display,
                        "issued_on": _date(reissue.issued_on),
                    },
                    styles["warn"],
                )
            ]
        )
    notice = Table(rows, colWidths=[174 * mm])
    notice.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor("#b42318")),
                ("TOPPADDING", (0, 0), (-1, 0), 3 * mm),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 3 * mm),
            ]
        )
    )
    return notice


def _render_pdf(invoice: Invoice) -> bytes:
    font = _register_font()
    styles = {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=22, leading=28, alignment=TA_CENTER
        ),
        "client": ParagraphStyle("client", fontName=font, fontSize=15, leading=20),
        "body": ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13),
        "right": ParagraphStyle(
            "right", fontName=font, fontSize=9.5, leading=13, alignment=TA_RIGHT
        ),
        "warn": ParagraphStyle(
            "warn",
            fontName=font,
            fontSize=11,
            leading=15,
            textColor=colors.HexColor("#b42318"),
            alignment=TA_CENTER,
        ),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=12),
    }
    styles["void"] = ParagraphStyle(
        "void", parent=styles["warn"], fontSize=16, leading=22
    )
    from django.conf import settings

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("請求書 %(number)s") % {"number": invoice.number_display},
        author=invoice.issuer_name,
    )
    story: list = []
    if invoice.status == InvoiceStatus.DRAFT:
        story.append(
            _text(_("下書き（未発行）: この書類は請求書ではありません"), styles["warn"])
        )
    elif invoice.status == InvoiceStatus.VOID:
        story += [_void_notice(invoice, styles), Spacer(1, 4 * mm)]
    story.append(_text(_("請求書"), styles["title"]))
    story.append(Spacer(1, 4 * mm))

    registration = (
        invoice.company_registration_number or settings.COMPANY_REGISTRATION_NUMBER
    )
    left = [
        _text(_("%(name)s 御中") % {"name": invoice.client_name}, styles["client"]),
        Spacer(1, 3 * mm),
    ]
    # A void invoice asks for nothing: its notice above says so instead.
    if invoice.status != InvoiceStatus.VOID:
        left.append(
            _text(
                _("下記のとおりご精算いたします。")
                if invoice.refund_yen
                else _("下記のとおりご請求申し上げます。"),
                styles["body"],
            )
        )
    right = [
        _text(
            _("請求書番号: %(number)s") % {"number": invoice.number_display or "—"},
            styles["right"],
        ),
        _text(
            _("発行日: %(day)s") % {"day": _date(invoice.issued_on)}, styles["right"]
        ),
        Spacer(1, 2 * mm),
        _text(invoice.issuer_name, styles["right"]),
        _text(settings.COMPANY_ADDRESS, styles["right"]),
        _text(_("TEL %(phone)s") % {"phone": settings.COMPANY_PHONE}, styles["right"]),
        _text(
            _("適格請求書発行事業者登録番号: %(number)s") % {"number": registration},
            styles["right"],
        ),
    ]
    header = Table([[left, right]], colWidths=[90 * mm, 84 * mm])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [header, Spacer(1, 5 * mm)]
    if invoice.replaces_id is not None:
        story += [_text(invoice.replacement_note, styles["body"]), Spacer(1, 3 * mm)]

    # A final invoice returning the deposit (or one with large credits) can
    # come to less than nothing: a refund, not an amount to pay by a date.
    if invoice.refund_yen:
        summary_rows: list[list] = [[_("ご返金額"), _yen(invoice.refund_yen)]]
    else:
        summary_rows = [[_("ご請求金額（税込）"), _yen(invoice.total_yen)]]
    if not invoice.nothing_to_pay and invoice.status != InvoiceStatus.VOID:
        summary_rows.append([invoice.due_label, _date(invoice.due_on)])
    if invoice.payment_instructions:
        summary_rows.append(
            [
                _("お支払い"),
                _text(invoice.payment_instructions, styles["cell"]),
            ]
        )
    if invoice.transfer_account:
        summary_rows.append(
            [_("振込先"), _text(invoice.transfer_account, styles["cell"])]
        )
    summary_rows.append(
        [
            _("対象期間"),
            _("%(start)s〜%(end)s（電話代行サービス %(year)d年%(month)d月分）")
            % {
                "start": _date(invoice.period_start),
                "end": _date(invoice.period_end),
                "year": invoice.billing_month.year,
                "month": invoice.billing_month.month,
            },
        ]
    )
    summary = Table(summary_rows, colWidths=[40 * mm, 134 * mm])
    summary.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 10),
                ("FONT", (1, 0), (1, 0), font, 14),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [summary, Spacer(1, 6 * mm)]

    rows: list[list] = [[_("内容"), _("数量"), _("単価"), _("金額（税込）"), _("税率")]]
    for line in invoice.lines.all():
        rows.append(
            [
                _text(line.description, styles["cell"]),
                f"{line.quantity:,}",
                _yen(line.unit_price_yen),
                _yen(line.amount_yen),
                "10%" if line.tax_category == TaxCategory.STANDARD_10 else _("対象外"),
            ]
        )
    lines = Table(
        rows,
        colWidths=[92 * mm, 16 * mm, 24 * mm, 26 * mm, 16 * mm],
        repeatRows=1,
    )
    lines.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
                ("ALIGN", (1, 1), (3, -1), "RIGHT"),
                ("ALIGN", (4, 0), (4, -1), "CENTER"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [lines, Spacer(1, 5 * mm)]

    totals = [
        [_("10%対象 合計（税込）"), _yen(invoice.taxable_10_yen)],
        [_("うち消費税（10%）"), _yen(invoice.tax_10_yen)],
    ]
    if invoice.non_taxable_yen:
        totals.append(
            [_("対象外（保証金・消費税なし）"), _yen(invoice.non_taxable_yen)]
        )
    if invoice.refund_yen:
        totals.append([_("ご返金額"), _yen(invoice.refund_yen)])
    else:
        totals.append([_("ご請求金額"), _yen(invoice.total_yen)])
    totals_table = Table(totals, colWidths=[60 * mm, 34 * mm], hAlign="RIGHT")
    totals_table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
                ("FONT", (0, -1), (-1, -1), font, 11),
            ]
        )
    )
    story += [totals_table, Spacer(1, 6 * mm)]
    story.append(
        _text(
            _(
                "消費税は請求書ごとに税率10%の対象合計から1回だけ計算しています"
                "（税込合計 × 10 ÷ 110、1円未満切り捨て）。"
                "保証金はお預かりするもので、消費税の対象外です。"
            ),
            styles["body"],
        )
    )
    doc.build(story)
    return buffer.getvalue()
