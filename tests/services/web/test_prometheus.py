"""A real Prometheus scrapes the real app (headless, in a namespace cafe) with its bearer token;
promtool checks and unit-tests the shipped alert rules and example config; every query of the
shipped Grafana dashboard runs on the real Prometheus.

The app and Prometheus both run inside the cafe's monitor namespace, on its loopback; the test
reads Prometheus's HTTP API from there too. Nothing leaves the namespaces.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import netns
from tests.helpers import prometheus as prom
from tests.helpers.apprun import AppRun, wait_until, write_config
from tests.helpers.netns import cafe_fixture  # noqa: F401  (the "cafe" fixture)
from tests.helpers.web_scene import APP_PORT, cafe_config

pytestmark = pytest.mark.timeout(120)
PACKAGING = Path(__file__).resolve().parents[3] / "packaging"
RULES = PACKAGING / "prometheus" / "cafesentinel-alerts.yml"
DASHBOARD = PACKAGING / "grafana" / "cafesentinel-dashboard.json"


def fetcher(cafe, token: str | None = None):
    """GET a URL from inside the monitor namespace (where the app and Prometheus listen)."""
    header = f"req.add_header('Authorization', 'Bearer {token}')\n" if token else ""

    def fetch(url: str) -> bytes:
        code = ("import sys, urllib.request\n"
                f"req = urllib.request.Request({url!r})\n{header}"
                "sys.stdout.buffer.write(urllib.request.urlopen(req, timeout=5).read())")
        return cafe.exec_python_in_mon(code).stdout.encode()

    return fetch


@pytest.mark.needs_root
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

        server = cafe.run_in_mon(prom.command(prom.write_config(tmp_path, APP_PORT, data / "api_token", RULES),
                                              tmp_path / "prom-data"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        api = prom.Api(fetcher(cafe))
        wait_until(lambda: _safe(lambda: api.query('cafesentinel_up{component="server"} == 1')),
                   timeout=30, what="Prometheus scraped the server as up")
        assert api.targets_up()
        before = api.query('cafesentinel_incidents_total{cause="SERVER_DOWN"}')
        assert [s["value"][1] for s in before] == ["0"]

        mark = app.mark()
        cafe.set_up(netns.SERVER, False)
        app.wait_line("server FAILING", timeout=15, start=mark)
        seen = time.time()  # the monitor has published it (its status line is out)
        wait_until(lambda: _safe(lambda: api.query('cafesentinel_up{component="server"} == 0')),
                   timeout=20, what="Prometheus saw the server down")
        samples = api.samples('cafesentinel_up{component="server"}', 60)
        late = [t for t, v in samples if t > seen and v == 1]
        assert len(late) <= 1, f"still up in {len(late)} scrapes after the monitor saw it down: {samples}"

        wait_until(lambda: _safe(lambda: api.query('cafesentinel_incidents_total{cause="SERVER_DOWN"} == 1')),
                   timeout=20, what="the incident counter went to 1")
        assert api.query('cafesentinel_incident_active{cause="SERVER_DOWN"} == 1')
        labels = api.query('cafesentinel_up{component="server"}')[0]["metric"]
        assert labels["branch"] == "test-cafe" and labels["job"] == "cafesentinel-test-cafe"
        wait_until(lambda: _safe(lambda: api.query('ALERTS{alertname="CafeServerDown", branch="test-cafe"}')),
                   timeout=20, what="the shipped rule CafeServerDown pending or firing")
        for title, expr in dashboard_queries():
            assert api.query(expr) is not None, title  # the real Prometheus parses and runs it
        assert api.query(dict(dashboard_queries())["Internet"])[0]["metric"]["branch"] == "test-cafe"
    finally:
        if server is not None:
            prom.stop(server)
        app.kill()


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel of the shipped Grafana dashboard, for branch test-cafe."""
    board = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"].replace("$branch", "test-cafe").replace("$__rate_interval", "1m"))
            for panel in board["panels"] for target in panel.get("targets", [])]


