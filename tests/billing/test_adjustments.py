"""Credits (訂正): what the billing page and the Django admin accept."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import Adjustment, Invoice, InvoiceStatus, LineKind
from billing.services import (
    add_adjustment,
    bill_month,
    change_adjustment,
    delete_adjustment,
    issue_invoices,
    numbering,
    settlement,
)
from clients.models import Client
from tests import concurrency
from tests.billing.factories import (
    LATER,
    OCTOBER,
    HoldOnceLoaded,
    calls,
    contracted_client,
    void_confirmed,
)
from tests.html_forms import form_values

NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def issued(small):
    """Small plan, 21 calls: 3,108 yen at 10% and a 2,960 yen deposit."""
    client = contracted_client(small)
    calls(client, 21)
    bill_month(month=OCTOBER, issue=True, today=dt.date(2026, 11, 2))
    invoice = Invoice.objects.get(client=client)
    assert (invoice.taxable_10_yen, invoice.total_yen) == (3108, 3108 + 2960)
    return invoice


def test_credits_add_up_to_at_most_the_invoices_10_percent_total(issued):
    # The deposit is not a sale: it cannot be credited as one.
    with pytest.raises(ValidationError) as refused:
        add_adjustment(invoice=issued, amount_yen=3109, reason="x")
    assert "3,108 円まで" in refused.value.message_dict["amount_yen"][0]
    add_adjustment(invoice=issued, amount_yen=1000, reason="誤計上")
    with pytest.raises(ValidationError, match="2,108 円まで"):
        add_adjustment(invoice=issued, amount_yen=2109, reason="x")
    add_adjustment(invoice=issued, amount_yen=2108, reason="残り全額")
    assert sum(Adjustment.objects.values_list("amount_yen", flat=True)) == 3108


def test_billing_page_refuses_too_large_a_credit_and_keeps_what_was_typed(
    admin_client, issued
):
    response = admin_client.post(
        reverse("billing:adjust", args=[issued.pk]),
        {"adjust-amount_yen": "10000000", "adjust-reason": "返金"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "3,108 円まで" in html
    assert 'value="10000000"' in html
    assert 'value="返金"' in html
    assert not Adjustment.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (str(10**15), "3,108 円まで"),
        ("0", "減額する金額は1円以上にしてください。"),
    ],
)
def test_django_admin_applies_the_same_rule(admin_client, issued, amount, message):
    response = admin_client.post(
        reverse("admin:billing_adjustment_add"),
        {
            "client": issued.client_id,
            "corrects_invoice": issued.pk,
            "amount_yen": amount,
            "reason": "返金",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert message in html
    assert "adjustment_amount_positive" not in html
    assert not Adjustment.objects.exists()


def test_a_credit_on_an_issued_invoice_cannot_be_edited_in_the_admin(
    admin_client, issued
):
    credit = add_adjustment(invoice=issued, amount_yen=1000, reason="誤計上")
    change = reverse("admin:billing_adjustment_change", args=[credit.pk])
    # Not yet on an invoice: it can still be fixed.
    typed = form_values(admin_client.get(change).content.decode(), "adjustment_form")
    typed["amount_yen"] = "900"
    assert admin_client.post(change, typed).status_code == 302
    bill_month(month=dt.date(2026, 11, 1), issue=True, today=dt.date(2026, 12, 1))
    credit.refresh_from_db()
    assert credit.amount_yen == 900 and not credit.applied_to.is_draft
    response = admin_client.post(
        change,
        {
            "client": credit.client_id,
            "corrects_invoice": issued.pk,
            "amount_yen": "1",
            "reason": "誤計上",
        },
    )
    assert response.status_code == 403
    delete = reverse("admin:billing_adjustment_delete", args=[credit.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    credit.refresh_from_db()
    assert credit.amount_yen == 900


def test_a_credit_on_an_issued_invoice_cannot_be_reverted_either(admin_client, issued):
    """Its past version, not yet on an invoice, offered Revert, which went
    through to the service and its refusal, uncaught (a 500)."""
    credit = add_adjustment(invoice=issued, amount_yen=1000, reason="誤計上")
    first = credit.history.earliest()
    credit.amount_yen = 900
    change_adjustment(adjustment=credit)
    bill_month(month=dt.date(2026, 11, 1), issue=True, today=dt.date(2026, 12, 1))
    url = reverse(
        "admin:billing_adjustment_simple_history", args=[credit.pk, first.history_id]
    )
    assert 'name="_save"' not in admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        {
            "client": credit.client_id,
            "corrects_invoice": issued.pk,
            "amount_yen": "1000",
            "reason": "誤計上",
            "_save": "Revert",
        },
        follow=True,
    )
    assert "この履歴からは元に戻せません。" in response.content.decode()
    credit.refresh_from_db()
    assert credit.amount_yen == 900


SEPTEMBER = dt.date(2026, 9, 1)


@pytest.fixture
def credit_on_a_draft(small):
    """September issued, a 1,000 yen credit against it, October's draft built
    with the credit deducted."""
    client = contracted_client(small)
    bill_month(month=SEPTEMBER, client_ids=[client.pk], issue=True, today=LATER)
    september = Invoice.objects.get(client=client, billing_month=SEPTEMBER)
    credit = add_adjustment(invoice=september, amount_yen=1000, reason="誤計上")
    bill_month(month=OCTOBER, client_ids=[client.pk], today=LATER)
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert october.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -1000
    return credit, october


def _issued_october(draft):
    issue_invoices(month=OCTOBER, today=LATER)
    issued = Invoice.objects.get(client_id=draft.client_id, billing_month=OCTOBER)
    assert issued.status == InvoiceStatus.ISSUED
    return issued


def test_a_credit_deleted_from_a_draft_is_not_deducted_when_it_is_issued(
    admin_client, credit_on_a_draft
):
    """The draft kept its -1,000 yen line, backed by no credit, and was issued
    with it."""
    credit, october = credit_on_a_draft
    delete = reverse("admin:billing_adjustment_delete", args=[credit.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Adjustment.objects.exists()
    issued = _issued_october(october)
    assert not issued.lines.filter(kind=LineKind.ADJUSTMENT).exists()
    assert issued.total_yen == 2960


def test_a_credit_edited_on_a_draft_is_deducted_as_edited(
    admin_client, credit_on_a_draft
):
    credit, october = credit_on_a_draft
    change = reverse("admin:billing_adjustment_change", args=[credit.pk])
    typed = form_values(admin_client.get(change).content.decode(), "adjustment_form")
    typed.update(amount_yen="900", reason="誤計上（一部）")
    response = admin_client.post(change, typed)
    assert response.status_code == 302
    issued = _issued_october(october)
    line = issued.lines.get(kind=LineKind.ADJUSTMENT)
    assert line.amount_yen == -900 and "誤計上（一部）" in line.description
    assert issued.total_yen == 2960 - 900


def test_a_credit_cannot_be_changed_once_its_draft_was_issued_meanwhile(
    credit_on_a_draft,
):
    """The admin opened the credit while October was a draft; October was
    issued before the save."""
    credit, october = credit_on_a_draft
    _issued_october(october)
    credit.amount_yen = 900
    with pytest.raises(ValidationError):
        change_adjustment(adjustment=credit)
    with pytest.raises(ValidationError):
        delete_adjustment(adjustment=credit)
    credit.refresh_from_db()
    assert credit.amount_yen == 1000


NO_LATER_INVOICE = "この顧客は解約済みで、訂正を反映する今後の請求書がありません。"


def test_a_credit_needs_a_later_invoice_to_go_on(issued):
    """A client cancelled at the end of November: November's invoice can carry
    a credit for October until it is issued; after that nothing can."""
    Client.objects.filter(pk=issued.client_id).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 11, 30)
    )
    first = add_adjustment(invoice=issued, amount_yen=100, reason="誤計上")
    bill_month(month=NOVEMBER, issue=True, today=dt.date(2026, 12, 2))
    first.refresh_from_db()
    assert first.applied_to.billing_month == NOVEMBER
    with pytest.raises(ValidationError) as refused:
        add_adjustment(invoice=issued, amount_yen=100, reason="二度目")
    assert NO_LATER_INVOICE in refused.value.message_dict["corrects_invoice"][0]
    assert Adjustment.objects.count() == 1


def test_the_final_invoice_cannot_be_credited_and_the_page_says_why(
    admin_client, issued
):
    Client.objects.filter(pk=issued.client_id).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 10, 31)
    )
    response = admin_client.post(
        reverse("billing:adjust", args=[issued.pk]),
        {"adjust-amount_yen": "100", "adjust-reason": "誤計上"},
        follow=True,
    )
    assert NO_LATER_INVOICE in response.content.decode()
    assert not Adjustment.objects.exists()


def test_the_final_invoices_page_offers_no_credit_form_and_says_why(
    admin_client, issued
):
    """The admin opening the final invoice of a cancelled client reads why no
    credit can go on it, instead of a form that refuses whatever is typed; an
    invoice with a later one to come keeps the form."""
    url = reverse("billing:invoice", args=[issued.pk])
    assert 'id="adjust-form"' in admin_client.get(url).content.decode()
    Client.objects.filter(pk=issued.client_id).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 10, 31)
    )
    page = admin_client.get(url).content.decode()
    assert 'id="adjust-form"' not in page
    assert "訂正を登録" not in page
    assert NO_LATER_INVOICE in page
    assert "未入金なら請求書を無効にして再発行し" in page


# --- a credit edited while a billing run works (PostgreSQL) ---------------


def _september_credit(plans):
    """September issued, a 1,000 yen credit against it (not yet on a draft)."""
    client = contracted_client(plans["small"])
    bill_month(month=SEPTEMBER, client_ids=[client.pk], issue=True, today=LATER)
    september = Invoice.objects.get(client=client, billing_month=SEPTEMBER)
    credit = add_adjustment(invoice=september, amount_yen=1000, reason="誤計上")
    return client, credit


def _october_run_held_after_loading():
    """Start October's whole-month run and hold it once it has read everything
    (it holds the billing lock then). Returns (session, release)."""
    hold = HoldOnceLoaded()
    run = concurrency.start(
        lambda: bill_month(month=OCTOBER, today=LATER, progress=hold)
    )
    assert hold.loaded.wait(timeout=15)
    return run, hold.go_on


def _edit_to_900(credit_pk: int) -> None:
    # What the admin's change page does: the object is read, then saved.
    credit = Adjustment.objects.get(pk=credit_pk)
    credit.amount_yen = 900
    credit.reason = "誤計上（一部）"
    change_adjustment(adjustment=credit)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_credit_edited_while_the_month_is_being_built_is_deducted_as_edited(
    plans,
):
    """An admin edits a credit (1,000 -> 900 yen) while October's run is
    building drafts. The run had read the credit before the edit and writes its
    draft with -1,000 yen: the invoice the client gets deducts 1,000 yen for a
    credit that says 900."""
    client, credit = _september_credit(plans)
    run, go_on = _october_run_held_after_loading()
    admin = concurrency.start(lambda: _edit_to_900(credit.pk))
    admin.wait_until_blocked(timeout=3)  # the fix: it waits for the run
    go_on.set()
    run.join(timeout=30)
    admin.join(timeout=30)
    assert run.error is None and admin.error is None
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert october.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -900


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_editing_a_credit_on_a_draft_while_the_month_is_rebuilt_fails_neither(
    plans,
):
    """October's draft deducts the credit. An admin edits the credit while
    October's drafts are being built again: change_adjustment locks the draft,
    then waits for the billing lock the run holds; the run then waits for the
    credit's row the admin updated. PostgreSQL kills one of them (deadlock
    detected): a 500 on the admin page, or a failed billing run."""
    client, credit = _september_credit(plans)
    bill_month(month=OCTOBER, client_ids=[client.pk], today=LATER)
    run, go_on = _october_run_held_after_loading()
    admin = concurrency.start(lambda: _edit_to_900(credit.pk))
    admin.wait_until_blocked(timeout=10)
    go_on.set()
    run.join(timeout=30)
    admin.join(timeout=30)
    assert [str(e) for e in (run.error, admin.error) if e is not None] == []
    october = Invoice.objects.get(client=client, billing_month=OCTOBER)
    assert october.lines.get(kind=LineKind.ADJUSTMENT).amount_yen == -900


# --- a credit edited in the admin while another admin acts (PostgreSQL) ---


def _kept_on_the_form(page, message: str, *typed: str) -> None:
    """The change page shown again, saying ``message``, with what was typed."""
    assert page.status_code == 200
    html = page.content.decode()
    assert message in html
    for value in typed:
        assert f'value="{value}"' in html


def _credit_url(credit: Adjustment) -> str:
    return reverse("admin:billing_adjustment_change", args=[credit.pk])


def _credit_page(browser, credit: Adjustment) -> dict:
    """The credit's admin page as an admin opened it: what it would send."""
    return form_values(
        browser.get(_credit_url(credit)).content.decode(), "adjustment_form"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_credit_moved_onto_an_invoice_being_reissued_is_refused_on_the_form(
    monkeypatch, plans
):
    """An admin moves a credit from September's invoice onto October's while
    another admin voids and reissues October. The move waits for the reissue
    (it locks October's invoice first: taken the other way round, the two
    deadlocked), then was saved against the voided invoice: the reissue had
    checked that no credit was against it, and the client got the 1,000 yen
    back on the next invoice for a month the reissue billed afresh. It is now
    refused on the credit's form, with what the admin typed."""
    client = contracted_client(plans["small"])
    bill_month(month=SEPTEMBER, client_ids=[client.pk], issue=True, today=LATER)
    bill_month(month=OCTOBER, client_ids=[client.pk], issue=True, today=LATER)
    september, october = Invoice.objects.filter(client=client).order_by("number")
    credit = add_adjustment(invoice=september, amount_yen=1000, reason="誤計上")
    # Stops once October's invoice is locked, before the billing lock.
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, settlement, "_refuse_final_reissue_before_later_months"
    )
    voider, editor = concurrency.admin_browser(), concurrency.admin_browser()
    typed = _credit_page(editor, credit)
    typed.update(corrects_invoice=october.pk, reason="10月分の誤計上")
    pages = {}

    def reissue() -> None:
        pages["void"] = voider.post(
            reverse("billing:void", args=[october.pk]), void_confirmed("宛名の誤り")
        )

    def move() -> None:
        pages["credit"] = editor.post(_credit_url(credit), typed)

    concurrency.run_in_turn(reissue, move, checked, go_on)

    assert pages["void"].status_code == 302
    _kept_on_the_form(
        pages["credit"], "発行済みの請求書を選んでください。", "10月分の誤計上"
    )
    october.refresh_from_db()
    assert october.status == InvoiceStatus.VOID
    reissued = Invoice.objects.get(
        client=client, billing_month=OCTOBER, status=InvoiceStatus.ISSUED
    )
    assert reissued.replaces_id == october.pk
    credit.refresh_from_db()
    assert (credit.corrects_invoice_id, credit.reason) == (september.pk, "誤計上")
    assert not october.corrections.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_credit_raised_while_another_is_entered_is_refused_beyond_the_total(
    monkeypatch, plans
):
    """September billed 2,960 yen at 10%. One admin raises a 1,000 yen credit
    against it to 2,500 while another enters a second credit of 1,000: each
    form saw room for its own, and both were saved, 3,500 yen given back for
    an invoice of 2,960. The raise, second, is refused on its form."""
    client, credit = _september_credit(plans)
    september = credit.corrects_invoice
    assert september.taxable_10_yen == 2960
    # Stops once the second credit is saved, its invoice locked.
    checked, go_on = concurrency.hold_first_call(monkeypatch, Adjustment, "save")
    entering, raising = concurrency.admin_browser(), concurrency.admin_browser()
    typed = _credit_page(raising, credit)
    typed.update(amount_yen="2500", reason="誤計上（全額）")
    pages = {}

    def enter() -> None:
        pages["adjust"] = entering.post(
            reverse("billing:adjust", args=[september.pk]),
            {"adjust-amount_yen": "1000", "adjust-reason": "通話料の誤り"},
        )

    def raise_credit() -> None:
        pages["credit"] = raising.post(_credit_url(credit), typed)

    concurrency.run_in_turn(enter, raise_credit, checked, go_on)

    assert pages["adjust"].status_code == 302
    _kept_on_the_form(pages["credit"], "1,960 円まで", "2500", "誤計上（全額）")
    assert sorted(september.corrections.values_list("amount_yen", flat=True)) == [
        1000,
        1000,
    ]


