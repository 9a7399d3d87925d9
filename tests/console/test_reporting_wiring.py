"""The console's save and correction also queue the client's reports."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from answering.models import Call
from reporting.models import Delivery
from tests.factories import CallFactory, ClientFactory, ReportRecipientFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

NEW = reverse("console:call_new")
FORM = {
    "category": "normal",
    "caller_name": "田中 一郎",
    "caller_company": "田中建設",
    "callback_number": "090 1111 2222",
    "purpose": "見積もりの件",
    "received_at": "",
}


@pytest.fixture
def reported_client():
    client = ClientFactory()
    ReportRecipientFactory(
        client=client, pc_email="boss@acme.example.jp", mobile_email=""
    )
    ReportRecipientFactory(client=ClientFactory(), pc_email="other@else.example.jp")
    return client


def test_saving_a_call_queues_one_report_per_address_of_that_client(
    operator_client, reported_client
):
    page = operator_client.post(f"{NEW}?client={reported_client.pk}", FORM, follow=True)
    call = Call.objects.get()
    assert list(call.deliveries.values_list("address", "status")) == [
        ("boss@acme.example.jp", "pending")
    ]
    assert "送信中" in page.content.decode()  # the saved banner shows the report status


def test_the_same_form_sent_twice_saves_and_reports_the_call_once(
    operator_client, reported_client
):
    url = f"{NEW}?client={reported_client.pk}"
    blank = form_values(operator_client.get(url).content.decode(), "call-form")
    typed = {**blank, **FORM}
    first = operator_client.post(url, typed)
    second = operator_client.post(url, typed)  # a double press, or a resend
    call = Call.objects.get()
    assert (
        first["Location"]
        == second["Location"]
        == f"{NEW}?client={reported_client.pk}&saved={call.pk}"
    )
    assert call.deliveries.count() == 1
    # The next blank form is a new call.
    page = operator_client.get(first["Location"]).content.decode()
    following = form_values(page, "call-form")
    assert following["submission_id"] != blank["submission_id"]
    operator_client.post(url, {**following, **FORM})
    assert Call.objects.count() == 2 and Delivery.objects.count() == 2


def test_a_form_id_already_used_for_another_client_saves_a_call_of_its_own(
    operator_client, reported_client
):
    """A form posted by hand to another client with a used id: no server error,
    and the first client's call stays as it was."""
    url = f"{NEW}?client={reported_client.pk}"
    typed = {**form_values(operator_client.get(url).content.decode(), "call-form")}
    operator_client.post(url, {**typed, **FORM})
    other = ClientFactory()
    response = operator_client.post(
        f"{NEW}?client={other.pk}", {**typed, **FORM, "caller_name": "別の人"}
    )
    second = Call.objects.get(client=other)
    assert response.status_code == 302
    assert response["Location"] == f"{NEW}?client={other.pk}&saved={second.pk}"
    assert second.caller_name == "別の人"
    assert Call.objects.get(client=reported_client).caller_name == FORM["caller_name"]


def test_every_demeanour_ticked_is_saved_and_reported(operator_client, reported_client):
    operator_client.post(
        f"{NEW}?client={reported_client.pk}",
        {**FORM, "is_urgent": "on", "is_angry": "on", "is_troubled": "on"},
    )
    call = Call.objects.get()
    assert (call.is_urgent, call.is_angry, call.is_troubled) == (True, True, True)
    body = call.deliveries.get().body
    assert all(word in body for word in ("お急ぎ", "お怒り", "お困り"))


def test_a_failed_report_queue_saves_no_call(
    operator_client, reported_client, monkeypatch
):
    def broken(*args, **kwargs):
        raise DatabaseError("the delivery insert failed")

    monkeypatch.setattr(Delivery.objects, "bulk_create", broken)
    with pytest.raises(DatabaseError):
        operator_client.post(f"{NEW}?client={reported_client.pk}", FORM)
    # The call and its reports are one transaction: no call is left unreported.
    assert not Call.objects.exists()


def test_a_sales_call_is_saved_without_reports(operator_client, reported_client):
    operator_client.post(f"{NEW}?client={reported_client.pk}", {"category": "sales"})
    assert Call.objects.get().category == "sales"
    assert not Delivery.objects.exists()


