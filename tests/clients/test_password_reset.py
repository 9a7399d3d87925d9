"""パスワードをお忘れの方: everyone who logs in (client users, operators,
admins) asks for a link by e-mail on the login page, sets a new password there
and logs in with it; the link works once and for a day, and nobody learns
which addresses are users' or floods a mailbox."""

import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import redis
from django.core import mail
from django.test import Client as Browser
from django.urls import reverse

from tests.factories import (
    PASSWORD,
    AdminFactory,
    ClientUserFactory,
    OperatorFactory,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Kd83-ms9q-Zp2x"
SENT = "メールを送信しました"
LINK = re.compile(r"https?://\S+/password/reset/[^/\s]+/[^/\s]+/")


def _ask(browser, email, **meta):
    return browser.post(reverse("password_reset"), {"email": email}, **meta)


def _link_in(body: str) -> str:
    found = LINK.findall(body)
    assert len(found) == 1, body
    return found[0]


def _path(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def _set_password(browser, link, new=NEW_PASSWORD, confirm=None):
    """Opens the mailed link (Django then moves the token out of the address)
    and sends the new password; the answer to the POST."""
    form = browser.get(_path(link), follow=True)
    assert form.status_code == 200
    assert "新しいパスワードの設定" in form.content.decode()
    return browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": new, "new_password2": new if confirm is None else confirm},
    )


def _logs_in(username, password, **meta) -> bool:
    answer = Browser().post(
        reverse("login"), {"username": username, "password": password}, **meta
    )
    return answer.status_code == 302


def _is_logged_in(browser) -> bool:
    answer = browser.get(reverse("home"))
    return answer.status_code == 302 and not answer.url.startswith("/login/")


def test_the_login_and_lockout_pages_link_to_it_and_keep_the_phone(client, settings):
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    settings.COMPANY_PHONE = "03-1234-5678"
    login = client.get(reverse("login")).content.decode()
    assert f'<a href="{reverse("password_reset")}">パスワードをお忘れの方</a>' in login
    assert (
        "メールアドレスをご登録でない場合は、株式会社東京電話秘書（03-1234-5678）"
        "までお電話ください。"
    ) in login

    user = OperatorFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.username, "password": "x"})
    locked = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}
    )
    assert locked.status_code == 429
    body = locked.content.decode()
    assert f'<a href="{reverse("password_reset")}">パスワードをお忘れの方</a>' in body
    assert "株式会社東京電話秘書（03-1234-5678）までお電話ください。" in body


@pytest.mark.parametrize("factory", [ClientUserFactory, OperatorFactory, AdminFactory])
def test_the_whole_way_back_in_for_each_role(client, smtp_peer, settings, factory):
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    settings.COMPANY_PHONE = "03-1234-5678"
    user = factory(email="yamada@example.jp", first_name="太郎", last_name="山田")
    other_pc = Browser()
    other_pc.force_login(user)

    answer = _ask(client, "yamada@example.jp")

    assert answer.status_code == 302
    sent = client.get(answer.url).content.decode()
    assert SENT in sent and "24時間" in sent
    assert smtp_peer.count() == 1
    message = smtp_peer.messages[0]
    assert message["to"] == ["yamada@example.jp"]
    assert message["subject"] == "【株式会社東京電話秘書】パスワード再設定のご案内"
    assert message["headers"]["auto-submitted"] == "auto-generated"
    body = message["body"]
    assert "山田 太郎 様" in body or "太郎 山田 様" in body
    assert f"ログインするユーザー名: {user.username}" in body
    assert "このリンクの有効期限は24時間" in body
    assert "1回だけ使えます" in body
    assert "お心当たりがない場合は、このメールを削除してください" in body
    assert "株式会社東京電話秘書（03-1234-5678）までお電話ください" in body

    done = _set_password(client, _link_in(body))

    assert done.status_code == 302
    complete = client.get(done.url).content.decode()
    assert "パスワードを設定しました" in complete
    assert _logs_in(user.username, NEW_PASSWORD)
    assert not _logs_in(user.username, PASSWORD)
    # The session of another PC (or of whoever had the old password) is over.
    assert not _is_logged_in(other_pc)


