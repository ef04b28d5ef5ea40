"""The real guard CLI and a dummy app (Heartbeat + GuardWatcher) under Windows: kills of
either side are restarted, and the password exit stops both. Windows CPython only."""

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

if sys.platform != "win32":
    pytest.skip("Windows-only; run with a Windows CPython (tests/packaging/test_wine.py)",
                allow_module_level=True)

import psutil  # noqa: E402

from sentinel import platform  # noqa: E402
from sentinel.platform import ProcessId  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DUMMY_APP = REPO / "tests" / "helpers" / "guard_dummy_app.py"


def wait_for(predicate, timeout, what):
    pause, deadline = threading.Event(), time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.005)


def read(path):
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


@pytest.mark.timeout(240)
def test_guard_pact_on_windows(tmp_path):
    data = tmp_path / "data"
    app_cmd = [sys.executable, str(DUMMY_APP), str(data)]
    guard_cmd = [sys.executable, str(REPO / "sentinel_guard.py"), "--data-dir", str(data),
                 "--stable-seconds", "0.3", "--app-cmd", *app_cmd]
    env = dict(os.environ, SENTINEL_TEST_GUARD_CMD=json.dumps(guard_cmd), SENTINEL_TEST_HB="0.1",
               SENTINEL_TEST_STABLE="0.3", PYTHONPATH=str(REPO))
    started = [platform.spawn(guard_cmd, env=env)]

    def ready(old_app=None, old_guard=None):
        info, beat = read(data / "guard.json"), read(data / "heartbeat.json")
        if not info or not info.get("app") or not beat or beat.get("seq", 0) < 4:
            return None
        guard, app = ProcessId.from_json(info), ProcessId.from_json(info["app"])
        if guard.pid == old_guard or app.pid == old_app or beat.get("pid") != app.pid:
            return None
        return (guard, app) if platform.is_alive(guard) and platform.is_alive(app) else None

    try:
        guard, app = wait_for(ready, 60, "guard and app up")
        latencies = []
        for _ in range(3):
            t0 = time.monotonic()
            assert platform.kill(app)
            wait_for(lambda: (read(data / "guard.json") or {}).get("app", {}).get("pid") not in
                     (None, app.pid), 10, "app restarted")
            latencies.append(time.monotonic() - t0)
            guard, app = wait_for(lambda: ready(old_app=app.pid), 30, "new app up")
            started.append(app)
        guard_latencies = []
        for _ in range(3):
            time.sleep(0.4)  # let the guard's run count as stable (no backoff)
            t0 = time.monotonic()
            assert platform.kill(guard)
            guard, app = wait_for(lambda: ready(old_guard=guard.pid), 30, "guard restarted")
            guard_latencies.append(time.monotonic() - t0)
            started.append(guard)
        print(f"\napp restarts {[round(x, 3) for x in latencies]}; "
              f"guard back and ready {[round(x, 3) for x in guard_latencies]}")
        assert max(latencies) < 1.0

        (data / "exit.request").touch()
        assert platform.wait_exit(app, 30)
        assert platform.wait_exit(guard, 30)
        assert "verified shutdown intent" in (data / "logs" / "guard.log").read_text()
        time.sleep(1.5)
        assert ready() is None and not platform.is_alive(guard) and not platform.is_alive(app)
    finally:
        needle = str(data)
        for proc in psutil.process_iter():
            try:
                if proc.pid != os.getpid() and any(needle in part for part in proc.cmdline()):
                    proc.kill()
            except (psutil.Error, OSError):  # Wine: cmdline() fails with WinError 87
                pass
        for pid_id in started:
            platform.kill(pid_id)
