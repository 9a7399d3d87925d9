"""発行する on a draft's own page: the month's issue for that draft alone (held
back when its data changed since it was built), refused with a message when it
is no draft any more."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from answering.models import Call, Category
from answering.services import correct_call
from billing.models import Invoice, InvoiceNumberSequence, InvoiceStatus
from billing.services import (
    bill_month,
    issue_draft,
    issue_invoices,
    numbering,
    void_and_reissue,
)
from clients.models import Client
from tests import concurrency
from tests.billing.factories import LATER, OCTOBER, calls, contracted_client, jst
from tests.factories import CallFactory


def _october(client) -> Invoice:
    return Invoice.objects.get(
        client=client, billing_month=OCTOBER, status__in=["draft", "issued"]
    )


@pytest.fixture
def two_drafts(small):
    """October's drafts of two clients: 21 calls (6,068 yen with the deposit)
    and 3 calls."""
    first = contracted_client(small, name="株式会社一番")
    calls(first, 21, at=jst(2026, 10, 20))
    second = contracted_client(small, name="株式会社二番")
    calls(second, 3, at=jst(2026, 10, 20))
    bill_month(month=OCTOBER, today=LATER)
    return _october(first), _october(second)


def _issue(admin_client, invoice):
    return admin_client.post(
        reverse("billing:issue_draft", args=[invoice.pk]), follow=True
    )


def _reclassify_one_as_sales(client) -> None:
    call = Call.objects.filter(client=client).first()
    correct_call(call=call, corrected_by=None, changes={"category": Category.SALES})


def test_a_drafts_page_offers_to_issue_it_and_an_issued_ones_does_not(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    url = reverse("billing:invoice", args=[draft.pk])
    action = reverse("billing:issue_draft", args=[draft.pk])
    assert f'action="{action}"' in admin_client.get(url).content.decode()
    issue_invoices(month=OCTOBER, today=LATER)
    assert action not in admin_client.get(url).content.decode()


def test_a_draft_is_issued_from_its_page_alone(admin_client, two_drafts):
    draft, other = two_drafts

    page = _issue(admin_client, draft)

    issued = Invoice.objects.get(pk=draft.pk)
    assert (issued.status, issued.total_yen) == (InvoiceStatus.ISSUED, 6068)
    # The issued invoice's page, saying so.
    assert page.redirect_chain == [(reverse("billing:invoice", args=[draft.pk]), 302)]
    text = page.content.decode()
    assert f"請求書 {issued.number_display} を発行しました。" in text
    assert 'class="badge">発行済み</span>' in text
    assert 'id="issue"' not in text
    # The month's other draft waits for its own look.
    assert Invoice.objects.get(pk=other.pk).status == InvoiceStatus.DRAFT


def test_a_draft_changed_since_it_was_built_is_held_back_from_its_page(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    _reclassify_one_as_sales(draft.client)

    page = _issue(admin_client, draft)

    # Built again, not issued: the new draft's page, with what changed, as
    # the month's list says it.
    rebuilt = _october(draft.client)
    assert (rebuilt.status, rebuilt.total_yen) == (InvoiceStatus.DRAFT, 5920)
    url = reverse("billing:invoice", args=[rebuilt.pk])
    assert page.redirect_chain == [(url, 302)]
    text = page.content.decode()
    assert "下書きの作成後にデータ" in text
    assert f'<a href="{url}">株式会社一番</a>（6,068 円 → 5,920 円）' in text
    assert "発行しました" not in text
    # Once looked at, its page issues it as rebuilt.
    page = _issue(admin_client, rebuilt)
    issued = Invoice.objects.get(pk=rebuilt.pk)
    assert (issued.status, issued.total_yen) == (InvoiceStatus.ISSUED, 5920)
    assert f"請求書 {issued.number_display} を発行しました。" in page.content.decode()


def test_a_draft_whose_calls_moved_at_the_same_count_is_issued_built_again(
    admin_client, two_drafts
):
    """One call reclassified as sales and another logged late print the same
    invoice: issued at once, with the month's calls, under a new id."""
    _draft, other = two_drafts
    _reclassify_one_as_sales(other.client)
    CallFactory(client=other.client, received_at=jst(2026, 10, 31, 17))

    page = _issue(admin_client, other)

    issued = _october(other.client)
    assert issued.pk != other.pk
    assert issued.status == InvoiceStatus.ISSUED
    assert page.redirect_chain == [(reverse("billing:invoice", args=[issued.pk]), 302)]
    assert f"請求書 {issued.number_display} を発行しました。" in page.content.decode()


