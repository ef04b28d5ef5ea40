"""A stuck monitor thread or a frozen window gets the real app replaced by the real guard within
--hang-seconds.

The app is the real one (tests/helpers/hanging_app.py builds it through sentinel.app.main) with a
prober that pings the test cafe a few rounds and then never returns, or a Tk thread that stops
draining its queue. The process stays alive and its heartbeat courier keeps writing: only the
stuck part's own beat stops, and that is what counts.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from sentinel.services.access.vault import Vault
from tests.helpers import netns
from tests.helpers.guard_cluster import REPO, Cluster
from tests.helpers.netns import cafe_fixture  # noqa: F401  (the "cafe" fixture)

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

HANG_S = 3.0
ROUNDS = 4  # probe rounds answered before the prober hangs


def cafe_config(path, cafe) -> None:
    path.write_text(json.dumps({
        "targets": {"router": netns.ROUTER, "server": netns.SERVER, "internet": netns.INTERNET[0]},
        "monitor_settings": {"interval_seconds": 0.5, "ping_timeout_seconds": 0.3, "pc_subnet": netns.PC_SUBNET,
                             "pc_start_range": netns.PC_START, "pc_count": cafe.pcs},
        "verification_settings": {"retry_delay_seconds": 0.2},
        "screenshot_settings": {"enabled": False},
        "api_settings": {"enabled": False},
    }))


def beats_of(record: dict | None, part: str) -> int | None:
    try:
        return record["parts"][part]["n"]
    except (KeyError, TypeError):
        return None


def watch_until_replaced(cluster: Cluster, app: int, part: str) -> tuple[int, float, set]:
    """Watch the heartbeat as the guard does, until another app writes it: (the part's last count,
    seconds from its last move to the replacement, the courier's seqs seen after that last move)."""
    beats, moved_at, seq_after_stall = None, None, set()
    pause = threading.Event()
    deadline = time.monotonic() + 30 + HANG_S
    while time.monotonic() < deadline:
        record = cluster.heartbeat()
        now = time.monotonic()
        if record and record.get("pid") != app and moved_at is not None:
            return beats, now - moved_at, seq_after_stall
        if record and record.get("pid") == app:
            n = beats_of(record, part)
            if n is not None and n != beats:
                beats, moved_at, seq_after_stall = n, now, set()
            else:
                seq_after_stall.add(record["seq"])
        pause.wait(0.05)
    raise AssertionError(f"app {app} not replaced; {part} beats {beats}\n{cluster.log_text()}")


@pytest.mark.needs_root
def test_a_stuck_monitor_thread_is_replaced_within_hang_seconds(cafe, tmp_path):
    data = tmp_path / "data"
    config = tmp_path / "config.json"
    cafe_config(config, cafe)
    Vault(data).setup("admin-pass-1", "privacy-pass-2", time.time())
    app_cmd = [sys.executable, str(REPO / "tests" / "helpers" / "hanging_app.py"), "monitor", str(ROUNDS),
               "--headless", "--config", str(config), "--data-dir", str(data)]
    cluster = Cluster(data, hang_s=HANG_S, stable_s=1.0, app_cmd=app_cmd, mutual=False,
                      wrap=["ip", "netns", "exec", cafe.mon])
    cluster.env["DISPLAY"] = ""
    try:
        _guard, app = cluster.start(timeout=30)
        beats, stalled_for, seq_after_stall = watch_until_replaced(cluster, app, "monitor")
        guard_log = cluster.log_text()
    finally:
        cluster.kill_all()
    assert beats is not None and beats >= ROUNDS  # it ran: every answered round was a beat
    assert len(seq_after_stall) >= 1  # the courier went on writing while the monitor was stuck
    print(f"\nmonitor stuck after {beats} ticks; replaced {stalled_for:.2f} s after its last beat "
          f"(--hang-seconds {HANG_S})")
    assert HANG_S - 0.5 <= stalled_for <= HANG_S + 2.0
    assert "REPORT: monitor stopped responding (its monitor made no progress for" in guard_log


@pytest.mark.needs_display
def test_a_frozen_window_is_replaced_within_hang_seconds(xvfb_server, tmp_path):
    data = tmp_path / "data"
    Vault(data).setup("admin-pass-1", "privacy-pass-2", time.time())
    drains = 40  # two seconds of a working window at 50 ms per drain
    app_cmd = [sys.executable, str(REPO / "tests" / "helpers" / "hanging_app.py"), "window", str(drains),
               "--config", str(REPO / "config.json"), "--data-dir", str(data)]
    cluster = Cluster(data, hang_s=HANG_S, stable_s=1.0, app_cmd=app_cmd, mutual=False)
    cluster.env["DISPLAY"] = xvfb_server.display
    try:
        _guard, app = cluster.start(timeout=30)
        beats, stalled_for, seq_after_stall = watch_until_replaced(cluster, app, "window")
        guard_log = cluster.log_text()
    finally:
        cluster.kill_all()
    assert beats is not None and 1 <= beats <= drains
    assert len(seq_after_stall) >= 1
    print(f"\nwindow stuck after {beats} drains; replaced {stalled_for:.2f} s after its last beat")
    assert HANG_S - 0.5 <= stalled_for <= HANG_S + 2.0
    assert "REPORT: monitor stopped responding (its window made no progress for" in guard_log
