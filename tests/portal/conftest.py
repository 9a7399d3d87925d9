import datetime as dt

import pytest

from clients.months import JST
from clients.services import start_plan
from tests.factories import ClientFactory, ClientUserFactory


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
