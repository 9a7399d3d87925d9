"""The e-mail telling a client that its invoice was issued, and how to pay it.

Sent through Django's e-mail API with the project's EMAIL_* settings (as report
e-mails are), waiting at most ``EMAIL_TIMEOUT`` for each step. Always in
Japanese, as the invoice itself is.
"""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing.models import Invoice
from clients.message_ids import new_message_id
from clients.portal_links import portal_url


class NoticeError(Exception):
    """The notice was not sent; the next run tries again."""


def notice_subject(invoice: Invoice) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("【%(company)s】%(year)d年%(month)d月分のご請求書を発行しました") % {
            "company": invoice.issuer_name,
            "year": invoice.billing_month.year,
            "month": invoice.billing_month.month,
        }


def notice_body(invoice: Invoice) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _notice_body(invoice)


def _notice_body(invoice: Invoice) -> str:
    lines = [
        _("%(name)s 御中") % {"name": invoice.client_name},
        "",
        _("%(year)d年%(month)d月分のご請求書を発行しました。")
        % {"year": invoice.billing_month.year, "month": invoice.billing_month.month},
        "",
        _("請求書番号: %(number)s") % {"number": invoice.number_display},
    ]
    if invoice.replaces is not None:
        # The client may hold the voided one's notice (sent before, or while,
        # it was voided): say this one takes its place.
        lines.append(
            _("請求書番号 %(number)s は無効となり、本請求書に差し替えました。")
            % {"number": invoice.replaces.number_display}
        )
    if invoice.refund_yen:
        lines.append(_("ご返金額: %(yen)s円") % {"yen": f"{invoice.refund_yen:,}"})
    else:
        lines.append(
            _("ご請求金額（税込）: %(yen)s円") % {"yen": f"{invoice.total_yen:,}"}
        )
    if not invoice.nothing_to_pay:
        lines.append(
            _("%(label)s: %(due)s")
            % {
                "label": invoice.due_label,
                "due": date_format(invoice.due_on, _("Y年n月j日")),
            }
        )
        lines.append(
            _("お支払い方法: %(method)s")
            % {"method": invoice.get_payment_method_display()}
        )
    lines.append(invoice.payment_instructions)
    if invoice.transfer_account:
        lines.append(_("振込先: %(account)s") % {"account": invoice.transfer_account})
    lines.append("")
    link = portal_url("portal:invoice", invoice.pk)
    if link:
        lines += [_("請求書（PDF）はお客様ページでご覧いただけます。"), link]
    else:
        lines.append(_("請求書（PDF）はお客様ページの請求書一覧でご覧いただけます。"))
    lines += [
        "",
        invoice.issuer_name,
        f"{settings.COMPANY_ADDRESS} {settings.COMPANY_PHONE}",
    ]
    return "\n".join(lines) + "\n"


def send_notice(*, invoice: Invoice, to: list[str]) -> None:
    """Send ``invoice``'s notice to the addresses ``to`` (one message). Raises
    NoticeError when the server refuses it or cannot be reached in time."""
    message = EmailMessage(
        subject=notice_subject(invoice),
        body=notice_body(invoice),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Message-ID": new_message_id(), "Auto-Submitted": "auto-generated"},
    )
    try:
        get_connection(timeout=settings.EMAIL_TIMEOUT).send_messages([message])
    # ValueError: an address that cannot be written in a header.
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise NoticeError(f"{type(exc).__name__}: {exc}") from exc
