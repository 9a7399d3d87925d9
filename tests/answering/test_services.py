import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from answering.models import Call, CallRevision, Category, MissingReason
from answering.services import correct_call, log_call
from clients.months import JST
from tests.factories import CallFactory, ClientFactory, OperatorFactory

NOW = dt.datetime(2026, 3, 10, 14, 0, tzinfo=JST)

FULL = {
    "caller_name": "山田",
    "caller_company": "山田商事",
    "callback_number": "03-1234-5678",
    "purpose": "見積りの件で折り返し希望",
}


@pytest.fixture
def who(db):
    return ClientFactory(), OperatorFactory()


def test_a_normal_call_is_saved_with_its_callback_number_in_e164(who):
    client, operator = who
    call = log_call(
        client=client, logged_by=operator, now=NOW, category=Category.NORMAL, **FULL
    )
    call.refresh_from_db()
    assert call.callback_number == "+81312345678"
    assert call.callback_number_display == "03-1234-5678"
    assert call.received_at == NOW
    assert call.logged_by == operator


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("03-1234-5678", "+81312345678", "03-1234-5678"),
        ("0312345678", "+81312345678", "03-1234-5678"),
        ("+81312345678", "+81312345678", "03-1234-5678"),
        ("０９０－１２３４－５６７８", "+819012345678", "090-1234-5678"),
        ("090 1234 5678", "+819012345678", "090-1234-5678"),
        ("050-1234-5678", "+815012345678", "050-1234-5678"),
        ("0120123456", "+81120123456", "0120-123-456"),
        ("0452223333", "+81452223333", "045-222-3333"),
    ],
)
def test_callback_numbers_in_any_format_are_normalised(who, typed, stored, shown):
    client, operator = who
    call = log_call(
        client=client, logged_by=operator, now=NOW, **{**FULL, "callback_number": typed}
    )
    assert call.callback_number == stored
    assert call.callback_number_display == shown


@pytest.mark.parametrize("typed", ["03-1234-567", "abc", "12345", "090123456789"])
def test_an_invalid_callback_number_is_refused_in_japanese(who, typed):
    client, operator = who
    with pytest.raises(ValidationError) as excinfo:
        log_call(
            client=client,
            logged_by=operator,
            now=NOW,
            **{**FULL, "callback_number": typed},
        )
    assert "電話番号" in " ".join(excinfo.value.message_dict["callback_number"])
    assert not Call.objects.exists()


@pytest.mark.parametrize("field", ["caller_name", "purpose", "callback_number"])
@pytest.mark.parametrize(
    "category", [Category.NORMAL, Category.GREY, Category.NUISANCE]
)
def test_a_reported_call_needs_each_value_or_its_reason(who, field, category):
    client, operator = who
    fields = {**FULL, field: ""}
    with pytest.raises(ValidationError) as excinfo:
        log_call(
            client=client, logged_by=operator, now=NOW, category=category, **fields
        )
    assert set(excinfo.value.message_dict) == {field}
    assert "理由" in excinfo.value.message_dict[field][0]

    call = log_call(
        client=client,
        logged_by=operator,
        now=NOW,
        category=category,
        **fields,
        **{f"{field}_missing_reason": MissingReason.HUNG_UP},
    )
    assert getattr(call, f"{field}_missing_reason") == MissingReason.HUNG_UP


@pytest.mark.parametrize(
    "reason", [MissingReason.REFUSED, MissingReason.HUNG_UP, MissingReason.CLIENT_KNOWS]
)
@pytest.mark.parametrize("field", ["caller_name", "purpose", "callback_number"])
def test_each_reason_stands_for_a_value_the_caller_did_not_give(who, field, reason):
    client, operator = who
    call = log_call(
        client=client,
        logged_by=operator,
        now=NOW,
        **{**FULL, field: "", f"{field}_missing_reason": reason},
    )
    assert getattr(call, field) == ""
    assert getattr(call, f"{field}_missing_reason") == reason


def test_other_reason_needs_a_note(who):
    client, operator = who
    fields = {
        **FULL,
        "caller_name": "",
        "caller_name_missing_reason": MissingReason.OTHER,
    }
    with pytest.raises(ValidationError) as excinfo:
        log_call(client=client, logged_by=operator, now=NOW, **fields)
    assert "missing_note" in excinfo.value.message_dict
    call = log_call(
        client=client, logged_by=operator, now=NOW, missing_note="電波不良", **fields
    )
    assert call.missing_note == "電波不良"


def test_a_value_wins_over_a_reason_chosen_before(who):
    client, operator = who
    call = log_call(
        client=client,
        logged_by=operator,
        now=NOW,
        callback_number_missing_reason=MissingReason.CLIENT_KNOWS,
        **FULL,
    )
    assert call.callback_number_missing_reason == ""


def test_a_sales_call_needs_only_its_category_and_is_neither_counted_nor_reported(who):
    client, operator = who
    call = log_call(
        client=client,
        logged_by=operator,
        now=NOW,
        category=Category.SALES,
        note="光回線の営業",
    )
    assert not call.is_counted and not call.is_reported
    assert not Call.objects.counted().filter(pk=call.pk).exists()


