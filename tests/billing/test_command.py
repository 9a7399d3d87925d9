import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import Invoice, InvoiceStatus
from billing.tasks import bill_previous_month
from clients.months import japan_today, month_start
from tests.billing.factories import calls, contracted_client


def test_bill_month_command_prints_progress_and_summary(small):
    for _ in range(2):
        client = contracted_client(small)
        calls(client, 21)
    out = StringIO()
    call_command("bill_month", "2026-10", stdout=out)
    text = out.getvalue()
    assert "2026年10月 の請求対象を読み込んでいます" in text
    assert "2026年10月: 請求 2 件" in text
    # Yen as the product writes it: 12,136円, not 12,136 円.
    assert f"合計 {2 * (3108 + 2960):,}円、" in text
    assert set(Invoice.objects.values_list("status", flat=True)) == {"draft"}
    call_command("bill_month", "2026-10", "--issue", stdout=StringIO())
    assert set(Invoice.objects.values_list("status", flat=True)) == {"issued"}
    assert Invoice.objects.count() == 2


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("October", "2026-10（または 2026年10月）の形"),
        ("0001-01", "2000-01-01 から 2100-12-31 まで"),
        ("9999-12", "2000-01-01 から 2100-12-31 まで"),
    ],
)
def test_bill_month_command_rejects_bad_month(db, month, message):
    with pytest.raises(CommandError, match=message):
        call_command("bill_month", month, stdout=StringIO())


def test_bill_month_command_without_a_month_says_so_in_japanese(db):
    with pytest.raises(
        CommandError, match=r"請求する月を指定してください（例: bill_month 2026-10）"
    ):
        call_command("bill_month", stdout=StringIO())


def test_bill_month_command_refuses_a_month_not_over(small):
    contracted_client(small)
    this_month = month_start(japan_today())
    with pytest.raises(CommandError, match="まだ終わっていない"):
        call_command("bill_month", f"{this_month:%Y-%m}", stdout=StringIO())
    assert not Invoice.objects.exists()


def test_beat_task_bills_the_month_just_ended_on_its_first_day(small, monkeypatch):
    """On 1 December (Japan time) November has just ended: the beat bills it,
    whatever the day the test runs."""
    client = contracted_client(small)
    monkeypatch.setattr("billing.tasks.japan_today", lambda: dt.date(2026, 12, 1))
    assert bill_previous_month()["month"] == "2026-11"
    assert Invoice.objects.get(client=client).billing_month == dt.date(2026, 11, 1)


def test_beat_task_bills_the_previous_japan_month(small, settings, monkeypatch):
    client = contracted_client(small)
    # 00:30 on 1 Nov in Japan is still 31 Oct in UTC: the month billed is October.
    monkeypatch.setattr("billing.tasks.japan_today", lambda: dt.date(2026, 11, 1))
    settings.BILLING_AUTO_ISSUE = False
    result = bill_previous_month()
    assert result["month"] == "2026-10"
    invoice = Invoice.objects.get(client=client)
    assert invoice.billing_month == dt.date(2026, 10, 1)
    assert invoice.status == InvoiceStatus.DRAFT
    settings.BILLING_AUTO_ISSUE = True
    bill_previous_month()
    assert Invoice.objects.get(client=client).status == InvoiceStatus.ISSUED