def _october_issue_held(monkeypatch):
    """October's issue, started in a session and held once it has numbered
    October's draft (under the billing lock). Returns (session, go_on)."""
    numbered, go_on = concurrency.hold_first_call(
        monkeypatch, numbering, "number_drafts"
    )
    issue = concurrency.start(lambda: issue_invoices(month=OCTOBER, today=LATER))
    assert numbered.wait(timeout=10)
    return issue, go_on


def _october_drafted(plans):
    """A September credit of 1,000 yen deducted by October's draft."""
    client, credit = _september_credit(plans)
    bill_month(month=OCTOBER, client_ids=[client.pk], today=LATER)
    credit.refresh_from_db()
    assert credit.applied_to.is_draft
    return client, credit


ISSUED_MEANWHILE = (
    "この訂正は発行済みの請求書に反映されたため、変更も削除もできません。"
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_credit_edited_while_its_draft_is_issued_is_refused_on_the_form(
    monkeypatch, plans
):
    """October's draft deducts the credit; an admin edits the credit while
    another issues October. The edit waits for the issue, then is refused: a
    server error on the admin's page until now."""
    client, credit = _october_drafted(plans)
    browser = concurrency.admin_browser()
    typed = _credit_page(browser, credit)
    typed.update(amount_yen="900", reason="誤計上（一部）")
    issue, go_on = _october_issue_held(monkeypatch)
    pages = {}

    def edit() -> None:
        pages["credit"] = browser.post(_credit_url(credit), typed)

    editor = concurrency.start(edit)
    editor.wait_until_blocked()
    go_on.set()
    issue.join(timeout=30)
    editor.join(timeout=30)
    assert (issue.error, editor.error) == (None, None)

    _kept_on_the_form(pages["credit"], ISSUED_MEANWHILE, "900", "誤計上（一部）")
    credit.refresh_from_db()
    assert (credit.amount_yen, credit.applied_to.status) == (1000, InvoiceStatus.ISSUED)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_credit_deleted_while_its_draft_is_issued_is_refused_on_its_page(
    monkeypatch, plans
):
    """As above, for the delete: the admin is taken to the credit's page,
    which says why, instead of a server error."""
    _client, credit = _october_drafted(plans)
    issue, go_on = _october_issue_held(monkeypatch)
    browser = concurrency.admin_browser()
    pages = {}

    def delete() -> None:
        pages["delete"] = browser.post(
            reverse("admin:billing_adjustment_delete", args=[credit.pk]),
            {"post": "yes"},
        )

    deleter = concurrency.start(delete)
    deleter.wait_until_blocked()
    go_on.set()
    issue.join(timeout=30)
    deleter.join(timeout=30)
    assert (issue.error, deleter.error) == (None, None)

    change = reverse("admin:billing_adjustment_change", args=[credit.pk])
    assert (pages["delete"].status_code, pages["delete"]["Location"]) == (302, change)
    assert ISSUED_MEANWHILE in browser.get(change).content.decode()
    assert Adjustment.objects.filter(pk=credit.pk).exists()


# --- several credits deleted at once from the admin's list ---------------


def _free_credit(small):
    """Another client's credit, on no invoice yet: deletable at any time."""
    client = contracted_client(small, name="別件株式会社")
    bill_month(month=SEPTEMBER, client_ids=[client.pk], issue=True, today=LATER)
    september = Invoice.objects.get(client=client, billing_month=SEPTEMBER)
    return add_adjustment(invoice=september, amount_yen=500, reason="重複請求")


def _delete_selected(browser, *credits):
    """The list's bulk delete, confirmed."""
    return browser.post(
        reverse("admin:billing_adjustment_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [credit.pk for credit in credits],
            "post": "yes",
        },
    )


def _refused_and_kept(browser, page, refused, *credits) -> None:
    changelist = reverse("admin:billing_adjustment_changelist")
    assert (page.status_code, page["Location"]) == (302, changelist)
    html = browser.get(changelist).content.decode()
    assert f"「{refused}」: {ISSUED_MEANWHILE}" in html
    assert "選択した項目は1件も削除していません。" in html
    assert set(Adjustment.objects.values_list("pk", flat=True)) == {
        credit.pk for credit in credits
    }
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_a_bulk_delete_refused_for_one_credit_deletes_none(
    admin_client, monkeypatch, small, credit_on_a_draft
):
    """Two credits selected in the list; October's draft carrying one of them
    is issued between the deletion's checks and the deletions. The other
    credit (listed first, the newer) was deleted for good, then the refusal
    was a server error. Now neither is deleted, and the list says why."""
    on_the_draft, october = credit_on_a_draft
    free = _free_credit(small)
    model_admin = admin.site.get_model_admin(Adjustment)
    log_deletions = model_admin.log_deletions

    def issued_meanwhile(request, queryset):  # type: ignore[no-untyped-def]
        # (In this request's transaction, so undone with it: the PostgreSQL
        # test below has another admin issue it.)
        issue_invoices(month=OCTOBER, invoice_ids=[october.pk], today=LATER)
        return log_deletions(request, queryset)

    monkeypatch.setattr(model_admin, "log_deletions", issued_meanwhile)
    page = _delete_selected(admin_client, free, on_the_draft)
    _refused_and_kept(admin_client, page, on_the_draft, free, on_the_draft)


def test_a_bulk_delete_of_credits_on_no_issued_invoice_deletes_them_all(
    admin_client, small, credit_on_a_draft
):
    on_the_draft, october = credit_on_a_draft
    free = _free_credit(small)
    page = _delete_selected(admin_client, free, on_the_draft)
    assert page.status_code == 302
    assert not Adjustment.objects.exists()
    issued = _issued_october(october)
    assert not issued.lines.filter(kind=LineKind.ADJUSTMENT).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_bulk_delete_while_a_credits_draft_is_issued_deletes_none(monkeypatch, plans):
    """As above, with October issued by another admin at that moment: the
    bulk delete waits for the issue, then refuses all of it."""
    _client, on_the_draft = _october_drafted(plans)
    free = _free_credit(plans["small"])
    october = on_the_draft.applied_to
    numbered, go_on = concurrency.hold_first_call(
        monkeypatch, numbering, "number_drafts"
    )
    issue = concurrency.start(
        lambda: issue_invoices(month=OCTOBER, invoice_ids=[october.pk], today=LATER)
    )
    assert numbered.wait(timeout=10)
    browser = concurrency.admin_browser()
    pages = {}

    def delete() -> None:
        pages["delete"] = _delete_selected(browser, free, on_the_draft)

    deleter = concurrency.start(delete)
    deleter.wait_until_blocked()
    go_on.set()
    issue.join(timeout=30)
    deleter.join(timeout=30)
    assert (issue.error, deleter.error) == (None, None)

    _refused_and_kept(browser, pages["delete"], on_the_draft, free, on_the_draft)
    october.refresh_from_db()
    assert october.status == InvoiceStatus.ISSUED
