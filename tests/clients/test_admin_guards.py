"""Hand-edited admin URLs get the admin's own answers, never a 500."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.forms.models import BaseModelForm

from clients.models import Client, LentNumber
from tests.factories import CallFactory, ClientFactory, NumberAssignmentFactory

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


def test_a_double_submitted_add_form_says_so_instead_of_a_500(
    admin_client, monkeypatch
):
    """Two posts of one form both pass its unique check before either saves
    (a double click): the second INSERT meets the first row."""
    LentNumber.objects.create(number="+81355554000", kind=LentNumber.Kind.TOKYO_03)
    monkeypatch.setattr(BaseModelForm, "validate_unique", lambda form: None)
    response = admin_client.post(
        "/admin/clients/lentnumber/add/",
        {"number": "03-5555-4000", "kind": LentNumber.Kind.TOKYO_03},
        follow=True,
    )
    assert response.status_code == 200
    assert "同じ内容がすでに保存されています" in response.content.decode()
    assert LentNumber.objects.filter(number="+81355554000").count() == 1


def test_a_lent_number_keeps_its_digits_and_a_kind_fitting_its_use(admin_client):
    """A FAX-kind number lent for forwarding, or a number renumbered under its
    history, broke the one-use rule and moved the screen pop."""
    assignment = NumberAssignmentFactory(number__number="+81355550101")
    url = f"/admin/clients/lentnumber/{assignment.number.pk}/change/"
    for change, message in [
        ({"kind": LentNumber.Kind.FAX}, "貸出中の用途（転送利用）に合わない種類"),
        ({"number": "03-9999-0001"}, "貸し出したことのある番号は変更できません"),
    ]:
        data = {"number": "03-5555-0101", "kind": "03", "note": "", **change}
        page = admin_client.post(url, data)
        assert message in page.content.decode()
    number = LentNumber.objects.get(pk=assignment.number.pk)
    assert (number.number, number.kind) == ("+81355550101", "03")
    page = admin_client.post(
        url, {"number": "03-5555-0101", "kind": "03", "note": "メモ"}
    )
    assert page.status_code == 302
