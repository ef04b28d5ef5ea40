"""A real Prometheus scrapes the real app (headless, in a namespace cafe) with its bearer token.

The app and Prometheus both run inside the cafe's monitor namespace, on its loopback; the test
reads Prometheus's HTTP API from there too. Nothing leaves the namespaces.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.helpers import netns
from tests.helpers import prometheus as prom
from tests.helpers.apprun import AppRun, wait_until, write_config
from tests.helpers.netns import cafe_fixture  # noqa: F401  (the "cafe" fixture)

pytestmark = [pytest.mark.needs_root, pytest.mark.timeout(120)]
APP_PORT = 5000  # the monitor namespace's own port space


def cafe_config() -> dict:
    return {
        "targets": {"router": netns.ROUTER, "server": netns.SERVER, "internet": netns.INTERNET[0]},
        "monitor_settings": {"interval_seconds": 1.0, "pc_subnet": netns.PC_SUBNET,
                             "pc_start_range": netns.PC_START, "pc_count": 5, "ping_timeout_seconds": 0.5},
        "verification_settings": {"retry_delay_seconds": 0.2, "secondary_target": netns.INTERNET[1],
                                  "min_incident_duration_seconds": 2},
        "discord_settings": {"shop_name": "Branch Test"},
        "api_settings": {"port": APP_PORT},
    }


def fetcher(cafe, token: str | None = None):
    """GET a URL from inside the monitor namespace (where the app and Prometheus listen)."""
    header = f"req.add_header('Authorization', 'Bearer {token}')\n" if token else ""

    def fetch(url: str) -> bytes:
        code = ("import sys, urllib.request\n"
                f"req = urllib.request.Request({url!r})\n{header}"
                "sys.stdout.buffer.write(urllib.request.urlopen(req, timeout=5).read())")
        return cafe.exec_python_in_mon(code).stdout.encode()

    return fetch


def test_prometheus_sees_the_server_go_down_within_two_scrapes_and_counts_the_incident(cafe, tmp_path):
    prom.skip_unless_available()
    config = write_config(tmp_path / "cafe.json", cafe_config())
    data = tmp_path / "data"
    app = AppRun(AppRun.command("--headless", "--config", str(config), "--data-dir", str(data)),
                 popen=lambda a, **kw: cafe.run_in_mon(a, **kw))
    server = None
    try:
        app.wait_line("router UP  server UP  internet UP")
        token = (data / "api_token").read_text().strip()
        exposition = fetcher(cafe, token)(f"http://127.0.0.1:{APP_PORT}/metrics")
        check = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        assert b'cafesentinel_info{shop="Branch Test"' in exposition or b'shop="Branch Test"' in exposition

        server = cafe.run_in_mon(prom.command(prom.write_config(tmp_path, APP_PORT, data / "api_token"),
                                              tmp_path / "prom-data"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        api = prom.Api(fetcher(cafe))
        wait_until(lambda: _safe(lambda: api.query('cafesentinel_up{component="server"} == 1')),
                   timeout=30, what="Prometheus scraped the server as up")
        assert api.targets_up()
        before = api.query('cafesentinel_incidents_total{cause="SERVER_DOWN"}')
        assert [s["value"][1] for s in before] == ["0"]

        went_down = time.time()
        cafe.set_up(netns.SERVER, False)
        wait_until(lambda: _safe(lambda: api.query('cafesentinel_up{component="server"} == 0')),
                   timeout=20, what="Prometheus saw the server down")
        samples = api.samples('cafesentinel_up{component="server"}', 60)
        late = [t for t, v in samples if t > went_down and v == 1]
        assert len(late) <= 1, f"still up in {len(late)} scrapes after the server went down: {samples}"

        wait_until(lambda: _safe(lambda: api.query('cafesentinel_incidents_total{cause="SERVER_DOWN"} == 1')),
                   timeout=20, what="the incident counter went to 1")
        assert api.query('cafesentinel_incident_active{cause="SERVER_DOWN"} == 1')
        labels = api.query('cafesentinel_up{component="server"}')[0]["metric"]
        assert labels["branch"] == "test-cafe" and labels["job"] == "cafesentinel"
    finally:
        if server is not None:
            prom.stop(server)
        app.kill()


def _safe(query):
    """A query result, or None while Prometheus is still starting (connection refused)."""
    try:
        return query()
    except RuntimeError:
        return None
