"""Two admins on the same row's page: the second save never silently overwrites
the first (config.admin_site, GuardedAdminMixin.row_version), and a delete that
meets a row saved at the same moment is said, not a server error."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError
from django.db.models.deletion import Collector
from django.urls import reverse

from clients import services
from clients.admin import ClientAdmin, ReportRecipientAdmin
from clients.models import (
    Client,
    ClientPerson,
    LentNumber,
    Plan,
    PlanPrice,
    ReportRecipient,
)
from clients.months import japan_today
from tests import concurrency
from tests.factories import (
    ClientFactory,
    LentNumberFactory,
    NumberAssignmentFactory,
    PlanFactory,
    PlanPriceFactory,
    ReportRecipientFactory,
)
from tests.html_forms import form_values

CHANGED_MEANWHILE = (
    "この画面を開いた後に、別の担当者（または別の画面での操作）が"
    "この顧客を変更しました。その変更はそのまま残し、この画面の"
    "入力内容は保存していません。"
)


def _open(browser, url, form_id):
    page = browser.get(url)
    assert page.status_code == 200
    return form_values(page.content.decode(), form_id)


@pytest.fixture
def sakura(db):
    return ClientFactory(
        name="株式会社さくら不動産",
        announce_name="さくら不動産でございます",
        operator_notes="社長は午前不在",
    )


@pytest.fixture
def two_admins(db):
    return concurrency.admin_browser(), concurrency.admin_browser()


def _client_url(client: Client) -> str:
    return reverse("admin:clients_client_change", args=[client.pk])


@pytest.mark.django_db
def test_the_second_of_two_admins_editing_a_client_is_refused_with_what_it_typed(
    sakura, two_admins
):
    first, second = two_admins
    url = _client_url(sakura)
    typed_first = _open(first, url, "client_form")
    typed_second = _open(second, url, "client_form")

    typed_second["operator_notes"] = "社長は終日不在、折り返しは翌日"
    assert second.post(url, typed_second).status_code == 302
    typed_first["announce_name"] = "さくら不動産 受付でございます"
    typed_first["operator_notes"] = "経理の件は山田さんへ"
    page = first.post(url, typed_first)

    assert page.status_code == 200
    assert CHANGED_MEANWHILE in page.content.decode()
    assert (
        page.context["adminform"]
        .form.non_field_errors()[0]
        .startswith(CHANGED_MEANWHILE)
    )
    shown = form_values(page.content.decode(), "client_form")
    assert shown["operator_notes"] == "経理の件は山田さんへ"
    assert shown["announce_name"] == "さくら不動産 受付でございます"
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は終日不在、折り返しは翌日"
    assert sakura.announce_name == "さくら不動産でございます"

    # What the other admin saved is named field by field, under its own
    # heading instead of Django's "correct the errors below", and the field
    # is marked; the field only this page changed is not.
    html = page.content.decode()
    assert "保存していません：ほかの担当者が先に変更しました" in html
    assert "下記のエラーを修正してください" not in html
    form = page.context["adminform"].form
    assert list(form.non_field_errors())[1:] == [
        "別の担当者が保存した内容: 応答メモ = 社長は終日不在、折り返しは翌日"
    ]
    assert form.errors["operator_notes"] == ["別の担当者が変更しました"]
    assert "announce_name" not in form.errors

    # The page shown again still carries the version it was opened with: sent
    # again as it is, it would put back the notes the other admin replaced.
    assert first.post(url, shown).status_code == 200
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は終日不在、折り返しは翌日"

    # Opened again, it shows the other change and saves as before.
    reopened = _open(first, url, "client_form")
    reopened["announce_name"] = "さくら不動産 受付でございます"
    assert first.post(url, reopened).status_code == 302
    sakura.refresh_from_db()
    assert (sakura.announce_name, sakura.operator_notes) == (
        "さくら不動産 受付でございます",
        "社長は終日不在、折り返しは翌日",
    )


@pytest.mark.django_db
def test_a_field_changed_meanwhile_that_the_save_leaves_as_stored_is_no_refusal(
    sakura,
):
    """Sent again from the same page after its own save (the browser's back
    button), with the value saved kept: nothing is put back, so it saves."""
    browser = concurrency.admin_browser()
    url = _client_url(sakura)
    typed = _open(browser, url, "client_form")
    typed["announce_name"] = "さくら不動産 受付でございます"
    assert browser.post(url, typed).status_code == 302

    typed["operator_notes"] = "経理の件は山田さんへ"
    assert browser.post(url, typed).status_code == 302

    sakura.refresh_from_db()
    assert (sakura.announce_name, sakura.operator_notes) == (
        "さくら不動産 受付でございます",
        "経理の件は山田さんへ",
    )


@pytest.mark.django_db
def test_a_person_added_meanwhile_on_the_client_page_refuses_the_other_save(
    sakura, two_admins
):
    """An inline row counts: the first admin's page would not delete it, but
    its people (and recipients) were typed against a list that moved on."""
    first, second = two_admins
    url = _client_url(sakura)
    typed_first = _open(first, url, "client_form")
    typed_second = _open(second, url, "client_form")

    typed_second.update(
        {
            name.replace("__prefix__", "0"): value
            for name, value in typed_second.items()
            if name.startswith("people-__prefix__-")
        }
    )
    typed_second.update(
        {
            "people-TOTAL_FORMS": "1",
            "people-0-name": "山田太郎",
            "people-0-title": "社長",
        }
    )
    assert second.post(url, typed_second).status_code == 302
    typed_first["operator_notes"] = "経理の件は山田さんへ"
    page = first.post(url, typed_first)

    assert page.status_code == 200
    assert CHANGED_MEANWHILE in page.content.decode()
    # The inline that changed is named by its heading; no field is listed.
    assert list(page.context["adminform"].form.non_field_errors())[1:] == [
        "別の担当者が保存した内容: 「お客様の担当者」の行が変わりました"
        "（開き直すと表示されます）"
    ]
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は午前不在"
    assert list(ClientPerson.objects.values_list("name", flat=True)) == ["山田太郎"]


@pytest.mark.django_db
def test_a_refused_save_shows_the_stored_values_as_the_page_shows_them(sakura):
    """A choice by its label, a day the Japanese way, a phone number hyphenated."""
    browser = concurrency.admin_browser()
    url = _client_url(sakura)
    typed = _open(browser, url, "client_form")
    Client.objects.filter(pk=sakura.pk).update(
        status=Client.Status.CANCELLED,
        cancelled_on=dt.date(2026, 11, 30),
        own_number="+81355551234",
    )

    page = browser.post(url, typed)

    assert page.status_code == 200
    said = list(page.context["adminform"].form.non_field_errors())[1:]
    assert said == [
        "別の担当者が保存した内容: 状態 = 解約",
        "別の担当者が保存した内容: 解約日 = 2026年11月30日",
        "別の担当者が保存した内容: お客様の電話番号（転送元） = 03-5555-1234",
    ]
    html = page.content.decode()
    for line in said:
        assert line in html
    assert sorted(page.context["adminform"].form.errors) == [
        "__all__",
        "cancelled_on",
        "own_number",
        "status",
    ]


@pytest.mark.django_db
def test_a_number_lent_by_the_service_meanwhile_counts_as_a_change(sakura, client):
    browser = concurrency.admin_browser()
    url = _client_url(sakura)
    typed = _open(browser, url, "client_form")
    services.assign_number(
        lent_number=LentNumberFactory(),
        client=sakura,
        use="forwarding",
        assigned_on=japan_today(),
    )

    typed["operator_notes"] = "経理の件は山田さんへ"
    page = browser.post(url, typed)

    assert page.status_code == 200
    assert CHANGED_MEANWHILE in page.content.decode()
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は午前不在"


@pytest.mark.django_db
def test_a_plan_whose_prices_changed_meanwhile_is_refused(two_admins):
    plan = PlanFactory(name="スモール")
    first, second = two_admins
    url = reverse("admin:clients_plan_change", args=[plan.pk])
    typed_first = _open(first, url, "plan_form")
    typed_second = _open(second, url, "plan_form")

    typed_second.update(
        {
            "prices-TOTAL_FORMS": "1",
            "prices-0-valid_from": japan_today().isoformat(),
            "prices-0-monthly_fee_yen": "2960",
            "prices-0-included_calls": "20",
            "prices-0-per_call_yen": "148",
        }
    )
    assert second.post(url, typed_second).status_code == 302
    typed_first["name"] = "スモール（旧）"
    page = first.post(url, typed_first)

    assert page.status_code == 200
    assert "この画面を開いた後に" in page.content.decode()
    plan.refresh_from_db()
    assert plan.name == "スモール"
    assert PlanPrice.objects.filter(plan=plan).count() == 1


# Deleting a row another transaction made refer to at that moment. The
# foreign keys are checked at commit (deferred), so these tests commit.


def _referred_to_while_deleted(monkeypatch, refer) -> None:
    """Each delete is followed, in its own transaction, by ``refer``(the pks
    just deleted): a row that refers to one of them, as another admin's save
    committed between Django's look for referring rows and its DELETE. The
    foreign key refuses the delete at commit, as in that race."""
    original = Collector.delete

    def delete_then_refer(collector):
        deleted = {
            model: [row.pk for row in rows] for model, rows in collector.data.items()
        }
        result = original(collector)
        refer(deleted)
        return result

    monkeypatch.setattr(Collector, "delete", delete_then_refer)


@pytest.mark.django_db(transaction=True)
def test_a_client_lent_a_number_while_deleted_is_kept_and_said(monkeypatch, sakura):
    browser = concurrency.admin_browser()
    _referred_to_while_deleted(
        monkeypatch,
        lambda deleted: NumberAssignmentFactory(client_id=deleted[Client][0]),
    )
    url = reverse("admin:clients_client_delete", args=[sakura.pk])

    page = browser.post(url, {"post": "yes"}, follow=True)

    assert page.redirect_chain == [(_client_url(sakura), 302)]
    said = [str(message) for message in page.context["messages"]]
    assert said == [
        "この顧客は、同じ時刻に別の画面で保存されたデータから"
        "使われるようになったため、削除していません。"
    ]
    assert Client.objects.filter(pk=sakura.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_plans_bulk_deleted_while_one_gets_a_price_are_all_kept_and_said(
    monkeypatch,
):
    plans = [PlanFactory(code=code) for code in (Plan.Code.HALF, Plan.Code.STANDARD)]
    browser = concurrency.admin_browser()
    _referred_to_while_deleted(
        monkeypatch, lambda deleted: PlanPriceFactory(plan_id=deleted[Plan][0])
    )
    url = reverse("admin:clients_plan_changelist")

    page = browser.post(
        url,
        {
            "action": "delete_selected",
            "_selected_action": [plan.pk for plan in plans],
            "post": "yes",
        },
        follow=True,
    )

    assert page.redirect_chain == [(url, 302)]
    said = [str(message) for message in page.context["messages"]]
    assert said == [
        "選択した項目のうち、同じ時刻に別の画面で保存されたデータから"
        "使われるようになったものがあります。 選択した項目は1件も削除していません。"
    ]
    assert Plan.objects.filter(pk__in=[plan.pk for plan in plans]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_another_database_refusal_of_a_delete_stays_an_error(monkeypatch):
    number = LentNumberFactory()
    browser = concurrency.admin_browser()

    def refuse(deleted):
        raise IntegrityError("NOT NULL constraint failed")

    _referred_to_while_deleted(monkeypatch, refuse)
    url = reverse("admin:clients_lentnumber_delete", args=[number.pk])

    with pytest.raises(IntegrityError):
        browser.post(url, {"post": "yes"})
    assert LentNumber.objects.filter(pk=number.pk).exists()


# Real races, two database sessions at once (PostgreSQL).


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_saves_of_a_client_at_the_same_instant_the_second_is_refused(
    monkeypatch, sakura, two_admins
):
    """Both pages were opened before either save: without the row's lock the
    second compared its version before the first committed, and saved over it."""
    first, second = two_admins
    url = _client_url(sakura)
    typed_first = _open(first, url, "client_form")
    typed_second = _open(second, url, "client_form")
    typed_first["operator_notes"] = "社長は終日不在、折り返しは翌日"
    typed_second["operator_notes"] = "経理の件は山田さんへ"
    checked, go_on = concurrency.hold_first_call(monkeypatch, ClientAdmin, "save_model")
    pages = {}

    concurrency.run_in_turn(
        lambda: pages.setdefault("first", first.post(url, typed_first)),
        lambda: pages.setdefault("second", second.post(url, typed_second)),
        checked,
        go_on,
    )

    assert pages["first"].status_code == 302
    assert pages["second"].status_code == 200
    assert CHANGED_MEANWHILE in pages["second"].content.decode()
    shown = form_values(pages["second"].content.decode(), "client_form")
    assert shown["operator_notes"] == "経理の件は山田さんへ"
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は終日不在、折り返しは翌日"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_number_lent_while_the_client_is_deleted_keeps_the_client(
    monkeypatch, sakura
):
    """The delete had found nothing referring to the client; the lending
    committed before its DELETE, which the foreign key refused at commit."""
    browser = concurrency.admin_browser()
    looked, go_on = threading.Event(), threading.Event()
    original = Collector.delete

    def delete_once_looked(collector):
        looked.set()
        go_on.wait(timeout=10)
        return original(collector)

    monkeypatch.setattr(Collector, "delete", delete_once_looked)
    pages = {}

    def lend():
        services.assign_number(
            lent_number=LentNumberFactory(),
            client=sakura,
            use="forwarding",
            assigned_on=japan_today(),
        )

    concurrency.run_in_turn(
        lambda: pages.setdefault(
            "delete",
            browser.post(
                reverse("admin:clients_client_delete", args=[sakura.pk]),
                {"post": "yes"},
            ),
        ),
        lend,
        looked,
        go_on,
    )

    page = pages["delete"]
    assert page.status_code == 302
    assert page["Location"] == _client_url(sakura)
    assert Client.objects.filter(pk=sakura.pk).exists()
    assert sakura.number_assignments.count() == 1


UNVERSIONED = (
    "この画面の送信内容には、画面を開いた時点の顧客の情報がないため、"
    "ほかの担当者の変更を上書きしないよう保存していません。"
)


@pytest.mark.django_db
def test_a_save_without_the_pages_version_is_refused_until_opened_again(sakura):
    """A page opened before pages carried their version (or a hand-made post)
    was saved unchecked, over whatever had changed since."""
    browser = concurrency.admin_browser()
    url = _client_url(sakura)
    typed = _open(browser, url, "client_form")
    del typed["_row_version"]
    Client.objects.filter(pk=sakura.pk).update(operator_notes="社長は終日不在")
    typed["announce_name"] = "さくら不動産 受付でございます"

    page = browser.post(url, typed)

    assert page.status_code == 200
    assert UNVERSIONED in page.content.decode()
    shown = form_values(page.content.decode(), "client_form")
    assert shown["announce_name"] == "さくら不動産 受付でございます"
    # Shown again without a version: sent again, refused again.
    assert "_row_version" not in shown
    assert browser.post(url, shown).status_code == 200
    sakura.refresh_from_db()
    assert (sakura.announce_name, sakura.operator_notes) == (
        "さくら不動産でございます",
        "社長は終日不在",
    )


@pytest.mark.django_db
def test_a_version_nested_too_deep_to_read_is_refused_not_a_server_error(sakura):
    """'[' * 2000 made the JSON reader give up with a RecursionError: a 500
    (found by tests/security/test_sweep_admin.py)."""
    browser = concurrency.admin_browser()
    url = _client_url(sakura)
    typed = _open(browser, url, "client_form")
    typed["_row_version"] = "[" * 2000
    typed["announce_name"] = "さくら不動産 受付でございます"

    page = browser.post(url, typed)

    assert page.status_code == 200
    sakura.refresh_from_db()
    assert sakura.announce_name == "さくら不動産でございます"


# A history revert (django-simple-history) carries the version of the row as it
# was when the revert's page was opened.


def _revert_url(obj, version) -> str:
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history",
        args=[obj.pk, version.history_id],
    )


@pytest.mark.django_db
def test_a_revert_saved_after_another_admins_change_is_refused(sakura, two_admins):
    """The revert put back every field of the past version, the other admin's
    notes saved since the revert's page was opened among them."""
    reverter, other = two_admins
    before = sakura.history.latest()
    sakura.announce_name = "さくら不動産 受付でございます"
    sakura.save()
    revert_url = _revert_url(sakura, before)
    typed = _open(reverter, revert_url, "historicalclient_form")
    assert typed["announce_name"] == "さくら不動産でございます"
    change_url = _client_url(sakura)
    typed_other = _open(other, change_url, "client_form")
    typed_other["operator_notes"] = "社長は終日不在、折り返しは翌日"
    assert other.post(change_url, typed_other).status_code == 302

    page = reverter.post(revert_url, {**typed, "_save": "1"})

    assert page.status_code == 200
    html = page.content.decode()
    assert CHANGED_MEANWHILE in html
    assert "保存していません：ほかの担当者が先に変更しました" in html
    form = page.context["adminform"].form
    assert list(form.non_field_errors())[1:] == [
        "別の担当者が保存した内容: 応答メモ = 社長は終日不在、折り返しは翌日"
    ]
    assert form.errors["operator_notes"] == ["別の担当者が変更しました"]
    shown = form_values(html, "historicalclient_form")
    assert shown["announce_name"] == "さくら不動産でございます"
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は終日不在、折り返しは翌日"
    assert sakura.announce_name == "さくら不動産 受付でございます"

    # Sent again as shown, it is refused again.
    assert reverter.post(revert_url, {**shown, "_save": "1"}).status_code == 200
    sakura.refresh_from_db()
    assert sakura.operator_notes == "社長は終日不在、折り返しは翌日"

    # Opened again, the revert is made knowing the other change.
    reopened = _open(reverter, revert_url, "historicalclient_form")
    assert reverter.post(revert_url, {**reopened, "_save": "1"}).status_code == 302
    sakura.refresh_from_db()
    assert sakura.announce_name == "さくら不動産でございます"


