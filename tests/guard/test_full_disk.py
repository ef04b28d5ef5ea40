"""A full disk does not kill the guard and the app for good (the real guard and the real app on a
small tmpfs this test mounts): heartbeats go on, a killed app or guard comes back while the disk
is full, and everything is written again once space returns."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sentinel.services.access.vault import Vault
from tests.helpers.guard_cluster import REPO, Cluster, gone, wait_for

pytestmark = [pytest.mark.needs_root, pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform != "linux", reason="tmpfs mount")]

HANG_S = 3.0
DISK = "16m"
CHUNK = 1 << 20


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0755", "tmpfs", str(mount_point)],
                   check=True, timeout=30)
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False, timeout=30)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full (bounded by the disk's size)."""
    filler = disk / "filler.bin"
    chunk = b"\0" * CHUNK
    with open(filler, "wb", buffering=0) as out:
        for _ in range(shutil.disk_usage(disk).total // CHUNK + 2):
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        for size in (4096, 512, 1):  # the last partial pages too
            while True:
                try:
                    out.write(b"\0" * size)
                except OSError:
                    break
    assert shutil.disk_usage(disk).free == 0
    return filler


def beating(cluster: Cluster, app: int, seconds: float) -> None:
    """The app named `app` heart-beats (seq moves, its monitor ticks) for `seconds`, still alive."""
    def record():
        beat = cluster.heartbeat()
        return beat if beat and beat.get("pid") == app else None

    first = wait_for(record, 10, f"a heartbeat from app {app}")
    end = time.monotonic() + seconds
    wait_for(lambda: time.monotonic() >= end, seconds + 1, "time to pass")
    last = wait_for(record, 5, f"a heartbeat from app {app}")
    assert not gone(app), f"app {app} died"
    assert last["seq"] > first["seq"]
    assert last["parts"]["monitor"]["n"] > first["parts"]["monitor"]["n"]


def test_a_full_disk_kills_neither_for_good(small_disk, tmp_path):
    data = small_disk / "data"
    Vault(data).setup("admin-pass-1", "privacy-pass-2", time.time())
    app_cmd = [sys.executable, str(REPO / "sentinel_app.py"), "--headless",
               "--config", str(REPO / "config.json"), "--data-dir", str(data)]
    cluster = Cluster(data, hang_s=HANG_S, stable_s=1.0, app_cmd=app_cmd, mutual=False)
    cluster.env["DISPLAY"] = ""
    try:
        guard, app = cluster.start(timeout=30)
        cluster.wait_beats(app, 2, timeout=10)
        filler = fill(small_disk)

        # Full: heartbeats still get through, so the app is not taken for hung.
        beating(cluster, app, 2 * HANG_S)
        assert "stopped responding" not in cluster.log_text()

        # A killed app comes back and keeps running, though it cannot save the last good config.
        os.kill(app, signal.SIGKILL)
        _guard, app2 = cluster.wait_ready(old_app=app, timeout=15)
        beating(cluster, app2, HANG_S)

        # A killed guard comes back (the app brings it) and records itself in guard.json.
        os.kill(guard, signal.SIGKILL)
        guard2, _app = cluster.wait_ready(old_guard=guard, timeout=15)
        beating(cluster, app2, HANG_S)
        assert shutil.disk_usage(small_disk).free == 0

        # Space returns: both go on, and a kill is again healed within a second.
        filler.unlink()
        assert cluster.kill_app(beats=2) < 1.0
        assert psutil.pid_exists(guard2) and not gone(guard2)
    finally:
        guard_log = cluster.log_text()
        cluster.kill_all()
    assert "stopped responding" not in guard_log
    assert "guard failed" not in guard_log
