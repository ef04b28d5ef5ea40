"""The local API against a real server on 127.0.0.1 (port 0): auth, masking, config writes,
limits, error statuses, timeouts, and a seeded fuzz pass over raw sockets."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from sentinel.config.model import ApiSettings, Config, DiscordSettings, list_backups, parse_config, save_config
from sentinel.services.web import api as api_module
from sentinel.services.web import http as http_module
from sentinel.services.web.api import ApiServer, ensure_api_token
from sentinel.services.web.inputs import unmask_webhooks
from tests.helpers.http_client import exchange

ALERTS = "https://discord.com/api/v10/webhooks/111111/AlertSecretAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
OCCUPANCY = "http://127.0.0.1:9/api/webhooks/222222/OccSecretBBBBBBBBBBBBBBBBBBBBBBBB"
SECRETS = ("AlertSecret", "OccSecret")
STATUS = {"configured": True, "targets": [{"component": "router", "health": "up"}], "in_session": 3}


class Client:
    """http.client against the test server; keeps every raw response for the masking checks."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.raw_responses: list[bytes] = []

    def call(self, method: str, path: str, body=None, *, token: str | None = "default",
             headers: dict | None = None):
        hdrs = dict(headers or {})
        if token == "default":
            token = self.token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        resp, data, head = exchange(self.port, method, path, body, hdrs)
        self.raw_responses.append(head.encode() + data)
        payload = json.loads(data) if data else None
        return resp.status, resp, payload

    def assert_no_secrets(self):
        assert self.raw_responses
        for raw in self.raw_responses:
            text = raw.decode("utf-8", "replace")
            for secret in SECRETS + (self.token,):
                assert secret not in text
            assert "Traceback" not in text


class Providers:
    def __init__(self):
        self.limits: list[tuple[str, int]] = []
        self.in_force = Config()

    def status(self):
        return STATUS

    def incidents(self, limit):
        self.limits.append(("incidents", limit))
        return [{"cause": "ROUTER_DOWN", "n": i} for i in range(min(limit, 3))]

    def sessions(self, limit):
        self.limits.append(("sessions", limit))
        return [{"pc": "PC-1"}]


def seeded_config() -> Config:
    return Config(discord_settings=DiscordSettings(enabled=True, shop_name="Test Cafe",
                                                   webhook_alerts=ALERTS, webhook_occupancy=OCCUPANCY))


@pytest.fixture
def env(tmp_path):
    """A running ApiServer on a free loopback port with a config file holding two webhooks."""
    data = tmp_path / "data"
    config_path = tmp_path / "config.json"
    save_config(seeded_config(), config_path, data / "config_backups")
    for old in list_backups(data / "config_backups"):
        old.unlink()
    token = ensure_api_token(data)
    providers = Providers()
    providers.in_force = seeded_config()
    servers = []

    def make(settings=ApiSettings(port=0), **kwargs):
        server = ApiServer(settings, token, status=providers.status, incidents=providers.incidents,
                           sessions=providers.sessions, current_config=lambda: providers.in_force,
                           config_path=config_path, backup_dir=data / "config_backups", **kwargs)
        servers.append(server)
        return server

    server = make()
    assert server.start()

    class Env:
        pass

    e = Env()
    e.server, e.make, e.providers, e.token = server, make, providers, token
    e.config_path, e.backups, e.data = config_path, data / "config_backups", data
    e.client = Client(server.address[1], token)
    yield e
    for s in servers:
        s.stop()


def file_config(path: Path) -> Config:
    config, problems = parse_config(path.read_bytes())
    assert not problems
    return config


# -- token -------------------------------------------------------------------------------------

def test_token_is_created_once_private_and_reused(tmp_path):
    token = ensure_api_token(tmp_path)
    assert len(token) >= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert ensure_api_token(tmp_path) == token
    if os.name == "posix":
        assert (tmp_path / "api_token").stat().st_mode & 0o777 == 0o600


