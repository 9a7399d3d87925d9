"""A recipient request is marked done (対応済み, what the client reads in the
portal) only once the client's recipients show it: otherwise reports never
reach the new person, or still reach the one the client stopped."""

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal import services
from portal.models import RecipientChangeRequest, RequestStatus
from tests.factories import ClientFactory, ReportRecipientFactory
from tests.html_forms import form_values
from tests.portal.conftest import jst
from tests.portal.factories import RecipientChangeRequestFactory

pytestmark = pytest.mark.django_db

Kind = RecipientChangeRequest.Kind
NOW = jst(2026, 11, 28, 10, 0)
TODAY = dt.date(2026, 11, 28)
DESIRED = dt.date(2026, 12, 10)


def _mark_done(change_request, *, now=NOW) -> RecipientChangeRequest:
    return services.close_request(
        change_request=change_request, status=RequestStatus.DONE, now=now
    )


def _refused(change_request, *, now=NOW) -> str:
    with pytest.raises(ValidationError) as refusal:
        _mark_done(change_request, now=now)
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN
    return refusal.value.messages[0]


def _add_request(client, **fields) -> RecipientChangeRequest:
    return RecipientChangeRequestFactory(
        client=client,
        kind=Kind.ADD,
        name="新人",
        pc_email="new@example.jp",
        desired_on=DESIRED,
        **fields,
    )


# Addition ---------------------------------------------------------------


def test_an_addition_not_made_is_refused_saying_what_is_missing():
    client = ClientFactory()
    change_request = _add_request(client, mobile_email="new@m.example.jp")
    # Another person is there; not the one asked for.
    ReportRecipientFactory(client=client)

    message = _refused(change_request)

    assert "new@example.jp" in message
    assert "new@m.example.jp" in message
    assert "2026年12月10日" in message


@pytest.mark.parametrize(
    ("active_from", "active_to"),
    [
        (dt.date(2026, 12, 11), None),  # starts a day after the day asked for
        (dt.date(2026, 11, 1), dt.date(2026, 12, 9)),  # ends before it
    ],
    ids=["starts-late", "ends-before"],
)
def test_an_addition_not_reporting_on_the_day_asked_is_refused(active_from, active_to):
    change_request = _add_request(ClientFactory())
    ReportRecipientFactory(
        client=change_request.client,
        pc_email="new@example.jp",
        mobile_email="",
        active_from=active_from,
        active_to=active_to,
    )

    assert "2026年12月10日に報告を受け取る報告先に登録されていません" in _refused(
        change_request
    )


def test_an_addition_with_only_one_of_the_two_addresses_asked_is_refused():
    change_request = _add_request(ClientFactory(), mobile_email="new@m.example.jp")
    ReportRecipientFactory(
        client=change_request.client, pc_email="new@example.jp", mobile_email=""
    )

    assert "new@m.example.jp" in _refused(change_request)


def test_the_address_on_another_clients_recipient_does_not_count():
    change_request = _add_request(ClientFactory())
    ReportRecipientFactory(pc_email="new@example.jp", mobile_email="")

    _refused(change_request)


@pytest.mark.parametrize(
    ("active_from", "pc_email"),
    [
        (DESIRED, "new@example.jp"),  # starts on the day asked for
        (dt.date(2026, 11, 1), "New@Example.jp"),  # already reporting; any case
    ],
    ids=["starts-on-the-day", "reporting-already"],
)
def test_an_addition_made_is_marked_done(active_from, pc_email):
    change_request = _add_request(ClientFactory())
    ReportRecipientFactory(
        client=change_request.client,
        name="新人（表記は自由）",
        pc_email=pc_email,
        mobile_email="",
        active_from=active_from,
    )

    assert _mark_done(change_request).status == RequestStatus.DONE


def test_without_a_desired_date_the_recipient_reports_from_today():
    change_request = _add_request(ClientFactory())
    change_request.desired_on = None
    change_request.save()
    recipient = ReportRecipientFactory(
        client=change_request.client,
        pc_email="new@example.jp",
        active_from=TODAY + dt.timedelta(days=1),
    )

    assert "2026年11月28日" in _refused(change_request)

    recipient.active_from = TODAY
    recipient.save()
    assert _mark_done(change_request).status == RequestStatus.DONE


