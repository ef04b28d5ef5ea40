"""The real app (headless, in a namespace cafe) as a browser sees it: log in with the vault's admin
password, follow /events while the server goes down, read the log; no secret in the log file."""

from __future__ import annotations

import json
import time

import pytest

from sentinel.services.access.vault import Vault
from tests.helpers import netns
from tests.helpers.apprun import AppRun, write_config
from tests.helpers.netns import cafe_fixture  # noqa: F401  (the "cafe" fixture)
from tests.helpers.web_scene import APP_PORT, cafe_config

pytestmark = [pytest.mark.needs_root, pytest.mark.timeout(120)]
ADMIN, PRIVACY = "branch-admin-1", "branch-privacy-2"

# Runs inside the monitor namespace: log in, then print each SSE frame as one JSON line.
CLIENT = """
import json, socket, sys, time, urllib.request
base = "http://127.0.0.1:%d"
req = urllib.request.Request(base + "/api/login", data=json.dumps({"password": %r}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
resp = urllib.request.urlopen(req, timeout=10)
cookie = resp.headers["Set-Cookie"].split(";")[0]
print(json.dumps({"login": resp.status, "cookie_flags": resp.headers["Set-Cookie"]}), flush=True)
logs = urllib.request.urlopen(urllib.request.Request(base + "/api/logs?lines=50", headers={"Cookie": cookie}),
                              timeout=10).read().decode()
print(json.dumps({"logs": json.loads(logs)["lines"]}), flush=True)
s = socket.create_connection(("127.0.0.1", %d), timeout=20)
s.sendall(("GET /events HTTP/1.1\\r\\nHost: x\\r\\nCookie: " + cookie + "\\r\\n\\r\\n").encode())
buf, end = b"", time.monotonic() + %f
while time.monotonic() < end:
    buf += s.recv(65536)
    while b"\\n\\n" in buf:
        block, buf = buf.split(b"\\n\\n", 1)
        for line in block.split(b"\\n"):
            if line.startswith(b"data: "):
                print(line[6:].decode(), flush=True)
"""


def test_the_real_app_serves_a_logged_in_dashboard_that_follows_the_cafe(cafe, tmp_path):
    data = tmp_path / "data"
    vault = Vault(data)
    vault.check(time.time())
    vault.setup(ADMIN, PRIVACY, time.time())
    config = write_config(tmp_path / "cafe.json", cafe_config())
    app = AppRun(AppRun.command("--headless", "--config", str(config), "--data-dir", str(data)),
                 popen=lambda a, **kw: cafe.run_in_mon(a, **kw))
    try:
        app.wait_line("router UP  server UP  internet UP")
        client = AppRun(["python3", "-c", CLIENT % (APP_PORT, ADMIN, APP_PORT, 30.0)],
                        popen=lambda a, **kw: cafe.run_in_mon(a, **kw))
        login = json.loads(client.wait_line('"login"'))
        assert login["login"] == 200 and "HttpOnly" in login["cookie_flags"]
        logs = json.loads(client.wait_line('"logs"'))["logs"]
        assert any("web server listening" in line for line in logs)
        first = json.loads(client.wait_line('"monitor"'))
        assert [t["state"] for t in first["monitor"]["targets"]] == ["up", "up", "up"]
        assert first["shop"] == "Branch Test" and first["monitor"]["pcs_total"] == 5
        assert {c["component"] for c in first["today"]["components"]} >= {"router", "server", "internet"}
        mark = client.mark()
        cafe.set_up(netns.SERVER, False)
        client.wait_line('"state":"failing"', timeout=15, start=mark)
        client.wait_line('"state":"down"', timeout=15, start=mark)
        client.kill()
        app.stop()
    finally:
        app.kill()
    text = (data / "logs" / "sentinel.log").read_text()
    assert "web login from" in text
    for secret in (ADMIN, PRIVACY, (data / "api_token").read_text().strip()):
        assert secret not in text
