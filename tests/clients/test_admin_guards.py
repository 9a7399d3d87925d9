"""Hand-edited admin URLs get the admin's own answers, never a 500."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import IntegrityError
from django.forms.models import BaseModelForm

from clients.models import Client, LentNumber
from tests.factories import (
    CallFactory,
    ClientFactory,
    NumberAssignmentFactory,
)
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/clients/client/?status=%00",
        "/admin/answering/call/?category=%00",
        "/admin/reporting/delivery/?status=%00",
        "/admin/answering/call/?received_at__year=9999",
        "/admin/answering/call/?received_at__year=9999&received_at__month=12",
        "/admin/answering/call/?received_at__year=" + "9" * 30,
        "/admin/portal/planchangerequest/?requested_at__year=9999",
    ],
)
def test_a_bad_filter_is_the_admins_bad_filter_page(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    ("url", "rows"),
    [
        ("/admin/answering/call/?received_at__year=1", 0),
        ("/admin/answering/call/?received_at__gte=0001-01-01", 1),
        ("/admin/answering/call/?received_at__lt=0001-01-01", 0),
        ("/admin/answering/call/?client=" + "9" * 20, 0),
        ("/admin/clients/client/?id=" + "9" * 20, 0),
    ],
)
def test_a_filter_at_the_edge_of_what_the_database_holds(admin_client, url, rows):
    """PostgreSQL filters; SQLite, which cannot take the value, gets the
    bad-filter page. Either way the admin sees a page, not a 500."""
    CallFactory()
    response = admin_client.get(url)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
    else:
        assert response.status_code == 200
        assert response.context["cl"].result_count == rows


def test_a_good_drill_down_still_filters(admin_client):
    response = admin_client.get("/admin/answering/call/?received_at__year=2026")
    assert response.status_code == 200


@pytest.mark.parametrize("selected", ["a", "", "1.0", "\x00", "1" * 5000, "9" * 20])
def test_a_forged_selection_changes_nothing(admin_client, selected):
    client = ClientFactory()
    response = admin_client.post(
        "/admin/clients/client/",
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [client.pk, selected]},
    )
    assert response.status_code in (200, 302)
    assert Client.objects.filter(pk=client.pk).exists()


@pytest.mark.parametrize("object_id", ["a", "%2500", "1" * 5000])
def test_a_forged_history_id_is_a_404(admin_client, object_id):
    response = admin_client.get(f"/admin/clients/client/{object_id}/history/")
    assert response.status_code == 404


def test_a_history_page_still_shows(admin_client):
    client = ClientFactory()
    response = admin_client.get(f"/admin/clients/client/{client.pk}/history/")
    assert response.status_code == 200


def _typed(page, form_id: str) -> dict:
    shown = form_values(page.content.decode(), form_id)
    shown.pop("csrfmiddlewaretoken")
    return shown


def _skip_first_check(monkeypatch, owner, name):
    """``owner.name`` does nothing the first time: the check passed while
    another admin's row was not yet committed."""
    original = getattr(owner, name)
    calls = []

    def once_skipped(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            return original(*args, **kwargs)
        return None

    monkeypatch.setattr(owner, name, once_skipped)


def test_a_unique_rule_met_after_the_forms_check_is_the_forms_error(
    admin_client, monkeypatch
):
    """Two admins (or a double click) both pass the form's unique check before
    either saves: the second INSERT met the first row, a server error."""
    LentNumber.objects.create(number="+81355554000", kind=LentNumber.Kind.TOKYO_03)
    _skip_first_check(monkeypatch, BaseModelForm, "validate_unique")
    data = {"number": "03-5555-4000", "kind": LentNumber.Kind.TOKYO_03, "note": "横"}

    page = admin_client.post("/admin/clients/lentnumber/add/", data)

    assert page.status_code == 200
    assert page.context["adminform"].form.errors["number"] == [
        "この番号はすでに登録されています。"
    ]
    assert _typed(page, "lentnumber_form") == data
    assert LentNumber.objects.filter(number="+81355554000").count() == 1


def test_a_unique_rule_the_form_does_not_check_is_said_above_it_with_the_input(
    admin_client, monkeypatch
):
    LentNumber.objects.create(number="+81355554000", kind=LentNumber.Kind.TOKYO_03)
    monkeypatch.setattr(BaseModelForm, "validate_unique", lambda form: None)
    data = {"number": "03-5555-4000", "kind": LentNumber.Kind.TOKYO_03, "note": "横"}

    page = admin_client.post("/admin/clients/lentnumber/add/", data)

    assert page.status_code == 200
    assert page.context["adminform"].form.non_field_errors() == [
        "同じ内容がすでに保存されています（別の画面で同時に保存されたか、"
        "二重に送信された可能性があります）。入力内容を確認してください。"
    ]
    assert _typed(page, "lentnumber_form") == data
    assert LentNumber.objects.filter(number="+81355554000").count() == 1


def test_a_check_rule_the_form_missed_is_said_in_the_rules_words(
    admin_client, monkeypatch
):
    client = ClientFactory()
    url = f"/admin/clients/client/{client.pk}/change/"
    data = form_values(admin_client.get(url).content.decode(), "client_form")
    data.update(report_by_chatwork="on", chatwork_room_id="")
    monkeypatch.setattr(Client, "validate_constraints", lambda *a, **k: None)

    page = admin_client.post(url, data)

    assert page.status_code == 200
    assert page.context["adminform"].form.non_field_errors() == [
        "チャットワークで報告するにはルームIDが必要です。"
    ]
    assert form_values(page.content.decode(), "client_form")["report_by_chatwork"]
    client.refresh_from_db()
    assert not client.report_by_chatwork


def test_another_database_error_on_a_save_stays_an_error(admin_client, monkeypatch):
    """Only a rule refusing the row is the form's: any other fault is not
    dressed up as the admin's mistake."""

    def fails(*args, **kwargs):
        raise IntegrityError("insert or update violates foreign key constraint")

    monkeypatch.setattr(LentNumber, "save", fails)
    with pytest.raises(IntegrityError):
        admin_client.post(
            "/admin/clients/lentnumber/add/",
            {"number": "03-5555-4000", "kind": LentNumber.Kind.TOKYO_03},
        )


def test_a_lent_number_keeps_its_digits_and_a_kind_fitting_its_use(admin_client):
    """A FAX-kind number lent for forwarding, or a number renumbered under its
    history, broke the one-use rule and moved the screen pop."""
    assignment = NumberAssignmentFactory(number__number="+81355550101")
    url = f"/admin/clients/lentnumber/{assignment.number.pk}/change/"
    opened = form_values(admin_client.get(url).content.decode(), "lentnumber_form")
    assert (opened["number"], opened["kind"]) == ("03-5555-0101", "03")
    for change, message in [
        ({"kind": LentNumber.Kind.FAX}, "貸出中の用途（転送利用）に合わない種類"),
        ({"number": "03-9999-0001"}, "貸し出したことのある番号は変更できません"),
    ]:
        page = admin_client.post(url, {**opened, **change})
        assert message in page.content.decode()
    number = LentNumber.objects.get(pk=assignment.number.pk)
    assert (number.number, number.kind) == ("+81355550101", "03")
    page = admin_client.post(url, {**opened, "note": "メモ"})
    assert page.status_code == 302
