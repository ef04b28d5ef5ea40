"""The guard with the REAL app (headless, not configured so it pings nothing): kills are
restarted within 1 s, the app watches the guard back, and only the admin password stops both."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from sentinel.services.keepalive.pact import guard_owner, heartbeat_owner
from sentinel.services.access.vault import Vault
from tests.helpers.guard_cluster import REPO, Cluster, wait_for

pytestmark = pytest.mark.timeout(120)
ADMIN, PRIVACY = "admin-pass-1", "privacy-pass-2"


@pytest.fixture
def cluster(tmp_path):
    data = tmp_path / "data"
    app = [sys.executable, str(REPO / "sentinel_app.py"), "--headless",
           "--config", str(REPO / "config.json"), "--data-dir", str(data)]
    c = Cluster(data, stable_s=0.3, app_cmd=app, mutual=False)
    c.env["DISPLAY"] = ""
    Vault(data).setup(ADMIN, PRIVACY, time.time())
    yield c
    c.kill_all()


def verify_admin_exit(data, password: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "sentinel_app.py"), "--verify-admin", "--exit",
                           "--data-dir", str(data)], input=password + "\n", capture_output=True, text=True,
                          timeout=30, env=dict(os.environ, DISPLAY=""))


def test_killed_real_app_is_restarted_within_a_second_and_watches_the_guard(cluster):
    cluster.start()
    latencies = [cluster.kill_app(beats=2) for _ in range(3)]  # alive a while: not a crash loop
    assert max(latencies) < 1.0, latencies
    spawn, _ready = cluster.kill_guard()  # the real app's GuardWatcher brings the guard back
    assert spawn < 1.0


def test_wrong_password_stops_nothing_right_password_stops_both(cluster):
    guard, app = cluster.start()
    wrong = verify_admin_exit(cluster.data_dir, "not-the-password")
    assert wrong.returncode == 1
    assert guard_owner(cluster.data_dir) is not None and heartbeat_owner(cluster.data_dir) is not None
    right = verify_admin_exit(cluster.data_dir, ADMIN)
    assert right.returncode == 0, right.stdout + right.stderr
    wait_for(lambda: not cluster.ours(), 5.0, "app and guard gone")
    assert "intent" in cluster.log_text().lower()
