"""Two admin requests at once on the client and number pages: each one's checks
must see what the other saved, and the second never gets a server error."""

import pytest
from django.urls import reverse

from clients import services
from clients.admin import ClientAdmin, LentNumberAdmin, PlanAdmin, ReportRecipientAdmin
from clients.forms import LentNumberAdminForm
from clients.models import LentNumber, NumberAssignment, PlanPrice, ReportRecipient
from clients.months import japan_today
from tests import concurrency
from tests.factories import (
    ClientFactory,
    LentNumberFactory,
    PlanFactory,
    ReportRecipientFactory,
)
from tests.html_forms import form_values

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PRICE_EXISTS = "この プラン と 適用開始日 を持った プラン料金 が既に存在します。"


class _NumberRace:
    """One admin lends a 03 number for forwarding, another changes its kind to
    FAX. Both passed: a FAX number lent for forwarding, billed as a FAX (never
    the number included in the plan)."""

    def __init__(self) -> None:
        self.client = ClientFactory(name="競合株式会社")
        self.number = LentNumberFactory(number="+81355550123")
        self.lender, self.editor = (
            concurrency.admin_browser(),
            concurrency.admin_browser(),
        )
        self.number_url = reverse(
            "admin:clients_lentnumber_change", args=[self.number.pk]
        )
        self.edit = form_values(
            self.editor.get(self.number_url).content.decode(), "lentnumber_form"
        )
        self.edit["kind"] = LentNumber.Kind.FAX
        self.pages: dict[str, object] = {}

    def lend(self) -> None:
        self.pages["lending"] = self.lender.post(
            reverse("admin:clients_client_changelist"),
            {
                "action": "assign_number",
                "_selected_action": [self.client.pk],
                "number": self.number.pk,
                "use": "forwarding",
                "assigned_on": japan_today().isoformat(),
                "apply": "1",
            },
        )

    def change_kind(self) -> None:
        self.pages["kind"] = self.editor.post(self.number_url, self.edit)


def test_a_number_lent_while_its_kind_becomes_fax_is_refused(monkeypatch):
    race = _NumberRace()
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, LentNumberAdminForm, "_keep_what_lending_relies_on"
    )

    concurrency.run_in_turn(race.change_kind, race.lend, checked, go_on)

    assert race.pages["kind"].status_code == 302
    page = race.pages["lending"]
    assert page.status_code == 200
    assert (
        "FAX番号はFAX用途にだけ、電話番号は転送利用か表記利用にだけ使えます。"
        in page.content.decode()
    )
    assert not NumberAssignment.objects.exists()
    race.number.refresh_from_db()
    assert race.number.kind == LentNumber.Kind.FAX


def test_a_kind_changed_while_the_number_is_lent_is_refused(monkeypatch):
    race = _NumberRace()
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, services, "quarantine_ends_on"
    )

    concurrency.run_in_turn(race.lend, race.change_kind, checked, go_on)

    assert race.pages["lending"].status_code == 302
    page = race.pages["kind"]
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["kind"] == [
        "貸出中の用途（転送利用）に合わない種類には変更できません。"
        "返却してから変更してください。"
    ]
    shown = form_values(page.content.decode(), "lentnumber_form")
    assert shown["kind"] == LentNumber.Kind.FAX  # what was chosen stays chosen
    race.number.refresh_from_db()
    assert race.number.kind == LentNumber.Kind.TOKYO_03
    assert NumberAssignment.objects.get().use == NumberAssignment.Use.FORWARDING


def test_a_recipient_added_on_the_client_page_with_a_double_click_is_saved_once(
    monkeypatch,
):
    """Both requests passed the recipient's "entered once" check, and the second
    INSERT met the first row: a server error instead of the saved page."""
    client = ClientFactory()
    browser = concurrency.admin_browser()
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(browser.get(url).content.decode(), "client_form")
    data.update(
        {
            "recipients-TOTAL_FORMS": "1",
            "recipients-0-name": "山田太郎",
            "recipients-0-pc_email": "yamada@example.jp",
            "recipients-0-active_from": japan_today().isoformat(),
        }
    )
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, ClientAdmin, "save_related"
    )
    pages = []

    def save():
        pages.append(browser.post(url, data))

    concurrency.run_in_turn(save, save, checked, go_on)

    assert sorted(page.status_code for page in pages) == [200, 302]
    (again,) = [page for page in pages if page.status_code == 200]
    assert "同じ報告先がすでに登録されています。" in again.content.decode()
    assert ReportRecipient.objects.filter(client=client).count() == 1


