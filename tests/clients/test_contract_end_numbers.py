"""A contract that has ended gives back its lent numbers (the hourly job)."""

import datetime as dt
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils.module_loading import import_string

from answering.selectors import DialedState, lookup_dialed
from billing.models import Invoice, InvoiceStatus, LineKind
from billing.services import bill_month
from clients.models import Client, NumberAssignment
from clients.months import japan_today, month_end, month_start
from clients.services import quarantine_ends_on, release_numbers_of_ended_contracts
from tests.dates import ja_day
from tests.factories import ClientFactory, ClientPlanFactory, NumberAssignmentFactory

pytestmark = pytest.mark.django_db

LAST_DAY = dt.date(2026, 10, 31)  # the contract's last day (解約日)
NEXT_DAY = dt.date(2026, 11, 1)
OCTOBER = dt.date(2026, 10, 1)


def _cancelled(last_day=LAST_DAY, **fields) -> Client:
    return ClientFactory(
        name="解約済み株式会社",
        status=Client.Status.CANCELLED,
        cancelled_on=last_day,
        **fields,
    )


def _lend(client, number, *, assigned_on=dt.date(2025, 1, 1), **fields):
    return NumberAssignmentFactory(
        client=client, number__number=number, assigned_on=assigned_on, **fields
    )


def test_the_numbers_of_an_ended_contract_go_back_to_the_pool(settings):
    settings.NUMBER_QUARANTINE_DAYS = 90
    client = _cancelled()
    phone = _lend(client, "+81355550123")
    fax = _lend(client, "+81355550999", use=NumberAssignment.Use.FAX)
    assert lookup_dialed(dialed="03-5555-0123", today=NEXT_DAY).client == client

    result = release_numbers_of_ended_contracts(today=NEXT_DAY)

    assert (result.clients, result.numbers) == (1, 2)
    for assignment in (phone, fax):
        assignment.refresh_from_db()
        assert assignment.released_on == LAST_DAY
    # A caller of the old number no longer reaches the former client: the
    # operator is told the number rests, counted from the contract's last day.
    lookup = lookup_dialed(dialed="03-5555-0123", today=NEXT_DAY)
    assert (lookup.state, lookup.client) == (DialedState.QUARANTINED, None)
    assert quarantine_ends_on(phone.number) == dt.date(2027, 1, 30)
    # The audit history says when the return was recorded.
    assert phone.history.first().released_on == LAST_DAY


def test_contracts_not_yet_ended_keep_their_numbers():
    on_its_last_day = _lend(_cancelled(), "+81355550121")
    ending_next_month = _lend(
        _cancelled(last_day=dt.date(2026, 11, 30)), "+81355550122"
    )
    under_contract = _lend(ClientFactory(), "+81355550123")

    result = release_numbers_of_ended_contracts(today=LAST_DAY)

    assert (result.clients, result.numbers) == (0, 0)
    for assignment in (on_its_last_day, ending_next_month, under_contract):
        assignment.refresh_from_db()
        assert assignment.released_on is None


def test_a_number_returned_before_the_end_keeps_its_date_and_a_rerun_changes_nothing():
    client = _cancelled()
    returned = _lend(client, "+81355550123", released_on=dt.date(2026, 6, 30))
    held = _lend(client, "+81355550124")
    release_numbers_of_ended_contracts(today=NEXT_DAY)

    again = release_numbers_of_ended_contracts(today=dt.date(2026, 11, 2))

    assert (again.clients, again.numbers) == (0, 0)
    returned.refresh_from_db()
    held.refresh_from_db()
    assert (returned.released_on, held.released_on) == (dt.date(2026, 6, 30), LAST_DAY)


def test_a_number_lent_after_the_end_is_returned_on_its_first_day():
    """Rows from before the rule that refuses such a lending: the database
    allows no return before the start."""
    client = _cancelled()
    late = _lend(client, "+81355550123", assigned_on=dt.date(2026, 11, 3))
    release_numbers_of_ended_contracts(today=dt.date(2026, 11, 5))
    late.refresh_from_db()
    assert late.released_on == dt.date(2026, 11, 3)