def test_damaged_token_file_is_replaced(tmp_path):
    (tmp_path / "api_token").write_text("short\n")
    token = ensure_api_token(tmp_path)
    assert token != "short" and (tmp_path / "api_token").read_text() == token


# -- auth --------------------------------------------------------------------------------------

def test_no_token_is_401_with_bearer_challenge(env, caplog):
    caplog.set_level("DEBUG")
    status, resp, body = env.client.call("GET", "/api/status", token=None)
    assert status == 401
    assert resp.getheader("WWW-Authenticate").startswith("Bearer")
    assert body["errors"][0]["path"] == ""
    status, resp, _ = env.client.call("GET", "/api/status", token="wrong-" + env.token[6:])
    assert status == 401 and 'error="invalid_token"' in resp.getheader("WWW-Authenticate")
    status, _, _ = env.client.call("GET", "/api/status", token=None,
                                   headers={"Authorization": f"Basic {env.token}"})
    assert status == 401
    status, _, _ = env.client.call("GET", "/api/nope", token=None)
    assert status == 401, "paths are not revealed without a token"
    status, _, body = env.client.call("GET", "/api/status")
    assert status == 200 and body == STATUS
    status, _, _ = env.client.call("GET", "/api/status", token=None,
                                   headers={"Authorization": f"bearer {env.token}"})
    assert status == 200, "the scheme is case-insensitive"
    assert env.token not in caplog.text
    env.client.assert_no_secrets()


