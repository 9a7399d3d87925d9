"""The request lists open on 受付中: what waits for the admin first."""

import re

import pytest
from django.urls import reverse

from portal.models import RequestStatus
from tests.factories import ClientFactory
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    CancellationRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)

pytestmark = pytest.mark.django_db

LISTS = [
    (PlanChangeRequestFactory, "admin:portal_planchangerequest_changelist"),
    (RecipientChangeRequestFactory, "admin:portal_recipientchangerequest_changelist"),
    (
        BillingEmailChangeRequestFactory,
        "admin:portal_billingemailchangerequest_changelist",
    ),
    (CancellationRequestFactory, "admin:portal_cancellationrequest_changelist"),
]
NOTE = "受付中のお申し込みだけを表示しています。"


@pytest.fixture(
    params=LISTS, ids=["plan", "recipient", "billing_email", "cancellation"]
)
def requests_list(request):
    """An open request, a done one and a rejected one; the list's URL."""
    factory, url_name = request.param
    for name, status in [
        ("受付中商事", RequestStatus.OPEN),
        ("対応済商事", RequestStatus.DONE),
        ("お断り商事", RequestStatus.REJECTED),
    ]:
        factory(client=ClientFactory(name=name), status=status)
    return reverse(url_name)


def _listed(page: str) -> set[str]:
    return {
        name
        for name in ["受付中商事", "対応済商事", "お断り商事"]
        if re.search(rf">{name}</a>", page)
    }


def _selected_status(page: str) -> str:
    sidebar = page[page.index('id="changelist-filter"') :]
    return re.search(r'<li class="selected">\s*<a[^>]*>([^<]+)</a>', sidebar)[1]


def test_the_bare_list_shows_open_requests_and_says_so(admin_client, requests_list):
    page = admin_client.get(requests_list).content.decode()

    assert _listed(page) == {"受付中商事"}
    assert NOTE in page
    assert "{#" not in page and "comment %}" not in page
    assert _selected_status(page) == "受付中"


def test_a_chosen_status_and_all_still_work(admin_client, requests_list):
    done = admin_client.get(f"{requests_list}?status__exact=done").content.decode()
    assert _listed(done) == {"対応済商事"}
    assert NOTE not in done
    assert _selected_status(done) == "対応済み"

    bare = admin_client.get(requests_list).content.decode()
    everything_link = re.search(r'<a href="(\?[^"]*)">すべて</a>', bare)[1]
    everything = admin_client.get(f"{requests_list}{everything_link}")
    page = everything.content.decode()
    assert _listed(page) == {"受付中商事", "対応済商事", "お断り商事"}
    assert NOTE not in page
    assert _selected_status(page) == "すべて"


def test_a_search_on_the_bare_list_stays_on_open_requests(admin_client, requests_list):
    page = admin_client.get(f"{requests_list}?q=商事").content.decode()
    assert _listed(page) == {"受付中商事"}
    assert NOTE in page


def test_the_counts_beside_the_statuses_still_show(admin_client, requests_list):
    page = admin_client.get(f"{requests_list}?_facets=1").content.decode()
    assert _selected_status(page) == "受付中 (1)"
    assert ">対応済み (1)</a>" in page
    assert ">すべて</a>" in page
    unknown = admin_client.get(f"{requests_list}?status__exact=unknown")
    assert unknown.status_code == 200
    assert _listed(unknown.content.decode()) == set()


def test_the_whole_count_beside_the_results_opens_every_status(
    admin_client, requests_list
):
    page = admin_client.get(requests_list).content.decode()
    link = re.search(r'\(<a href="(\?[^"]*)">全 3 件</a>\)', page)
    assert link is not None, "the 「全 N 件」 link beside 結果"
    everything = admin_client.get(f"{requests_list}{link[1]}").content.decode()
    assert _listed(everything) == {"受付中商事", "対応済商事", "お断り商事"}
