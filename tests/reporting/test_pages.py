import datetime as dt
import os
import signal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.template.loader import render_to_string
from django.utils import timezone

from answering.models import Category
from reporting import services
from reporting.models import Delivery
from tests.factories import AdminFactory, ClientUserFactory
from tests.html_a11y import table_headers
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_delivery(smtp_peer):
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    return Delivery.objects.get(address=person.pc_email)


def test_operator_sees_a_calls_deliveries(operator_client, failed_delivery):
    url = f"/reports/calls/{failed_delivery.call_id}/"
    page = operator_client.get(url).content.decode()
    assert failed_delivery.address in page
    assert "送信失敗" in page and "送信済み" in page and "550" in page


def test_client_users_cannot_see_deliveries(client, failed_delivery):
    client.force_login(ClientUserFactory())
    assert client.get(f"/reports/calls/{failed_delivery.call_id}/").status_code == 403
    assert client.get("/reports/calls/999999/").status_code == 403


def test_failed_page_is_for_staff_only(operator_client, failed_delivery):
    response = operator_client.get("/reports/failed/")
    assert response.status_code == 403


def test_failed_page_lists_error_bounce_and_resends(
    admin_client, failed_delivery, smtp_peer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        page = admin_client.get("/reports/failed/").content.decode()
    assert failed_delivery.address in page
    assert "不達が続いているメールアドレス" in page
    assert failed_delivery.client.name in page

    assert (
        admin_client.get(
            f"/reports/deliveries/{failed_delivery.pk}/resend/"
        ).status_code
        == 405
    )
    smtp_peer.bounce = set()
    response = admin_client.post(f"/reports/deliveries/{failed_delivery.pk}/resend/")
    assert response.status_code == 302
    services.relay_due_deliveries()
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == Delivery.Status.SENT
    assert smtp_peer.by_address()[failed_delivery.address] == 1
    # A sent delivery is never resent by the button.
    admin_client.post(f"/reports/deliveries/{failed_delivery.pk}/resend/")
    services.relay_due_deliveries()
    assert smtp_peer.by_address()[failed_delivery.address] == 1


def test_delivery_admin_lists_filters_and_resends(admin_client, failed_delivery):
    page = admin_client.get("/admin/reporting/delivery/?status=failed")
    assert page.status_code == 200
    assert failed_delivery.address in page.content.decode()
    detail = admin_client.get(f"/admin/reporting/delivery/{failed_delivery.pk}/change/")
    assert "この顧客の不達アドレス" in detail.content.decode()
    admin_client.post(
        "/admin/reporting/delivery/",
        {"action": "resend_selected", "_selected_action": [failed_delivery.pk]},
    )
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == Delivery.Status.PENDING


def test_status_badge_include():
    assert "送信失敗" in render_to_string(
        "reporting/_report_status.html", {"status": "failed"}
    )
    sent = render_to_string(
        "reporting/_report_status.html", {"status": "sent", "url": "/calls/5/"}
    )
    assert "報告済" in sent
    assert '<a href="/calls/5/">' in sent
    assert "報告なし" in render_to_string("reporting/_report_status.html", {})


def test_run_relay_once_delivers_to_the_file_backend(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client, (person,) = client_with_recipients(1)
    save_reported_call(client=client)
    call_command("run_relay", "--once")
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    assert written.count(f"To: {person.pc_email}") == 1
    assert written.count(f"To: {person.mobile_email}") == 1
    assert Delivery.objects.filter(status="sent").count() == 2


def test_the_relay_outlives_a_failed_pass(monkeypatch, settings, tmp_path):
    """A database restart must not stop every client's reports for good."""
    from reporting.management.commands import run_relay

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client, _ = client_with_recipients(1)
    save_reported_call(client=client)
    passes = []

    def relay(**kwargs):
        passes.append(1)
        if len(passes) == 1:
            raise OperationalError("the database is starting up")
        if len(passes) == 3:
            raise KeyboardInterrupt  # Ctrl-C ends the test
        return services.relay_due_deliveries()

    monkeypatch.setattr(run_relay, "relay_due_deliveries", relay)
    # The test's own transaction holds the connection the loop would recycle.
    monkeypatch.setattr(run_relay, "close_old_connections", lambda: None)
    call_command("run_relay", "--interval", "0.01")
    assert len(passes) == 3
    assert Delivery.objects.filter(status="sent").count() == 2


def test_a_stopped_relay_leaves_between_two_sends(settings, tmp_path):
    """Stopped (Ctrl-C, SIGTERM) while sending, the relay finishes that send and
    leaves the others pending: none is left "sending", to be resent later
    flagged as a possible duplicate."""
    from reporting.management.commands import run_relay

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client, _ = client_with_recipients(2)
    save_reported_call(client=client)  # four deliveries
    sending = []

    def send_then_get_stopped(delivery):
        sending.append(delivery.pk)
        # Arrives during the first send, twice: from the terminal, and again
        # from a supervisor in its process group that passes Ctrl-C on.
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        return real_send(delivery)

    real_send = services._send
    before = signal.getsignal(signal.SIGTERM)
    with (
        mock.patch.object(services, "_send", send_then_get_stopped),
        mock.patch.object(run_relay, "close_old_connections", lambda: None),
    ):
        call_command("run_relay", "--interval", "0.01")
    assert len(sending) == 1
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["pending", "pending", "pending", "sent"]
    assert signal.getsignal(signal.SIGTERM) is before  # the test process's own


@pytest.fixture
def relay_passes(monkeypatch):
    """Relay passes the command made; its first wait ends it (as Ctrl-C would),
    so an interval wrongly accepted cannot hang the test."""
    from reporting.management.commands import run_relay

    passes = []

    def relay(**kwargs):
        passes.append(1)
        return {}

    def sleep(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_relay, "relay_due_deliveries", relay)
    monkeypatch.setattr(run_relay, "close_old_connections", lambda: None)
    monkeypatch.setattr(run_relay.time, "sleep", sleep)
    return passes


@pytest.mark.parametrize(
    "interval", ["inf", "Infinity", "-inf", "nan", "0", "-1", "abc", "1e9"]
)
def test_the_relay_refuses_an_interval_it_cannot_wait(relay_passes, interval):
    """inf was accepted: the relay sent once, then never looked again."""
    message = (
        "--interval には0より大きく3600以下の秒数を指定してください"
        f"（指定された値: {interval}）。"
    )
    with pytest.raises(CommandError) as refused:
        call_command("run_relay", f"--interval={interval}", stdout=StringIO())
    assert str(refused.value) == message
    assert relay_passes == []


def test_the_relay_refuses_an_interval_setting_it_cannot_wait(settings, relay_passes):
    settings.REPORT_RELAY_INTERVAL_SECONDS = float("inf")
    with pytest.raises(CommandError, match="^REPORT_RELAY_INTERVAL_SECONDS には"):
        call_command("run_relay", stdout=StringIO())
    assert relay_passes == []


def test_the_relay_waits_the_interval_it_was_given(relay_passes):
    out = StringIO()
    call_command("run_relay", "--interval", "2.5", stdout=out)
    assert "報告の送信を開始しました（2.5秒ごと" in out.getvalue()
    assert relay_passes == [1]


def test_the_resend_message_names_the_address_it_goes_to(admin_client, smtp_peer):
    """After a bounce the client gave a new address and the resend went there,
    but the message named the old, bouncing one."""
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    person.pc_email = "new-pc@example.jp"
    person.save()
    response = admin_client.post(
        f"/reports/deliveries/{failed.pk}/resend/", follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "new-pc@example.jp への再送を予約しました。"
    ]


def test_a_report_resent_from_an_english_screen_is_in_japanese(admin_client, smtp_peer):
    """The call was corrected since the report failed, so the resend writes it
    anew; on an admin's screen in English its category read "Possibly sales"."""
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    call, _ = save_reported_call(client=client, category=Category.GREY)
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    services.record_correction(
        call=call, corrected_by=AdminFactory(), changes={"purpose": "見積りと納期"}
    )
    smtp_peer.bounce = set()

    response = admin_client.post(
        f"/reports/deliveries/{failed.pk}/resend/", HTTP_ACCEPT_LANGUAGE="en"
    )
    services.relay_due_deliveries()

    assert response.status_code == 302
    (mail,) = [m for m in smtp_peer.messages if m["to"] == [person.pc_email]]
    assert "■分類: 営業の可能性あり" in mail["body"]
    assert "見積りと納期" in mail["body"]


def test_the_admin_action_says_why_some_were_not_resent(admin_client, smtp_peer):
    client, (person,) = client_with_recipients(1)
    smtp_peer.bounce = {person.pc_email}
    call, _ = save_reported_call(client=client)
    services.relay_due_deliveries()
    failed = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    person.active_to = timezone.localdate() - dt.timedelta(days=1)
    person.save()
    response = admin_client.post(
        "/admin/reporting/delivery/",
        {"action": "resend_selected", "_selected_action": [failed.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert shown[0] == "0件の再送を予約しました。"
    assert shown[1].startswith("1件: この宛先は今は報告先ではない")


def test_every_column_of_the_failed_page_has_a_header_a_screen_reader_can_read(
    admin_client, failed_delivery
):
    headers = table_headers(admin_client.get("/reports/failed/").content.decode())
    assert headers[-1] == "操作"  # the column of 再送 buttons
    assert all(headers)