def test_non_ascii_and_duplicate_authorization_headers_are_401(env):
    for extra in (b"Authorization: Bearer \xff\xfe\xe9\r\n",
                  b"Authorization: Bearer " + env.token.encode() + b"\r\nAuthorization: Bearer x\r\n"):
        reply = raw_exchange(env.server.address[1], b"GET /api/status HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
        assert parse_reply(reply)[0] == 401


# -- config ------------------------------------------------------------------------------------

def test_get_config_masks_every_webhook_token(env):
    status, resp, body = env.client.call("GET", "/api/config")
    assert status == 200 and resp.getheader("X-Config-Source") == "file"
    assert body["discord_settings"]["webhook_alerts"] == "https://discord.com/api/v10/webhooks/111111/***"
    assert body["discord_settings"]["webhook_occupancy"] == "http://127.0.0.1:9/api/webhooks/222222/***"
    assert body["discord_settings"]["webhook_screenshots"] == ""
    env.client.assert_no_secrets()


def test_round_trip_get_modify_post_keeps_tokens(env):
    _, _, body = env.client.call("GET", "/api/config")
    body["discord_settings"]["shop_name"] = "Renamed Cafe"
    body["monitor_settings"]["pc_count"] = 30
    status, _, saved = env.client.call("POST", "/api/config", body)
    assert status == 200
    assert saved["discord_settings"]["shop_name"] == "Renamed Cafe"
    assert saved["discord_settings"]["webhook_alerts"].endswith("/111111/***")
    on_disk = file_config(env.config_path)
    assert on_disk.discord_settings.webhook_alerts == ALERTS
    assert on_disk.discord_settings.webhook_occupancy == OCCUPANCY
    assert on_disk.monitor_settings.pc_count == 30
    assert len(list_backups(env.backups)) == 1
    env.client.assert_no_secrets()


def test_masked_form_of_a_non_normalised_url_still_means_keep(env):
    _, _, body = env.client.call("GET", "/api/config")
    body["discord_settings"]["webhook_alerts"] = "https://discordapp.com/api/webhooks/111111/***/"
    status, _, _ = env.client.call("POST", "/api/config", body)
    assert status == 200
    assert file_config(env.config_path).discord_settings.webhook_alerts == ALERTS


def test_masked_webhook_that_is_not_the_current_one_is_an_error(env):
    _, _, body = env.client.call("GET", "/api/config")
    body["discord_settings"]["webhook_screenshots"] = body["discord_settings"]["webhook_alerts"]
    body["discord_settings"]["webhook_occupancy"] = "http://127.0.0.1:9/api/webhooks/999/***"
    before = env.config_path.read_bytes()
    status, _, err = env.client.call("POST", "/api/config", body)
    assert status == 400
    paths = sorted(e["path"] for e in err["errors"])
    assert paths == ["discord_settings.webhook_occupancy", "discord_settings.webhook_screenshots"]
    assert env.config_path.read_bytes() == before
    assert list_backups(env.backups) == []


def test_a_full_url_replaces_the_webhook(env):
    _, _, body = env.client.call("GET", "/api/config")
    new = "https://discord.com/api/webhooks/333333/NewSecretCCCCCCCCCCCC"
    body["discord_settings"]["webhook_alerts"] = new
    status, _, saved = env.client.call("POST", "/api/config", body)
    assert status == 200 and "NewSecret" not in json.dumps(saved)
    assert file_config(env.config_path).discord_settings.webhook_alerts == \
        "https://discord.com/api/v10/webhooks/333333/NewSecretCCCCCCCCCCCC"


def test_validation_errors_list_json_paths_and_keep_the_file(env):
    _, _, body = env.client.call("GET", "/api/config")
    body["monitor_settings"]["pc_count"] = 300
    body["targets"]["router"] = 5
    body["api_settings"]["port"] = "5000"
    body["discord_settings"]["colour"] = "red"
    body["discord_settings"]["webhook_alerts"] = "https://example.org/api/webhooks/1/AlertSecretZZZZZ"
    before = env.config_path.read_bytes()
    status, _, err = env.client.call("POST", "/api/config", body)
    assert status == 400
    paths = {e["path"] for e in err["errors"]}
    assert paths == {"monitor_settings.pc_count", "targets.router", "api_settings.port",
                     "discord_settings.colour", "discord_settings.webhook_alerts"}
    assert all(isinstance(e["message"], str) and e["message"] for e in err["errors"])
    assert env.config_path.read_bytes() == before
    env.client.assert_no_secrets()


@pytest.mark.parametrize("body, fragment", [
    (b"{", "broken JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"targets": NaN}', "invalid JSON value"),
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b'{"monitor_settings": {"pc_count": 1' + b"0" * 5000 + b"}}", "invalid JSON value"),
    (b'{"monitor_settings": {"pc_count": 1' + b"0" * 400 + b"}}", ""),
    (b"[]", "must be an object"),
])
def test_bad_bodies_are_400(env, body, fragment):
    status, _, err = env.client.call("POST", "/api/config", body, headers={"Content-Type": "application/json"})
    assert status == 400
    assert fragment in err["errors"][0]["message"]


@pytest.mark.parametrize("headers", [
    {"Content-Type": "text/plain"},
    {"Content-Type": "application/json; charset=latin-1"},
    {},
])
def test_wrong_content_type_is_400(env, headers):
    status, _, err = env.client.call("POST", "/api/config", b"{}", headers=headers)
    assert status == 400 and "Content-Type" in err["errors"][0]["message"]


def test_missing_length_and_chunked_bodies_are_400(env):
    port = env.server.address[1]
    auth = f"Authorization: Bearer {env.token}\r\nContent-Type: application/json\r\n".encode()
    assert parse_reply(raw_exchange(port, b"POST /api/config HTTP/1.1\r\n" + auth + b"\r\n{}"))[0] == 400
    chunked = b"POST /api/config HTTP/1.1\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    assert parse_reply(raw_exchange(port, chunked))[0] == 400


def test_a_partial_post_merges_onto_the_saved_config(env):
    status, _, saved = env.client.call("POST", "/api/config", {"api_settings": {"port": 5001}})
    assert status == 200 and saved["api_settings"] == {"enabled": True, "bind": "127.0.0.1", "port": 5001}
    on_disk = file_config(env.config_path)
    assert on_disk.api_settings.port == 5001
    assert on_disk.discord_settings == seeded_config().discord_settings, "Discord and its webhooks are kept"
    names = {"198.51.100.110": "VIP-1"}
    status, _, _ = env.client.call("POST", "/api/config", {"monitor_settings": {"pc_names": names},
                                                            "system_settings": {"tray_visibility": {"clients": False}}})
    assert status == 200
    on_disk = file_config(env.config_path)
    assert on_disk.monitor_settings.pc_names == names and on_disk.monitor_settings.pc_count == 20
    assert on_disk.system_settings.tray_visibility.clients is False
    assert on_disk.system_settings.tray_visibility.router is True, "nested sections merge too"
    assert env.client.call("POST", "/api/config", {"monitor_settings": {"pc_names": {}}})[0] == 200
    assert file_config(env.config_path).monitor_settings.pc_names == {}, "a dict value replaces the whole"
    status, _, err = env.client.call("POST", "/api/config", {"api_settings": {"prot": 1}, "extra": {}})
    assert status == 400 and {e["path"] for e in err["errors"]} == {"api_settings.prot", "extra"}
    assert env.client.call("POST", "/api/config", {"api_settings": 5})[0] == 400
    env.client.assert_no_secrets()


def test_identical_post_writes_nothing(env):
    _, _, body = env.client.call("GET", "/api/config")
    before = env.config_path.stat().st_mtime_ns
    assert env.client.call("POST", "/api/config", body)[0] == 200
    assert env.config_path.stat().st_mtime_ns == before and list_backups(env.backups) == []


def test_backups_are_unique_and_capped_at_ten(env):
    _, _, body = env.client.call("GET", "/api/config")
    for n in range(13):
        body["discord_settings"]["shop_name"] = f"Cafe {n}"
        assert env.client.call("POST", "/api/config", body)[0] == 200
    names = [p.name for p in list_backups(env.backups)]
    assert len(names) == 10 == len(set(names))
    status, _, listing = env.client.call("GET", "/api/config/backups")
    assert status == 200
    assert [b["name"] for b in listing["backups"]] == names  # newest first
    assert all(b["size"] > 0 and b["modified_wall"] > 0 and b["modified"] for b in listing["backups"])
    assert file_config(env.config_path).discord_settings.shop_name == "Cafe 12"
    env.client.assert_no_secrets()


def test_backups_keep_the_newest_even_within_one_second(env):
    _, _, body = env.client.call("GET", "/api/config")
    for n in range(13):
        body["discord_settings"]["shop_name"] = f"Cafe {n}"
        assert env.client.call("POST", "/api/config", body)[0] == 200
    newest = json.loads(list_backups(env.backups)[0].read_text())
    assert newest["discord_settings"]["shop_name"] == "Cafe 11"


def test_invalid_file_serves_the_config_in_force(env):
    env.config_path.write_text('{"targets": ')
    env.providers.in_force = Config(discord_settings=DiscordSettings(shop_name="In Force", webhook_alerts=ALERTS))
    status, resp, body = env.client.call("GET", "/api/config")
    assert status == 200 and resp.getheader("X-Config-Source") == "in-force"
    assert body["discord_settings"]["shop_name"] == "In Force"
    body["discord_settings"]["shop_name"] = "Fixed"
    assert env.client.call("POST", "/api/config", body)[0] == 200
    fixed = file_config(env.config_path)
    assert fixed.discord_settings.shop_name == "Fixed" and fixed.discord_settings.webhook_alerts == ALERTS
    env.client.assert_no_secrets()


def test_unmask_webhooks_is_a_pure_function():
    current = seeded_config()
    raw = {"discord_settings": {"webhook_alerts": "https://discord.com/api/v10/webhooks/111111/***",
                                "webhook_occupancy": "", "shop_name": "x"}}
    fixed, errors = unmask_webhooks(raw, current)
    assert errors == [] and fixed["discord_settings"]["webhook_alerts"] == ALERTS
    assert raw["discord_settings"]["webhook_alerts"].endswith("***"), "the input is not modified"
    for odd in (None, [], {"discord_settings": 3}, {"discord_settings": {"webhook_alerts": 7}}):
        assert unmask_webhooks(odd, current) == (odd, [])


# -- lists -------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ["incidents", "sessions"])
def test_limit_default_bounds_and_errors(env, endpoint):
    status, _, body = env.client.call("GET", f"/api/{endpoint}")
    assert status == 200 and body["limit"] == 100 and isinstance(body[endpoint], list)
    for ok in ("1", "1000", "0100"):
        status, _, body = env.client.call("GET", f"/api/{endpoint}?limit={ok}")
        assert status == 200 and body["limit"] == int(ok)
    assert [n for kind, n in env.providers.limits] == [100, 1, 1000, 100]
    for bad in ("0", "1001", "-1", "abc", "1e3", "", "10.5", "99999999999999999999", "%ff"):
        status, _, err = env.client.call("GET", f"/api/{endpoint}?limit={bad}")
        assert status == 400, bad
    status, _, err = env.client.call("GET", f"/api/{endpoint}?limit=5")
    assert status == 200
    assert env.client.call("GET", f"/api/{endpoint}?limit=1&limit=2")[0] == 400
    status, _, err = env.client.call("GET", f"/api/{endpoint}?limt=5")
    assert status == 400 and err["errors"][0]["path"] == "limt"
    status, _, err = env.client.call("GET", f"/api/{endpoint}?limit=0")
    assert err["errors"][0]["path"] == "limit"


# -- statuses ----------------------------------------------------------------------------------

def test_unknown_path_404_wrong_method_405(env):
    assert env.client.call("GET", "/api/statu")[0] == 404
    assert env.client.call("GET", "/api/status/")[0] == 404
    assert env.client.call("GET", "/api")[0] == 404
    status, resp, _ = env.client.call("POST", "/api/status", {})
    assert status == 405 and resp.getheader("Allow") == "GET"
    status, resp, _ = env.client.call("DELETE", "/api/config")
    assert status == 405 and resp.getheader("Allow") == "GET, POST"
    status, resp, body = env.client.call("HEAD", "/api/status")
    assert status == 405 and body is None
    assert env.client.call("BREW", "/api/status")[0] == 501


def test_too_large_body_is_413_and_the_client_reads_it(env):
    big = b'{"x": "' + b"a" * (300 * 1024) + b'"}'
    status, _, err = env.client.call("POST", "/api/config", big, headers={"Content-Type": "application/json"})
    assert status == 413 and "larger" in err["errors"][0]["message"]
    lie = f"POST /api/config HTTP/1.1\r\nAuthorization: Bearer {env.token}\r\nContent-Type: application/json\r\n" \
          f"Content-Length: 99999999999999\r\n\r\n{{}}"
    assert parse_reply(raw_exchange(env.server.address[1], lie.encode()))[0] == 413


def test_provider_failure_is_500_without_traceback(env, caplog):
    def broken():
        raise RuntimeError("secret detail")

    env.server._status = broken
    status, _, err = env.client.call("GET", "/api/status")
    assert status == 500 and "secret detail" not in json.dumps(err)
    assert "secret detail" in caplog.text
    env.server._status = lambda: {"bad": float("nan")}
    assert env.client.call("GET", "/api/status")[0] == 500
    env.server._status = lambda: {"bad": object()}
    assert env.client.call("GET", "/api/status")[0] == 500


def test_a_failing_disk_is_a_500_answer_not_a_dropped_connection(env, monkeypatch, caplog):
    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(api_module, "save_config", full)
    status, _, err = env.client.call("POST", "/api/config", {"discord_settings": {"shop_name": "Full Disk"}})
    assert status == 500 and err["errors"][0]["message"] == "internal error, see the log"
    assert "No space left on device" in caplog.text


# -- lifecycle ---------------------------------------------------------------------------------

def test_port_in_use_logs_one_error_and_does_not_raise(env, caplog):
    taken = env.server.address[1]
    other = env.make(ApiSettings(port=taken))
    assert other.start() is False and not other.running
    assert "already in use" in other.last_error and "monitoring carries on" in other.last_error
    assert sum("local API not started" in r.getMessage() for r in caplog.records) == 1
    assert env.client.call("GET", "/api/status")[0] == 200


def test_reconfigure_retries_a_port_that_was_busy(env):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    server = env.make(ApiSettings(port=port))
    assert server.start() is False
    blocker.close()
    server.reconfigure(ApiSettings(port=port))  # the next ConfigReloaded, same settings
    assert server.running and Client(port, env.token).call("GET", "/api/status")[0] == 200


def test_reconfigure_rebinds_only_when_needed(env):
    first = env.server._server
    env.server.reconfigure(ApiSettings(port=0))
    assert env.server._server is first, "same settings: no re-bind"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        new_port = probe.getsockname()[1]
    old_port = env.server.address[1]
    env.server.reconfigure(ApiSettings(port=new_port))
    assert env.server.address == ("127.0.0.1", new_port)
    assert Client(new_port, env.token).call("GET", "/api/status")[0] == 200
    with pytest.raises(ConnectionRefusedError):
        Client(old_port, env.token).call("GET", "/api/status")
    env.server.reconfigure(ApiSettings(enabled=False, port=new_port))
    assert not env.server.running
    with pytest.raises(ConnectionRefusedError):
        Client(new_port, env.token).call("GET", "/api/status")
    env.server.reconfigure(ApiSettings(enabled=True, port=new_port))
    assert Client(new_port, env.token).call("GET", "/api/status")[0] == 200


def test_stop_joins_and_closes(env):
    thread = env.server._thread
    env.server.stop()
    assert not thread.is_alive() and not env.server.running
    with pytest.raises(ConnectionRefusedError):
        env.client.call("GET", "/api/status")
    env.server.stop()  # idempotent


def slow_connections(port: int, count: int, first: bytes = b"GET /api/status HTTP/1.1\r\nHost: x\r\n") -> list:
    """Connections that send the start of a head and then nothing (slowloris)."""
    idle = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(first)
        idle.append(s)
    return idle


def test_slow_clients_do_not_lock_out_real_ones_and_are_dropped_at_their_deadline(env):
    server = env.make(request_timeout_s=1.0)
    assert server.start()
    port = server.address[1]
    client = Client(port, env.token)
    idle = slow_connections(port, 16)
    try:
        wait_connections(server, 16)
        for _ in range(20):  # each served at once: slow clients hold a socket, not a thread
            assert client.call("GET", "/api/status")[0] == 200
        started = time.monotonic()
        for s in idle:  # each slow client is dropped at its deadline, without a reply
            assert s.recv(100) == b""
        assert time.monotonic() - started < 3.0
    finally:
        for s in idle:
            s.close()


def test_beyond_the_connection_cap_clients_read_a_json_503_not_a_reset(env):
    server = env.make(max_connections=20)
    assert server.start()
    port = server.address[1]
    idle = slow_connections(port, 20)
    try:
        wait_connections(server, 20)
        request = f"GET /api/status HTTP/1.1\r\nAuthorization: Bearer {env.token}\r\n\r\n".encode()
        for _ in range(5):
            status, headers, body = parse_reply(raw_exchange(port, request))
            assert status == 503 and headers["retry-after"] == "1"
            assert body["errors"][0]["message"] == "too many connections"
    finally:
        for s in idle:
            s.close()
    wait_connections(server, 0)
    assert Client(port, env.token).call("GET", "/api/status")[0] == 200


def test_a_wrong_token_is_refused_before_the_head_is_finished(env):
    port = env.server.address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /api/status HTTP/1.1\r\nAuthorization: Bearer wrong-token\r\nX-More: ")
        s.settimeout(2.0)
        reply = s.recv(4096)  # the head is not finished: only an early check can answer
    assert reply.startswith(b"HTTP/1.1 401 ")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /api/config HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        s.settimeout(2.0)
        reply = s.recv(4096)  # no token: refused before the body is read
    assert reply.startswith(b"HTTP/1.1 401 ")


def wait_connections(server: ApiServer, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while server._server.connections != count:
        assert time.monotonic() < deadline, f"{server._server.connections} connections, expected {count}"
        time.sleep(0.01)


# -- fuzz --------------------------------------------------------------------------------------

REPLY_STATUSES = {200, 400, 401, 404, 405, 413,
                  414, 431, 501, 505}  # stdlib parser: URI too long, header too large, unknown method, HTTP/2+
FUZZ_REQUESTS = 500


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, half-close, read the whole reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413/401) and stopped reading
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def parse_reply(reply: bytes, head: bool = False) -> tuple[int, dict, object]:
    """Assert `reply` is one well-formed HTTP/1.x response with a JSON body; return its parts.

    `head`: the request may have been HEAD, so the body may be absent though Content-Length is set.
    """
    top, sep, body = reply.partition(b"\r\n\r\n")
    assert sep, f"no header end in {reply[:200]!r}"
    lines = top.decode("latin-1").split("\r\n")
    match = re.fullmatch(r"HTTP/1\.[01] (\d{3}) [A-Za-z -]+", lines[0])
    assert match, lines[0]
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        assert colon and re.fullmatch(r"[A-Za-z-]+", name), line
        headers[name.lower()] = value.strip()
    assert headers["content-type"].startswith("application/json")
    if head and body == b"":
        return int(match.group(1)), headers, None
    assert int(headers["content-length"]) == len(body)
    return int(match.group(1)), headers, json.loads(body)


def fuzz_request(rng: random.Random, token: str) -> bytes:
    paths = ["/api/status", "/api/config", "/api/config/backups", "/api/incidents", "/api/sessions",
             "/api/incidents?limit=" + rng.choice(["5", "0", "-3", "x", "1" * 30, "%zz", "1000", ""]),
             "/api/sessions?" + rng.choice(["a=b&c", "limit=1&limit=2", "&&&", "limit=%ff%fe"]),
             "/" + "".join(chr(rng.randrange(33, 127)) for _ in range(rng.randrange(1, 40))),
             "/api/" + "x" * rng.choice([10, 1000, 70000]), "*", "http://127.0.0.1/api/status",
             "/api/status#frag", "//api//status", "/api/%00status"]
    methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "get", "G\x00T",
               "".join(rng.choice("ABCXYZ!#") for _ in range(rng.randrange(1, 12)))]
    versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1", "HTTP/x.y", "FOO", "HTTP/1.1 extra", ""]
    method = rng.choice(methods) if rng.random() < 0.3 else rng.choice(["GET", "POST"])
    path = "/api/config" if method == "POST" and rng.random() < 0.6 else rng.choice(paths)
    version = rng.choice(versions) if rng.random() < 0.25 else "HTTP/1.1"
    headers = [b"Host: 127.0.0.1"]
    auth = rng.random()
    if auth < 0.75:
        headers.append(b"Authorization: Bearer " + token.encode())
    elif auth < 0.85:
        headers.append(b"Authorization: Bearer " + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60))))
    elif auth < 0.9:
        headers.append(b"Authorization: " + token.encode())
    body = fuzz_body(rng)
    ctype = rng.choice([b"application/json", b"application/json; charset=utf-8", b"text/plain", b"",
                        b"application/json; charset=latin-1", bytes(rng.randrange(256) for _ in range(8))])
    if ctype:
        headers.append(b"Content-Type: " + ctype)
    length_mode = rng.random()
    if length_mode < 0.7:
        headers.append(b"Content-Length: %d" % len(body))
    elif length_mode < 0.8:
        headers.append(b"Content-Length: " + rng.choice([b"-1", b"abc", b"1e3", b"99999999999999999999999",
                                                          b"%d" % (len(body) + 50), b"", b"0x10"]))
    elif length_mode < 0.85:
        headers.append(b"Content-Length: 1\r\nContent-Length: 2")
    elif length_mode < 0.9:
        headers.append(b"Transfer-Encoding: chunked")
    junk = rng.random()
    if junk < 0.05:
        headers.extend(b"X-%d: y" % i for i in range(rng.choice([50, 120])))
    elif junk < 0.1:
        headers.append(b"X-Long: " + b"z" * rng.choice([1000, 70000]))
    elif junk < 0.15:
        headers.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))))
    elif junk < 0.2:
        headers.append(b"no colon here")
    request = (f"{method} {path} {version}".rstrip() + "\r\n").encode("latin-1", "replace")
    request += b"\r\n".join(headers) + b"\r\n\r\n" + body
    cut = rng.random()
    if cut < 0.1:
        request = request[:rng.randrange(0, len(request) + 1)]  # truncated anywhere
    elif cut < 0.15:
        request = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))  # pure noise
    elif cut < 0.17:
        request = b"\r\n" * rng.randrange(1, 4)
    return request