@pytest.mark.django_db
def test_a_revert_without_the_pages_version_is_refused(sakura):
    browser = concurrency.admin_browser()
    before = sakura.history.latest()
    sakura.announce_name = "さくら不動産 受付でございます"
    sakura.save()
    revert_url = _revert_url(sakura, before)
    typed = _open(browser, revert_url, "historicalclient_form")
    del typed["_row_version"]

    page = browser.post(revert_url, {**typed, "_save": "1"})

    assert page.status_code == 200
    assert UNVERSIONED in page.content.decode()
    sakura.refresh_from_db()
    assert sakura.announce_name == "さくら不動産 受付でございます"


@pytest.mark.django_db
def test_a_revert_is_not_refused_for_rows_it_does_not_save(sakura, two_admins):
    """A person added on the client's page meanwhile: the revert's page shows
    no people and saves none, so nothing of it is lost."""
    reverter, other = two_admins
    before = sakura.history.latest()
    sakura.announce_name = "さくら不動産 受付でございます"
    sakura.save()
    revert_url = _revert_url(sakura, before)
    typed = _open(reverter, revert_url, "historicalclient_form")
    ClientPerson.objects.create(client=sakura, name="山田太郎", title="社長")

    assert reverter.post(revert_url, {**typed, "_save": "1"}).status_code == 302

    sakura.refresh_from_db()
    assert sakura.announce_name == "さくら不動産でございます"
    assert list(sakura.people.values_list("name", flat=True)) == ["山田太郎"]


