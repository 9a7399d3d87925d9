import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clients.models import ReportRecipient
from clients.selectors import monthly_extras
from clients.services import end_recipient
from tests.factories import ClientFactory, ReportRecipientFactory

pytestmark = pytest.mark.django_db
OCT = dt.date(2026, 10, 1)


def test_ending_a_recipient_keeps_the_row_and_its_dates():
    recipient = ReportRecipientFactory(active_from=dt.date(2026, 1, 1))
    end_recipient(recipient=recipient, last_day=dt.date(2026, 10, 15))
    recipient.refresh_from_db()
    assert recipient.active_to == dt.date(2026, 10, 15)
    assert recipient.is_active_on(dt.date(2026, 10, 15))
    assert not recipient.is_active_on(dt.date(2026, 10, 16))
    assert list(ReportRecipient.objects.active_on(dt.date(2026, 10, 16))) == []


def test_the_fee_counts_the_peak_of_persons_on_any_day_not_the_month_total():
    client = ClientFactory()
    # Three people all month, and two more who never overlap each other.
    for _ in range(3):
        ReportRecipientFactory(client=client, active_from=dt.date(2026, 1, 1))
    ReportRecipientFactory(
        client=client, active_from=dt.date(2026, 1, 1), active_to=dt.date(2026, 10, 10)
    )
    ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 20))
    extras = monthly_extras(client=client, month=OCT)
    assert extras.recipient_peak == 4
    assert extras.extra_recipients_yen == 210


def test_five_recipients_cost_two_extra_persons():
    client = ClientFactory()
    for _ in range(5):
        ReportRecipientFactory(client=client, active_from=dt.date(2026, 10, 31))
    assert monthly_extras(client=client, month=OCT).extra_recipients_yen == 420
    assert (
        monthly_extras(client=client, month=dt.date(2026, 9, 1)).extra_recipients_yen
        == 0
    )


def test_a_recipient_needs_at_least_one_address():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportRecipientFactory(pc_email="", mobile_email="")


def test_end_before_start_is_refused_with_a_japanese_message():
    recipient = ReportRecipientFactory(active_from=dt.date(2026, 5, 1))
    with pytest.raises(ValidationError) as excinfo:
        end_recipient(recipient=recipient, last_day=dt.date(2026, 4, 30))
    assert "報告開始日以降" in excinfo.value.messages[0]


def test_invalid_email_gets_a_japanese_error():
    recipient = ReportRecipient(
        client=ClientFactory(), name="山田", pc_email="yamada@", active_from=OCT
    )
    with pytest.raises(ValidationError) as excinfo:
        recipient.full_clean()
    assert "メールアドレス" in " ".join(excinfo.value.message_dict["pc_email"])
