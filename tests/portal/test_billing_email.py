"""A client asks in the portal for its billing address (請求書送付先, where
invoice notices go) to be set, changed or cleared; an admin applies it."""

import datetime as dt
import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from billing.selectors import invoice_notice_addresses
from billing.services import bill_month, send_invoice_notices
from clients.months import japan_today, month_end
from portal import services
from portal.models import BillingEmailChangeRequest, RequestStatus, SystemNote
from tests.billing.factories import OCTOBER, calls, contracted_client
from tests.factories import ClientUserFactory, ReportRecipientFactory
from tests.html_forms import form_values
from tests.portal.conftest import cancel_on_the_client_page
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)

pytestmark = pytest.mark.django_db

URL = "portal:billing_email"


def _open(client) -> list[BillingEmailChangeRequest]:
    return list(
        BillingEmailChangeRequest.objects.filter(
            client=client, status=RequestStatus.OPEN
        )
    )


def _portal_browser(user) -> Browser:
    """The client's own browser, apart from the admin's (admin_client)."""
    browser = Browser()
    browser.force_login(user)
    return browser


def _apply(admin_client, change_request) -> None:
    response = admin_client.post(
        reverse("admin:portal_billingemailchangerequest_changelist"),
        {"action": "apply", ACTION_CHECKBOX_NAME: [change_request.pk]},
        follow=True,
    )
    assert response.status_code == 200


def test_asked_in_the_portal_applied_by_an_admin_the_notice_goes_there(
    plans, admin_client, smtp_peer, settings
):
    settings.COMPANY_BANK_ACCOUNT = "みずほ銀行 神田支店 普通 7654321"
    client = contracted_client(plans["small"], name="株式会社経理変更")
    ReportRecipientFactory(client=client, pc_email="shacho@example.jp")
    portal = _portal_browser(ClientUserFactory(client=client))

    invoices = portal.get(reverse("portal:invoices")).content.decode()
    assert f'href="{reverse(URL)}"' in invoices
    assert "当社までご連絡ください" not in invoices
    # Typed on a Japanese keyboard: kept as half-width.
    response = portal.post(
        reverse(URL),
        {"billing_email": "ｋｅｉｒｉ＠ｅｘａｍｐｌｅ．ｊｐ", "message": "経理部あて"},
        follow=True,
    )
    assert "請求書送付先の変更を受け付けました。" in response.content.decode()
    (change_request,) = _open(client)
    assert change_request.billing_email == "keiri@example.jp"
    # Not applied yet: the notice would still go to the recipients.
    invoices = portal.get(reverse("portal:invoices")).content.decode()
    assert "変更を申し込み中: keiri@example.jp" in invoices
    assert "報告先のPCメールアドレス（shacho@example.jp）" in invoices
    listed = portal.get(reverse("portal:requests")).content.decode()
    assert "keiri@example.jp" in listed and "受付中" in listed

    changelist = admin_client.get(
        reverse("admin:portal_billingemailchangerequest_changelist")
    ).content.decode()
    assert "株式会社経理変更" in changelist and "keiri@example.jp" in changelist
    _apply(admin_client, change_request)

    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE
    assert change_request.processed_by is not None
    client.refresh_from_db()
    assert client.billing_email == "keiri@example.jp"
    invoices = portal.get(reverse("portal:invoices")).content.decode()
    assert "請求書のお知らせは keiri@example.jp にお送りします。" in invoices
    assert "変更を申し込み中" not in invoices

    calls(client, 3)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    summary = send_invoice_notices(now=dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC))
    assert len(summary.sent) == 1
    assert smtp_peer.by_address() == {"keiri@example.jp": 1}
    assert Invoice.objects.get(client=client).notified_at is not None


def test_asking_to_clear_it_sends_notices_to_the_recipients_again(
    portal_user, admin_client
):
    portal = _portal_browser(portal_user)
    client = portal_user.client
    client.billing_email = "keiri@example.jp"
    client.save(update_fields=["billing_email"])
    ReportRecipientFactory(client=client, pc_email="tanto@example.jp")

    portal.post(reverse(URL), {"billing_email": ""})
    (change_request,) = _open(client)
    invoices = portal.get(reverse("portal:invoices")).content.decode()
    assert "変更を申し込み中: 報告先のPCメールアドレスに戻す" in invoices
    _apply(admin_client, change_request)

    client.refresh_from_db()
    assert client.billing_email == ""
    assert invoice_notice_addresses(client=client, today=japan_today()) == [
        "tanto@example.jp"
    ]


