"""Addresses saved full-width from the admin, before its forms read them as the
portal does, are stored half-width by a migration, so reports reach them."""

import pytest
from django.db.migrations.executor import MigrationExecutor

from clients.models import ReportRecipient
from tests.factories import ClientFactory, ReportRecipientFactory, UserFactory
from tests.migrations import run_migration

# As tests/clients/test_plan_migration.py: the tests run without migrations
# (tables made from the models), so this one applies the migration itself. On
# SQLite a migration cannot run inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = ("clients", "0010_half_width_email_addresses")
TARO_FULL = "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ"
TARO = "taro@example.co.jp"


def migrate(executor: MigrationExecutor, *, backwards: bool = False) -> None:
    run_migration(executor, MIGRATION, backwards=backwards)


def addresses(recipient: ReportRecipient) -> tuple[str, str]:
    recipient.refresh_from_db()
    return recipient.pc_email, recipient.mobile_email


def test_full_width_pc_and_mobile_addresses_become_half_width(executor):
    typed = ReportRecipientFactory(
        pc_email=TARO_FULL, mobile_email="\u3000ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ "
    )
    mobile_only = ReportRecipientFactory(pc_email="", mobile_email=TARO_FULL)
    fine = ReportRecipientFactory(pc_email="hanako@example.jp", mobile_email="")
    user = UserFactory(email="ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ")

    migrate(executor)

    assert addresses(typed) == (TARO, "taro@docomo.ne.jp")
    assert addresses(mobile_only) == ("", TARO)
    assert addresses(fine) == ("hanako@example.jp", "")
    user.refresh_from_db()
    assert user.email == "yamada@example.jp"
    # Admins read the change in the recipient's history.
    latest = typed.history.latest()
    assert (latest.history_type, latest.pc_email) == ("~", TARO)
    assert latest.history_change_reason == "メールアドレスを半角に（マイグレーション）"
    assert not fine.history.filter(history_type="~").exists()


def test_a_recipient_that_would_copy_another_is_left_as_it_is(executor):
    client = ClientFactory()
    same = {"client": client, "name": "山田太郎", "mobile_email": ""}
    kept = ReportRecipientFactory(pc_email=TARO, **same)
    duplicate = ReportRecipientFactory(pc_email=TARO_FULL, **same)
    # The same person entered twice full-width: the first one is mended.
    first = ReportRecipientFactory(
        pc_email="ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", **same
    )
    second = ReportRecipientFactory(pc_email="ｈａｎａｋｏ@example.jp", **same)
    # Another client's person with the same address is no copy.
    other = ReportRecipientFactory(pc_email=TARO_FULL, name="山田太郎", mobile_email="")

    migrate(executor)

    assert addresses(kept) == (TARO, "")
    assert addresses(duplicate) == (TARO_FULL, "")
    assert addresses(first) == ("hanako@example.jp", "")
    assert addresses(second) == ("ｈａｎａｋｏ@example.jp", "")
    assert addresses(other) == (TARO, "")
    assert not duplicate.history.filter(history_type="~").exists()


def test_migrating_back_leaves_the_addresses_half_width(executor):
    recipient = ReportRecipientFactory(pc_email=TARO_FULL, mobile_email="")
    migrate(executor)
    migrate(executor, backwards=True)

    assert addresses(recipient) == (TARO, "")


@pytest.mark.postgres(reason="needs PostgreSQL: SQLite keeps text of any length")
def test_an_address_too_long_once_normalised_is_left_as_it_is(executor):
    # ㍻ reads as 平成: 232 characters become 259, past the field's 254.
    long = "a" * 200 + "㍻" * 27 + "@x.jp"
    too_long = ReportRecipientFactory(pc_email=long, mobile_email="")
    typed = ReportRecipientFactory(pc_email=TARO_FULL, mobile_email="")

    migrate(executor)

    assert addresses(too_long) == (long, "")
    assert addresses(typed) == (TARO, "")
