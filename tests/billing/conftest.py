import pytest

from tests import factories


@pytest.fixture
def small(plans):
    return plans["small"]


@pytest.fixture
def standard(plans):
    return plans["standard"]


@pytest.fixture
def admin(db):
    return factories.AdminFactory()
