import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clients.models import LentNumber, NumberAssignment
from clients.months import japan_today
from clients.selectors import find_assignment_by_dialed, monthly_extras
from clients.services import assign_number, release_number
from tests.factories import ClientFactory, LentNumberFactory, NumberAssignmentFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 10, 1)


def test_a_number_lent_for_forwarding_cannot_also_be_listed_by_the_same_client():
    client = ClientFactory()
    number = LentNumberFactory()
    assign_number(lent_number=number, client=client, use="forwarding", assigned_on=DAY)
    with pytest.raises(ValidationError) as excinfo:
        assign_number(lent_number=number, client=client, use="listed", assigned_on=DAY)
    assert "2つの用途" in excinfo.value.messages[0]
    assert NumberAssignment.objects.filter(number=number).count() == 1


def test_a_number_held_by_one_client_cannot_be_lent_to_another():
    holder, other = ClientFactory(name="甲社"), ClientFactory(name="乙社")
    number = LentNumberFactory()
    assign_number(lent_number=number, client=holder, use="listed", assigned_on=DAY)
    with pytest.raises(ValidationError) as excinfo:
        assign_number(lent_number=number, client=other, use="listed", assigned_on=DAY)
    assert "甲社" in excinfo.value.messages[0]


def test_the_database_refuses_two_open_assignments_of_one_number():
    number = LentNumberFactory()
    NumberAssignmentFactory(number=number)
    with pytest.raises(IntegrityError), transaction.atomic():
        NumberAssignment.objects.create(
            number=number, client=ClientFactory(), use="listed", assigned_on=DAY
        )


@pytest.mark.parametrize(
    ("days_after_release", "allowed"),
    [(1, False), (90, False), (91, True), (200, True)],
)
def test_a_released_number_rests_for_the_quarantine_period(
    days_after_release, allowed, settings
):
    settings.NUMBER_QUARANTINE_DAYS = 90
    start = dt.date(2025, 1, 6)  # every day below has passed: no lending ahead
    number = LentNumberFactory()
    first = assign_number(
        lent_number=number, client=ClientFactory(), use="listed", assigned_on=start
    )
    released_on = start + dt.timedelta(days=30)
    release_number(assignment=first, released_on=released_on, today=released_on)
    day = start + dt.timedelta(days=30 + days_after_release)
    if allowed:
        assign_number(
            lent_number=number, client=ClientFactory(), use="listed", assigned_on=day
        )
        assert number.assignments.current().count() == 1
    else:
        with pytest.raises(ValidationError) as excinfo:
            assign_number(
                lent_number=number,
                client=ClientFactory(),
                use="listed",
                assigned_on=day,
            )
        assert "休止期間" in excinfo.value.messages[0]


def test_a_number_cannot_be_lent_from_a_future_day():
    """The screen pop would open the new client at once, quarantine or not."""
    number = LentNumberFactory()
    with pytest.raises(ValidationError, match="未来の日付"):
        assign_number(
            lent_number=number,
            client=ClientFactory(),
            use="listed",
            assigned_on=japan_today() + dt.timedelta(days=1),
        )
    assert not number.assignments.exists()


def test_fax_numbers_serve_only_fax_and_phone_numbers_never_fax():
    fax = LentNumberFactory(kind=LentNumber.Kind.FAX)
    phone = LentNumberFactory()
    client = ClientFactory()
    with pytest.raises(ValidationError):
        assign_number(lent_number=fax, client=client, use="forwarding", assigned_on=DAY)
    with pytest.raises(ValidationError):
        assign_number(lent_number=phone, client=client, use="fax", assigned_on=DAY)
    assert assign_number(lent_number=fax, client=client, use="fax", assigned_on=DAY).pk


def test_listed_use_takes_only_a_tokyo_03_number():
    """The company has only Chiyoda 03 numbers for clients to print as their
    own: a 050 number is lent for forwarding, never for listed use."""
    ip = LentNumberFactory(number="+815030009001", kind=LentNumber.Kind.IP_050)
    client = ClientFactory()
    with pytest.raises(ValidationError) as excinfo:
        assign_number(lent_number=ip, client=client, use="listed", assigned_on=DAY)
    assert "表記利用" in excinfo.value.messages[0]
    assert "東京03番号" in excinfo.value.messages[0]
    assert not ip.assignments.exists()
    assert assign_number(
        lent_number=ip, client=client, use="forwarding", assigned_on=DAY
    ).pk
    tokyo = LentNumberFactory(kind=LentNumber.Kind.TOKYO_03)
    assert assign_number(
        lent_number=tokyo, client=client, use="listed", assigned_on=DAY
    ).pk


