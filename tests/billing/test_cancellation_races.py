"""Two admins at once: one saves a client's cancellation on the client's page
while another records a payment of, or voids and reissues, an invoice of the
same client. The page's cancellation rules read the invoices, and the invoice's
services read the cancellation; each checked against what it had read, and both
committed. The client's row lock, taken first by all of them, serialises them."""

import datetime as dt

import pytest
from django.urls import reverse

from billing import services as billing_services
from billing.models import Adjustment, Invoice, InvoiceStatus, LineKind
from clients.models import Client
from clients.months import japan_today, month_end, previous_month
from tests import concurrency
from tests.billing.factories import contracted_client, void_confirmed
from tests.html_forms import form_values

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _live(client: Client, month: dt.date) -> Invoice:
    return Invoice.objects.exclude(status=InvoiceStatus.VOID).get(
        client=client, billing_month=month
    )


class _Race:
    """A client billed up to last month (its invoice issued today, unpaid),
    whose cancellation at the end of last month an admin is saving."""

    def __init__(self, plan, *, paid_before: bool = False) -> None:
        self.today = japan_today()
        self.month = previous_month(self.today)
        self.client = contracted_client(plan, name="競合株式会社")
        if paid_before:
            # The month before, with the deposit, billed and paid: the deposit
            # is then returned on the final invoice.
            before = previous_month(self.month)
            billing_services.bill_month(month=before, issue=True)
            billing_services.mark_paid(
                invoice=_live(self.client, before), paid_on=self.today
            )
        billing_services.bill_month(month=self.month, issue=True)
        self.invoice = _live(self.client, self.month)
        self.last_day = month_end(self.month)
        self.canceller, self.accountant = (
            concurrency.admin_browser(),
            concurrency.admin_browser(),
        )
        self.change_url = reverse("admin:clients_client_change", args=[self.client.pk])
        self.cancellation = form_values(
            self.canceller.get(self.change_url).content.decode(), "client_form"
        )
        self.cancellation.update(
            status="cancelled", cancelled_on=self.last_day.isoformat()
        )
        self.pages: dict[str, object] = {}

    def cancel(self) -> None:
        self.pages["cancellation"] = self.canceller.post(
            self.change_url, self.cancellation
        )

    def mark_paid(self) -> None:
        self.pages["payment"] = self.accountant.post(
            reverse("billing:mark_paid", args=[self.invoice.pk]),
            {"paid-paid_on": self.today.isoformat()},
        )

    def void(self) -> None:
        self.pages["void"] = self.accountant.post(
            reverse("billing:void", args=[self.invoice.pk]),
            void_confirmed("宛名の誤り"),
        )


def test_a_cancellation_saved_while_its_month_is_paid_waits_and_is_refused(
    monkeypatch, small
):
    """Both passed: a cancellation into a month paid for, whose final invoice
    can no longer return the deposit nor take the credits still waiting."""
    race = _Race(small)
    # Stops once the payment is written, under the locks mark_paid holds.
    checked, go_on = concurrency.hold_first_call(monkeypatch, Invoice, "save")

    concurrency.run_in_turn(race.mark_paid, race.cancel, checked, go_on)

    assert race.pages["payment"].status_code == 302
    page = race.pages["cancellation"]
    assert page.status_code == 200  # the form again, with why, and what was typed
    (error,) = page.context["adminform"].form.errors["cancelled_on"]
    assert f"（請求書番号 {race.invoice.number_display}）は入金済みのため" in error
    shown = form_values(page.content.decode(), "client_form")
    assert (shown["status"], shown["cancelled_on"]) == (
        "cancelled",
        race.last_day.isoformat(),
    )
    race.client.refresh_from_db()
    assert race.client.cancelled_on is None
    race.invoice.refresh_from_db()
    assert race.invoice.status == InvoiceStatus.PAID


def test_a_reissue_while_a_cancellation_into_its_month_is_saved_is_the_final_one(
    monkeypatch, small
):
    """The reissue read the client before the cancellation committed: it was
    built as an ordinary month, keeping the deposit of a client who has left."""
    race = _Race(small, paid_before=True)
    assert not race.invoice.lines.filter(kind=LineKind.DEPOSIT_RETURN).exists()
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, billing_services, "refuse_cancellation_into_paid_months"
    )

    concurrency.run_in_turn(race.cancel, race.void, checked, go_on)

    assert race.pages["cancellation"].status_code == 302
    assert race.pages["void"].status_code == 302
    race.client.refresh_from_db()
    assert race.client.cancelled_on == race.last_day
    reissued = _live(race.client, race.month)
    assert reissued.replaces_id == race.invoice.pk
    assert reissued.lines.get(kind=LineKind.DEPOSIT_RETURN).amount_yen == -2960


NO_LATER_INVOICE = "この顧客は解約済みで、訂正を反映する今後の請求書がありません。"


def test_a_credit_entered_while_a_cancellation_is_saved_waits_and_is_refused(
    monkeypatch, small
):
    """The credit read the client before the cancellation committed: it was
    recorded against the final month's invoice, and no later invoice would
    ever deduct it."""
    race = _Race(small)
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, billing_services, "refuse_cancellation_into_paid_months"
    )

    def enter_credit() -> None:
        race.pages["credit"] = race.accountant.post(
            reverse("billing:adjust", args=[race.invoice.pk]),
            {"adjust-amount_yen": "1000", "adjust-reason": "通話料の誤り"},
        )

    concurrency.run_in_turn(race.cancel, enter_credit, checked, go_on)

    assert race.pages["cancellation"].status_code == 302
    invoice_page = reverse("billing:invoice", args=[race.invoice.pk])
    assert (race.pages["credit"].status_code, race.pages["credit"]["Location"]) == (
        302,
        invoice_page,
    )
    assert NO_LATER_INVOICE in race.accountant.get(invoice_page).content.decode()
    assert not Adjustment.objects.exists()


def test_a_credit_raised_while_a_cancellation_is_saved_waits_and_is_refused(
    monkeypatch, small
):
    """As above, for a credit entered earlier and raised in the Django admin."""
    race = _Race(small)
    credit = billing_services.add_adjustment(
        invoice=race.invoice, amount_yen=1000, reason="通話料の誤り"
    )
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, billing_services, "refuse_cancellation_into_paid_months"
    )

    url = reverse("admin:billing_adjustment_change", args=[credit.pk])
    typed = form_values(race.accountant.get(url).content.decode(), "adjustment_form")
    typed.update(amount_yen="1500", reason="通話料の誤り（全額）")

    def raise_credit() -> None:
        race.pages["credit"] = race.accountant.post(url, typed)

    concurrency.run_in_turn(race.cancel, raise_credit, checked, go_on)

    assert race.pages["cancellation"].status_code == 302
    page = race.pages["credit"]
    assert page.status_code == 200  # the form again, with why
    assert NO_LATER_INVOICE in page.content.decode()
    credit.refresh_from_db()
    assert (credit.amount_yen, credit.reason) == (1000, "通話料の誤り")