def fuzz_body(rng: random.Random) -> bytes:
    valid = seeded_config().masked_dict()
    kind = rng.randrange(11)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2000)))
    if kind == 1:
        depth = rng.choice([10, 900, 1500, 100_000])
        return (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)
    if kind == 2:
        number = rng.choice([b"1e999999", b"-1e400", b"1" * 5000, b"1" * 400, b"NaN", b"Infinity", b"-0", b"1.5"])
        return b'{"monitor_settings": {"pc_count": ' + number + b"}}"
    if kind == 3:
        section = rng.choice(list(valid))
        key = rng.choice(list(valid[section]) or ["x"])
        value = rng.choice([None, True, -1, 10**30, 1.5, "", "x" * 5000, [], {}, {"a": [1, {"b": None}]},
                            "\ud800", "https://discord.com/api/webhooks/1/***", "https://127.0.0.1/api/webhooks/1/t"])
        broken = json.loads(json.dumps(valid))
        broken[section][key] = value
        return json.dumps(broken).encode("utf-8", "surrogatepass")
    if kind == 4:
        return json.dumps(valid).encode()  # valid: 200 (with the right auth and headers)
    if kind == 5:
        return b'{"targets": {"router": "\xc3\x28"}}'  # invalid UTF-8
    if kind == 6:
        return json.dumps(rng.choice([[], "x", 1, None, {"": 1}, {"targets": []}])).encode()
    if kind == 7:
        return b"a" * (http_module.MAX_BODY_BYTES + rng.choice([1, 5000]))
    if kind == 8:
        return json.dumps(valid).encode()[:rng.randrange(1, 200)]
    if kind == 9:
        return b""
    return json.dumps(valid).encode()


