"""Two admins at once: one lends a number to a client while another saves a
back-dated cancellation of the same client. Each checked the other's rule (no
lending after the contract's last day; no cancellation dated before a lending)
against what it had read, and both committed: a number lent after the contract,
held with no contract to bill it. The client's row lock serialises them."""

import datetime as dt

import pytest
from django.urls import reverse

from billing import services as billing_services
from clients import services
from clients.models import Client, NumberAssignment
from clients.months import japan_today, month_end, month_start
from tests import concurrency
from tests.dates import ja_day
from tests.factories import ClientFactory, LentNumberFactory
from tests.html_forms import form_values

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class _Race:
    def __init__(self, client: Client, today: dt.date) -> None:
        self.client = client
        self.number = LentNumberFactory(number="+81355550123")
        self.last_day = month_start(today) - dt.timedelta(days=1)
        self.today = today
        self.lender, self.canceller = (
            concurrency.admin_browser(),
            concurrency.admin_browser(),
        )
        self.change_url = reverse("admin:clients_client_change", args=[client.pk])
        self.cancellation = form_values(
            self.canceller.get(self.change_url).content.decode(), "client_form"
        )
        self.cancellation.update(
            status="cancelled", cancelled_on=self.last_day.isoformat()
        )
        self.pages: dict[str, object] = {}

    def lend(self) -> None:
        self.pages["lending"] = self.lender.post(
            reverse("admin:clients_client_changelist"),
            {
                "action": "assign_number",
                "_selected_action": [self.client.pk],
                "number": self.number.pk,
                "use": "listed",
                "assigned_on": self.today.isoformat(),
                "apply": "1",
            },
        )

    def cancel(self) -> None:
        self.pages["cancellation"] = self.canceller.post(
            self.change_url, self.cancellation
        )


def test_a_cancellation_saved_while_a_number_is_lent_waits_and_is_refused(
    monkeypatch,
):
    today = japan_today()
    race = _Race(ClientFactory(name="競合株式会社"), today)
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, services, "quarantine_ends_on"
    )

    # the lending passed the contract check
    concurrency.run_in_turn(race.lend, race.cancel, checked, go_on)
    assert race.pages["lending"].status_code == 302
    page = race.pages["cancellation"]
    assert page.status_code == 200  # the form again, with why, and what was typed
    assert page.context["adminform"].form.errors["cancelled_on"] == [
        f"03-5555-0123 を {ja_day(today)} から貸し出しています。"
        f"解約日は {ja_day(month_end(today))} 以降の月末にしてください。"
    ]
    shown = form_values(page.content.decode(), "client_form")
    assert (shown["status"], shown["cancelled_on"]) == (
        "cancelled",
        race.last_day.isoformat(),
    )
    race.client.refresh_from_db()
    assert race.client.cancelled_on is None
    assert NumberAssignment.objects.get().client == race.client


def test_a_number_lent_while_a_cancellation_is_saved_waits_and_is_refused(
    monkeypatch,
):
    today = japan_today()
    race = _Race(ClientFactory(name="競合株式会社"), today)
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, billing_services, "refuse_cancellation_into_paid_months"
    )

    # the cancellation passed the numbers check
    concurrency.run_in_turn(race.cancel, race.lend, checked, go_on)
    assert race.pages["cancellation"].status_code == 302
    page = race.pages["lending"]
    assert page.status_code == 200  # the lending form again, with why
    text = page.content.decode()
    assert (
        f"競合株式会社 の契約は {ja_day(race.last_day)} で終了しています。"
        "契約の終了後に番号を貸し出すことはできません。"
    ) in text
    assert f'<option value="{race.number.pk}" selected>' in text
    assert f'value="{today:%Y-%m-%d}"' in text
    assert not NumberAssignment.objects.exists()
    race.client.refresh_from_db()
    assert race.client.cancelled_on == race.last_day


def test_a_number_lent_while_a_cancellation_is_reverted_to_waits_and_is_refused(
    monkeypatch,
):
    """Revert (django-simple-history) posts the same form outside Django's
    change view: it runs in a transaction too, or the form's lock would end
    before the past cancellation is saved."""
    today = japan_today()
    race = _Race(ClientFactory(name="競合株式会社"), today)
    client = race.client
    client.status, client.cancelled_on = Client.Status.CANCELLED, race.last_day
    client.save()
    cancelled_version = client.history.latest()
    client.status, client.cancelled_on = Client.Status.ACTIVE, None  # withdrawn
    client.save()
    url = reverse(
        "admin:clients_client_simple_history",
        args=[client.pk, cancelled_version.history_id],
    )
    revert = form_values(
        race.canceller.get(url).content.decode(), "historicalclient_form"
    )
    assert revert["cancelled_on"] == race.last_day.isoformat()
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, billing_services, "refuse_cancellation_into_paid_months"
    )

    def revert_to_cancelled():
        race.pages["revert"] = race.canceller.post(url, {**revert, "_save": "1"})

    concurrency.run_in_turn(revert_to_cancelled, race.lend, checked, go_on)
    assert race.pages["revert"].status_code == 302
    assert race.pages["lending"].status_code == 200
    assert "契約の終了後に番号を貸し出すことはできません。" in (
        race.pages["lending"].content.decode()
    )
    assert not NumberAssignment.objects.exists()