def test_billing_of_the_last_months_does_not_change(plans):
    """A number fee is owed for every month the number was held on any day: the
    contract's last month still carries it, and no later month is billed."""
    client = _cancelled()
    ClientPlanFactory(
        client=client, plan=plans["small"], effective_month=dt.date(2025, 1, 1)
    )
    _lend(client, "+81355550123")
    _lend(client, "+81355550124", assigned_on=dt.date(2026, 10, 20))
    later = dt.date(2027, 2, 1)

    def billed(month):
        bill_month(month=month, today=later)
        invoice = Invoice.objects.exclude(status=InvoiceStatus.VOID).get(
            client=client, billing_month=month
        )
        return invoice.total_yen, list(
            invoice.lines.filter(kind=LineKind.EXTRA_NUMBER).values_list(
                "amount_yen", flat=True
            )
        )

    before = {month: billed(month) for month in (dt.date(2026, 9, 1), OCTOBER)}
    release_numbers_of_ended_contracts(today=NEXT_DAY)
    after = {month: billed(month) for month in (dt.date(2026, 9, 1), OCTOBER)}

    assert after == before
    assert after[OCTOBER][1] == [1100]  # the second number, from 20 October
    bill_month(month=NEXT_DAY, today=later)
    assert not Invoice.objects.filter(client=client, billing_month=NEXT_DAY).exists()


def test_the_command_returns_them_and_says_what_it_returned():
    last_day = month_start(japan_today()) - dt.timedelta(days=1)
    _lend(_cancelled(last_day=last_day), "+81355550123")
    out = StringIO()

    call_command("release_numbers_of_ended_contracts", stdout=out)

    assert out.getvalue().splitlines() == [
        f"解約済み株式会社: 03-5555-0123（転送利用）を {ja_day(last_day)} "
        "付けで返却しました。",
        "契約が終了した顧客 1 件の番号 1 件を返却しました。",
    ]
    assert not NumberAssignment.objects.current().exists()


def test_celery_beat_runs_the_same_service():
    last_day = month_start(japan_today()) - dt.timedelta(days=1)
    assignment = _lend(_cancelled(last_day=last_day), "+81355550123")
    (job,) = [
        job
        for job in django_settings.CELERY_BEAT_SCHEDULE.values()
        if job["task"].endswith("release_numbers_of_ended_contracts")
    ]

    assert import_string(job["task"])() == {"clients": 1, "numbers": 1}
    assignment.refresh_from_db()
    assert assignment.released_on == last_day


def test_the_admin_says_an_ended_contracts_number_waits_for_its_return(
    admin_client, settings
):
    settings.NUMBER_QUARANTINE_DAYS = 90
    last_day = month_start(japan_today()) - dt.timedelta(days=1)
    client = _cancelled(last_day=last_day)
    assignment = _lend(client, "+81355550123")
    numbers = reverse("admin:clients_lentnumber_changelist")

    text = admin_client.get(numbers).content.decode()
    assert (
        f"解約済み株式会社（転送利用）: 契約終了（{ja_day(last_day)}）、返却の処理待ち"
        in text
    )

    release_numbers_of_ended_contracts()
    assignment.refresh_from_db()
    available = last_day + dt.timedelta(days=91)
    text = admin_client.get(numbers).content.decode()
    assert "返却の処理待ち" not in text
    assert f"休止中（{ja_day(available)} から貸出可）" in text


def test_an_ended_contracts_page_shows_no_fee_for_this_month(admin_client):
    """Numbers not yet returned (and recipients never ended) showed extra fees
    that no invoice will carry: nothing is billed after the contract."""
    last_day = month_start(japan_today()) - dt.timedelta(days=1)
    client = _cancelled(last_day=last_day)
    _lend(client, "+81355550123")
    _lend(client, "+81355550124")
    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))
    text = page.content.decode()
    assert (
        f"契約は {ja_day(last_day)} で終了しています（今月の請求はありません）。"
        in text
    )
    assert "追加料金の合計" not in text


def test_a_client_whose_contract_ends_this_month_still_shows_its_fees(admin_client):
    client = _cancelled(last_day=month_end(japan_today()))
    _lend(client, "+81355550123")
    _lend(client, "+81355550124")
    page = admin_client.get(reverse("admin:clients_client_change", args=[client.pk]))
    assert "追加料金の合計: 1,100円／月" in page.content.decode()
