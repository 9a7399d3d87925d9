"""A server (DEBUG off) still carrying the demo company of `make run` must not
issue qualified invoices (適格請求書) from a company that does not exist:
``check --deploy`` warns, and issuing refuses and says which variables to set."""

import datetime as dt
import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import reverse

from billing.models import Invoice, InvoiceNumberSequence, InvoiceStatus
from billing.services import bill_month, issue_invoices, void_and_reissue
from clients.models import Client, PaymentMethod, User
from tests.billing.factories import LATER, OCTOBER, contracted_client, void_confirmed

DEMO_NAME = "株式会社デモ電話代行"
DEMO_NUMBER = "T1234567890123"
DEMO_BANK = "デモ銀行 本店 普通 1234567 カ）デモデンワダイコウ"
DEMO_COMPANY = {
    "COMPANY_NAME": DEMO_NAME,
    "COMPANY_REGISTRATION_NUMBER": DEMO_NUMBER,
    "COMPANY_BANK_ACCOUNT": DEMO_BANK,
}
ALL_DEMO_NAMES = "COMPANY_NAME、COMPANY_REGISTRATION_NUMBER、COMPANY_BANK_ACCOUNT"

# A server whose environment left the company at `make run`'s demo values.
demo_server = override_settings(DEBUG=False, **DEMO_COMPANY)
# `make run`: debug, the demo company.
demo_laptop = override_settings(DEBUG=True, **DEMO_COMPANY)
# A server whose own name and registration number were set, but not the bank
# account its clients pay into.
demo_bank_server = override_settings(DEBUG=False, COMPANY_BANK_ACCOUNT=DEMO_BANK)

REFUSED = "デモ用の値のままのため、発行できません"


def _last_number() -> int:
    sequence = InvoiceNumberSequence.objects.filter(name="invoice").first()
    return sequence.last_number if sequence else 0


def _deploy_warnings() -> list[checks.CheckMessage]:
    return [
        message
        for message in checks.run_checks(include_deployment_checks=True)
        if message.id == "billing.W001"
    ]


def test_check_deploy_warns_about_the_demo_company_on_a_server():
    with demo_server:
        [warning] = _deploy_warnings()
    assert "COMPANY_NAME" in warning.msg
    assert "COMPANY_REGISTRATION_NUMBER" in warning.msg
    assert "COMPANY_BANK_ACCOUNT" in warning.msg
    assert warning.level == checks.WARNING
    with demo_server, override_settings(COMPANY_NAME="株式会社東京電話秘書"):
        [warning] = _deploy_warnings()
    assert "COMPANY_NAME" not in warning.msg
    assert "COMPANY_REGISTRATION_NUMBER" in warning.msg
    with demo_bank_server:
        [warning] = _deploy_warnings()
    assert "COMPANY_BANK_ACCOUNT" in warning.msg
    assert "COMPANY_NAME" not in warning.msg


def test_check_deploy_is_quiet_for_make_run_and_for_a_real_company():
    with demo_laptop:
        assert _deploy_warnings() == []
    with override_settings(
        DEBUG=False,
        COMPANY_NAME="株式会社東京電話秘書",
        COMPANY_REGISTRATION_NUMBER="T5010001234567",
        COMPANY_BANK_ACCOUNT="みずほ銀行 神田支店 普通 7654321 カ）トウキヨウデンワヒシヨ",
    ):
        assert _deploy_warnings() == []
    # Not a check of every start (runserver, migrate): a deploy check only.
    with demo_server:
        assert [m for m in checks.run_checks() if m.id == "billing.W001"] == []


@pytest.mark.slow
def test_manage_py_check_deploy_fails_on_the_demo_company_as_ci_runs_it():
    """`.ci/run` runs ``check --deploy --fail-level WARNING`` with production
    settings: without the company it fails, naming the variables."""
    production = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "answering.example.jp",
    }
    command = [
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        "--tag",
        "billing",
    ]

    def run(env):
        return subprocess.run(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    demo = run(production)
    assert demo.returncode != 0
    assert "billing.W001" in demo.stderr
    assert "COMPANY_REGISTRATION_NUMBER" in demo.stderr
    assert "COMPANY_BANK_ACCOUNT" in demo.stderr
    real = run(
        production
        | {
            "COMPANY_NAME": "株式会社東京電話秘書",
            "COMPANY_REGISTRATION_NUMBER": "T5010001234567",
            "COMPANY_BANK_ACCOUNT": "みずほ銀行 神田支店 普通 7654321 カ）トウキヨウ",
        }
    )
    assert real.returncode == 0, real.stderr


def test_issuing_from_the_demo_company_on_a_server_numbers_nothing(draft):
    with demo_server, pytest.raises(ValidationError) as refused:
        issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2))
    message = " ".join(refused.value.messages)
    assert REFUSED in message
    assert ALL_DEMO_NAMES in message
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT
    assert draft.number is None
    assert _last_number() == 0


