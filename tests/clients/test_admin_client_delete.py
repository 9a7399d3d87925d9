"""A client with records is never deleted from the admin: its page says why and
how to end the contract instead; one created by mistake still can be."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.models import Client, ClientPerson
from tests import concurrency
from tests.factories import (
    AdminFactory,
    CallFactory,
    ClientFactory,
    ClientPersonFactory,
    ClientPlanFactory,
    ClientUserFactory,
    NumberAssignmentFactory,
    OperatorNoticeFactory,
    ReportRecipientFactory,
)

KEPT = (
    "この顧客には記録（報告先、プラン履歴）があるため削除できません。"
    "記録のある顧客は削除せずに残します。契約を終える場合は、状態を"
    "「解約」にし、解約日（契約の最終日となる月末日）を入れて保存してください。"
)


@pytest.fixture
def admin_browser(db):
    return concurrency.admin_browser()


@pytest.fixture
def with_history(db):
    client = ClientFactory(name="旧・青空商事株式会社")
    ReportRecipientFactory(client=client)
    ClientPlanFactory(client=client)
    return client


def _said(page) -> list[str]:
    return [str(message) for message in page.context["messages"]]


def test_the_page_of_a_client_with_records_has_no_delete_and_says_why(
    admin_browser, with_history
):
    page = admin_browser.get(
        reverse("admin:clients_client_change", args=[with_history.pk])
    )

    html = page.content.decode()
    delete_url = reverse("admin:clients_client_delete", args=[with_history.pk])
    assert delete_url not in html
    assert KEPT in html


def test_the_delete_page_of_a_client_with_records_says_why_on_its_page(
    admin_browser, with_history
):
    url = reverse("admin:clients_client_delete", args=[with_history.pk])
    change_url = reverse("admin:clients_client_change", args=[with_history.pk])

    page = admin_browser.get(url, follow=True)
    assert page.redirect_chain == [(change_url, 302)]
    assert _said(page) == [KEPT]
    assert "パーミッション" not in page.content.decode()

    page = admin_browser.post(url, {"post": "yes"}, follow=True)
    assert page.redirect_chain == [(change_url, 302)]
    assert _said(page) == [KEPT]
    assert Client.objects.filter(pk=with_history.pk).exists()


def test_a_call_alone_keeps_the_client(admin_browser):
    client = CallFactory().client

    page = admin_browser.post(
        reverse("admin:clients_client_delete", args=[client.pk]),
        {"post": "yes"},
        follow=True,
    )

    assert "受電" in _said(page)[0]
    assert Client.objects.filter(pk=client.pk).exists()


def test_a_client_created_by_mistake_is_still_deleted_with_its_people(
    admin_browser,
):
    client = ClientFactory(name="誤登録")
    ClientPersonFactory(client=client)
    url = reverse("admin:clients_client_delete", args=[client.pk])

    page = admin_browser.get(url)
    assert page.status_code == 200
    assert "パーミッション" not in page.content.decode()
    change = admin_browser.get(reverse("admin:clients_client_change", args=[client.pk]))
    assert url in change.content.decode()

    page = admin_browser.post(url, {"post": "yes"})
    assert page.status_code == 302
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not ClientPerson.objects.exists()


def test_bulk_delete_with_a_client_with_records_deletes_none_and_says_why(
    admin_browser, with_history
):
    mistake = ClientFactory(name="誤登録")
    url = reverse("admin:clients_client_changelist")

    page = admin_browser.post(
        url,
        {
            "action": "delete_selected",
            "_selected_action": [with_history.pk, mistake.pk],
        },
        follow=True,
    )

    assert page.redirect_chain == [(url, 302)]
    assert _said(page) == [
        "次の顧客には記録（受電・請求・報告先・プラン履歴など）があるため"
        "削除できません: 旧・青空商事株式会社。記録のある顧客は削除せずに残します。"
        "契約を終える場合は、その顧客の画面で状態を「解約」にし、解約日"
        "（契約の最終日となる月末日）を入れて保存してください。"
        "選択した顧客は1件も削除していません。"
    ]
    assert Client.objects.count() == 2


def test_bulk_delete_of_clients_created_by_mistake_still_works(admin_browser):
    mistakes = [ClientFactory(), ClientFactory()]
    url = reverse("admin:clients_client_changelist")
    selected = [client.pk for client in mistakes]

    page = admin_browser.post(
        url, {"action": "delete_selected", "_selected_action": selected}
    )
    assert page.status_code == 200  # Django's confirmation page
    page = admin_browser.post(
        url,
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )

    assert page.status_code == 302
    assert not Client.objects.exists()


def test_bulk_delete_checks_records_without_a_query_per_client(admin_browser):
    # As many queries for 12 clients selected as for 2: records are looked up
    # once per kind of record, not once per client and kind.
    kept = ClientFactory(name="記録あり")
    ReportRecipientFactory(client=kept)
    others = [ClientFactory().pk for _ in range(11)]

    def queries_refusing(selected: list[int]) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = admin_browser.post(
                reverse("admin:clients_client_changelist"),
                {"action": "delete_selected", "_selected_action": selected},
            )
        assert page.status_code == 302
        return len(queries)

    assert queries_refusing([kept.pk, *others]) == queries_refusing(
        [kept.pk, others[0]]
    )
    assert Client.objects.count() == 12


def test_the_client_page_reads_its_records_once(
    admin_browser, with_history, django_assert_num_queries
):
    """削除 hidden and the reason shown come from one read of the records (a
    query per kind of record, twice over, made 22 of the page's queries)."""
    CallFactory(client=with_history)
    url = reverse("admin:clients_client_change", args=[with_history.pk])
    admin_browser.get(url)  # the content types, cached once read
    # 26: the notices to the operators' inline reads its rows (two queries, as
    # each inline does), on top of the 24 before it; 27: the open cancellation
    # request shown under 解約日; 26: the month's fee recipients read whether
    # the client reports by e-mail with its recipients, not in a query of its
    # own.
    with django_assert_num_queries(26) as queries:
        page = admin_browser.get(url)
    assert (
        sum(
            "clients_reportrecipient" in q["sql"] and "EXISTS" in q["sql"]
            for q in queries
        )
        == 1
    )
    html = page.content.decode()
    assert KEPT.replace("報告先、プラン履歴", "報告先、プラン履歴、受電") in html
    assert reverse("admin:clients_client_delete", args=[with_history.pk]) not in html


def _client_with_rows(
    *, plans: int, people: int, recipients: int, numbers: int, notices: int = 1
):
    client = ClientFactory()
    for month in range(1, plans + 1):
        ClientPlanFactory(
            client=client,
            effective_month=dt.date(2025, month, 1),
            requested_by=AdminFactory(),
        )
    ClientPersonFactory.create_batch(people, client=client)
    ReportRecipientFactory.create_batch(recipients, client=client)
    NumberAssignmentFactory.create_batch(numbers, client=client)
    OperatorNoticeFactory.create_batch(
        notices, client=client, written_by=ClientUserFactory(client=client)
    )
    return client


def test_the_client_page_costs_as_many_queries_however_many_rows_it_shows(
    admin_browser,
):
    """Each plan-history row read its plan, client and requesting admin, and
    each lent number its number and client, one query apiece: a long history
    made the page slower with every change."""

    def queries_opening(client) -> int:
        url = reverse("admin:clients_client_change", args=[client.pk])
        admin_browser.get(url)  # the content types, cached once read
        with CaptureQueriesContext(connection) as queries:
            page = admin_browser.get(url)
        assert page.status_code == 200
        formsets = page.context["inline_admin_formsets"]
        assert [len(formset.formset.forms) for formset in formsets] == [
            client.people.count(),
            client.recipients.count(),
            client.number_assignments.count(),
            client.plan_history.count(),
            client.operator_notices.count(),
        ]
        return len(queries)

    one_of_each = _client_with_rows(plans=1, people=1, recipients=1, numbers=1)
    many = _client_with_rows(plans=6, people=5, recipients=5, numbers=3, notices=4)

    assert queries_opening(many) == queries_opening(one_of_each)
