"""Every user changes their own password: operators and admins on the staff page,
client users in the portal. Other sessions of the user end; this one stays."""

import pytest
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

# role: (factory, the page the header links from, the password page, its done page)
ROLES = {
    "operator": (OperatorFactory, "console:home", "password_change", "/password/done/"),
    "admin": (AdminFactory, "billing:month", "password_change", "/password/done/"),
    "client": (
        ClientUserFactory,
        "portal:home",
        "portal:password_change",
        "/portal/password/done/",
    ),
}


def _change(browser, url, old=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return browser.post(
        url,
        {
            "old_password": old,
            "new_password1": new,
            "new_password2": new if confirm is None else confirm,
        },
    )


def _logs_in(username, password) -> bool:
    answer = Browser().post(
        reverse("login"), {"username": username, "password": password}
    )
    return answer.status_code == 302


def _is_logged_in(browser) -> bool:
    return browser.get(reverse("home")).url in ("/operator/", "/portal/")


@pytest.mark.parametrize("role", ROLES)
def test_the_header_of_each_role_links_to_its_password_page(client, role):
    factory, start, page, _done = ROLES[role]
    client.force_login(factory())
    header = client.get(reverse(start)).content.decode()
    assert f'<a href="{reverse(page)}">パスワードの変更</a>' in header


@pytest.mark.parametrize("role", ROLES)
def test_the_page_renders_in_japanese_for_each_role(client, role):
    factory, _start, page, _done = ROLES[role]
    client.force_login(factory())
    response = client.get(reverse(page))
    text = response.content.decode()
    assert response.status_code == 200
    assert "<h1>パスワードの変更</h1>" in text
    assert "元のパスワード" in text
    assert "パスワードは最低 8 文字以上必要です。" in text  # the validators' help
    # Client users keep the portal's menu; staff keep theirs.
    assert ("受電履歴" in text) == (role == "client")


@pytest.mark.parametrize("role", ROLES)
def test_a_change_keeps_this_session_and_the_new_password_logs_in(client, role):
    factory, _start, page, done = ROLES[role]
    user = factory()
    client.force_login(user)

    answer = _change(client, reverse(page))

    assert answer.status_code == 302
    assert answer.url == done
    confirmation = client.get(answer.url).content.decode()
    assert "パスワードを変更しました" in confirmation
    assert _is_logged_in(client)
    assert _logs_in(user.username, NEW_PASSWORD)
    assert not _logs_in(user.username, PASSWORD)


def test_a_wrong_old_password_is_refused_and_the_user_stays_logged_in(client):
    user = OperatorFactory()
    client.force_login(user)

    answer = _change(client, reverse("password_change"), old="not-my-password")

    assert answer.status_code == 200
    assert (
        "元のパスワードが間違っています。もう一度入力してください。"
        in answer.content.decode()
    )
    assert _is_logged_in(client)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("new", "confirm", "messages"),
    [
        (
            "12345678",
            None,
            [
                "このパスワードは一般的すぎます。",
                "このパスワードは数字しか使われていません。",
            ],
        ),
        ("Kd83-ms", None, ["このパスワードは短すぎます。最低 8 文字以上必要です。"]),
        (NEW_PASSWORD, NEW_PASSWORD + "x", ["確認用パスワードが一致しません。"]),
    ],
)
def test_a_refused_new_password_says_why_in_japanese(
    client, client_user, new, confirm, messages
):
    client.force_login(client_user)
    answer = _change(
        client, reverse("portal:password_change"), new=new, confirm=confirm
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    for message in messages:
        assert message in text
    client_user.refresh_from_db()
    assert client_user.check_password(PASSWORD)


def test_the_change_logs_the_users_other_sessions_out(client):
    user, colleague = OperatorFactory(), OperatorFactory()
    other_pc, colleagues_pc = Browser(), Browser()
    for browser, who in ((client, user), (other_pc, user), (colleagues_pc, colleague)):
        browser.force_login(who)

    _change(client, reverse("password_change"))

    assert _is_logged_in(client)
    assert other_pc.get(reverse("console:home")).url.startswith("/login/")
    assert _is_logged_in(colleagues_pc)


@pytest.mark.parametrize("page", ["password_change", "portal:password_change"])
def test_an_anonymous_visitor_is_sent_to_log_in(client, page):
    answer = client.get(reverse(page))
    assert answer.status_code == 302
    assert answer.url == f"/login/?next={reverse(page)}"


def test_wrong_old_passwords_count_towards_the_login_lockout(client, settings):
    # Else a session left open on a shared PC could guess its password here.
    user = OperatorFactory()
    client.force_login(user)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _change(client, reverse("password_change"), old="guess")

    locked = _change(client, reverse("password_change"))

    assert locked.status_code == 429
    assert "ログインを一時的に停止しています" in locked.content.decode()
    # How long, from AXES_COOLOFF_HOURS (1 by default): not "for a while".
    assert "ログインを1時間停止しました。1時間たってから" in locked.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not _logs_in(user.username, PASSWORD)


def test_the_admin_sites_password_link_opens_the_staff_page(admin_client):
    answer = admin_client.get(reverse("admin:password_change"))
    assert answer.status_code == 302
    assert answer.url == reverse("password_change")
    done = admin_client.get(reverse("admin:password_change_done"))
    assert done.url == reverse("password_change_done")


def test_an_admin_sets_their_own_password_only_on_the_staff_page(client):
    admin = AdminFactory()
    client.force_login(admin)
    own = reverse("admin:auth_user_password_change", args=[admin.pk])
    new = {"password1": "Kd83-ms9q-Zp2x", "password2": "Kd83-ms9q-Zp2x"}

    answer = client.post(own, {**new, "usable_password": "true"})

    assert answer.status_code == 302 and answer.url == reverse("password_change")
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)
    # Another user's password is still set here, as admins help those who forgot.
    operator = OperatorFactory()
    other = reverse("admin:auth_user_password_change", args=[operator.pk])
    assert client.post(other, {**new, "usable_password": "true"}).status_code == 302
    operator.refresh_from_db()
    assert operator.check_password(new["password1"])


def test_the_confirmation_field_reads_with_full_width_brackets(client):
    # Django's own Japanese label has half-width ones: 新しいパスワード(確認用).
    client.force_login(OperatorFactory())
    page = client.get(reverse("password_change")).content.decode()
    assert "新しいパスワード（確認用）" in page


@pytest.mark.parametrize("role", ROLES)
def test_the_page_has_its_heading_above_the_card_and_the_portal_a_way_home(
    client, role
):
    factory, _start, page, _done = ROLES[role]
    client.force_login(factory())
    body = client.get(reverse(page)).content.decode()
    assert body.index("<h1>パスワードの変更</h1>") < body.index(
        '<section class="card">'
    )
    back = f'<a href="{reverse("portal:home")}">← ホームへ戻る</a>'
    assert (back in body) == (role == "client")