def test_grafana_dashboard_uses_only_the_metrics_the_app_exports():
    from sentinel.events import MonitorStatus
    from sentinel.services.web.metrics import Metrics

    metrics = Metrics("1", lambda: "x")
    metrics.on_event(MonitorStatus(0.0, True, True, False, (), (), 0))
    exported = set(re.findall(rb"^# TYPE (\w+) (\w+)", metrics.render(), re.M))
    names = {name.decode() for name, kind in exported}
    names |= {name.decode() + "_total" for name, kind in exported if kind == b"counter"}
    queries = dashboard_queries()
    assert len(queries) >= 6
    for title, expr in queries:
        used = set(re.findall(r"cafesentinel_\w+", expr))
        assert used and used <= names, (title, used - names)
    board = json.loads(DASHBOARD.read_text())
    assert {v["name"] for v in board["templating"]["list"]} >= {"branch"}


def test_alert_rules_pass_promtool_and_fire_for_the_branch_whose_internet_is_down(tmp_path):
    prom.skip_unless_available()
    check = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    down = {"component": "internet", "branch": "riverside", "instance": "riverside:5000",
            "job": "cafesentinel-riverside"}
    tests = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": _series("cafesentinel_up", down), "values": "1 1 0 0 0 0"},
            {"series": _series("cafesentinel_up", {**down, "branch": "station", "instance": "station:5000",
                                                   "job": "cafesentinel-station"}), "values": "1 1 1 1 1 1"},
            {"series": _series("up", {k: v for k, v in down.items() if k != "component"}), "values": "1 1 1 1 1 1"},
            {"series": _series("up", {"branch": "harbour", "instance": "harbour:5000", "job": "cafesentinel-harbour"}),
             "values": "1 0 0 0 0 0"},
            {"series": _series("cafesentinel_incidents_total", {"cause": "ISP_DOWN", "branch": "riverside",
                                                                "instance": "riverside:5000",
                                                                "job": "cafesentinel-riverside"}),
             "values": "0 0 0 1 1 1"},
        ],
        "alert_rule_test": [
            {"eval_time": "2m", "alertname": "CafeInternetDown", "exp_alerts": []},
            {"eval_time": "4m", "alertname": "CafeInternetDown", "exp_alerts": [{
                "exp_labels": {**down, "severity": "critical"},
                "exp_annotations": {
                    "summary": "Internet down at riverside",
                    "description": "CafeSentinel at riverside (riverside:5000) has had no answer from the internet "
                                   "targets for over a minute."}}]},
            {"eval_time": "4m", "alertname": "CafeBranchUnreachable", "exp_alerts": [{
                "exp_labels": {"branch": "harbour", "instance": "harbour:5000", "job": "cafesentinel-harbour",
                               "severity": "critical"},
                "exp_annotations": {
                    "summary": "Branch harbour unreachable: internet down there, or the cafe PC is off",
                    "description": "Prometheus cannot scrape CafeSentinel at harbour:5000. Its own Discord alerts "
                                   "are queued and arrive when the line is back."}}]},
        ],
    }]}
    path = tmp_path / "alerts.test.yml"
    path.write_text(json.dumps(tests))  # JSON is YAML
    result = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_prometheus_config_passes_promtool(tmp_path):
    prom.skip_unless_available()
    example = tmp_path / "prometheus.yml"
    shutil.copy(PACKAGING / "prometheus" / "prometheus.example.yml", example)
    shutil.copy(RULES, tmp_path / RULES.name)
    (tmp_path / "tokens").mkdir()
    for branch in ("riverside", "station"):
        (tmp_path / "tokens" / f"{branch}.token").write_text("token\n")
    check = subprocess.run(["promtool", "check", "config", str(example)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def _series(name: str, labels: dict) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _safe(query):
    """A query result, or None while Prometheus is still starting (connection refused)."""
    try:
        return query()
    except RuntimeError:
        return None
