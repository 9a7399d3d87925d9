"""Password spraying: one password tried on many usernames from one address.

The per-user lockout never meets it (each username fails once); once logins for
LOGIN_FAILED_USERNAMES_PER_ADDRESS different usernames failed from one address
(an IPv6 /64) within the cool-off, that address cannot log in, whatever the
username, while others still can.
"""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.factories import AdminFactory, OperatorFactory

PASSWORD = "correct-horse-2026"
SPRAYER = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.LOGIN_FAILED_USERNAMES_PER_ADDRESS = 6


def _login(client, username, password, address, url="login"):
    return client.post(
        reverse(url),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def _spray(client, count):
    for n in range(count):
        page = _login(client, f"guess{n}", "Summer2026!", SPRAYER)
        assert page.status_code == 200  # each username fails once: no lockout


@pytest.fixture
def operator(db):
    user = OperatorFactory(username="yamada")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_below_the_limit_a_right_password_logs_in(client, operator):
    _spray(client, 5)
    assert _login(client, "yamada", PASSWORD, SPRAYER).status_code == 302


def test_at_the_limit_the_address_cannot_log_in_even_with_a_right_password(
    client, operator
):
    _spray(client, 6)
    refused = _login(client, "yamada", PASSWORD, SPRAYER)
    assert refused.status_code == 200
    assert "この接続元からのログインの失敗が多いため" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address (the office) is not concerned.
    assert _login(client, "yamada", PASSWORD, OFFICE).status_code == 302


def test_the_admin_login_page_is_limited_too(client, operator):
    admin = AdminFactory(username="kanri")
    admin.set_password(PASSWORD)
    admin.save()
    _spray(client, 6)
    refused = _login(client, "kanri", PASSWORD, SPRAYER, url="admin:login")
    assert "この接続元からのログインの失敗が多いため" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_address_may_log_in_again_after_the_cool_off(client, operator, settings):
    _spray(client, 6)
    AccessAttempt.objects.update(
        attempt_time=dt.datetime.now(dt.UTC)
        - dt.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    )
    assert _login(client, "yamada", PASSWORD, SPRAYER).status_code == 302


def test_one_operator_retrying_a_forgotten_password_does_not_shut_the_office_out(
    client, operator, settings
):
    """Locked out after AXES_FAILURE_LIMIT tries, she kept pressing: django-axes
    counts every press, and her retries alone shut out her colleagues."""
    sato = OperatorFactory(username="sato")
    sato.set_password(PASSWORD)
    sato.save()
    for _ in range(40):
        _login(client, "sato", "forgotten", OFFICE)
    assert _login(client, "sato", PASSWORD, OFFICE).status_code == 429  # axes
    assert _login(client, "yamada", PASSWORD, OFFICE).status_code == 302


def test_a_sprayer_rotating_addresses_within_one_ipv6_64_is_limited(client, operator):
    for n in range(1, 7):
        _login(client, f"guess{n}", "Summer2026!", f"2001:db8:1:2::{n:x}")
    refused = _login(client, "yamada", PASSWORD, "2001:db8:1:2::99")
    assert "この接続元からのログインの失敗が多いため" in refused.content.decode()
    # Another /64 is another subscriber.
    assert _login(client, "yamada", PASSWORD, "2001:db8:1:3::1").status_code == 302
