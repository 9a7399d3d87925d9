"""Requests the service closed before its notes were codes carry its sentence
in Japanese as their memo: portal's 0005 turns exactly those sentences into
their code, so the client reads them in its language; what an admin typed
stays."""

import pytest
from django.conf import settings
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from portal.models import RequestStatus, SystemNote
from tests.migrations import run_migration
from tests.portal.factories import (
    BillingEmailChangeRequestFactory,
    PlanChangeRequestFactory,
    RecipientChangeRequestFactory,
)

# On SQLite a migration cannot run inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = ("portal", "0005_system_notes_from_sentences")
CLOSED = {"status": RequestStatus.REJECTED}


def migrate(executor: MigrationExecutor, *, backwards: bool = False) -> None:
    run_migration(executor, MIGRATION, backwards=backwards)


def notes(change_request) -> tuple[str, str]:
    change_request.refresh_from_db()
    return change_request.system_note, change_request.admin_note


def _sentence(note: SystemNote) -> str:
    with translation.override("ja"):
        return str(note.label)


def test_each_sentence_becomes_its_code_and_reads_in_english(
    executor, portal, portal_user, plans
):
    client = portal_user.client
    plan = PlanChangeRequestFactory(
        client=client,
        plan=plans["half"],
        admin_note=_sentence(SystemNote.SUPERSEDED),
        **CLOSED,
    )
    recipient = RecipientChangeRequestFactory(
        client=client,
        admin_note=_sentence(SystemNote.DESIRED_AFTER_CONTRACT_END),
        **CLOSED,
    )
    billing = [
        BillingEmailChangeRequestFactory(
            client=client, admin_note=_sentence(note), **CLOSED
        )
        for note in (SystemNote.WITHDRAWN, SystemNote.REPLACED_BILLING_EMAIL)
    ]
    others = [
        RecipientChangeRequestFactory(
            client=client, admin_note=_sentence(note), **CLOSED
        )
        for note in (SystemNote.REPLACED_RECIPIENT, SystemNote.AFTER_CONTRACT_END)
    ]

    migrate(executor)

    assert notes(plan) == (SystemNote.SUPERSEDED, "")
    assert notes(recipient) == (SystemNote.DESIRED_AFTER_CONTRACT_END, "")
    assert [notes(r) for r in billing] == [
        (SystemNote.WITHDRAWN, ""),
        (SystemNote.REPLACED_BILLING_EMAIL, ""),
    ]
    assert [notes(r) for r in others] == [
        (SystemNote.REPLACED_RECIPIENT, ""),
        (SystemNote.AFTER_CONTRACT_END, ""),
    ]
    portal.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = portal.get(reverse("portal:plan_request", args=[plan.pk])).content.decode()
    with translation.override("en"):
        assert str(SystemNote.SUPERSEDED.label) in page
    assert _sentence(SystemNote.SUPERSEDED) not in page


def test_what_an_admin_typed_stays(executor):
    sentence = _sentence(SystemNote.WITHDRAWN)
    texts = [
        "お電話で確認のうえ、お断りしました。",
        f"{sentence}\nまたのお申し込みをお待ちしております。",
        f"{sentence} ",
        "",
    ]
    typed = [PlanChangeRequestFactory(admin_note=text, **CLOSED) for text in texts]

    migrate(executor)

    assert [notes(r) for r in typed] == [("", text) for text in texts]


def test_migrating_back_writes_the_sentences_again(executor):
    sentence = _sentence(SystemNote.SUPERSEDED)
    migrated = PlanChangeRequestFactory(admin_note=sentence, **CLOSED)
    # Closed by the service after the migration, beside an admin's memo.
    with_memo = PlanChangeRequestFactory(
        system_note=SystemNote.WITHDRAWN, admin_note="確認中です。", **CLOSED
    )
    migrate(executor)

    migrate(executor, backwards=True)

    assert notes(migrated) == ("", sentence)
    withdrawn = _sentence(SystemNote.WITHDRAWN)
    assert notes(with_memo) == ("", f"{withdrawn}\n確認中です。")