def test_the_link_works_once(client):
    user = OperatorFactory(email="yamada@example.jp")
    _ask(client, "yamada@example.jp")
    link = _link_in(mail.outbox[0].body)
    assert _set_password(Browser(), link).status_code == 302

    again = Browser().get(_path(link), follow=True)

    assert again.status_code == 200
    page = again.content.decode()
    assert "このリンクは使えません" in page
    assert f'<a href="{reverse("password_reset")}">' in page
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_expired_link_says_so_and_leads_to_ask_again(client, settings):
    user = OperatorFactory(email="yamada@example.jp")
    _ask(client, "yamada@example.jp")
    link = _link_in(mail.outbox[0].body)
    settings.PASSWORD_RESET_TIMEOUT = -1  # a day went by

    page = client.get(_path(link), follow=True)

    assert page.status_code == 200
    text = page.content.decode()
    assert "このリンクは使えません" in text
    assert "有効期限" in text
    assert f'<a href="{reverse("password_reset")}">' in text
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("uidb64", "token"),
    [
        ("MQ", "bad-token"),
        ("!!!", "set-password"),
        ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk", "abc-def"),
        ("x" * 300, "y" * 300),
    ],
)
def test_a_broken_link_is_a_page_not_an_error(client, uidb64, token):
    url = reverse("password_reset_confirm", args=[uidb64, token])
    for answer in (
        client.get(url, follow=True),
        client.post(url, {"new_password1": NEW_PASSWORD}),
    ):
        assert answer.status_code == 200
        assert "このリンクは使えません" in answer.content.decode()


def test_the_same_answer_whether_or_not_the_address_is_a_users(client):
    OperatorFactory(email="yamada@example.jp")
    OperatorFactory(email="retired@example.jp", is_active=False)
    nobody = OperatorFactory(email="nopassword@example.jp")
    nobody.set_unusable_password()
    nobody.save()

    answers = [
        _ask(Browser(), email)
        for email in (
            "yamada@example.jp",
            "unknown@example.jp",
            "retired@example.jp",
            "nopassword@example.jp",
        )
    ]

    assert {(a.status_code, a.url) for a in answers} == {
        (302, reverse("password_reset_done"))
    }
    assert [m.to for m in mail.outbox] == [["yamada@example.jp"]]


def test_an_address_typed_full_width_or_in_capitals_is_found(client):
    OperatorFactory(email="yamada@example.jp")
    _ask(client, "ＹＡＭＡＤＡ＠ｅｘａｍｐｌｅ．ｊｐ")
    assert [m.to for m in mail.outbox] == [["yamada@example.jp"]]


def test_an_address_stored_full_width_or_in_capitals_is_found(client):
    """Addresses saved before the forms read them as typed (full-width, with
    a space, in capitals): the half-width one typed now finds each user, and
    the mail goes to the address half-width."""
    full_width = OperatorFactory(email="ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ")
    capitals = ClientUserFactory(email="Keiri@Example.JP\u3000")

    yamada = _ask(Browser(), "yamada@example.jp")
    keiri = _ask(Browser(), "keiri@example.jp")

    assert {(a.status_code, a.url) for a in (yamada, keiri)} == {
        (302, reverse("password_reset_done"))
    }
    assert [m.to for m in mail.outbox] == [
        ["yamada@example.jp"],
        ["Keiri@Example.JP"],
    ]
    assert f"ユーザー名: {full_width.username}" in mail.outbox[0].body
    assert f"ユーザー名: {capitals.username}" in mail.outbox[1].body


