"""Web login against the real server and a real vault: lockout shared with the desktop, the
session cookie, expiry, CSRF, and no secret in any response or log line."""

from __future__ import annotations

import json
import logging
import time

import pytest

from sentinel.services.access.lockout import MAX_TRIES
from sentinel.services.access.vault import Vault
from sentinel.services.web.sessions import COOKIE, IDLE_S, MAX_AGE_S, Sessions
from tests.helpers.http_client import exchange
from tests.helpers.web_scene import ADMIN_PASSWORD, PRIVACY_PASSWORD, Scene

SECRET_WEBHOOK_PART = "SceneSecret"


class Http:
    """http.client against the scene; keeps every raw response to look for secrets."""

    def __init__(self, scene: Scene):
        self.port = scene.api.address[1]
        self.raw: list[str] = []

    def call(self, method: str, path: str, body=None, headers: dict | None = None):
        hdrs = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        resp, raw, head = exchange(self.port, method, path, data, hdrs)
        self.raw.append(head + raw.decode("utf-8", "replace"))
        return resp, json.loads(raw) if raw and resp.getheader("Content-Type", "").startswith("application/json") else raw

    def login(self, password: str = ADMIN_PASSWORD):
        resp, body = self.call("POST", "/api/login", {"password": password})
        cookie = resp.getheader("Set-Cookie") or ""
        return resp, body, cookie.split(";", 1)[0]


