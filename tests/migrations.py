"""Running one data migration in a test.

The tests run without migrations (tables made from the models), so a test of a
data migration applies it itself, as `migrate` does on a server. On SQLite a
migration cannot run inside the test's transaction: such tests use
``django_db(transaction=True)`` and the ``executor`` fixture
(tests/conftest.py)."""

from django.db.migrations.executor import MigrationExecutor


def run_migration(
    executor: MigrationExecutor, name: tuple[str, str], *, backwards: bool = False
) -> None:
    migration = executor.loader.get_migration(*name)
    state = executor.loader.project_state(name, at_end=backwards)
    if backwards:
        executor.unapply_migration(state, migration)
    else:
        executor.apply_migration(state, migration)