def test_grey_and_nuisance_calls_are_counted(who):
    client, operator = who
    for category in (Category.GREY, Category.NUISANCE, Category.NORMAL):
        log_call(client=client, logged_by=operator, now=NOW, category=category, **FULL)
    assert Call.objects.counted().in_month(dt.date(2026, 3, 1)).count() == 3


def test_a_surcharge_needs_a_reason(who):
    client, operator = who
    with pytest.raises(ValidationError) as excinfo:
        log_call(client=client, logged_by=operator, now=NOW, surcharge_yen=300, **FULL)
    assert "surcharge_reason" in excinfo.value.message_dict
    call = log_call(
        client=client,
        logged_by=operator,
        now=NOW,
        surcharge_yen=300,
        surcharge_reason="40分のクレーム対応",
        **FULL,
    )
    assert call.surcharge_yen == 300


def test_received_at_may_be_set_back_but_never_in_the_future(who):
    client, operator = who
    earlier = NOW - dt.timedelta(hours=2)
    assert (
        log_call(
            client=client, logged_by=operator, now=NOW, received_at=earlier, **FULL
        ).received_at
        == earlier
    )
    with pytest.raises(ValidationError) as excinfo:
        log_call(
            client=client,
            logged_by=operator,
            now=NOW,
            received_at=NOW + dt.timedelta(minutes=5),
            **FULL,
        )
    assert "未来" in excinfo.value.message_dict["received_at"][0]


def test_a_late_call_goes_back_a_month_at_most(who):
    client, operator = who
    month_ago = NOW - dt.timedelta(days=30)
    call = log_call(
        client=client, logged_by=operator, now=NOW, received_at=month_ago, **FULL
    )
    assert call.received_at == month_ago
    for slip in (NOW - dt.timedelta(days=32), dt.datetime(1, 1, 2, tzinfo=JST)):
        with pytest.raises(ValidationError) as excinfo:
            log_call(
                client=client, logged_by=operator, now=NOW, received_at=slip, **FULL
            )
        assert "31日以上前" in excinfo.value.message_dict["received_at"][0]
    assert Call.objects.count() == 1


def test_an_old_call_can_still_be_corrected_but_not_moved_further_back(who):
    client, operator = who
    old = CallFactory(client=client, received_at=NOW - dt.timedelta(days=90))
    revision = correct_call(
        call=old, corrected_by=operator, changes={"purpose": "訂正後の用件"}, now=NOW
    )
    assert list(revision.changes) == ["purpose"]
    assert revision.changes["purpose"][1] == "訂正後の用件"
    with pytest.raises(ValidationError):
        correct_call(
            call=old,
            corrected_by=operator,
            changes={"received_at": NOW - dt.timedelta(days=91)},
            now=NOW,
        )


@pytest.mark.django_db
def test_the_database_refuses_a_reported_call_with_a_silent_blank():
    client = ClientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.create(
            client=client, received_at=timezone.now(), caller_name="", purpose="x"
        )


def test_a_correction_keeps_who_when_and_what_changed(who):
    client, operator = who
    call = CallFactory(client=client, received_at=NOW, callback_number="+81312345678")
    later = NOW + dt.timedelta(minutes=30)
    revision = correct_call(
        call=call,
        corrected_by=operator,
        changes={"callback_number": "090-1111-2222", "caller_name": call.caller_name},
        now=later,
    )
    assert revision.changed_by == operator
    assert revision.changed_at == later
    assert revision.changes == {"callback_number": ["+81312345678", "+819011112222"]}
    call.refresh_from_db()
    assert call.callback_number == "+819011112222"


def test_a_correction_that_changes_nothing_writes_no_history(who):
    client, operator = who
    call = CallFactory(client=client, received_at=NOW)
    assert (
        correct_call(
            call=call,
            corrected_by=operator,
            changes={"caller_name": call.caller_name},
            now=NOW,
        )
        is None
    )
    assert not CallRevision.objects.exists()


def test_reclassifying_as_sales_removes_the_call_from_billing(who):
    client, operator = who
    call = CallFactory(client=client, received_at=NOW)
    month = dt.date(2026, 3, 1)
    assert Call.objects.counted().in_month(month).count() == 1
    correct_call(
        call=call, corrected_by=operator, changes={"category": "sales"}, now=NOW
    )
    assert Call.objects.counted().in_month(month).count() == 0
    assert CallRevision.objects.get().changes == {"category": ["normal", "sales"]}


def test_an_invalid_correction_changes_nothing(who):
    client, operator = who
    call = CallFactory(client=client, received_at=NOW)
    with pytest.raises(ValidationError):
        correct_call(call=call, corrected_by=operator, changes={"purpose": ""}, now=NOW)
    call.refresh_from_db()
    assert call.purpose == "折り返しのお願い"
    assert not CallRevision.objects.exists()


def test_a_refused_call_writes_nothing_and_leaves_the_callers_transaction_usable(who):
    client, operator = who
    with transaction.atomic():
        with pytest.raises(ValidationError):
            log_call(client=client, logged_by=operator, now=NOW, category="normal")
        assert not Call.objects.exists()
        log_call(client=client, logged_by=operator, now=NOW, **FULL)
    assert Call.objects.get().caller_name == "山田"
