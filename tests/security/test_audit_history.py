"""Admins see who changed what, and when: clients, plan history, recipients, lent
numbers, calls and invoices."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from billing.models import InvoiceStatus
from clients.models import ClientPlan
from clients.months import japan_today
from tests import factories
from tests.billing.factories import void_confirmed
from tests.security.world import build_world

pytestmark = pytest.mark.django_db


def history_page(client, obj) -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def change_as(user, obj, **fields):
    # What an admin form save does: the middleware names the request's user.
    for name, value in fields.items():
        setattr(obj, name, value)
    obj._history_user = user
    obj.save()


def last_change(obj) -> tuple[str, dict]:
    record = obj.history.latest()
    delta = record.diff_against(record.prev_record)
    return record.history_user.username, {c.field: c.new for c in delta.changes}


def test_client_recipient_and_lent_number_history_name_the_admin(client):
    world = build_world()
    editor = factories.AdminFactory(username="editor_sato")
    recipient = world.client.recipients.first()
    number = factories.NumberAssignmentFactory(client=world.client).number
    change_as(editor, world.client, announce_name="新しい名乗りでございます")
    change_as(editor, recipient, pc_email="changed@example.jp")
    change_as(editor, number, note="回線業者を変更")

    assert last_change(world.client) == (
        "editor_sato",
        {"announce_name": "新しい名乗りでございます"},
    )
    assert last_change(recipient) == ("editor_sato", {"pc_email": "changed@example.jp"})
    assert last_change(number) == ("editor_sato", {"note": "回線業者を変更"})
    client.force_login(world.admin)
    for obj in (world.client, recipient, number):
        assert "editor_sato" in history_page(client, obj)


def test_plan_change_through_the_admin_action_is_recorded_with_its_author(client):
    world = build_world()
    client.force_login(world.admin)
    half = factories.make_plans()["half"]
    response = client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "schedule_plan_change",
            ACTION_CHECKBOX_NAME: [world.client.pk],
            "apply": "1",
            "plan": half.pk,
        },
    )
    assert response.status_code == 302
    row = ClientPlan.objects.get(client=world.client, plan=half)
    record = row.history.earliest()
    assert record.history_type == "+"
    assert record.history_user == world.admin
    # The plan history rows are shown on the client's admin page.
    page = client.get(reverse("admin:clients_client_change", args=[world.client.pk]))
    assert half.name in page.content.decode()


def test_a_call_correction_shows_who_changed_what_in_the_call_admin(client):
    world = build_world()
    operator = factories.OperatorFactory(username="op_tanaka")
    client.force_login(operator)
    edit = reverse("console:call_edit", args=[world.call.pk])
    form = client.get(edit).context["form"]
    data = {
        k: ("" if v is None else v)
        for k, v in form.initial.items()
        if k not in ("received_at",)
    }
    data = {k: v for k, v in data.items() if v is not False}
    data["purpose"] = "訂正後の用件です"
    assert client.post(edit, data).status_code == 302

    client.force_login(world.admin)
    page = client.get(reverse("admin:answering_call_change", args=[world.call.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "op_tanaka" in html
    assert "訂正後の用件です" in html


def test_invoice_status_moves_are_in_its_admin_history(client):
    world = build_world()
    client.force_login(world.admin)
    paid = client.post(
        reverse("billing:mark_paid", args=[world.invoice.pk]),
        {"paid-paid_on": japan_today().isoformat()},
    )
    void = client.post(
        reverse("billing:void", args=[world.other_invoice.pk]),
        void_confirmed("宛名の誤り"),
    )
    assert paid.status_code == void.status_code == 302

    paid_record = world.invoice.history.latest()
    assert paid_record.history_user == world.admin
    assert paid_record.status == InvoiceStatus.PAID
    assert paid_record.paid_on == japan_today()
    void_record = world.other_invoice.history.latest()
    assert void_record.history_user == world.admin
    assert void_record.status == InvoiceStatus.VOID
    assert void_record.void_reason == "宛名の誤り"
    for invoice in (world.invoice, world.other_invoice):
        html = history_page(client, invoice)
        assert world.admin.username in html


def test_creating_and_issuing_an_invoice_is_recorded():
    world = build_world()
    statuses = list(world.invoice.history.values_list("status", flat=True))
    assert InvoiceStatus.ISSUED in statuses
