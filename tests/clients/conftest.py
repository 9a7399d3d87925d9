import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.fixture
def executor(settings):
    """For the data migrations' tests (tests/migrations.py)."""
    settings.MIGRATION_MODULES = {}  # the project's own migrations, not none
    return MigrationExecutor(connection)