def test_correcting_a_reported_call_sends_a_correction_that_says_what_changed(
    operator_client, reported_client
):
    operator_client.post(f"{NEW}?client={reported_client.pk}", FORM)
    call = Call.objects.get()
    operator_client.post(
        reverse("console:call_edit", args=[call.pk]),
        {**FORM, "callback_number": "090-1111-3333"},
    )
    correction = call.deliveries.get(kind=Delivery.Kind.CORRECTION)
    assert "訂正" in correction.subject
    assert "090-1111-2222" in correction.body and "090-1111-3333" in correction.body


def test_a_sales_call_reclassified_as_normal_gets_its_first_report(
    operator_client, reported_client
):
    call = CallFactory(client=reported_client, category="sales")
    operator_client.post(reverse("console:call_edit", args=[call.pk]), FORM)
    assert list(call.deliveries.values_list("kind", flat=True)) == [
        Delivery.Kind.REPORT
    ]


def test_each_address_gets_the_call_as_saved_with_its_own_message_id(operator_client):
    client = ClientFactory()
    ReportRecipientFactory(
        client=client, pc_email="a@acme.example.jp", mobile_email="a@mobile.example.jp"
    )
    ReportRecipientFactory(client=client, pc_email="b@acme.example.jp", mobile_email="")
    operator_client.post(f"{NEW}?client={client.pk}", FORM)
    deliveries = list(Call.objects.get().deliveries.order_by("id"))
    assert [(d.channel, d.address) for d in deliveries] == [
        ("email_pc", "a@acme.example.jp"),
        ("email_mobile", "a@mobile.example.jp"),
        ("email_pc", "b@acme.example.jp"),
    ]
    pc_a, mobile_a, pc_b = deliveries
    assert "田中 一郎様" in pc_a.body and "見積もりの件" in pc_a.body
    assert pc_b.body == pc_a.body and pc_b.subject == pc_a.subject
    assert mobile_a.body != pc_a.body  # the short text for a phone screen
    assert "090-1111-2222" in mobile_a.body
    assert len({d.message_id for d in deliveries}) == 3
    assert all(d.message_id for d in deliveries)
    assert {d.recipient.pc_email for d in deliveries} == {
        "a@acme.example.jp",
        "b@acme.example.jp",
    }


def test_reports_stay_japanese_when_the_operator_reads_english(
    operator_client, reported_client
):
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    operator_client.post(
        f"{NEW}?client={reported_client.pk}",
        {
            **FORM,
            "category": "grey",
            "callback_number": "",
            "callback_number_missing_reason": "client_knows",
        },
    )
    report = Delivery.objects.get()
    assert "【営業の可能性】" in report.subject
    assert "番号はご存じとのこと" in report.body  # the reason's label
    assert "営業の可能性あり" in report.body  # the category label
    call = Call.objects.get()
    operator_client.post(
        reverse("console:call_edit", args=[call.pk]),
        {**FORM, "category": "grey", "purpose": "納期の件"},
    )
    correction = call.deliveries.get(kind=Delivery.Kind.CORRECTION)
    assert "用件" in correction.body and "納期の件" in correction.body


def _home(operator_client):
    with CaptureQueriesContext(connection) as queries:
        page = operator_client.get(reverse("console:home")).content.decode()
    return page, len(queries.captured_queries)


def test_todays_calls_link_each_call_and_its_reports_in_a_fixed_number_of_queries(
    operator_client, reported_client
):
    operator_client.post(f"{NEW}?client={reported_client.pk}", FORM)
    first = Call.objects.get()
    _page, one_call = _home(operator_client)
    for _ in range(9):
        operator_client.post(f"{NEW}?client={reported_client.pk}", FORM)
    sales = CallFactory(client=reported_client, category="sales")
    page, eleven_calls = _home(operator_client)
    assert one_call == eleven_calls
    edit = reverse("console:call_edit", args=[first.pk])
    deliveries = reverse("reporting:call_deliveries", args=[first.pk])
    assert f'<a href="{edit}">' in page
    assert f'<a href="{deliveries}">' in page
    assert f'href="{NEW}?client={reported_client.pk}"' in page
    assert page.count("送信中") == 10
    # A sales call has no report: its row says so and links to no deliveries.
    assert reverse("console:call_edit", args=[sales.pk]) in page
    assert reverse("reporting:call_deliveries", args=[sales.pk]) not in page
    assert "報告なし" in page
