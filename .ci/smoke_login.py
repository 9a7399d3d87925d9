"""Log in as each demo user on a running server and fetch a page behind login."""

import re
import sys

import requests

base = sys.argv[1].rstrip("/")
for username in ("operator", "admin", "client"):
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    page.raise_for_status()
    assert "ログイン" in page.text, "login page is not in Japanese"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/login/",
        data={
            "username": username,
            "password": "demo-pass-2026",
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    answer.raise_for_status()
    assert "/login/" not in answer.url, f"{username}: login failed ({answer.url})"
    behind = session.get(f"{base}/", timeout=10)
    behind.raise_for_status()
    assert "/login/" not in behind.url, (
        f"{username}: page behind login redirected to login"
    )
    print(f"smoke: {username} logged in and reached {behind.url}")