@pytest.fixture
def scene(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    built = Scene(tmp_path)
    yield built
    built.close()
    text = caplog.text + built.log_file.read_text()
    for secret in (ADMIN_PASSWORD, PRIVACY_PASSWORD, built.token):
        assert secret not in text, "a secret reached the log"


def assert_no_secrets(client: Http, scene: Scene) -> None:
    for raw in client.raw:
        for secret in (ADMIN_PASSWORD, PRIVACY_PASSWORD, scene.token, SECRET_WEBHOOK_PART):
            assert secret not in raw


def test_login_gives_an_httponly_strict_cookie_that_opens_the_api_until_logout(scene):
    client = Http(scene)
    resp, body, cookie = client.login()
    assert resp.status == 200 and body["logged_in"] is True and body["csrf"]
    attributes = resp.getheader("Set-Cookie").split("; ")
    assert attributes[0].startswith(COOKIE + "=") and "HttpOnly" in attributes
    assert "SameSite=Strict" in attributes and "Path=/" in attributes
    for path in ("/api/status", "/api/logs?lines=5", "/api/config"):
        assert client.call("GET", path, headers={"Cookie": cookie})[0].status == 200
    session = client.call("GET", "/api/session", headers={"Cookie": cookie})[1]
    assert session["logged_in"] is True and session["csrf"] == body["csrf"]
    resp, _ = client.call("POST", "/api/logout", {}, headers={"Cookie": cookie})
    assert resp.status == 200 and "Max-Age=0" in resp.getheader("Set-Cookie")
    assert client.call("GET", "/api/status", headers={"Cookie": cookie})[0].status == 401
    assert_no_secrets(client, scene)


def test_without_a_login_a_cookie_gets_401_and_the_page_shows_the_login(scene):
    client = Http(scene)
    forged = {"Cookie": f"{COOKIE}=forged-session-id"}
    for path in ("/api/status", "/events", "/api/logs", "/api/config", "/metrics"):
        resp, body = client.call("GET", path, headers=forged)
        assert resp.status == 401, path
        assert body["errors"][0]["message"]
    resp, page = client.call("GET", "/")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/html")
    assert b'id="login-form"' in page and b"Content-Security-Policy" not in page
    assert "default-src 'none'" in resp.getheader("Content-Security-Policy")
    assert client.call("GET", "/api/session", headers=forged)[1]["logged_in"] is False
    assert_no_secrets(client, scene)


def test_wrong_passwords_lock_out_and_the_lockout_is_the_desktops(scene):
    client = Http(scene)
    for n in range(1, MAX_TRIES):
        resp, body, cookie = client.login("wrong-password")
        assert resp.status == 401 and cookie == ""
        assert f"{MAX_TRIES - n} tries left" in body["errors"][0]["message"]
    resp, body, _ = client.login("wrong-password")
    assert resp.status == 429 and int(resp.getheader("Retry-After")) > 0
    resp, body, cookie = client.login()  # the right password, while locked
    assert resp.status == 429 and cookie == ""
    desktop = Vault(scene.data)  # the desktop's view of the same vault files
    desktop.check(0)
    assert desktop.remaining_lock_s("admin", time.time()) > 0
    assert_no_secrets(client, scene)


def test_a_lockout_from_the_desktop_locks_the_web_login_too(scene):
    for _ in range(MAX_TRIES):  # wrong passwords typed into the desktop's Exit dialog
        scene.vault.verify("admin", "wrong-at-the-desk", time.time(), action="exit")
    resp, _, cookie = Http(scene).login()
    assert resp.status == 429 and cookie == ""


def test_cross_site_posts_are_refused_and_scripts_keep_the_bearer_token(scene):
    client = Http(scene)
    _, body, cookie = client.login()
    csrf = body["csrf"]
    change = {"discord_settings": {"shop_name": "Hijacked"}}
    own = f"http://127.0.0.1:{client.port}"
    for headers in ({"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "http://evil.example"},
                    {"Cookie": cookie, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
                    {"Cookie": cookie, "Origin": own},
                    {"Cookie": cookie, "X-CSRF-Token": "not-the-token", "Origin": own}):
        resp, body = client.call("POST", "/api/config", change, headers=headers)
        assert resp.status == 403, headers
    assert "Hijacked" not in scene.config_path.read_text()
    resp, _ = client.call("POST", "/api/login", {"password": ADMIN_PASSWORD}, headers={"Origin": "http://evil.example"})
    assert resp.status == 403, "no login from another site"
    resp, _ = client.call("POST", "/api/config", change,
                          headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert resp.status == 200 and "Hijacked" in scene.config_path.read_text()
    resp, _ = client.call("POST", "/api/config", {"discord_settings": {"shop_name": "Script"}},
                          headers={"Authorization": f"Bearer {scene.token}"})
    assert resp.status == 200, "a script with the token needs no CSRF token"
    assert_no_secrets(client, scene)


def test_login_without_an_admin_password_set_up_says_so(tmp_path):
    scene = Scene(tmp_path)
    scene.api._verify_admin = lambda password: None
    try:
        resp, body, cookie = Http(scene).login()
        assert resp.status == 503 and "no admin password" in body["errors"][0]["message"] and cookie == ""
    finally:
        scene.close()


def test_sessions_expire_when_idle_and_at_their_maximum_age():
    sessions = Sessions()
    first = sessions.create(1000.0)
    assert sessions.get(first.sid, 1000.0 + IDLE_S - 1) is not None
    assert sessions.get(first.sid, 1000.0 + 2 * IDLE_S - 2) is not None, "use keeps it alive"
    assert sessions.get(first.sid, 1000.0 + 3 * IDLE_S) is None, "idle too long"
    assert sessions.get(first.sid, 1000.0) is None, "an expired session is gone for good"
    busy = sessions.create(0.0)
    now = 0.0
    while now + IDLE_S / 2 < MAX_AGE_S:
        now += IDLE_S / 2
        assert sessions.get(busy.sid, now) is not None
    assert sessions.get(busy.sid, MAX_AGE_S + 1) is None, "used all day, still ends"
    assert sessions.get("", 0.0) is None and sessions.get(None, 0.0) is None
    other = sessions.create(0.0)
    sessions.drop(other.sid)
    assert sessions.get(other.sid, 0.0) is None


def test_the_settings_layout_and_plain_words_come_with_the_api(scene):
    client = Http(scene)
    bearer = {"Authorization": f"Bearer {scene.token}"}
    resp, form = client.call("GET", "/api/config/form", headers=bearer)
    assert resp.status == 200 and form["tabs"][0]["title"] == "Network"
    paths = {f["path"] for tab in form["tabs"] for group in tab["groups"] for f in group["fields"]}
    assert {"targets.router", "monitor_settings.pc_count", "discord_settings.webhook_alerts"} <= paths
    resp, body = client.call("POST", "/api/config", {"monitor_settings": {"pc_count": 300}}, headers=bearer)
    assert resp.status == 400
    [problem] = body["errors"]
    assert problem["path"] == "monitor_settings.pc_count" and "(got 300)" in problem["message"]
    assert "(you typed 300)" in problem["plain"], "the Settings form's words beside the script's"
    scene.api._settings_form = lambda: None
    assert client.call("GET", "/api/config/form", headers=bearer)[0].status == 404