def test_issuing_with_the_demo_bank_account_on_a_server_numbers_nothing(draft):
    """Even for a client paying by direct debit: the invoice copies the account
    whatever the method, and a failed debit is paid by transfer."""
    Client.objects.filter(pk=draft.client_id).update(
        payment_method=PaymentMethod.DIRECT_DEBIT
    )
    with demo_bank_server, pytest.raises(ValidationError) as refused:
        issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2))
    message = " ".join(refused.value.messages)
    assert REFUSED in message
    assert "COMPANY_BANK_ACCOUNT" in message and "COMPANY_NAME" not in message
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None
    assert _last_number() == 0


def test_bill_month_issue_from_the_demo_company_on_a_server_writes_nothing(small):
    contracted_client(small)
    with demo_server, pytest.raises(ValidationError, match=REFUSED):
        bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    assert not Invoice.objects.exists()


def test_bill_month_command_issue_says_why_it_refuses(small):
    contracted_client(small)
    with demo_server, pytest.raises(CommandError, match="COMPANY_NAME"):
        call_command("bill_month", "2026-10", "--issue", stdout=io.StringIO())
    assert not Invoice.objects.exists()


def test_void_and_reissue_from_the_demo_company_on_a_server_changes_nothing(issued):
    with demo_server, pytest.raises(ValidationError, match=REFUSED):
        void_and_reissue(invoice=issued, reason="宛名の誤り", today=LATER)
    assert [(i.pk, i.status) for i in Invoice.objects.all()] == [
        (issued.pk, InvoiceStatus.ISSUED)
    ]
    assert _last_number() == issued.number


def test_make_run_still_issues_from_the_demo_company(draft):
    with demo_laptop:
        assert issue_invoices(month=OCTOBER, today=dt.date(2026, 11, 2)).issued == 1
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED
    assert draft.company_name == DEMO_NAME
    assert draft.company_registration_number == DEMO_NUMBER


def test_the_billing_page_says_which_variables_to_set(admin_client, draft):
    with demo_server:
        response = admin_client.post(
            reverse("billing:issue"), {"month": "2026-10"}, follow=True
        )
    page = response.content.decode()
    assert REFUSED in page
    assert ALL_DEMO_NAMES in page
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_a_drafts_page_refuses_to_issue_it_and_says_why(admin_client, draft):
    with demo_server:
        response = admin_client.post(
            reverse("billing:issue_draft", args=[draft.pk]), follow=True
        )
    assert response.redirect_chain == [
        (reverse("billing:invoice", args=[draft.pk]), 302)
    ]
    page = response.content.decode()
    assert REFUSED in page
    assert ALL_DEMO_NAMES in page
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT
    assert _last_number() == 0


def test_the_invoice_page_refuses_void_and_reissue_and_says_why(admin_client, issued):
    with demo_server:
        response = admin_client.post(
            reverse("billing:void", args=[issued.pk]),
            void_confirmed("宛名の誤り"),
            follow=True,
        )
    assert response.redirect_chain == [
        (reverse("billing:invoice", args=[issued.pk]), 302)
    ]
    page = response.content.decode()
    assert REFUSED in page
    assert "COMPANY_NAME" in page
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.ISSUED
    assert Invoice.objects.count() == 1


def test_seed_demo_forced_on_a_server_with_the_demo_company_leaves_drafts(plans):
    with demo_server:
        call_command("seed_demo", force=True, verbosity=0, stdout=io.StringIO())
    invoices = Invoice.objects.all()
    assert invoices.exists()
    assert not invoices.exclude(status=InvoiceStatus.DRAFT).exists()


# A server with the company's own name and registration number (DEBUG off, as
# the tests run): its invoice numbers are real and run without gaps.
REAL_COMPANY_REFUSED = "デモデータは作成しません（--force を付けても同じです）"


def test_seed_demo_is_refused_on_a_server_with_a_real_company_even_forced(small):
    contracted_client(small)  # a real client, billable for last month
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", force=True, verbosity=0, stdout=io.StringIO())
    message = str(refused.value)
    assert REAL_COMPANY_REFUSED in message
    assert ALL_DEMO_NAMES in message
    # Nothing made: no demo login, no invoice, no invoice number used.
    assert not User.objects.filter(username="admin").exists()
    assert not Invoice.objects.exists()
    assert _last_number() == 0


def test_seed_demo_is_refused_when_only_one_company_value_is_real(db):
    with (
        override_settings(COMPANY_NAME=DEMO_NAME),
        pytest.raises(CommandError, match=REAL_COMPANY_REFUSED) as refused,
    ):
        call_command("seed_demo", force=True, verbosity=0, stdout=io.StringIO())
    assert "COMPANY_REGISTRATION_NUMBER" in str(refused.value)
    assert "COMPANY_NAME" not in str(refused.value)
    assert not User.objects.exists()


def test_make_run_seeds_and_issues_the_demo_invoices(plans):
    with demo_laptop:
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    assert User.objects.filter(username="admin").exists()
    issued = Invoice.objects.exclude(status=InvoiceStatus.DRAFT)
    assert issued.exists()
    assert set(issued.values_list("company_name", flat=True)) == {DEMO_NAME}
