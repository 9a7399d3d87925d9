"""Why the service closed a request (replaced by a newer one, withdrawn, after
the contract's end) is stored as a code and said in the reader's language, on
the client's portal and on the admin's page; a memo an admin typed is shown as
it was typed."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from portal import services
from portal.models import BillingEmailChangeRequest, PlanChangeRequest, SystemNote
from tests.portal.conftest import jst
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    CancellationRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)

pytestmark = pytest.mark.django_db

REPLACED = "同じ月の新しいお申し込みに置き換えられました。"
WITHDRAWN = "お客様がお申し込みを取り消されました。"


def _english(text: str) -> str:
    with translation.override("en"):
        english = translation.gettext(text)
    assert english != text, f"no English for {text!r}"
    return english


def _admin_url(change_request) -> str:
    meta = change_request._meta
    return reverse(
        f"admin:{meta.app_label}_{meta.model_name}_change", args=[change_request.pk]
    )


def _replaced_plan_request(portal_user, plans) -> PlanChangeRequest:
    client = portal_user.client
    first = services.request_plan_change(
        client=client, plan=plans["half"], now=jst(2026, 11, 3, 10)
    )
    services.request_plan_change(
        client=client, plan=plans["standard"], now=jst(2026, 11, 20, 10)
    )
    first.refresh_from_db()
    return first


def test_a_replaced_request_reads_in_the_language_of_the_portal(
    portal, portal_user, plans
):
    replaced = _replaced_plan_request(portal_user, plans)
    assert (replaced.system_note, replaced.admin_note) == (SystemNote.SUPERSEDED, "")
    url = reverse("portal:plan_request", args=[replaced.pk])

    japanese = portal.get(url).content.decode()
    assert REPLACED in japanese

    portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = portal.get(url).content.decode()
    assert _english(REPLACED) in english
    assert REPLACED not in english


def test_the_admin_reads_the_reason_in_the_admins_language(
    admin_client, portal_user, plans
):
    replaced = _replaced_plan_request(portal_user, plans)
    url = _admin_url(replaced)

    assert REPLACED in admin_client.get(url).content.decode()

    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = admin_client.get(url).content.decode()
    assert _english(REPLACED) in english
    assert REPLACED not in english


def test_an_admins_memo_is_kept_as_typed_beside_the_reason(portal, portal_user):
    """The admin wrote to the client while the request was open; the client
    then withdrew it: both are shown, the memo in the words it was typed in."""
    client = portal_user.client
    services.request_billing_email_change(client=client, billing_email="k@ex.jp")
    asked = BillingEmailChangeRequest.objects.get()
    memo = "ドメインをご確認ください。"
    BillingEmailChangeRequest.objects.filter(pk=asked.pk).update(admin_note=memo)
    services.withdraw_billing_email_change(client=client)
    asked.refresh_from_db()
    assert (asked.system_note, asked.admin_note) == (SystemNote.WITHDRAWN, memo)
    url = reverse("portal:billing_email_request", args=[asked.pk])

    withdrawn = SystemNote.WITHDRAWN.label
    assert f"{withdrawn}\n{memo}" in portal.get(url).content.decode()
    portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert f"{_english(withdrawn)}\n{memo}" in portal.get(url).content.decode()


def test_a_refusal_typed_by_the_admin_is_shown_as_typed_in_english_too(
    portal, portal_user, plans
):
    """An admin's memo is free text: never looked up in the catalogue, even
    when it reads like one of its sentences."""
    asked = services.request_plan_change(client=portal_user.client, plan=plans["half"])
    services.close_request(change_request=asked, status="rejected", admin_note=REPLACED)
    portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = portal.get(reverse("portal:plan_request", args=[asked.pk]))
    assert REPLACED in page.content.decode()


LISTS = [
    ("portal_planchangerequest", PlanChangeRequestFactory),
    ("portal_recipientchangerequest", RecipientChangeRequestFactory),
    ("portal_billingemailchangerequest", BillingEmailChangeRequestFactory),
    ("portal_cancellationrequest", CancellationRequestFactory),
]


@pytest.mark.parametrize(("model", "factory"), LISTS)
def test_the_request_lists_say_why_each_request_was_closed(
    admin_client, model, factory
):
    """The admin scanning a list reads why each processed request was closed,
    as its page says it: the service's reason in the admin's language, the
    memo as typed; an open request's memo is not shown as a reason yet."""
    factory(status="rejected", system_note=SystemNote.WITHDRAWN)
    factory(status="rejected", admin_note="番号のご確認をお願いします。")
    factory(admin_note="確認中のメモ")
    # Every status: the bare list shows 受付中 only.
    url = reverse(f"admin:{model}_changelist") + "?status__exact=all"

    page = admin_client.get(url).content.decode()
    assert "閉じた理由" in page
    assert WITHDRAWN in page
    assert "番号のご確認をお願いします。" in page
    assert "確認中のメモ" not in page

    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = admin_client.get(url).content.decode()
    assert _english(WITHDRAWN) in english
    assert WITHDRAWN not in english


@pytest.mark.parametrize(("model", "factory"), LISTS)
def test_the_reasons_cost_no_query_per_row(
    admin_client, model, factory, django_assert_num_queries
):
    factory(status="rejected", system_note=SystemNote.WITHDRAWN)
    url = reverse(f"admin:{model}_changelist") + "?status__exact=rejected"
    admin_client.get(url)  # the session and site's first reads
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)
    for _ in range(5):
        factory(status="rejected", admin_note="お断りしました。")
    with django_assert_num_queries(len(one_row)):
        assert admin_client.get(url).status_code == 200
