"""Issuing checks each draft against the month's current data: a draft whose
data changed after it was built (a call reclassified as sales, a number lent,
a credit, a plan corrected...) is built again and held back as a draft for the
admin to look at, never issued stale nor different from what could be seen."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from answering.models import Call, Category
from answering.services import correct_call
from billing.models import CountedCall, Invoice, InvoiceStatus, LineKind
from billing.selectors import counted_calls_for_invoice
from billing.services import add_adjustment, bill_month, issue_invoices, numbering
from clients.models import Client, ClientPlan
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.factories import CallFactory, NumberAssignmentFactory

SEPTEMBER = dt.date(2026, 9, 1)


def _october(client) -> Invoice:
    return Invoice.objects.get(client=client, billing_month=OCTOBER)


@pytest.fixture
def over_by_one(small):
    """Small plan, 21 counted calls in October (one over: 2,960 + 148), and
    the deposit of a first invoice (2,960), a draft."""
    client = contracted_client(small, name="株式会社営業訂正")
    calls(client, 21, at=jst(2026, 10, 20))
    bill_month(month=OCTOBER, today=LATER)
    draft = _october(client)
    assert draft.total_yen == 6068
    return draft


def _reclassify_one_as_sales(client) -> Call:
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})
    return call


def test_a_call_reclassified_as_sales_after_the_draft_is_not_billed(over_by_one):
    sales = _reclassify_one_as_sales(over_by_one.client)

    result = issue_invoices(month=OCTOBER, today=LATER)

    # Not issued as previewed: built again without the sales call, and held.
    assert result.issued == 0
    [held] = result.held
    assert (held.client_name, held.was_total_yen, held.total_yen) == (
        "株式会社営業訂正",
        6068,
        5920,
    )
    draft = _october(over_by_one.client)
    assert draft.status == InvoiceStatus.DRAFT
    assert held.invoice_id == draft.pk
    assert draft.lines.get(kind=LineKind.CALL_OVER).counted_calls == 20
    # The admin has looked at it: issued as rebuilt, without the sales call.
    assert issue_invoices(month=OCTOBER, today=LATER).issued == 1
    issued = _october(over_by_one.client)
    assert issued.status == InvoiceStatus.ISSUED
    assert issued.total_yen == 5920
    assert issued.lines.get(kind=LineKind.CALL_OVER).amount_yen == 0
    assert sales not in counted_calls_for_invoice(issued)
    assert counted_calls_for_invoice(issued).count() == 20


def test_unchanged_drafts_are_issued_as_they_are_beside_a_held_one(small, over_by_one):
    other = contracted_client(small)
    calls(other, 3, at=jst(2026, 10, 5))
    bill_month(month=OCTOBER, today=LATER)
    over_by_one = _october(over_by_one.client)
    untouched = _october(other)
    _reclassify_one_as_sales(over_by_one.client)

    result = issue_invoices(month=OCTOBER, today=LATER)

    assert result.issued == 1
    assert [h.client_name for h in result.held] == ["株式会社営業訂正"]
    # The same row the admin previewed, now numbered.
    issued = Invoice.objects.get(pk=untouched.pk)
    assert (issued.status, issued.number) == (InvoiceStatus.ISSUED, 1)
    assert _october(over_by_one.client).status == InvoiceStatus.DRAFT


def test_a_number_lent_after_the_draft_is_billed_after_a_look(over_by_one):
    NumberAssignmentFactory(client=over_by_one.client, assigned_on=dt.date(2026, 10, 3))

    [held] = issue_invoices(month=OCTOBER, today=LATER).held

    assert (held.was_total_yen, held.total_yen) == (6068, 6068 + 1100)
    assert (
        _october(over_by_one.client).lines.filter(kind=LineKind.EXTRA_NUMBER).exists()
    )


def test_a_credit_entered_after_the_draft_is_deducted_after_a_look(small):
    client = contracted_client(small)
    bill_month(month=SEPTEMBER, client_ids=[client.pk], issue=True, today=LATER)
    september = Invoice.objects.get(client=client, billing_month=SEPTEMBER)
    bill_month(month=OCTOBER, today=LATER)
    add_adjustment(invoice=september, amount_yen=500, reason="誤計上")

    [held] = issue_invoices(month=OCTOBER, today=LATER).held

    assert (held.was_total_yen, held.total_yen) == (2960, 2460)
    assert issue_invoices(month=OCTOBER, today=LATER).issued == 1
    issued = _october(client)
    assert issued.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -500
    assert september.corrections.get().applied_to == issued


def test_a_plan_corrected_after_the_draft_is_billed_after_a_look(small, standard):
    client = contracted_client(small)
    bill_month(month=OCTOBER, today=LATER)
    ClientPlan.objects.filter(client=client).update(plan=standard)

    [held] = issue_invoices(month=OCTOBER, today=LATER).held

    # The deposit too is a month of the plan's fee.
    assert (held.was_total_yen, held.total_yen) == (2960 * 2, 11040 * 2)


def test_a_surcharge_corrected_after_the_draft_is_billed_after_a_look(small):
    client = contracted_client(small)
    [call] = calls(client, 1, surcharge_yen=300, surcharge_reason="長時間")
    bill_month(month=OCTOBER, today=LATER)
    correct_call(call=call, corrected_by=None, changes={"surcharge_yen": 200})

    [held] = issue_invoices(month=OCTOBER, today=LATER).held

    assert (held.was_total_yen, held.total_yen) == (6220, 6120)


def test_a_renamed_client_is_addressed_by_its_new_name_after_a_look(small):
    client = contracted_client(small, name="旧社名株式会社")
    bill_month(month=OCTOBER, today=LATER)
    Client.objects.filter(pk=client.pk).update(name="新社名株式会社")

    [held] = issue_invoices(month=OCTOBER, today=LATER).held

    # Same amount, another addressee: still shown before it goes out.
    assert (held.client_name, held.was_total_yen, held.total_yen) == (
        "新社名株式会社",
        5920,
        5920,
    )
    assert _october(client).client_name == "新社名株式会社"


def test_calls_swapped_at_the_same_count_are_issued_with_the_months_list(small):
    """One call reclassified as sales, another logged late: the invoice prints
    the same, and goes out at once, with the calls the month has now."""
    client = contracted_client(small)
    calls(client, 5, at=jst(2026, 10, 20))
    bill_month(month=OCTOBER, today=LATER)
    sales = _reclassify_one_as_sales(client)
    late = CallFactory(client=client, received_at=jst(2026, 10, 31, 17))

    result = issue_invoices(month=OCTOBER, today=LATER)

    assert (result.issued, result.held) == (1, ())
    issued = _october(client)
    listed = set(counted_calls_for_invoice(issued))
    assert late in listed
    assert sales not in listed
    assert CountedCall.objects.filter(invoice=issued).count() == 5


def test_a_draft_of_a_client_no_longer_billable_is_deleted_not_issued(small):
    client = contracted_client(small, name="解約済み株式会社")
    bill_month(month=OCTOBER, today=LATER)
    Client.objects.filter(pk=client.pk).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 9, 30)
    )

    result = issue_invoices(month=OCTOBER, today=LATER)

    assert result.issued == 0
    assert [(r.client_name, r.total_yen) for r in result.removed] == [
        ("解約済み株式会社", None)
    ]
    assert not Invoice.objects.filter(client=client).exists()


def test_a_client_billable_since_the_run_gets_a_draft_not_an_invoice(small):
    contracted_client(small)
    bill_month(month=OCTOBER, today=LATER)
    newcomer = contracted_client(small, name="新規株式会社")

    result = issue_invoices(month=OCTOBER, today=LATER)

    assert result.issued == 1
    assert [(a.client_name, a.was_total_yen) for a in result.added] == [
        ("新規株式会社", None)
    ]
    assert _october(newcomer).status == InvoiceStatus.DRAFT


def test_issuing_some_drafts_checks_only_those(small, over_by_one):
    other = contracted_client(small)
    bill_month(month=OCTOBER, today=LATER)
    _reclassify_one_as_sales(over_by_one.client)
    contracted_client(small)  # billable since, but not asked for

    result = issue_invoices(
        month=OCTOBER, invoice_ids=[_october(other).pk], today=LATER
    )

    assert (result.issued, result.held, result.added) == (1, (), ())
    assert _october(over_by_one.client).total_yen == 6068  # untouched


def test_the_admin_is_told_what_was_held_and_why(admin_client, over_by_one):
    _reclassify_one_as_sales(over_by_one.client)

    page = admin_client.post(
        reverse("billing:issue"), {"month": "2026-10"}, follow=True
    )

    text = page.content.decode()
    assert "下書きの作成後にデータ" in text
    # Named, and linked to the draft built again, to look at before issuing.
    held = _october(over_by_one.client)
    link = reverse("billing:invoice", args=[held.pk])
    assert f'<a href="{link}">株式会社営業訂正</a>（6,068 円 → 5,920 円）' in text
    assert admin_client.get(link).status_code == 200
    assert "件を発行しました" not in text
    assert _october(over_by_one.client).status == InvoiceStatus.DRAFT
    # The second press, once looked at, issues it.
    page = admin_client.post(
        reverse("billing:issue"), {"month": "2026-10"}, follow=True
    )
    assert "1 件を発行しました。" in page.content.decode()
    assert _october(over_by_one.client).total_yen == 5920


def test_a_held_back_draft_is_linked_under_its_name_escaped(admin_client, small):
    client = contracted_client(small, name="旧社名株式会社")
    bill_month(month=OCTOBER, today=LATER)
    Client.objects.filter(pk=client.pk).update(name="<b>新社名</b>&株式会社")

    page = admin_client.post(
        reverse("billing:issue"), {"month": "2026-10"}, follow=True
    )

    link = reverse("billing:invoice", args=[_october(client).pk])
    assert (
        f'<a href="{link}">&lt;b&gt;新社名&lt;/b&gt;&amp;株式会社</a>'
        "（5,920 円のまま、明細が変わりました）"
    ) in page.content.decode()


def test_a_draft_added_at_issue_is_linked_under_its_name(admin_client, small):
    contracted_client(small)
    bill_month(month=OCTOBER, today=LATER)
    newcomer = contracted_client(small, name="新規株式会社")

    page = admin_client.post(
        reverse("billing:issue"), {"month": "2026-10"}, follow=True
    )

    link = reverse("billing:invoice", args=[_october(newcomer).pk])
    assert f'<a href="{link}">新規株式会社</a>（5,920 円）' in page.content.decode()


def _issue_statements(month):
    """Statements of a whole-month issue, and the most parameters in one."""
    sizes = []

    def record(execute, sql, params, many, context):
        # SQLite caps a statement at 999 parameters, so Django splits bulk
        # INSERTs by row count there; PostgreSQL gets one array per column.
        if not (connection.vendor == "sqlite" and sql.startswith("INSERT")):
            sizes.append(len(params or ()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        issue_invoices(month=month, today=LATER)
    return len(sizes), max(sizes)


@pytest.mark.parametrize("batch_size", [1, numbering.ISSUE_BATCH_SIZE])
def test_issuing_costs_the_same_statements_whatever_the_number_of_clients(
    small, monkeypatch, batch_size
):
    """In one batch, as many statements for 31 clients as for one; in batches
    of one invoice, no statement carries more parameters (PostgreSQL takes at
    most 65,535 in one)."""
    monkeypatch.setattr(numbering, "ISSUE_BATCH_SIZE", batch_size)
    first = contracted_client(small)
    # August issued: the number sequence exists, the deposit is billed.
    bill_month(month=dt.date(2026, 8, 1), issue=True, today=LATER)
    bill_month(month=SEPTEMBER, today=LATER)
    count_one, size_one = _issue_statements(SEPTEMBER)
    for _ in range(30):
        calls(contracted_client(small), 2, surcharge_yen=300, surcharge_reason="長時間")
    calls(first, 2, surcharge_yen=300, surcharge_reason="長時間")
    bill_month(month=OCTOBER, today=LATER)
    count_many, size_many = _issue_statements(OCTOBER)
    assert (
        Invoice.objects.filter(
            billing_month=OCTOBER, status=InvoiceStatus.ISSUED
        ).count()
        == 31
    )
    if batch_size == 1:
        assert size_many == size_one
    else:
        assert count_many == count_one


def test_past_the_first_ten_held_drafts_the_rest_are_counted_and_linked(
    admin_client, small
):
    """The message named ten held-back drafts and said 「ほか 2 件」 with no way
    to find the two."""
    held = [contracted_client(small, name=f"株式会社保留{i:02d}") for i in range(12)]
    for client in held:
        calls(client, 1, at=jst(2026, 10, 20))
    contracted_client(small, name="株式会社そのまま発行")
    bill_month(month=OCTOBER, today=LATER)
    for client in held:
        _reclassify_one_as_sales(client)

    page = admin_client.post(
        reverse("billing:issue"), {"month": "2026-10"}, follow=True
    )

    text = page.content.decode()
    assert "12 件は下書きの作成後にデータ" in text
    drafts_url = f"{reverse('billing:month')}?month=2026-10&status=draft#invoices"
    link = f'<a href="{drafts_url.replace("&", "&amp;")}">ほか 2 件</a>'
    assert link in text
    listed = admin_client.get(drafts_url).content.decode()
    assert "下書きだけを表示しています。" in listed
    for client in held:
        assert f"<td>{client.name}</td>" in listed
    assert "<td>株式会社そのまま発行</td>" not in listed  # issued: not a draft
    everything = admin_client.get(f"{reverse('billing:month')}?month=2026-10")
    assert "<td>株式会社そのまま発行</td>" in everything.content.decode()
