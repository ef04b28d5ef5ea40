"""A real Prometheus (Debian's `prometheus`) for one test: loopback only, its own tmp storage.

Started with `run` (e.g. inside a cafe's monitor namespace, where the app listens), stopped by
its PID. Queries go through Prometheus's HTTP API with `fetch`, a callable that GETs a URL
where Prometheus is reachable (from inside that namespace) and returns the body.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

import pytest

PORT = 9090  # inside the test's own network namespace, where no other Prometheus runs
SCRAPE_S = 1.0


def skip_unless_available() -> None:
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        pytest.skip("needs Debian's prometheus package (scripts/setup.sh installs it)")


def write_config(directory: Path, app_port: int, token_file: Path, rules: Path | None = None) -> Path:
    config = {
        "global": {"scrape_interval": f"{SCRAPE_S:g}s", "evaluation_interval": f"{SCRAPE_S:g}s"},
        "rule_files": [str(rules)] if rules else [],
        "scrape_configs": [{
            "job_name": "cafesentinel-test-cafe",
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
            "static_configs": [{"targets": [f"127.0.0.1:{app_port}"], "labels": {"branch": "test-cafe"}}],
        }],
    }
    path = directory / "prometheus.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def command(config: Path, storage: Path) -> list[str]:
    return ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{PORT}", "--log.level=warn"]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # by its PID: the Popen we started
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class Api:
    def __init__(self, fetch: Callable[[str], bytes]):
        self._fetch = fetch

    def _get(self, path: str, **params) -> dict:
        body = json.loads(self._fetch(f"http://127.0.0.1:{PORT}{path}?{urlencode(params)}"))
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict]:
        """Instant query: [{"metric": {...}, "value": [ts, "v"]}, ...]."""
        return self._get("/api/v1/query", query=promql)["result"]

    def samples(self, promql: str, seconds: int) -> list[tuple[float, float]]:
        """(timestamp, value) of a single series over the last `seconds`."""
        result = self._get("/api/v1/query", query=f"{promql}[{seconds}s]")["result"]
        return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []

    def targets_up(self) -> bool:
        active = self._get("/api/v1/targets")["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)
