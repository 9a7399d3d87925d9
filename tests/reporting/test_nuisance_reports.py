"""A nuisance call's report names the number it came from and how often that
number has harassed the client (DOMAIN: the client must deal with them)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from answering.models import Category
from reporting import services
from reporting.models import Delivery
from tests.factories import CallFactory, ClientFactory, OperatorFactory
from tests.reporting.factories import client_with_recipients, save_reported_call

pytestmark = pytest.mark.django_db

CALLER = "+819011112222"
REPEAT = "この番号からのいたずら・嫌がらせ・無言は 3 件目です"


def _at(day: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 10, day, hour))


def _bodies(call) -> dict[str, str]:
    return {
        d.channel: d.body
        for d in call.deliveries.filter(kind=Delivery.Kind.REPORT).order_by("id")
    }


def _nuisance(client, day, **kwargs):
    return CallFactory(
        client=client,
        category=Category.NUISANCE,
        received_at=_at(day),
        **{"caller_number": CALLER, **kwargs},
    )


def test_a_repeated_nuisance_call_says_its_number_and_which_call_it_is():
    client, _ = client_with_recipients(1, chatwork_room="123")
    _nuisance(client, 1)
    _nuisance(client, 2)
    # None of these is this number's nuisance call to this client.
    _nuisance(ClientFactory(), 3)
    _nuisance(client, 3, caller_number="+819033334444")
    CallFactory(client=client, caller_number=CALLER, received_at=_at(3))
    call, _ = save_reported_call(
        client=client,
        category=Category.NUISANCE,
        caller_number=CALLER,
        received_at=_at(5),
    )
    bodies = _bodies(call)
    assert set(bodies) == {"email_pc", "email_mobile", "chatwork"}
    assert "■発信者番号:\n  090-1111-2222\n  " + REPEAT in bodies["email_pc"]
    assert "発信者番号 090-1111-2222\n" + REPEAT in bodies["email_mobile"]
    assert "発信者番号: 090-1111-2222\n" + REPEAT in bodies["chatwork"]


def test_the_count_stays_as_written_when_the_number_calls_again():
    client, _ = client_with_recipients(1, chatwork_room="123")
    _nuisance(client, 1)
    _nuisance(client, 2)
    call, _ = save_reported_call(
        client=client,
        category=Category.NUISANCE,
        caller_number=CALLER,
        received_at=_at(5),
    )
    _nuisance(client, 6)  # a later one, and one logged late before it
    _nuisance(client, 4)
    # The failed report is resent as it was queued.
    pc = call.deliveries.get(channel=Delivery.Channel.EMAIL_PC)
    Delivery.objects.filter(pk=pc.pk).update(status=Delivery.Status.FAILED)
    assert services.resend(delivery_id=pc.pk).queued
    pc.refresh_from_db()
    assert REPEAT in pc.body
    # A correction is written as the call is now: calls received before it are
    # counted (the one logged late), never one received after it.
    services.record_correction(
        call=call, corrected_by=OperatorFactory(), changes={"purpose": "無言電話"}
    )
    corrections = call.deliveries.filter(kind=Delivery.Kind.CORRECTION)
    assert corrections.count() == 3
    for correction in corrections:
        assert "無言は 4 件目です" in correction.body, correction.channel


def test_a_first_nuisance_call_names_its_number_and_a_withheld_one_says_so():
    client, _ = client_with_recipients(1, chatwork_room="123")
    first, _ = save_reported_call(
        client=client, category=Category.NUISANCE, caller_number=CALLER
    )
    for body in _bodies(first).values():
        assert "090-1111-2222" in body and "件目" not in body
    # Withheld numbers are not one caller: two of them make no repeat.
    _nuisance(client, 1, caller_number="")
    withheld, _ = save_reported_call(
        client=client, category=Category.NUISANCE, caller_number=""
    )
    bodies = _bodies(withheld)
    assert "■発信者番号: 非通知" in bodies["email_pc"]
    assert "発信者番号 非通知" in bodies["email_mobile"]
    assert "発信者番号: 非通知" in bodies["chatwork"]
    assert not any("件目" in body for body in bodies.values())


def test_other_reports_do_not_change_and_cost_no_extra_query():
    client, _ = client_with_recipients(1, chatwork_room="123")
    _nuisance(client, 1)
    with CaptureQueriesContext(connection) as normal_queries:
        normal, _ = save_reported_call(client=client, caller_number=CALLER)
    grey, _ = save_reported_call(
        client=client, category=Category.GREY, caller_number=CALLER
    )
    for call in (normal, grey):
        for body in _bodies(call).values():
            assert "発信者番号" not in body and "1111-2222" not in body
    with CaptureQueriesContext(connection) as nuisance_queries:
        save_reported_call(
            client=client, category=Category.NUISANCE, caller_number=CALLER
        )
    # The count, and only for a nuisance call.
    assert len(nuisance_queries) == len(normal_queries) + 1
