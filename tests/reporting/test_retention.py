"""Callers' personal data is erased after the retention period; billing keeps
what it needs."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from answering.models import Call, CallRevision
from answering.services import personal_data_cutoff
from reporting import services
from reporting.models import Delivery
from reporting.services import erase_old_personal_data, record_correction
from tests.dates import ja_day
from tests.factories import OperatorFactory
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db
JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=JST)


@pytest.fixture
def calls(settings):
    settings.CALLER_DATA_RETENTION_MONTHS = 24
    client, (person,) = client_with_recipients(1)
    person.active_from = dt.date(2024, 1, 1)
    person.save()
    old, _ = save_reported_call(
        client=client,
        # The last second of October 2024 in Japan time: past 24 whole months.
        received_at=dt.datetime(2024, 10, 31, 23, 59, 59, tzinfo=JST),
        caller_name="古田 太郎",
        caller_company="古田商事",
        purpose="古い用件",
        surcharge_yen=300,
        surcharge_reason="長時間の対応",
    )
    CallRevision.objects.create(
        call=old, changes={"caller_name": ["古田", "古田 太郎"]}
    )
    kept, _ = save_reported_call(
        client=client,
        received_at=dt.datetime(2024, 11, 1, 0, 0, 0, tzinfo=JST),
        caller_name="新井 花子",
        purpose="新しい用件",
    )
    return old, kept


def test_calls_past_the_retention_period_lose_caller_data_but_keep_billing_facts(calls):
    old, kept = calls
    result = erase_old_personal_data(now=NOW)
    assert (result.calls, result.deliveries) == (1, 2)  # PC and mobile reports
    old.refresh_from_db()
    assert old.personal_data_erased_at is not None
    assert (old.caller_name, old.caller_company, old.callback_number, old.purpose) == (
        "",
        "",
        "",
        "",
    )
    assert (old.category, old.surcharge_yen, old.surcharge_reason) == (
        "normal",
        300,
        "長時間の対応",
    )
    assert Call.objects.counted().in_month(dt.date(2024, 10, 1)).count() == 1
    assert old.revisions.get().changes == {}
    assert not any("古田" in d.body for d in Delivery.objects.filter(call=old))

    kept.refresh_from_db()
    assert kept.caller_name == "新井 花子" and kept.personal_data_erased_at is None
    assert all("新井 花子" in d.body for d in Delivery.objects.filter(call=kept))


def test_an_erased_call_cannot_get_its_callers_data_back(calls):
    old, _ = calls
    seen_version = Call.objects.get(pk=old.pk).updated_at  # an edit page open
    erase_old_personal_data(now=NOW)
    operator = OperatorFactory()
    # The page opened before the erasure is out of date: nothing written.
    with pytest.raises(ValidationError, match="画面を開いている間に保存期間を過ぎ"):
        record_correction(
            call=old,
            corrected_by=operator,
            changes={"caller_name": "古田 太郎"},
            seen_updated_at=seen_version,
        )
    with pytest.raises(ValidationError, match="消去済み"):
        record_correction(
            call=old, corrected_by=operator, changes={"caller_name": "古田 太郎"}
        )
    # What billing keeps may still be corrected.
    assert record_correction(
        call=old, corrected_by=operator, changes={"surcharge_yen": 200}
    )
    old.refresh_from_db()
    assert (old.caller_name, old.surcharge_yen) == ("", 200)


def test_erasing_again_finds_nothing_new(calls):
    erase_old_personal_data(now=NOW)
    again = erase_old_personal_data(now=NOW)
    assert (again.calls, again.deliveries) == (0, 0)


def test_years_of_old_calls_are_erased_in_batches(calls, monkeypatch):
    # A first run after a long gap: more calls than one batch (PostgreSQL takes at
    # most 65,535 parameters per statement), each with a correction to empty.
    monkeypatch.setattr("answering.services.ERASE_BATCH_SIZE", 2)
    old, kept = calls
    more = [
        save_reported_call(
            client=old.client,
            received_at=dt.datetime(2024, 3, 1 + i, 9, 0, tzinfo=JST),
            caller_name=f"古い発信者{i}",
        )[0]
        for i in range(4)
    ]
    for call in more:
        CallRevision.objects.create(call=call, changes={"purpose": ["a", "b"]})
    assert erase_old_personal_data(now=NOW).calls == 5
    assert not Call.objects.filter(caller_name__startswith="古").exists()
    assert not CallRevision.objects.exclude(changes={}).exists()
    kept.refresh_from_db()
    assert kept.caller_name == "新井 花子"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's 65,535-parameter limit"
)
def test_more_old_calls_than_one_statement_can_name_are_erased(calls):
    old, _kept = calls
    Call.objects.bulk_create(
        Call(
            client=old.client,
            received_at=old.received_at - dt.timedelta(minutes=i),
            caller_name="古い発信者",
            callback_number="+819012345678",
            purpose="古い用件",
        )
        for i in range(1, 70_001)
    )
    assert erase_old_personal_data(now=NOW).calls == 70_001
    assert not Call.objects.filter(caller_name="古い発信者").exists()


def test_the_retention_period_is_a_setting(calls, settings):
    settings.CALLER_DATA_RETENTION_MONTHS = 12
    assert erase_old_personal_data(now=NOW).calls == 2


def test_the_command_reports_what_it_erased(calls, capsys):
    call_command("erase_old_personal_data")
    out = capsys.readouterr().out
    assert "受電 1 件" in out and "24 か月" in out
    # The staff member reads the first day kept as a day, not 2024-11-01.
    first_kept = timezone.localdate(personal_data_cutoff())
    assert f"{ja_day(first_kept)} より前の受電" in out


def test_a_dry_run_says_how_many_would_be_erased_and_erases_nothing(calls, capsys):
    old, _kept = calls
    call_command("erase_old_personal_data", "--dry-run")
    out = capsys.readouterr().out
    assert "受電 1 件、報告 2 件の個人情報が消去されます" in out
    assert "何も消去していません" in out
    first_kept = timezone.localdate(personal_data_cutoff())
    assert f"{ja_day(first_kept)} より前の受電（保存期間 24 か月）" in out
    old.refresh_from_db()
    assert old.caller_name == "古田 太郎" and old.personal_data_erased_at is None
    assert old.revisions.get().changes == {"caller_name": ["古田", "古田 太郎"]}
    assert all("古田 太郎" in d.body for d in Delivery.objects.filter(call=old))

    # What it counted is what the real run then erases.
    call_command("erase_old_personal_data")
    assert "受電 1 件、報告 2 件の個人情報を消去しました" in capsys.readouterr().out


def test_the_command_shows_its_progress_batch_by_batch(calls, capsys, monkeypatch):
    monkeypatch.setattr("answering.services.ERASE_BATCH_SIZE", 2)
    old, _kept = calls
    for i in range(3):
        save_reported_call(
            client=old.client,
            received_at=dt.datetime(2024, 3, 1 + i, 9, 0, tzinfo=JST),
            caller_name=f"古い発信者{i}",
        )
    call_command("erase_old_personal_data")
    lines = capsys.readouterr().out.splitlines()
    assert "受電 2 / 4 件の発信者情報を消去しました…" in lines
    assert "受電 4 / 4 件の発信者情報を消去しました…" in lines
    assert "報告本文から個人情報を消去しています…" in lines


# --- corrections of erased calls ---------------------------------------------


def _mail_to(smtp_peer, address):
    return [m for m in smtp_peer.messages if m["to"] == [address]][-1]


def test_the_correction_of_an_erased_call_says_its_details_were_erased(
    calls, smtp_peer
):
    old, _ = calls
    person = old.client.recipients.get()
    services.relay_due_deliveries()  # the client had the call's report
    erase_old_personal_data(now=NOW)
    record_correction(
        call=old, corrected_by=OperatorFactory(), changes={"category": "grey"}
    )
    services.relay_due_deliveries()
    pc = _mail_to(smtp_peer, person.pc_email)
    assert "「通常」→「営業の可能性あり」" in pc["body"]
    assert (
        "■お名前・折り返し先・ご用件など: 保存期間を過ぎたため消去しました"
        "（2026年11月25日）"
    ) in pc["body"]
    assert "お名前不明" not in pc["subject"]
    assert "消去済み" in pc["subject"]
    mobile = _mail_to(smtp_peer, person.mobile_email)
    for body in (pc["body"], mobile["body"]):
        # Nothing says the operator failed to get what was erased.
        assert "未確認" not in body
        assert "伺えなかった" not in body
        assert "指定なし" not in body
    assert "保存期間を過ぎたため消去しました" in mobile["body"]


def test_an_erased_sales_call_reported_at_last_says_its_details_were_erased(
    calls, smtp_peer
):
    old, _ = calls
    person = old.client.recipients.get()
    sales, _ = save_reported_call(
        client=old.client,
        received_at=dt.datetime(2024, 10, 30, 9, 0, tzinfo=JST),
        category="sales",
    )
    erase_old_personal_data(now=NOW)
    record_correction(
        call=sales, corrected_by=OperatorFactory(), changes={"category": "normal"}
    )
    services.relay_due_deliveries()
    first = _mail_to(smtp_peer, person.pc_email)
    assert "10/30 09:00" in first["subject"]
    assert "保存期間を過ぎたため消去しました" in first["body"]
    assert "未確認" not in first["body"]


@pytest.mark.parametrize(
    "changes",
    [
        {"caller_name_missing_reason": "other"},  # "other" with no note: blank
        {"purpose_missing_reason": "hung_up"},
        {"callback_number_missing_reason": ""},
    ],
)
def test_an_erased_call_keeps_its_reasons_for_what_was_not_obtained(calls, changes):
    old, _ = calls
    old.callback_number_missing_reason = "refused"
    old.callback_number = ""
    old.save()
    erase_old_personal_data(now=NOW)
    with pytest.raises(ValidationError, match="消去済み"):
        record_correction(call=old, corrected_by=OperatorFactory(), changes=changes)
    old.refresh_from_db()
    assert (
        old.caller_name_missing_reason,
        old.callback_number_missing_reason,
        old.purpose_missing_reason,
    ) == ("", "refused", "")
    assert not old.deliveries.filter(kind=Delivery.Kind.CORRECTION).exists()
