"""Two notices posted at once (two tabs, a double press) when one more is
allowed: only one is saved."""

import pytest
from django.core.exceptions import ValidationError

from clients import services
from clients.models import NOTICE_MAX_OPEN, OperatorNotice
from clients.months import japan_today
from tests import concurrency
from tests.factories import ClientFactory, OperatorNoticeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_posts_at_once_cannot_both_pass_the_count(monkeypatch):
    client = ClientFactory()
    OperatorNoticeFactory.create_batch(NOTICE_MAX_OPEN - 1, client=client)
    today = japan_today()
    # The first post stops after checking its days, under the client's lock.
    checked, go_on = concurrency.hold_first_call(
        monkeypatch, services, "validate_notice_period"
    )
    refused = []

    def post(text):
        def run():
            try:
                services.post_operator_notice(
                    client=client,
                    text=text,
                    first_day=today,
                    last_day=today,
                    written_by=None,
                )
            except ValidationError as error:
                refused.append((text, error.messages))

        return run

    concurrency.run_in_turn(post("一つ目"), post("二つ目"), checked, go_on)
    assert OperatorNotice.objects.filter(client=client).count() == NOTICE_MAX_OPEN
    assert [text for text, _messages in refused] == ["二つ目"]