RECIPIENT_CHANGED_MEANWHILE = (
    "この画面を開いた後に、別の担当者（または別の画面での操作）が"
    "この報告先を変更しました。"
)


@pytest.mark.django_db
def test_a_recipients_revert_saved_after_another_change_is_refused(two_admins):
    reverter, other = two_admins
    recipient = ReportRecipientFactory(name="山田太郎", pc_email="yamada@example.jp")
    before = recipient.history.latest()
    recipient.name = "山田次郎"
    recipient.save()
    revert_url = _revert_url(recipient, before)
    typed = _open(reverter, revert_url, "historicalreportrecipient_form")
    ReportRecipient.objects.filter(pk=recipient.pk).update(pc_email="jiro@example.jp")

    page = reverter.post(revert_url, {**typed, "_save": "1"})

    assert page.status_code == 200
    assert RECIPIENT_CHANGED_MEANWHILE in page.content.decode()
    recipient.refresh_from_db()
    assert (recipient.name, recipient.pc_email) == ("山田次郎", "jiro@example.jp")


# A recipient is saved on its own page and, as an inline row, on its client's
# page. Both lock the client first (ReportRecipientAdmin.row_locked_under), so
# the later of two saves at once is refused by its version.


class _RecipientOnTwoPages:
    """The client's page changes 山田's address; 山田's own page changes his
    name. Both opened before either save."""

    def __init__(self, client: Client) -> None:
        self.recipient = ReportRecipientFactory(
            client=client, name="山田太郎", pc_email="yamada@example.jp"
        )
        self.client_admin = concurrency.admin_browser()
        self.recipient_admin = concurrency.admin_browser()
        self.client_url = _client_url(client)
        self.recipient_url = reverse(
            "admin:clients_reportrecipient_change", args=[self.recipient.pk]
        )
        self.on_client_page = _open(self.client_admin, self.client_url, "client_form")
        assert self.on_client_page["recipients-0-name"] == "山田太郎"
        self.on_client_page["recipients-0-pc_email"] = "taro@example.jp"
        self.on_own_page = _open(
            self.recipient_admin, self.recipient_url, "reportrecipient_form"
        )
        self.on_own_page["name"] = "山田 太郎（経理）"
        self.pages: dict = {}

    def save_on_client_page(self) -> None:
        self.pages["client"] = self.client_admin.post(
            self.client_url, self.on_client_page
        )

    def save_on_own_page(self) -> None:
        self.pages["recipient"] = self.recipient_admin.post(
            self.recipient_url, self.on_own_page
        )

    def assert_refused(self, name: str, heading: str, form: str, typed: dict) -> None:
        """The page saved second was refused, with what was typed shown again."""
        assert self.pages[name].status_code == 200
        content = self.pages[name].content.decode()
        assert heading in content
        shown = form_values(content, form)
        assert {key: shown[key] for key in typed} == typed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_recipient_saved_on_its_page_while_its_client_page_saves_is_refused(
    monkeypatch, sakura
):
    """The client's page, first, held the client and went on to save its
    recipient rows; the recipient's page had locked its own row (and only then
    the client, read in the same statement for the recipients' ordering). Each
    waited for the other: a deadlock, and a server error on one of the pages."""
    race = _RecipientOnTwoPages(sakura)
    checked, go_on = concurrency.hold_first_call(monkeypatch, ClientAdmin, "save_model")

    concurrency.run_in_turn(
        race.save_on_client_page, race.save_on_own_page, checked, go_on
    )

    assert race.pages["client"].status_code == 302
    race.assert_refused(
        "recipient",
        RECIPIENT_CHANGED_MEANWHILE,
        "reportrecipient_form",
        {"name": "山田 太郎（経理）"},
    )
    race.recipient.refresh_from_db()
    assert (race.recipient.name, race.recipient.pc_email) == (
        "山田太郎",
        "taro@example.jp",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_client_page_saved_while_its_recipient_page_saves_is_refused(
    monkeypatch, sakura
):
    """The recipient's page holds its client's lock (row_locked_under), not
    only its own row's: the client page waits, then sees the new version."""
    race = _RecipientOnTwoPages(sakura)
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, ReportRecipientAdmin, "save_model"
    )

    concurrency.run_in_turn(
        race.save_on_own_page, race.save_on_client_page, checked, go_on
    )

    assert race.pages["recipient"].status_code == 302
    race.assert_refused(
        "client",
        CHANGED_MEANWHILE,
        "client_form",
        {"recipients-0-pc_email": "taro@example.jp"},
    )
    race.recipient.refresh_from_db()
    assert (race.recipient.name, race.recipient.pc_email) == (
        "山田 太郎（経理）",
        "yamada@example.jp",
    )