def test_a_refused_request_says_why_and_changes_nothing(portal_user, admin_client):
    portal = _portal_browser(portal_user)
    client = portal_user.client
    portal.post(reverse(URL), {"billing_email": "keiri@example.jp"})
    (change_request,) = _open(client)
    # The admin writes why on the request's page, then refuses it.
    url = reverse(
        "admin:portal_billingemailchangerequest_change", args=[change_request.pk]
    )
    data = form_values(
        admin_client.get(url).content.decode(), "billingemailchangerequest_form"
    )
    data["admin_note"] = "ドメインが存在しないため、確認のお電話をいたします。"
    assert admin_client.post(url, data).status_code == 302
    admin_client.post(
        reverse("admin:portal_billingemailchangerequest_changelist"),
        {"action": "reject", ACTION_CHECKBOX_NAME: [change_request.pk]},
    )

    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.REJECTED
    client.refresh_from_db()
    assert client.billing_email == ""
    detail = portal.get(
        reverse("portal:billing_email_request", args=[change_request.pk])
    ).content.decode()
    assert "お断り・取り下げ" in detail
    assert "ドメインが存在しないため、確認のお電話をいたします。" in detail
    # A processed request is not applied afterwards.
    with pytest.raises(ValidationError):
        services.apply_billing_email_change_request(change_request=change_request)
    client.refresh_from_db()
    assert client.billing_email == ""


def test_the_client_withdraws_an_open_request(portal, portal_user):
    client = portal_user.client
    portal.post(reverse(URL), {"billing_email": "keiri@example.jp"})
    (change_request,) = _open(client)
    page = portal.get(reverse(URL)).content.decode()
    assert "変更を申し込み中: keiri@example.jp" in page

    response = portal.post(reverse(URL), {"withdraw": "1"}, follow=True)

    assert "お申し込みを取り消しました。" in response.content.decode()
    assert "変更を申し込み中" not in response.content.decode()
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.REJECTED
    assert change_request.system_note == SystemNote.WITHDRAWN
    # Pressed again (another tab): nothing left, no error.
    response = portal.post(reverse(URL), {"withdraw": "1"}, follow=True)
    assert "受付中のお申し込みはありません。" in response.content.decode()


def test_asking_for_the_address_in_force_withdraws_the_open_request(
    portal, portal_user
):
    """The last wish wins, as for plans: back to the address already set."""
    client = portal_user.client
    client.billing_email = "keiri@example.jp"
    client.save(update_fields=["billing_email"])
    portal.post(reverse(URL), {"billing_email": "other@example.jp"})
    (change_request,) = _open(client)

    response = portal.post(
        reverse(URL), {"billing_email": "KEIRI@example.jp"}, follow=True
    )

    assert "お申し込みを取り消しました。送り先は今のままです。" in (
        response.content.decode()
    )
    assert _open(client) == []


def test_asking_for_the_address_in_force_with_nothing_open_is_an_error(
    portal, portal_user
):
    client = portal_user.client
    client.billing_email = "keiri@example.jp"
    client.save(update_fields=["billing_email"])

    response = portal.post(reverse(URL), {"billing_email": "keiri@example.jp"})

    assert response.status_code == 200
    assert response.context["form"].errors["billing_email"] == [
        "請求書のお知らせはすでに keiri@example.jp にお送りしています。"
    ]
    client.billing_email = ""
    client.save(update_fields=["billing_email"])
    response = portal.post(reverse(URL), {"billing_email": ""})
    assert "すでに報告先のPCメールアドレスにお送りしています" in (
        response.content.decode()
    )
    assert not BillingEmailChangeRequest.objects.exists()


@pytest.mark.parametrize(
    "typed", ["keiri@@example.jp", "keiri＠example", "a" * 250 + "@example.jp"]
)
def test_an_invalid_address_is_refused_in_japanese_and_kept(portal, typed):
    response = portal.post(
        reverse(URL), {"billing_email": typed, "message": "経理部あて"}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["billing_email"]
    assert errors and all(
        any("\u3040" <= ch <= "\u30ff" for ch in error) for error in errors
    )
    values = form_values(response.content.decode(), "billing-email-form")
    assert values["billing_email"] == typed
    assert values["message"] == "経理部あて"
    assert not BillingEmailChangeRequest.objects.exists()


def test_a_newer_request_replaces_the_open_one_and_a_resend_is_recorded_once(
    portal, portal_user
):
    client = portal_user.client
    portal.post(reverse(URL), {"billing_email": "first@example.jp"})
    portal.post(reverse(URL), {"billing_email": "first@example.jp"})
    (first,) = BillingEmailChangeRequest.objects.filter(client=client)

    response = portal.post(
        reverse(URL), {"billing_email": "second@example.jp"}, follow=True
    )

    assert (
        "以前のお申し込み（first@example.jp）は、このお申し込みに置き換えました。"
        in response.content.decode()
    )
    first.refresh_from_db()
    assert first.status == RequestStatus.REJECTED
    assert first.system_note == SystemNote.REPLACED_BILLING_EMAIL
    assert [r.billing_email for r in _open(client)] == ["second@example.jp"]


def test_the_database_keeps_one_open_request_per_client(portal_user):
    client = portal_user.client
    BillingEmailChangeRequestFactory(client=client)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingEmailChangeRequestFactory(client=client)
    BillingEmailChangeRequestFactory(client=client, status=RequestStatus.DONE)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_leave_one_open_and_no_error(portal_user):
    """Two tabs: the second waits for the first under the client's lock, then
    replaces it; neither hits the constraint."""
    client = portal_user.client
    errors = []

    def send(address, barrier):
        try:
            barrier.wait(timeout=10)
            services.request_billing_email_change(client=client, billing_email=address)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    for round_number in range(5):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=send, args=[f"{n}-{round_number}@ex.jp", barrier])
            for n in ("one", "two")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [], f"round {round_number}"
        assert len(_open(client)) == 1