def test_a_desired_date_passed_asks_for_the_recipient_from_today():
    """Processed late: the recipient cannot have reported in the past days."""
    change_request = _add_request(ClientFactory())
    ReportRecipientFactory(
        client=change_request.client,
        pc_email="new@example.jp",
        active_from=dt.date(2026, 12, 15),
    )
    change_request.desired_on = dt.date(2026, 12, 10)
    change_request.save()

    done = _mark_done(change_request, now=jst(2026, 12, 15, 9))
    assert done.status == RequestStatus.DONE


# Stop -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("active_to", "said"),
    [(None, "未設定"), (dt.date(2026, 12, 11), "2026年12月11日")],
    ids=["no-end", "ends-after-the-day"],
)
def test_a_stop_not_made_is_refused(active_to, said):
    recipient = ReportRecipientFactory(name="辞めた人", active_to=active_to)
    change_request = RecipientChangeRequestFactory(
        client=recipient.client,
        kind=Kind.REMOVE,
        recipient=recipient,
        name="",
        pc_email="",
        desired_on=DESIRED,
    )

    message = _refused(change_request)

    assert "報告先「辞めた人」の報告終了日が2026年12月10日以前になっていません" in (
        message
    )
    assert f"いまは{said}" in message


@pytest.mark.parametrize("active_to", [DESIRED, dt.date(2026, 12, 1)])
def test_a_stop_made_on_or_before_the_day_is_marked_done(active_to):
    recipient = ReportRecipientFactory(active_to=active_to)
    change_request = RecipientChangeRequestFactory(
        client=recipient.client,
        kind=Kind.REMOVE,
        recipient=recipient,
        pc_email="",
        desired_on=DESIRED,
    )

    assert _mark_done(change_request).status == RequestStatus.DONE


# Change -----------------------------------------------------------------


def _change_request(recipient) -> RecipientChangeRequest:
    return RecipientChangeRequestFactory(
        client=recipient.client,
        kind=Kind.CHANGE,
        recipient=recipient,
        name="",
        pc_email="moved@example.jp",
        desired_on=DESIRED,
    )


def test_a_change_not_made_is_refused():
    recipient = ReportRecipientFactory(pc_email="old@example.jp")
    change_request = _change_request(recipient)

    message = _refused(change_request)

    assert "変更後のアドレス（PC: moved@example.jp）" in message


def test_a_change_made_on_the_recipient_is_marked_done():
    recipient = ReportRecipientFactory(pc_email="old@example.jp")
    change_request = _change_request(recipient)
    recipient.pc_email = "moved@example.jp"
    recipient.save()

    assert _mark_done(change_request).status == RequestStatus.DONE


def test_a_change_made_as_a_new_recipient_needs_the_former_one_ended():
    recipient = ReportRecipientFactory(name="前の人", pc_email="old@example.jp")
    change_request = _change_request(recipient)
    ReportRecipientFactory(
        client=recipient.client, pc_email="moved@example.jp", active_from=DESIRED
    )

    # The former address would still get every report.
    assert "変更前の報告先「前の人」の報告終了日が" in _refused(change_request)

    recipient.active_to = DESIRED - dt.timedelta(days=1)
    recipient.save()
    assert _mark_done(change_request).status == RequestStatus.DONE


def test_a_request_is_rejected_without_any_change():
    change_request = _add_request(ClientFactory())

    closed = services.close_request(
        change_request=change_request, status=RequestStatus.REJECTED, now=NOW
    )

    assert closed.status == RequestStatus.REJECTED


# The admin's page and list ------------------------------------------------


def _url(change_request) -> str:
    return reverse(
        "admin:portal_recipientchangerequest_change", args=[change_request.pk]
    )