def test_each_user_with_the_address_gets_their_own_mail_once(client):
    office = OperatorFactory(email="info@example.jp")
    portal = ClientUserFactory(email="ＩＮＦＯ＠ｅｘａｍｐｌｅ．ｊｐ")
    retired = OperatorFactory(email="ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｊｐ", is_active=False)
    invited = ClientUserFactory(email="Info@example.jp ")
    invited.set_unusable_password()  # not yet set: the invitation's, not this
    invited.save()
    OperatorFactory(email="ｉｎｆｏ２＠ｅｘａｍｐｌｅ．ｊｐ")

    answer = _ask(client, "info@example.jp")

    assert answer.url == reverse("password_reset_done")
    assert sorted(
        (m.to, re.search(r"ユーザー名: (\S+)", m.body)[1]) for m in mail.outbox
    ) == sorted(
        [
            (["info@example.jp"], office.username),
            (["INFO@example.jp"], portal.username),
        ]
    )
    assert retired.username not in str([m.body for m in mail.outbox])


def test_an_unknown_address_gets_the_same_page_and_no_mail(client):
    OperatorFactory(email="ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ")

    known = _ask(Browser(), "yamada@example.jp", follow=True)
    unknown = _ask(Browser(), "yamada2@example.jp", follow=True)

    def page(answer) -> str:  # each browser has its own CSRF token
        return re.sub(r'value="[^"]{64}"', "", answer.content.decode())

    assert known.redirect_chain == unknown.redirect_chain
    assert page(known) == page(unknown)
    assert SENT in page(known)
    assert [m.to for m in mail.outbox] == [["yamada@example.jp"]]


def test_a_weak_new_password_is_refused_in_japanese(client):
    user = OperatorFactory(email="yamada@example.jp", username="yamada-taro")
    _ask(client, "yamada@example.jp")

    answer = _set_password(client, _link_in(mail.outbox[0].body), new="12345678")

    text = answer.content.decode()
    assert answer.status_code == 200
    assert "このパスワードは一般的すぎます。" in text
    assert "このパスワードは数字しか使われていません。" in text
    assert "新しいパスワード（確認用）" in text
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_locked_out_user_resets_and_logs_in_at_once(client, settings):
    user = ClientUserFactory(email="yamada@example.jp")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.username, "password": "x"})
    assert not _logs_in(user.username, PASSWORD)

    _ask(client, "yamada@example.jp")
    _set_password(client, _link_in(mail.outbox[0].body))

    browser = Browser()
    answer = browser.post(
        reverse("login"), {"username": user.username, "password": NEW_PASSWORD}
    )
    assert answer.status_code == 302
    assert _is_logged_in(browser)


def _redis_url() -> str | None:
    """The Redis that CI runs (CELERY_BROKER_URL), on a database of its own."""
    url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if not url or not url.startswith("redis://"):
        return None
    url = re.sub(r"/\d*$", "", url) + "/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request, settings):
    """The limit counts in the cache: the per-process default and Redis
    (docker-compose's CACHE_URL) alike."""
    if request.param == "redis":
        url = _redis_url()
        if url is None:
            pytest.skip("no Redis: set CELERY_BROKER_URL=redis://host:6379/0")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            }
        }
    return request.param


def test_one_address_is_not_flooded(client, settings, cache_backend):
    settings.PASSWORD_RESET_PER_EMAIL = 3
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    settings.COMPANY_PHONE = "03-1234-5678"
    OperatorFactory(email="yamada@example.jp")
    # From different addresses, and typed in other ways: still one mailbox.
    typed = [
        "yamada@example.jp",
        "YAMADA@example.jp",
        "ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ",
    ]
    for n, email in enumerate(typed):
        assert _ask(client, email, REMOTE_ADDR=f"198.51.100.{n}").status_code == 302

    refused = _ask(client, "yamada@example.jp", REMOTE_ADDR="198.51.100.9")

    assert refused.status_code == 200
    text = refused.content.decode()
    assert (
        "パスワード再設定のお申し込みが続いたため、しばらく受け付けられません。" in text
    )
    assert "1時間ほどたってから" in text
    assert "株式会社東京電話秘書（03-1234-5678）までお電話ください。" in text
    assert len(mail.outbox) == 3
    # Another address is not held up by it.
    OperatorFactory(email="sato@example.jp")
    assert (
        _ask(client, "sato@example.jp", REMOTE_ADDR="198.51.100.9").status_code == 302
    )
    assert len(mail.outbox) == 4


