"""Requests the service closed before 0004 carry its sentence in Japanese as
their 管理者メモ: a note that is exactly one of those sentences becomes its
code (portal.models.SystemNote), which the portal says in the reader's
language. Anything else in the memo was typed by an admin and stays.

The sentences are written out here rather than imported, as clients' 0007
and 0010 do: a migration keeps doing what it did.
"""

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Concat

SENTENCES = {
    "superseded": "同じ月の新しいお申し込みに置き換えられました。",
    "withdrawn": "お客様がお申し込みを取り消されました。",
    "replaced_recipient": "同じ報告先への新しいご依頼に置き換えられました。",
    "after_contract_end": "解約日より後の月のため取り下げました。",
    "desired_after_contract_end": "希望日が解約日より後のため取り下げました。",
    "replaced_billing_email": "請求書送付先の新しいお申し込みに置き換えられました。",
}
MODELS = ("PlanChangeRequest", "RecipientChangeRequest", "BillingEmailChangeRequest")


def sentences_to_codes(apps, schema_editor):
    db = schema_editor.connection.alias
    for name in MODELS:
        requests = apps.get_model("portal", name).objects.using(db)
        for code, sentence in SENTENCES.items():
            requests.filter(admin_note=sentence, system_note="").update(
                system_note=code, admin_note=""
            )


def codes_to_sentences(apps, schema_editor):
    """Back to the sentence as the memo; a memo an admin wrote beside a code
    (kept since 0004) follows it on the next line."""
    db = schema_editor.connection.alias
    for name in MODELS:
        requests = apps.get_model("portal", name).objects.using(db)
        for code, sentence in SENTENCES.items():
            coded = requests.filter(system_note=code)
            coded.filter(admin_note="").update(admin_note=sentence, system_note="")
            coded.update(
                admin_note=Concat(
                    Value(sentence + "\n"),
                    F("admin_note"),
                    output_field=models.TextField(),
                ),
                system_note="",
            )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_request_system_notes"),
    ]

    operations = [
        migrations.RunPython(sentences_to_codes, codes_to_sentences),
    ]