def test_release_cannot_happen_twice_or_before_the_start():
    assignment = NumberAssignmentFactory(assigned_on=DAY)
    with pytest.raises(ValidationError):
        release_number(
            assignment=assignment, released_on=DAY - dt.timedelta(days=1), today=DAY
        )
    release_number(assignment=assignment, released_on=DAY, today=DAY)
    with pytest.raises(ValidationError):
        release_number(assignment=assignment, released_on=DAY, today=DAY)


def test_registering_a_number_normalises_it_and_refuses_duplicates(admin_client):
    """Numbers are registered on the admin's 貸出番号 page: the same number
    typed in another format is the same number."""
    url = reverse("admin:clients_lentnumber_add")
    assert (
        admin_client.post(url, {"number": "03-5050-9999", "kind": "03"}).status_code
        == 302
    )
    number = LentNumber.objects.get()
    assert number.number == "+81350509999"
    assert number.display == "03-5050-9999"

    again = admin_client.post(url, {"number": "+81350509999", "kind": "03"})

    assert again.status_code == 200  # the form again, with why
    errors = again.context["adminform"].form.errors
    assert errors["number"] == ["この番号はすでに登録されています。"]
    assert LentNumber.objects.count() == 1


def test_dialed_number_in_any_format_finds_the_current_holder():
    assignment = NumberAssignmentFactory(
        number=LentNumberFactory(number="+81312345678")
    )
    for dialed in ("03-1234-5678", "0312345678", "+81312345678"):
        e164, found = find_assignment_by_dialed(dialed=dialed)
        assert e164 == "+81312345678"
        assert found == assignment
    release_number(assignment=assignment)
    assert find_assignment_by_dialed(dialed="0312345678")[1] is None


def test_every_number_held_on_any_day_of_the_month_counts_beyond_the_first():
    client = ClientFactory()
    NumberAssignmentFactory(client=client, assigned_on=dt.date(2026, 1, 1))
    held_one_day = NumberAssignmentFactory(
        client=client, assigned_on=dt.date(2026, 10, 31)
    )
    extras = monthly_extras(client=client, month=dt.date(2026, 10, 1))
    assert (extras.numbers_held, extras.extra_numbers_yen) == (2, 1100)
    release_number(
        assignment=held_one_day,
        released_on=dt.date(2026, 10, 31),
        today=dt.date(2026, 11, 2),  # a month-end return processed on the 2nd
    )
    assert (
        monthly_extras(client=client, month=dt.date(2026, 11, 1)).extra_numbers_yen == 0
    )


def test_a_lending_record_cannot_be_deleted_in_the_admin(admin_client):
    """Deleting it freed the number with no rest and rewrote the fee history."""
    assignment = NumberAssignmentFactory()
    url = f"/admin/clients/numberassignment/{assignment.pk}/delete/"
    assert admin_client.get(url).status_code == 403
    admin_client.post(
        "/admin/clients/numberassignment/",
        {
            "action": "delete_selected",
            "_selected_action": [assignment.pk],
            "post": "yes",
        },
    )
    assert NumberAssignment.objects.filter(pk=assignment.pk).exists()


@pytest.mark.parametrize(
    ("days_back", "allowed"), [(-1, False), (0, True), (7, True), (8, False)]
)
def test_a_return_is_dated_today_or_up_to_seven_days_back(days_back, allowed):
    """Never ahead (the number stops reaching the client at once), and not far
    back: the number's rest counts from this day."""
    assignment = NumberAssignmentFactory(assigned_on=DAY)
    today = DAY + dt.timedelta(days=30)
    day = today - dt.timedelta(days=days_back)
    if allowed:
        released = release_number(assignment=assignment, released_on=day, today=today)
        assert released.released_on == day
    else:
        with pytest.raises(ValidationError):
            release_number(assignment=assignment, released_on=day, today=today)
        assignment.refresh_from_db()
        assert assignment.released_on is None
