import datetime as dt

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clients.months import JST
from clients.services import start_plan
from portal import services
from tests import concurrency
from tests.factories import ClientFactory, ClientUserFactory
from tests.html_forms import form_values


@pytest.fixture
def portal_user(db, plans):
    """A client user whose client is on the Small plan since January 2025."""
    client = ClientFactory(name="株式会社ポータル")
    start_plan(client=client, plan=plans["small"], first_month=dt.date(2025, 1, 1))
    return ClientUserFactory(client=client)


@pytest.fixture
def portal(client, portal_user):
    """Django's test client, logged in as the portal user."""
    client.force_login(portal_user)
    return client


def jst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


def cancel_on_the_client_page(client, last_day: dt.date):
    """An admin, in a browser of its own, saves the client's cancellation."""
    admin = concurrency.admin_browser()
    url = reverse("admin:clients_client_change", args=[client.pk])
    data = form_values(admin.get(url).content.decode(), "client_form")
    data.update(status="cancelled", cancelled_on=last_day.isoformat())
    return admin.post(url, data, follow=True)


def post_while_a_cancellation_is_saved(
    portal_user, monkeypatch, *, last_day: dt.date, url: str, data: dict
):
    """The portal user posts ``data`` to ``url`` while an admin saves the
    client's cancellation as of ``last_day``: the portal reads the contract
    after the admin's page closed the open requests, before it commits. The
    portal's answer."""
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, services, "close_requests_after_contract_end"
    )
    portal = Browser()
    portal.force_login(portal_user)
    pages = {}

    def cancel():
        pages["cancel"] = cancel_on_the_client_page(portal_user.client, last_day)

    def ask():
        pages["ask"] = portal.post(url, data)

    concurrency.run_in_turn(cancel, ask, checked, go_on)
    assert pages["cancel"].status_code == 200
    return pages["ask"]