def test_an_unknown_address_is_limited_as_a_users_would_be(client, settings):
    # Else the limit's message would tell which addresses are users'.
    settings.PASSWORD_RESET_PER_EMAIL = 2
    for _ in range(2):
        assert _ask(client, "unknown@example.jp").status_code == 302
    assert _ask(client, "unknown@example.jp").status_code == 200


def test_one_client_address_is_limited_across_addresses(
    client, settings, cache_backend
):
    settings.PASSWORD_RESET_PER_IP = 3
    settings.PROXY_COUNT = 1
    users = [OperatorFactory(email=f"op{n}@example.jp") for n in range(5)]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for user in users[:3]:
        # The client forges a first entry each time; our proxy adds the real one.
        forged = f"203.0.113.{user.pk % 200}, 198.51.100.7"
        assert _ask(client, user.email, HTTP_X_FORWARDED_FOR=forged, **proxy).url

    refused = _ask(client, users[3].email, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)

    assert refused.status_code == 200
    assert "しばらく受け付けられません" in refused.content.decode()
    assert len(mail.outbox) == 3
    # Another office behind the same proxy is not.
    other = _ask(client, users[4].email, HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy)
    assert other.status_code == 302
    assert len(mail.outbox) == 4


def test_an_ipv6_client_cannot_escape_the_limit_by_changing_address(client, settings):
    settings.PASSWORD_RESET_PER_IP = 2
    for n in range(2):
        _ask(client, f"a{n}@example.jp", REMOTE_ADDR=f"2001:db8:1:2::{n + 1}")
    refused = _ask(client, "a9@example.jp", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert refused.status_code == 200


def test_a_mail_server_that_is_down_changes_nothing_the_visitor_sees(
    client, smtp_peer, caplog
):
    OperatorFactory(email="yamada@example.jp")
    smtp_peer.mode = "perm"

    answer = _ask(client, "yamada@example.jp")

    assert answer.status_code == 302
    assert answer.url == reverse("password_reset_done")
    assert "not sent" in caplog.text


# The admin's login invitation: the same link, for a user the office set up.


def _invite(admin_client, *users, **extra):
    return admin_client.post(
        reverse("admin:clients_user_changelist"),
        {
            "action": "send_login_invitation",
            "_selected_action": [u.pk for u in users],
            **extra,
        },
        follow=True,
    )


def test_an_admin_sends_a_client_user_a_login_invitation(admin_client, settings):
    settings.COMPANY_NAME = "株式会社東京電話秘書"
    user = ClientUserFactory(email="keiri@example.jp")
    user.set_unusable_password()  # a new portal user, with no password yet
    user.save()

    page = _invite(admin_client, user).content.decode()

    assert "ログイン案内メールを送信しました" in page
    assert "keiri@example.jp" in page
    (message,) = mail.outbox
    assert message.to == ["keiri@example.jp"]
    assert (
        message.subject
        == "【株式会社東京電話秘書】ログインのご案内（パスワードの設定）"
    )
    assert f"ログインするユーザー名: {user.username}" in message.body
    assert "有効期限は24時間" in message.body
    browser = Browser()
    assert _set_password(browser, _link_in(message.body)).status_code == 302
    assert _logs_in(user.username, NEW_PASSWORD)


def test_the_invitation_skips_users_without_an_address_or_inactive(admin_client):
    no_address = ClientUserFactory(email="")
    inactive = ClientUserFactory(email="old@example.jp", is_active=False)
    ready = ClientUserFactory(email="new@example.jp")

    page = _invite(admin_client, no_address, inactive, ready).content.decode()

    assert [m.to for m in mail.outbox] == [["new@example.jp"]]
    assert "送っていません" in page
    assert no_address.username in page and inactive.username in page


def test_the_users_page_has_the_button_and_comes_back_to_it(admin_client):
    user = ClientUserFactory(email="keiri@example.jp")
    url = reverse("admin:clients_user_change", args=[user.pk])
    page = admin_client.get(url).content.decode()
    assert "ログイン案内（パスワード設定）メールを送る" in page

    answer = _invite(admin_client, user, from_change_page="1")

    assert answer.redirect_chain[-1][0] == url
    assert "ログイン案内メールを送信しました" in answer.content.decode()
    assert len(mail.outbox) == 1
    # Not offered for a user the mail cannot reach.
    silent = ClientUserFactory(email="")
    silent_page = admin_client.get(
        reverse("admin:clients_user_change", args=[silent.pk])
    ).content.decode()
    assert "ログイン案内（パスワード設定）メールを送る" not in silent_page


def test_only_admins_send_invitations(client):
    user = ClientUserFactory(email="keiri@example.jp")
    for who in (OperatorFactory(), ClientUserFactory()):
        client.force_login(who)
        _invite(client, user)
    assert mail.outbox == []


def test_the_admin_sites_login_links_to_it_too(client):
    page = client.get(reverse("admin:login")).content.decode()
    assert f'<a href="{reverse("password_reset")}">パスワードをお忘れの方</a>' in page


def test_the_link_is_on_the_portals_address_when_it_is_set(client, settings):
    # Not on whatever host a request named: the address clients are told.
    OperatorFactory(email="yamada@example.jp")
    settings.PORTAL_BASE_URL = "https://portal.example.jp"
    settings.ALLOWED_HOSTS = ["testserver", "other.example.jp"]
    _ask(client, "yamada@example.jp", HTTP_HOST="other.example.jp")
    assert _link_in(mail.outbox[0].body).startswith(
        "https://portal.example.jp/password/reset/"
    )

    settings.PORTAL_BASE_URL = ""
    _ask(client, "yamada@example.jp")
    assert _link_in(mail.outbox[1].body).startswith("http://testserver/password/reset/")


@pytest.mark.parametrize(
    "typed",
    [
        {"new_password1": "\x00", "new_password2": "\x00"},
        {"new_password1": "あ" * 5000, "new_password2": "い"},
        {"new_password1": ["a", "b"]},
        {},
    ],
)
def test_hostile_input_on_a_valid_links_page_is_refused_in_japanese(client, typed):
    user = OperatorFactory(email="yamada@example.jp")
    _ask(client, "yamada@example.jp")
    form = client.get(_path(_link_in(mail.outbox[0].body)), follow=True)

    answer = client.post(form.redirect_chain[-1][0], typed)

    assert answer.status_code == 200
    assert 'class="errors"' in answer.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_answer_does_not_wait_for_the_mail_server(
    live_server, transactional_db, smtp_peer
):
    """Else a slow answer tells that an address is a user's: the page is out
    before the mail is sent."""
    OperatorFactory(email="yamada@example.jp")
    smtp_peer.data_delay = 2.0  # a mail server that takes its time
    url = f"{live_server.url}{reverse('password_reset')}"
    opener = urllib.request.build_opener(_NoRedirect)
    form = opener.open(url, timeout=10)
    cookie = form.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', form.read().decode()
    ).group(1)
    data = urllib.parse.urlencode(
        {"email": "yamada@example.jp", "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie})

    started = time.monotonic()
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as answer:
        status, location = answer.code, answer.headers["Location"]
    took = time.monotonic() - started

    assert (status, location) == (302, reverse("password_reset_done"))
    assert took < 1.5
    deadline = time.monotonic() + 10
    while smtp_peer.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert smtp_peer.by_address() == {"yamada@example.jp": 1}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None
