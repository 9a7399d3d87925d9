"""Addresses saved full-width (ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ) from the admin,
before its forms read addresses as the portal does, are stored half-width.

No report reaches a full-width address. The addresses are read as the forms
read them (clients.forms.normalize_typed_email), written out here rather than
imported, as 0007 does: a migration keeps doing what it did. A recipient that would become a copy of another one of its
client (the constraint recipient_entered_once) is left as it is, for an admin
to end, rather than listed twice; so is an address that would no longer fit.
"""

import unicodedata

from django.db import DataError, IntegrityError, migrations, transaction
from django.utils import timezone

RECIPIENT_ADDRESS_FIELDS = ("pc_email", "mobile_email")
CHANGE_REASON = "メールアドレスを半角に（マイグレーション）"


def _half_width(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _normalised(row, fields) -> dict[str, str]:
    """The fields of ``row`` whose address the normaliser changes, normalised."""
    changed = {}
    for field in fields:
        value = getattr(row, field)
        if value and _half_width(value) != value:
            changed[field] = _half_width(value)
    return changed


def _update(model, db, pk, changed) -> bool:
    """Save ``changed`` on the row, or leave the row as it is when the database
    refuses it (a copy of another row, too long)."""
    try:
        # A savepoint: on PostgreSQL a refused statement would otherwise abort
        # the whole migration's transaction.
        with transaction.atomic(using=db):
            model.objects.using(db).filter(pk=pk).update(**changed)
    except (IntegrityError, DataError):
        return False
    return True


def normalise_addresses(apps, schema_editor):
    db = schema_editor.connection.alias
    ReportRecipient = apps.get_model("clients", "ReportRecipient")
    HistoricalReportRecipient = apps.get_model("clients", "HistoricalReportRecipient")
    User = apps.get_model("clients", "User")
    now = timezone.now()
    for recipient in ReportRecipient.objects.using(db).order_by("pk"):
        changed = _normalised(recipient, RECIPIENT_ADDRESS_FIELDS)
        if not changed or not _update(ReportRecipient, db, recipient.pk, changed):
            continue
        for field, value in changed.items():
            setattr(recipient, field, value)
        # The models of a migration send no signals to django-simple-history:
        # the change is recorded here, so the recipient's history shows it.
        HistoricalReportRecipient.objects.using(db).create(
            **{
                field.attname: getattr(recipient, field.attname)
                for field in ReportRecipient._meta.concrete_fields
            },
            history_date=now,
            history_type="~",
            history_change_reason=CHANGE_REASON,
        )
    # A user's address (no unique rule, no history).
    for user in User.objects.using(db).exclude(email="").order_by("pk"):
        changed = _normalised(user, ("email",))
        if changed:
            _update(User, db, user.pk, changed)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0009_client_billing_email"),
    ]

    operations = [
        # Backwards: nothing. No report ever reached the full-width addresses.
        migrations.RunPython(normalise_addresses, migrations.RunPython.noop),
    ]
