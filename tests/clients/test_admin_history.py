"""django-simple-history's pages: every version can be read; "Revert" is offered
only where the form it posts checks every rule a past version could break."""

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from clients.models import Client, LentNumber, Plan, ReportRecipient
from clients.months import japan_today
from clients.services import assign_number
from tests.factories import ClientFactory, LentNumberFactory, ReportRecipientFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

REFUSED = "この履歴からは元に戻せません。"
REVERT_BUTTON = 'name="_save"'


def _version_url(obj, version) -> str:
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history",
        args=[obj.pk, version.history_id],
    )


def _revert(admin_client, obj, version):
    """What pressing Revert on the version's page would post."""
    url = _version_url(obj, version)
    page = admin_client.get(url)
    assert page.status_code == 200
    try:
        html = page.content.decode()
        form = form_values(html, f"historical{obj._meta.model_name}_form")
    except AssertionError:
        form = {}  # every field read-only: the browser posts only the button
    return page, admin_client.post(url, {**form, "_save": "Revert"}, follow=True)


@pytest.fixture
def returned_and_lent_again(settings):
    """A number lent to 甲社, returned, rested, and now lent to 乙社."""
    settings.NUMBER_QUARANTINE_DAYS = 90
    today = japan_today()
    number = LentNumberFactory()
    first = assign_number(
        lent_number=number,
        client=ClientFactory(name="甲社"),
        use="listed",
        assigned_on=today - dt.timedelta(days=200),
    )
    open_version = first.history.latest()
    # Returned in the past: written as the return service would have then.
    first.released_on = today - dt.timedelta(days=150)
    first.save(update_fields=["released_on"])
    assign_number(lent_number=number, client=ClientFactory(name="乙社"), use="listed")
    return first, open_version


def test_a_returned_numbers_past_cannot_be_reverted_back_into_lending(
    admin_client, returned_and_lent_again
):
    """The revert reopened 甲社's lending: a number lent twice at once (a 500
    from the database's one-open-lending rule), bypassing every lending rule."""
    first, open_version = returned_and_lent_again
    released_on = first.released_on
    page, response = _revert(admin_client, first, open_version)
    assert REVERT_BUTTON not in page.content.decode()
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    first.refresh_from_db()
    assert first.released_on == released_on
    assert first.number.assignments.current().get().client.name == "乙社"


def test_a_lent_numbers_old_digits_cannot_come_back_by_a_revert(admin_client):
    """The form keeps a lent number's digits by comparing with the row; in a
    revert the row it compared with was the old version, so nothing changed."""
    number = LentNumber.objects.create(
        number="+81355550100", kind=LentNumber.Kind.TOKYO_03
    )
    typo = number.history.latest()
    number.number = "+81355550101"
    number.save()
    assign_number(lent_number=number, client=ClientFactory(), use="listed")
    _page, response = _revert(admin_client, number, typo)
    assert REFUSED in response.content.decode()
    number.refresh_from_db()
    assert number.number == "+81355550101"


def test_a_version_is_still_shown_and_a_forged_version_id_is_a_404(
    admin_client, returned_and_lent_again
):
    first, open_version = returned_and_lent_again
    history = reverse("admin:clients_numberassignment_history", args=[first.pk])
    assert admin_client.get(history).status_code == 200
    assert admin_client.get(_version_url(first, open_version)).status_code == 200
    for forged in ("a", "1" * 5000):
        url = f"{history}{forged}/"
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url, {}).status_code == 404


def test_a_client_can_still_be_reverted_through_its_checked_form(admin_client):
    client = ClientFactory(name="旧社名")
    before = client.history.latest()
    client.name = "新社名"
    client.save()
    page, response = _revert(admin_client, client, before)
    assert REVERT_BUTTON in page.content.decode()
    assert response.status_code == 200
    client.refresh_from_db()
    assert client.name == "旧社名"


REVERTIBLE = {Client, Plan, ReportRecipient}


def test_revert_is_off_wherever_it_could_pass_a_rule_by():
    """A new admin class with history gets no Revert until its form is known
    to check a past version as it checks an edit."""
    with_history = {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, SimpleHistoryAdmin)
    }
    assert set(with_history) > REVERTIBLE
    for model, model_admin in with_history.items():
        allowed = getattr(model_admin, "history_revert_allowed", False)
        assert allowed == (model in REVERTIBLE), model


def test_a_revert_meeting_a_row_saved_meanwhile_is_refused_on_its_form(
    admin_client, monkeypatch
):
    """A recipient reverted into a copy of another that was saved after the
    revert's form was checked: the database's rule, not a server error."""
    client = ClientFactory()
    first = ReportRecipientFactory(client=client, name="山田太郎")
    before = first.history.latest()
    first.name = "山田次郎"
    first.save()
    ReportRecipientFactory(
        client=client,
        name="山田太郎",
        pc_email=first.pc_email,
        mobile_email=first.mobile_email,
        active_from=first.active_from,
    )
    original = ReportRecipient.validate_constraints
    checks = []

    def passes_once(recipient, *args, **kwargs):  # the copy committed after it
        checks.append(recipient)
        if len(checks) > 1:
            original(recipient, *args, **kwargs)

    monkeypatch.setattr(ReportRecipient, "validate_constraints", passes_once)

    _page, response = _revert(admin_client, first, before)

    assert response.status_code == 200
    assert "同じ報告先がすでに登録されています。" in response.content.decode()
    first.refresh_from_db()
    assert first.name == "山田次郎"
