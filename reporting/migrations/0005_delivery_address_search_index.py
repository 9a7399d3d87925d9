# Written by hand: a trigram index, made the way answering/0010 makes the
# numbers'.

from django.db import migrations

# The admin's list of deliveries finds a delivery by part of its address
# (ILIKE '%...%', clients.lookups.IContainsAny), which without this index read
# every delivery (3 per call: seconds at 3,000,000). pg_trgm is there since
# answering/0003. SQLite has no such index and scans, which is fine there.
# Building it holds back writes to the deliveries, so the logging of calls
# (about 10 s at 3,000,000 deliveries).
ADDRESS_TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS delivery_address_trgm ON reporting_delivery "
    "USING gin (address gin_trgm_ops)"
)


def add_address_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADDRESS_TRIGRAM_INDEX)


def drop_address_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS delivery_address_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0004_delivery_list_order_index"),
    ]

    operations = [
        migrations.RunPython(add_address_trigram_index, drop_address_trigram_index),
    ]
