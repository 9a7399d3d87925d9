import pytest

from tests.factories import ClientFactory, NumberAssignmentFactory


@pytest.fixture
def acme(db):
    """A client holding the lent number 03-5555-0001."""
    client = ClientFactory(name="アクメ株式会社", name_kana="アクメ")
    NumberAssignmentFactory(client=client, number__number="+81355550001")
    return client
