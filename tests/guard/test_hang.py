"""A stuck monitor thread gets the real app replaced by the real guard within --hang-seconds.

The app is the real one (tests/helpers/hanging_app.py builds it through sentinel.app.main) with a
prober that pings the test cafe a few rounds and then never returns. The process stays alive and
its heartbeat courier keeps writing: only the monitor's own beat stops, and that is what counts.
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

pytestmark = [pytest.mark.needs_root, pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="network namespaces")]

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


def monitor_beats(record: dict | None) -> int | None:
    try:
        return record["parts"]["monitor"]["n"]
    except (KeyError, TypeError):
        return None


def test_a_stuck_monitor_thread_is_replaced_within_hang_seconds(cafe, tmp_path):
    data = tmp_path / "data"
    config = tmp_path / "config.json"
    cafe_config(config, cafe)
    Vault(data).setup("admin-pass-1", "privacy-pass-2", time.time())
    app_cmd = [sys.executable, str(REPO / "tests" / "helpers" / "hanging_app.py"), str(ROUNDS),
               "--headless", "--config", str(config), "--data-dir", str(data)]
    cluster = Cluster(data, hang_s=HANG_S, stable_s=1.0, app_cmd=app_cmd, mutual=False,
                      wrap=["ip", "netns", "exec", cafe.mon])
    cluster.env["DISPLAY"] = ""
    try:
        _guard, app = cluster.start(timeout=30)
        # Watch the heartbeat as the guard does: when did the monitor's count last move, and
        # does the courier's seq go on after that (the process looks alive to a thread heartbeat)?
        beats, moved_at, seq_after_stall = None, None, set()
        pause = threading.Event()
        deadline = time.monotonic() + 30 + HANG_S
        while time.monotonic() < deadline:
            record = cluster.heartbeat()
            now = time.monotonic()
            if record and record.get("pid") != app and moved_at is not None:
                replaced_at = now
                break
            if record and record.get("pid") == app:
                n = monitor_beats(record)
                if n is not None and n != beats:
                    beats, moved_at, seq_after_stall = n, now, set()
                else:
                    seq_after_stall.add(record["seq"])
            pause.wait(0.05)
        else:
            raise AssertionError(f"app {app} not replaced; monitor beats {beats}\n{cluster.log_text()}")
        guard_log = cluster.log_text()
    finally:
        cluster.kill_all()
    assert beats is not None and beats >= ROUNDS  # it ran: every answered round was a beat
    assert len(seq_after_stall) >= 1  # the courier went on writing while the monitor was stuck
    stalled_for = replaced_at - moved_at
    print(f"\nmonitor stuck after {beats} ticks; replaced {stalled_for:.2f} s after its last beat "
          f"(--hang-seconds {HANG_S})")
    assert HANG_S - 0.5 <= stalled_for <= HANG_S + 2.0
    assert "REPORT: monitor stopped responding (its monitor made no progress for" in guard_log
