"""No input makes a 500: the operator's call form and the portal history filters,
fuzzed with hypothesis through the Django test client."""

import os

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answering.models import Category, MissingReason
from tests import factories

pytestmark = pytest.mark.django_db

# CI (CI=true) replays the same examples on every run, so a green main stays
# green; on a laptop each run explores new inputs (pytest --hypothesis-seed=N
# replays one).
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Anything a browser could send: no lone surrogates (they cannot be UTF-8 encoded).
chars = st.characters(blacklist_categories=("Cs",))
text = st.one_of(
    st.text(chars, max_size=40),
    st.text(chars, min_size=1, max_size=3).map(lambda s: s * 2000),  # huge
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "0",
            "-1",
            "1e9",
            "９９９",
            "１２３４５６７８９０１２",
            "+81-3-1234-5678",
            "(03)1234-5678",
            "090１２３４５６７８",
            "99999999999999999999999",
            "1" * 5000,  # more digits than int() reads
            "2026-02-30",
            "2026-13-01T25:61",
            "9999-12-31T23:59",
            "NaN",
            "<script>alert(1)</script>",
            "[toall]",
            "x\r\nBcc: evil@example.com",
            "' OR 1=1 --",
            "%00",
        ]
    ),
)
category = st.one_of(st.sampled_from([*Category.values, "", "bogus"]), text)
reason = st.one_of(st.sampled_from([*MissingReason.values, "", "bogus"]), text)

CALL_FIELDS = {
    "category": category,
    "caller_name": text,
    "caller_name_missing_reason": reason,
    "caller_company": text,
    "callback_number": text,
    "callback_number_missing_reason": reason,
    "purpose": text,
    "purpose_missing_reason": reason,
    "missing_note": text,
    "addressee": text,
    "is_urgent": st.sampled_from(["on", "", "false", "1"]),
    "is_angry": text,
    "is_troubled": text,
    "demeanour_note": text,
    "note": text,
    "surcharge_yen": text,
    "surcharge_reason": text,
    "received_at": text,
    "confirm_off_hours": text,
    "caller_number": text,
    "dialed_number": text,
}
call_form = st.fixed_dictionaries({}, optional=CALL_FIELDS)


def http_client(user) -> HttpClient:
    client = HttpClient(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def customer():
    plans = factories.make_plans()
    customer = factories.ClientFactory()
    factories.ClientPlanFactory(client=customer, plan=plans["small"])
    factories.ReportRecipientFactory(client=customer)
    factories.CallFactory(client=customer, addressee="山田")
    # Users are made once: hashing a password per example would dominate the time.
    customer.operator = factories.OperatorFactory()
    customer.user = factories.ClientUserFactory(client=customer)
    return customer


@FUZZ
@given(data=call_form, client_param=st.one_of(st.none(), text))
def test_operator_call_form_never_fails(customer, data, client_param):
    client = http_client(customer.operator)
    url = f"{reverse('console:call_new')}?client={customer.pk}"
    response = client.post(url, data)
    assert response.status_code < 500, data
    assert response.status_code in (200, 302)
    if client_param is not None:
        response = client.get(reverse("console:call_new"), {"client": client_param})
        assert response.status_code < 500, client_param


console_params = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(("client", "saved", "dialed", "caller", "category"), text),
)


@FUZZ
@given(params=console_params, number=text, q=text)
def test_console_address_bar_never_fails(customer, params, number, q):
    """What a PBX or a hand-edited URL may put in the console's address bar."""
    client = http_client(customer.operator)
    for url, query in (
        (reverse("console:call_new"), params),
        (reverse("console:home"), params),
        (reverse("console:phone"), {**params, "number": number}),
        (reverse("console:search"), {"q": q}),
    ):
        response = client.get(url, query)
        assert response.status_code < 500, (url, query)


@FUZZ
@given(data=call_form)
def test_operator_correction_never_fails(customer, data):
    call = customer.calls.first()
    client = http_client(customer.operator)
    response = client.post(reverse("console:call_edit", args=[call.pk]), data)
    assert response.status_code < 500, data


history_params = st.fixed_dictionaries(
    {},
    optional={
        "date_from": text,
        "date_to": text,
        "category": category,
        "addressee": text,
        "q": text,
        "before": text,
        "after": text,
        "page": text,
    },
)


@FUZZ
@given(params=history_params)
def test_portal_history_filters_and_csv_never_fail(customer, params):
    client = http_client(customer.user)
    for name in ("portal:calls", "portal:calls_csv"):
        response = client.get(reverse(name), params)
        assert response.status_code < 500, (name, params)