def test_fuzz_every_reply_is_well_formed_and_the_server_survives(env):
    rng = random.Random(20260513)
    port = env.server.address[1]
    threads_before = threading.active_count()
    seen: dict[int, int] = {}
    silent = 0
    started = time.monotonic()
    for n in range(FUZZ_REQUESTS):
        request = fuzz_request(rng, env.token)
        reply = raw_exchange(port, request)
        if not reply:
            # Only a request without a single complete line may go unanswered (nothing to answer).
            assert b"\n" not in request, f"#{n}: no reply to {request[:120]!r}"
            silent += 1
            continue
        head = request.startswith(b"HEAD ") and b" HTTP/1." in request.split(b"\r\n", 1)[0]
        status, headers, body = parse_reply(reply, head)
        assert status in REPLY_STATUSES, f"#{n}: {status} for {request[:120]!r}"
        if status != 200 and body is not None:
            assert isinstance(body["errors"], list) and body["errors"], body
        text = reply.decode("utf-8", "replace")
        assert "Traceback" not in text and all(s not in text for s in SECRETS + (env.token,))
        seen[status] = seen.get(status, 0) + 1
    elapsed = time.monotonic() - started
    assert env.client.call("GET", "/api/status")[0] == 200
    assert set(seen) >= {200, 400, 401, 404, 405, 413}, seen
    wait_connections(env.server, 0)  # no connection left behind
    assert threading.active_count() <= threads_before + http_module.WORKERS, "no thread per connection"
    print(f"fuzz: {FUZZ_REQUESTS} requests in {elapsed:.2f} s, statuses {sorted(seen.items())}, "
          f"unanswered {silent}")