def test_a_cancellation_keeps_the_billing_address_request_open(portal, portal_user):
    """It names no time after the contract: the final invoice is notified
    after the last day, so the request is still worth applying."""
    client = portal_user.client
    portal.post(reverse(URL), {"billing_email": "keiri@example.jp"})

    page = cancel_on_the_client_page(client, month_end(japan_today()))

    assert page.status_code == 200
    assert [r.billing_email for r in _open(client)] == ["keiri@example.jp"]


def test_the_home_page_counts_an_open_billing_address_request(portal, portal_user):
    portal.post(reverse(URL), {"billing_email": "keiri@example.jp"})
    assert (
        "受付中のお申し込み 1件" in portal.get(reverse("portal:home")).content.decode()
    )


def test_the_request_list_reads_a_fixed_number_of_queries(portal, portal_user):
    client = portal_user.client

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert portal.get(reverse("portal:requests")).status_code == 200
        return len(captured)

    def add_one_of_each() -> None:
        PlanChangeRequestFactory(client=client, status=RequestStatus.DONE)
        RecipientChangeRequestFactory(client=client, status=RequestStatus.DONE)
        BillingEmailChangeRequestFactory(client=client, status=RequestStatus.DONE)

    add_one_of_each()
    few = queries()
    for _ in range(5):
        add_one_of_each()
    assert queries() == few
    assert (
        portal.get(reverse("portal:requests"))
        .content.decode()
        .count(reverse("portal:billing_email_request", args=[0])[:-2])
        == 6
    )


UNSENDABLE = "このメールアドレスには送信できません。"


def test_a_malformed_address_gets_one_message(portal):
    response = portal.post(reverse(URL), {"billing_email": "keiri@@example"})

    assert response.status_code == 200
    assert response.context["form"].errors["billing_email"] == [
        "有効なメールアドレスを入力してください。"
    ]
    body = response.content.decode()
    assert UNSENDABLE not in body
    assert 'value="keiri@@example"' in body  # what was typed stays
    assert not BillingEmailChangeRequest.objects.exists()


def test_the_recipient_request_form_says_a_malformed_address_once(portal):
    response = portal.post(
        reverse("portal:recipients"),
        {"kind": "add", "name": "経理担当", "pc_email": "tanto@@example"},
    )

    assert response.context["form"].errors["pc_email"] == [
        "有効なメールアドレスを入力してください。"
    ]
    assert UNSENDABLE not in response.content.decode()


def test_after_a_request_sending_the_form_again_changes_nothing(portal):
    # The field holds the wish sent, not an empty address (which would ask to
    # go back to the recipients' PC addresses).
    response = portal.post(
        reverse(URL), {"billing_email": "keiri@example.jp"}, follow=True
    )
    body = response.content.decode()
    assert "変更を申し込み中: keiri@example.jp" in body
    values = form_values(body, "billing-email-form")
    assert values["billing_email"] == "keiri@example.jp"

    again = portal.post(reverse(URL), values, follow=True).content.decode()
    assert "変更を申し込み中: keiri@example.jp" in again
    assert BillingEmailChangeRequest.objects.get().billing_email == "keiri@example.jp"


def test_the_withdraw_button_looks_like_the_portals_other_buttons(portal):
    portal.post(reverse(URL), {"billing_email": "keiri@example.jp"})

    body = portal.get(reverse(URL)).content.decode()

    assert '<button type="submit" name="withdraw" value="1" class="button">' in body


def test_the_recipients_addresses_are_listed_in_the_pages_language(
    portal, portal_user, settings
):
    client = portal_user.client
    ReportRecipientFactory(client=client, pc_email="shacho@example.jp")
    ReportRecipientFactory(client=client, pc_email="tanto@example.jp")

    japanese = portal.get(reverse("portal:invoices")).content.decode()
    assert "（shacho@example.jp、tanto@example.jp）" in japanese

    portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for name in ("portal:invoices", URL):
        english = portal.get(reverse(name)).content.decode()
        assert "shacho@example.jp, tanto@example.jp" in english, name
        assert "shacho@example.jp、" not in english, name


def test_the_service_withdraws_the_open_request_for_the_address_in_force(
    portal_user,
):
    """The last wish wins wherever the wish comes from, not only in the view:
    the address already set records nothing and closes the open request."""
    client = portal_user.client
    client.billing_email = "keiri@example.jp"
    client.save(update_fields=["billing_email"])
    other = services.request_billing_email_change(
        client=client, billing_email="other@example.jp"
    ).change_request

    result = services.request_billing_email_change(
        client=client, billing_email="KEIRI@example.jp"
    )

    assert (result.change_request, result.created) == (None, False)
    assert result.withdrawn == [other]
    assert _open(client) == []
    assert BillingEmailChangeRequest.objects.count() == 1
    other.refresh_from_db()
    assert other.system_note == SystemNote.WITHDRAWN