def test_a_draft_of_a_client_no_longer_billable_is_deleted_from_its_page(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    Client.objects.filter(pk=draft.client_id).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 9, 30)
    )

    page = _issue(admin_client, draft)

    assert not Invoice.objects.filter(client=draft.client_id).exists()
    assert page.redirect_chain == [(f"{reverse('billing:month')}?month=2026-10", 302)]
    assert "下書きを削除しました（発行していません）: 株式会社一番" in (
        page.content.decode()
    )


def _last_number() -> int:
    return InvoiceNumberSequence.objects.get().last_number


def test_a_post_from_a_stale_page_of_a_draft_issued_meanwhile_is_refused(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    issue_invoices(month=OCTOBER, today=LATER)  # another admin, from the list
    numbers = _last_number()

    page = _issue(admin_client, draft)

    assert page.status_code == 200
    assert page.redirect_chain == [(reverse("billing:invoice", args=[draft.pk]), 302)]
    assert (
        "この請求書は下書きではなくなった（発行済み）ため、発行していません。"
        in page.content.decode()
    )
    assert _last_number() == numbers


def test_a_post_from_a_stale_page_of_an_invoice_voided_meanwhile_is_refused(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    issue_invoices(month=OCTOBER, today=LATER)
    void_and_reissue(
        invoice=Invoice.objects.get(pk=draft.pk), reason="宛名の誤り", today=LATER
    )
    numbers = _last_number()

    page = _issue(admin_client, draft)

    assert "この請求書は下書きではなくなった（無効）ため" in page.content.decode()
    assert _last_number() == numbers
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.VOID


def test_a_draft_built_again_while_its_page_was_open_is_refused(two_drafts):
    """Another admin's 下書きを作成・更新 replaced it (a new row) between the
    page's read and the issue's lock: nothing is issued."""
    draft, _other = two_drafts
    bill_month(month=OCTOBER, today=LATER)

    with pytest.raises(ValidationError, match="作り直されたか削除された"):
        issue_draft(invoice=draft, today=LATER)

    assert not Invoice.objects.filter(status=InvoiceStatus.ISSUED).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_draft_issued_from_its_page_while_the_list_issues_it_is_issued_once(
    monkeypatch, small
):
    """Two admins: one presses the month's 発行, the other the draft's own
    発行する. The second waits for the first's billing lock, then finds no
    draft: refused with a message, one number used."""
    client = contracted_client(small, name="株式会社同時")
    bill_month(month=OCTOBER, today=LATER)
    draft = _october(client)
    numbered, go_on = concurrency.hold_first_call(
        monkeypatch, numbering, "number_drafts"
    )
    page = {}

    def from_the_page():
        page["response"] = _issue(concurrency.admin_browser(), draft)

    concurrency.run_in_turn(
        lambda: issue_invoices(month=OCTOBER, today=LATER),
        from_the_page,
        numbered,
        go_on,
    )

    issued = Invoice.objects.get(pk=draft.pk)
    assert (issued.status, issued.number) == (InvoiceStatus.ISSUED, 1)
    assert _last_number() == 1
    assert (
        "この請求書は下書きではなくなった（発行済み）ため"
        in page["response"].content.decode()
    )


# --- a draft's page left open while the draft is built again ---------------
# Every run, and every issue that holds a draft back, writes the month's drafts
# anew under new ids: the page (or a link to it) outlives its draft.


def test_a_drafts_page_built_again_since_shows_the_clients_draft_now(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    bill_month(month=OCTOBER, today=LATER)  # 下書きを作成・更新, elsewhere
    now = _october(draft.client)
    assert now.pk != draft.pk

    page = admin_client.get(reverse("billing:invoice", args=[draft.pk]), follow=True)

    assert page.redirect_chain == [(reverse("billing:invoice", args=[now.pk]), 302)]
    text = page.content.decode()
    assert "開いていた下書きは、その後に作り直されました" in text
    assert "株式会社一番 2026年10月分" in text


def test_a_drafts_page_issued_since_under_a_new_id_shows_the_invoice(
    admin_client, two_drafts
):
    _draft, other = two_drafts
    _reclassify_one_as_sales(other.client)
    CallFactory(client=other.client, received_at=jst(2026, 10, 31, 17))
    issue_invoices(month=OCTOBER, today=LATER)  # built again and issued
    issued = _october(other.client)

    page = admin_client.get(reverse("billing:invoice", args=[other.pk]), follow=True)

    assert page.redirect_chain == [(reverse("billing:invoice", args=[issued.pk]), 302)]
    assert issued.number_display in page.content.decode()


def test_issuing_from_a_page_whose_draft_was_built_again_issues_nothing(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    bill_month(month=OCTOBER, today=LATER)
    now = _october(draft.client)

    page = _issue(admin_client, draft)

    # The admin has not seen the new draft: it waits, shown.
    assert Invoice.objects.get(pk=now.pk).status == InvoiceStatus.DRAFT
    assert not Invoice.objects.filter(status=InvoiceStatus.ISSUED).exists()
    assert page.redirect_chain == [(reverse("billing:invoice", args=[now.pk]), 302)]
    assert (
        "開いていた下書きは、その後に作り直されたため、発行していません。"
        in page.content.decode()
    )


def test_a_drafts_page_whose_client_is_no_longer_billed_shows_the_month(
    admin_client, two_drafts
):
    draft, _other = two_drafts
    Client.objects.filter(pk=draft.client_id).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 9, 30)
    )
    bill_month(month=OCTOBER, today=LATER)

    page = admin_client.get(reverse("billing:invoice", args=[draft.pk]), follow=True)

    assert page.redirect_chain == [(f"{reverse('billing:month')}?month=2026-10", 302)]
    assert (
        "開いていた下書きは、その後に削除されました。"
        "この顧客は、この月の請求の対象でなくなりました。" in page.content.decode()
    )


@pytest.mark.parametrize(
    "url_name", ["billing:invoice_pdf", "billing:invoice_csv", "billing:invoice_calls"]
)
def test_a_drafts_file_built_again_since_leads_to_the_clients_draft_now(
    admin_client, two_drafts, url_name
):
    """The old PDF and CSV links were a bare 404 while the page's link led on."""
    draft, _other = two_drafts
    bill_month(month=OCTOBER, today=LATER)
    now = _october(draft.client)

    page = admin_client.get(reverse(url_name, args=[draft.pk]), follow=True)

    assert page.redirect_chain == [(reverse("billing:invoice", args=[now.pk]), 302)]
    assert page["Content-Type"].startswith("text/html")  # no file of another one
    text = page.content.decode()
    assert (
        "開いていた下書きは、その後に作り直されたため、そのPDF・CSVはありません。"
        "この顧客の今の請求書を表示しています。" in text
    )
    assert "株式会社一番 2026年10月分" in text


@pytest.mark.parametrize(
    "url_name", ["billing:invoice_pdf", "billing:invoice_csv", "billing:invoice_calls"]
)
def test_a_drafts_file_whose_client_is_no_longer_billed_leads_to_the_month(
    admin_client, two_drafts, url_name
):
    draft, _other = two_drafts
    Client.objects.filter(pk=draft.client_id).update(
        status=Client.Status.CANCELLED, cancelled_on=dt.date(2026, 9, 30)
    )
    bill_month(month=OCTOBER, today=LATER)

    page = admin_client.get(reverse(url_name, args=[draft.pk]), follow=True)

    assert page.redirect_chain == [(f"{reverse('billing:month')}?month=2026-10", 302)]
    assert (
        "開いていた下書きは、その後に削除されたため、そのPDF・CSVはありません。"
        "この顧客は、この月の請求の対象でなくなりました。" in page.content.decode()
    )


def test_an_invoice_that_never_was_is_not_found(admin_client, two_drafts):
    missing = Invoice.objects.order_by("-pk").first().pk + 100
    assert (
        admin_client.get(reverse("billing:invoice", args=[missing])).status_code == 404
    )
    assert (
        admin_client.post(reverse("billing:issue_draft", args=[missing])).status_code
        == 404
    )
    for url_name in (
        "billing:invoice_pdf",
        "billing:invoice_csv",
        "billing:invoice_calls",
    ):
        assert admin_client.get(reverse(url_name, args=[missing])).status_code == 404