def test_a_price_added_on_the_plan_page_with_a_double_click_is_saved_once(
    monkeypatch,
):
    plan = PlanFactory()
    browser = concurrency.admin_browser()
    url = reverse("admin:clients_plan_change", args=[plan.pk])
    data = form_values(browser.get(url).content.decode(), "plan_form")
    data.update(
        {
            "prices-TOTAL_FORMS": "1",
            "prices-0-valid_from": japan_today().isoformat(),
            "prices-0-monthly_fee_yen": "2960",
            "prices-0-included_calls": "20",
            "prices-0-per_call_yen": "148",
        }
    )
    checked, go_on = concurrency.hold_first_call(monkeypatch, PlanAdmin, "save_related")
    pages = []

    def save():
        pages.append(browser.post(url, data))

    concurrency.run_in_turn(save, save, checked, go_on)

    assert sorted(page.status_code for page in pages) == [200, 302]
    (again,) = [page for page in pages if page.status_code == 200]
    assert PRICE_EXISTS in again.content.decode()
    assert PlanPrice.objects.filter(plan=plan).count() == 1


def _edit_both_at_once(monkeypatch, admin_class, urls, form_id, changes):
    """Two admins edit two rows into the same values: both pass their forms'
    checks, the first saves and waits to commit, the second's save meets the
    first's row in the database's unique rule. (pages, what each page showed)"""
    browsers = [concurrency.admin_browser(), concurrency.admin_browser()]
    posted = []
    for browser, url in zip(browsers, urls, strict=True):
        data = form_values(browser.get(url).content.decode(), form_id)
        data.update(changes)
        posted.append(data)
    checked, go_on = concurrency.hold_first_call(monkeypatch, admin_class, "save_model")
    pages = {}

    def save(index):
        pages[index] = browsers[index].post(urls[index], posted[index])

    concurrency.run_in_turn(lambda: save(0), lambda: save(1), checked, go_on)
    return pages


def test_two_recipients_edited_into_copies_at_once_the_second_is_told_on_its_form(
    monkeypatch,
):
    """The second got a server error, and lost what was typed."""
    client = ClientFactory()
    recipients = [
        ReportRecipientFactory(client=client, name=name, active_from=japan_today())
        for name in ("山田太郎", "山田花子")
    ]
    urls = [
        reverse("admin:clients_reportrecipient_change", args=[r.pk]) for r in recipients
    ]
    copy = {"name": "山田一郎", "pc_email": "ichiro@example.jp", "mobile_email": ""}

    pages = _edit_both_at_once(
        monkeypatch, ReportRecipientAdmin, urls, "reportrecipient_form", copy
    )

    assert pages[0].status_code == 302
    page = pages[1]
    assert page.status_code == 200
    assert page.context["adminform"].form.non_field_errors() == [
        "同じ報告先がすでに登録されています。"
    ]
    shown = form_values(page.content.decode(), "reportrecipient_form")
    assert (shown["name"], shown["pc_email"]) == ("山田一郎", "ichiro@example.jp")
    assert sorted(
        ReportRecipient.objects.filter(client=client).values_list("name", flat=True)
    ) == ["山田一郎", "山田花子"]


def test_two_numbers_edited_to_the_same_digits_at_once_the_second_is_told_on_its_form(
    monkeypatch,
):
    numbers = [
        LentNumberFactory(number=digits) for digits in ("+81355550001", "+81355550002")
    ]
    urls = [reverse("admin:clients_lentnumber_change", args=[n.pk]) for n in numbers]

    pages = _edit_both_at_once(
        monkeypatch,
        LentNumberAdmin,
        urls,
        "lentnumber_form",
        {"number": "03-5555-0003"},
    )

    assert pages[0].status_code == 302
    page = pages[1]
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["number"] == [
        "この番号はすでに登録されています。"
    ]
    shown = form_values(page.content.decode(), "lentnumber_form")
    assert shown["number"] == "03-5555-0003"
    numbers[1].refresh_from_db()
    assert numbers[1].number == "+81355550002"
    assert LentNumber.objects.filter(number="+81355550003").count() == 1