def test_the_page_refuses_with_a_link_to_the_client_and_keeps_the_memo(
    admin_client,
):
    change_request = RecipientChangeRequestFactory(pc_email="later@example.jp")
    data = form_values(
        admin_client.get(_url(change_request)).content.decode(),
        "recipientchangerequest_form",
    )
    data.update(admin_note="12月から追加しました。", _operation="mark_done")

    response = admin_client.post(_url(change_request), data)

    assert response.status_code == 200
    body = response.content.decode()
    assert "追加のご依頼の報告先（PC: later@example.jp）が" in body
    client_page = reverse(
        "admin:clients_client_change", args=[change_request.client_id]
    )
    assert f'<a href="{client_page}#recipients-group">' in body
    assert "12月から追加しました。" in body  # as typed, on the page again
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN
    assert change_request.admin_note == ""

    ReportRecipientFactory(
        client=change_request.client, pc_email="later@example.jp", mobile_email=""
    )
    response = admin_client.post(_url(change_request), data, follow=True)

    assert "「対応済み」にしました。" in response.content.decode()
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE
    assert change_request.admin_note == "12月から追加しました。"


def test_the_list_action_says_each_refusal_with_its_link(admin_client):
    change_request = RecipientChangeRequestFactory(pc_email="later@example.jp")

    response = admin_client.post(
        reverse("admin:portal_recipientchangerequest_changelist"),
        {"action": "mark_done", ACTION_CHECKBOX_NAME: [change_request.pk]},
        follow=True,
    )

    body = response.content.decode()
    assert "later@example.jp" in body
    client_page = reverse(
        "admin:clients_client_change", args=[change_request.client_id]
    )
    assert f'<a href="{client_page}#recipients-group">' in body
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN


# Reports by Chatwork only --------------------------------------------------


def _chatwork_only(client) -> None:
    client.report_by_email, client.report_by_chatwork = False, True
    client.chatwork_room_id = "12345"
    client.save()


@pytest.mark.parametrize("kind", [Kind.ADD, Kind.CHANGE])
def test_an_email_recipient_of_a_client_reporting_by_chatwork_only_is_refused(kind):
    """The recipient is registered and reporting, but the client's reports go
    to Chatwork only: it would receive nothing while the client read 対応済み."""
    client = ClientFactory()
    former = ReportRecipientFactory(client=client, active_from=dt.date(2026, 1, 1))
    change_request = RecipientChangeRequestFactory(
        client=client,
        kind=kind,
        recipient=former if kind == Kind.CHANGE else None,
        name="新人",
        pc_email="new@example.jp",
        desired_on=DESIRED,
    )
    ReportRecipientFactory(
        client=client,
        pc_email="new@example.jp",
        mobile_email="",
        active_from=dt.date(2026, 12, 1),
    )
    if kind == Kind.CHANGE:
        former.active_to = dt.date(2026, 12, 9)
        former.save()
    _chatwork_only(client)

    message = _refused(change_request)

    assert "報告方法にメールが含まれていない（いまはチャットワークのみ）" in message
    assert "new@example.jp" in message
    assert "「メールで報告」を選んでから対応済みに" in message

    client.report_by_email = True  # e-mail and Chatwork
    client.save()
    assert _mark_done(change_request).status == RequestStatus.DONE


def test_a_stop_of_a_client_reporting_by_chatwork_only_is_marked_done():
    client = ClientFactory()
    recipient = ReportRecipientFactory(client=client, active_to=dt.date(2026, 11, 30))
    change_request = RecipientChangeRequestFactory(
        client=client, kind=Kind.REMOVE, recipient=recipient, desired_on=DESIRED
    )
    _chatwork_only(client)

    assert _mark_done(change_request).status == RequestStatus.DONE


def test_the_page_refusing_a_chatwork_only_client_links_to_its_report_method(
    admin_client,
):
    change_request = RecipientChangeRequestFactory(pc_email="later@example.jp")
    ReportRecipientFactory(
        client=change_request.client, pc_email="later@example.jp", mobile_email=""
    )
    _chatwork_only(change_request.client)
    data = form_values(
        admin_client.get(_url(change_request)).content.decode(),
        "recipientchangerequest_form",
    )
    data.update(_operation="mark_done")

    body = admin_client.post(_url(change_request), data).content.decode()

    assert "報告方法にメールが含まれていない" in body
    client_page = reverse(
        "admin:clients_client_change", args=[change_request.client_id]
    )
    assert f'<a href="{client_page}#id_report_by_email">' in body
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN
