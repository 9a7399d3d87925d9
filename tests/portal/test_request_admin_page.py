"""An admin opens a portal request (plan, recipients, billing address) from the
list and applies or refuses it on its own page, as the list's actions do."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as Browser
from django.urls import reverse

from clients.months import next_month
from clients.selectors import plan_in_force
from portal import services
from portal.models import (
    BillingEmailChangeRequest,
    PlanChangeRequest,
    RecipientChangeRequest,
    RequestStatus,
)
from tests.factories import AdminFactory, ReportRecipientFactory
from tests.html_forms import form_values
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    RecipientChangeRequestFactory,
)

pytestmark = pytest.mark.django_db

REFUSE = "お断りする（理由は管理者メモに書いてください。お客様に表示されます）"


def _url(change_request) -> str:
    meta = change_request._meta
    return reverse(
        f"admin:{meta.app_label}_{meta.model_name}_change", args=[change_request.pk]
    )


def _form(browser, change_request) -> dict[str, str]:
    """The page's form as the admin's browser would post it unchanged."""
    html = browser.get(_url(change_request)).content.decode()
    return form_values(html, f"{change_request._meta.model_name}_form")


def _press(browser, change_request, operation: str, **typed: str):
    data = _form(browser, change_request)
    data.update(typed, _operation=operation)
    return browser.post(_url(change_request), data, follow=True)


def _plan_request(portal_user, plans) -> PlanChangeRequest:
    return services.request_plan_change(client=portal_user.client, plan=plans["half"])


def _applied_recipient_request(**fields) -> RecipientChangeRequest:
    """A request to add a recipient, already added on the client's page."""
    change_request = RecipientChangeRequestFactory(**fields)
    ReportRecipientFactory(
        client=change_request.client,
        name=change_request.name,
        pc_email=change_request.pc_email,
    )
    return change_request


def test_an_open_plan_request_is_applied_from_its_page(
    admin_client, portal_user, plans
):
    change_request = _plan_request(portal_user, plans)
    page = admin_client.get(_url(change_request)).content.decode()
    assert "このプランに変更する（お申し込み時の翌月から）" in page
    assert REFUSE in page

    response = _press(admin_client, change_request, "apply")

    assert response.redirect_chain == [(_url(change_request), 302)]
    body = response.content.decode()
    assert "ハーフ に変更しました。" in body
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE
    assert change_request.processed_by is not None
    month = next_month(change_request.requested_at.date().replace(day=1))
    assert plan_in_force(client=portal_user.client, month=month).plan == plans["half"]
    # Processed: the page says so and offers no button any more.
    assert "このお申し込みは処理済みです（対応済み）。" in body
    assert "このプランに変更する" not in body
    assert REFUSE not in body


def test_an_open_recipient_request_is_marked_done_from_its_page(admin_client):
    change_request = _applied_recipient_request()
    assert "対応済みにする（顧客の画面で報告先を設定した後）" in (
        admin_client.get(_url(change_request)).content.decode()
    )

    response = _press(admin_client, change_request, "mark_done")

    assert "「対応済み」にしました。" in response.content.decode()
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE


def test_an_open_billing_address_request_is_applied_from_its_page(admin_client):
    change_request = BillingEmailChangeRequestFactory(billing_email="keiri@example.jp")
    page = admin_client.get(_url(change_request)).content.decode()
    # No billing address yet: the notices go to the recipients' PC addresses.
    assert "報告先のPCメールアドレス" in page
    assert "この内容で設定する" in page

    response = _press(admin_client, change_request, "apply")

    assert "請求書送付先を「keiri@example.jp」にしました。" in (
        response.content.decode()
    )
    change_request.client.refresh_from_db()
    assert change_request.client.billing_email == "keiri@example.jp"
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE


@pytest.mark.parametrize(
    "make",
    [
        lambda portal_user, plans: _plan_request(portal_user, plans),
        lambda portal_user, plans: RecipientChangeRequestFactory(
            client=portal_user.client
        ),
        lambda portal_user, plans: BillingEmailChangeRequestFactory(
            client=portal_user.client
        ),
    ],
    ids=["plan", "recipient", "billing_email"],
)
def test_a_request_refused_from_its_page_keeps_the_reason_typed(
    admin_client, portal_user, plans, make
):
    change_request = make(portal_user, plans)
    reason = "ご契約内容を確認のうえ、お電話いたします。"

    response = _press(admin_client, change_request, "reject", admin_note=reason)

    assert "「お断り・取り下げ」にしました。" in response.content.decode()
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.REJECTED
    assert change_request.admin_note == reason
    assert change_request.processed_by is not None


@pytest.mark.parametrize(
    ("model", "operation"),
    [
        (PlanChangeRequest, "apply"),
        (RecipientChangeRequest, "mark_done"),
        (BillingEmailChangeRequest, "apply"),
    ],
)
def test_a_request_processed_meanwhile_is_said_and_left_as_it_is(
    admin_client, portal_user, plans, model, operation
):
    """Another admin processed it after this page was opened."""
    change_request = {
        PlanChangeRequest: lambda: _plan_request(portal_user, plans),
        RecipientChangeRequest: lambda: _applied_recipient_request(
            client=portal_user.client
        ),
        BillingEmailChangeRequest: lambda: BillingEmailChangeRequestFactory(
            client=portal_user.client
        ),
    }[model]()
    data = _form(admin_client, change_request)
    services.close_request(change_request=change_request, status=RequestStatus.DONE)
    data.update(admin_note="この画面で書いたメモ", _operation=operation)

    response = admin_client.post(_url(change_request), data)

    assert response.status_code == 200
    body = response.content.decode()
    assert "このお申し込みはすでに処理済みです。" in body
    assert "この画面で書いたメモ" in body  # what was typed, kept on the page
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.DONE
    assert change_request.admin_note == ""
    portal_user.client.refresh_from_db()
    assert portal_user.client.billing_email == ""


def test_saving_the_page_only_keeps_the_request_open(admin_client):
    change_request = BillingEmailChangeRequestFactory()
    data = _form(admin_client, change_request)
    data["admin_note"] = "確認中です。"
    admin_client.post(_url(change_request), data)
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN
    assert change_request.admin_note == "確認中です。"


def test_the_buttons_need_a_post_with_its_token():
    admin = AdminFactory()
    change_request = BillingEmailChangeRequestFactory()
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(admin)
    # A link (GET) processes nothing.
    assert browser.get(_url(change_request), {"_operation": "apply"}).status_code == 200
    data = _form(browser, change_request)
    del data["csrfmiddlewaretoken"]
    assert (
        browser.post(_url(change_request), {**data, "_operation": "apply"}).status_code
        == 403
    )
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN


def test_an_admin_who_may_only_view_requests_gets_no_button(client):
    viewer = AdminFactory(is_superuser=False)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_billingemailchangerequest")
    )
    client.force_login(viewer)
    change_request = BillingEmailChangeRequestFactory()
    page = client.get(_url(change_request))
    assert page.status_code == 200
    assert "この内容で設定する" not in page.content.decode()

    response = client.post(_url(change_request), {"_operation": "apply"})

    assert response.status_code == 403
    change_request.refresh_from_db()
    assert change_request.status == RequestStatus.OPEN
