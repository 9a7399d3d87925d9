"""Login lockout per username and client IP, also behind a reverse proxy."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, OperatorFactory

pytestmark = pytest.mark.django_db


def _login(client, username, password, **meta):
    return client.post(
        reverse("login"), {"username": username, "password": password}, **meta
    )


def _fail_until_locked(client, settings, username, **meta):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, username, "wrong-password", **meta)


def test_without_a_proxy_a_forged_forwarded_header_does_not_escape_the_lockout(
    client, settings
):
    user = OperatorFactory()
    _fail_until_locked(client, settings, user.username, REMOTE_ADDR="198.51.100.7")
    answer = _login(
        client,
        user.username,
        PASSWORD,
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert answer.status_code == 429


def test_behind_a_proxy_the_lockout_follows_the_real_client_address(client, settings):
    settings.PROXY_COUNT = 1
    user = OperatorFactory()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # The client forges a first entry; our proxy appends the real address.
    _fail_until_locked(
        client,
        settings,
        user.username,
        HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.7",
        **proxy,
    )
    locked = _login(
        client,
        user.username,
        PASSWORD,
        HTTP_X_FORWARDED_FOR="203.0.113.2, 198.51.100.7",
        **proxy,
    )
    assert locked.status_code == 429
    # The same user from another office behind the same proxy still gets in.
    other = _login(
        client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy
    )
    assert other.status_code == 302


def test_password_validators_refuse_weak_passwords():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("12345678")
    with pytest.raises(ValidationError):
        validate_password("short")
    validate_password("Kd83-ms9q-Zp2x")


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_a_username_longer_than_any_is_a_wrong_login(client, url):
    """PostgreSQL refused to record the failure of such a login (a 500)."""
    username = "a" * 300
    answer = client.post(url, {"username": username, "password": "x"})
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "正しいユーザー名とパスワードを入力してください" in body
    assert f'value="{username}"' in body


@pytest.mark.parametrize(
    ("cool_off_hours", "says"),
    [
        (
            1.0,
            "ログインを1時間停止しました。1時間たってから再度お試しください。"
            '</p>\n  <p id="forgot-password">パスワードをお忘れの場合は、'
            "メールで再設定できます。再設定すると、すぐにログインできます。\n"
            '    <a href="/password/reset/">パスワードをお忘れの方</a></p>\n'
            '  <p class="helptext" id="forgot-password-phone">メールアドレスを'
            "ご登録でない場合は、株式会社東京電話秘書（03-1234-5678）までお電話ください。",
        ),
        (
            0.5,
            "ログインを30分停止しました。30分たってから再度お試しください。",
        ),
        # Under a minute: rounded up, never "0分" nor no time at all.
        (0.01, "ログインを1分停止しました。1分たってから再度お試しください。"),
    ],
)
def test_the_lockout_page_says_when_to_try_again_and_whom_to_call(
    client, settings, cool_off_hours, says
):
    """A client has no 管理者 of its own to ask: the page names the company and
    its number, as the login page does."""
    settings.AXES_COOLOFF_TIME = cool_off_hours
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    settings.COMPANY_PHONE = "03-1234-5678"
    user = OperatorFactory()
    _fail_until_locked(client, settings, user.username)
    page = _login(client, user.username, PASSWORD)
    assert page.status_code == 429
    body = page.content.decode()
    assert says in body
    assert "管理者" not in body
