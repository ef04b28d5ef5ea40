"""Run a real guard + dummy app pair in a temp data dir, kill them, measure restarts.

Every process is found by its unique data dir in the command line (only ours have it) and
killed by PID at the end: SIGSTOP all first so the mutual watchers cannot respawn each other.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
DUMMY_APP = REPO / "tests" / "helpers" / "guard_dummy_app.py"
POLL_S = 0.002


def wait_for(predicate, timeout: float, what: str):
    """Poll predicate until it returns something truthy; AssertionError after timeout."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        pause.wait(POLL_S)


def gone(pid: int) -> bool:
    """The process has exited (or is a zombie waiting to be reaped); safe against the race
    where it vanishes between two looks."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class Cluster:
    def __init__(self, data_dir: Path, hang_s: float = 30.0, stable_s: float = 0.3,
                 heartbeat_s: float = 0.1, app_cmd: list[str] | None = None, mutual: bool = True,
                 wrap: list[str] = ()):
        """wrap: a prefix for the guard's command line, e.g. ["ip", "netns", "exec", NS]."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.app_cmd = app_cmd or [sys.executable, str(DUMMY_APP), str(self.data_dir)]
        self.guard_cmd = [*wrap, sys.executable, str(REPO / "sentinel_guard.py"),
                          "--data-dir", str(self.data_dir), "--hang-seconds", str(hang_s),
                          "--stable-seconds", str(stable_s), "--app-cmd", *self.app_cmd]
        self.env = dict(os.environ, SENTINEL_TEST_HB=str(heartbeat_s),
                        SENTINEL_TEST_STABLE=str(stable_s), PYTHONPATH=str(REPO))
        if mutual:
            self.env["SENTINEL_TEST_GUARD_CMD"] = json.dumps(self.guard_cmd)

    # ---- observation ----
    def guard_json(self) -> dict | None:
        try:
            return json.loads((self.data_dir / "guard.json").read_bytes())
        except (OSError, ValueError):
            return None

    def heartbeat(self) -> dict | None:
        try:
            return json.loads((self.data_dir / "heartbeat.json").read_bytes())
        except (OSError, ValueError):
            return None

    def ours(self) -> list[psutil.Process]:
        needle = str(self.data_dir)
        found = []
        for proc in psutil.process_iter(["cmdline", "status"]):
            cmdline = proc.info.get("cmdline") or []
            if proc.pid != os.getpid() and proc.info.get("status") != psutil.STATUS_ZOMBIE \
                    and any(needle in part for part in cmdline):
                found.append(proc)
        return found

    def log_text(self, name: str = "guard.log") -> str:
        try:
            return (self.data_dir / "logs" / name).read_text()
        except OSError:
            return ""

    # ---- control ----
    def start(self, timeout: float = 5.0):
        import subprocess

        self.first = subprocess.Popen(self.guard_cmd, env=self.env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        return self.wait_ready(timeout=timeout)

    def wait_ready(self, old_app: int | None = None, old_guard: int | None = None, timeout=5.0):
        """Guard and app both up: guard.json names a live guard and app, app heart-beating."""
        def ready():
            info, beat = self.guard_json(), self.heartbeat()
            if not info or not info.get("app") or not beat:
                return None
            guard, app = info["pid"], info["app"]["pid"]
            if guard == old_guard or app == old_app or beat.get("pid") != app:
                return None
            if not (psutil.pid_exists(guard) and psutil.pid_exists(app)):
                return None
            return guard, app
        return wait_for(ready, timeout, "guard and app ready")

    def wait_beats(self, app: int, beats: int, timeout=5.0):
        def enough():
            beat = self.heartbeat()
            return beat and beat.get("pid") == app and beat.get("seq", 0) >= beats
        wait_for(enough, timeout, f"{beats} heartbeats from app {app}")

    def kill_app(self, beats: int = 4) -> float:
        """SIGKILL the app once it has beaten `beats` times; seconds until the guard has a new app running."""
        _guard, app = self.wait_ready()
        self.wait_beats(app, beats)
        t0 = time.monotonic()
        os.kill(app, signal.SIGKILL)
        def replaced():
            info = self.guard_json()
            new = info and info.get("app") and info["app"]["pid"]
            return new and new != app and psutil.pid_exists(new)
        wait_for(replaced, 5.0, "a new app")
        latency = time.monotonic() - t0
        self.wait_ready(old_app=app)
        return latency

    def kill_guard(self) -> tuple[float, float]:
        """SIGKILL the guard; (seconds until a new guard process exists, until it is ready)."""
        guard, app = self.wait_ready()
        wait_for(lambda: time.time() - (self.guard_json() or {}).get("written_wall", 0) > 0.4,
                 5.0, "guard settled")
        app_proc = psutil.Process(app)
        t0 = time.monotonic()
        os.kill(guard, signal.SIGKILL)
        def spawned():
            try:
                return [c.pid for c in app_proc.children() if c.pid != guard
                        and c.status() != psutil.STATUS_ZOMBIE]
            except psutil.Error:
                return None
        wait_for(spawned, 5.0, "a new guard process")
        t_spawn = time.monotonic() - t0
        new_guard, _ = self.wait_ready(old_guard=guard)
        t_ready = time.monotonic() - t0
        return t_spawn, t_ready

    def kill_all(self, rounds: int = 20) -> None:
        """Stop everything we started, by PID: freeze all (no respawns), then SIGKILL."""
        frozen: dict[int, psutil.Process] = {}
        for _ in range(rounds):
            found = [p for p in self.ours() if p.pid not in frozen]
            if not found:
                break
            for proc in found:
                try:
                    proc.send_signal(signal.SIGSTOP)
                    frozen[proc.pid] = proc
                except psutil.Error:
                    pass
        for proc in frozen.values():
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(list(frozen.values()), timeout=3)
        if getattr(self, "first", None) is not None:
            self.first.poll()


def summary(latencies: list[float]) -> str:
    return (f"n={len(latencies)} median={statistics.median(latencies) * 1000:.0f} ms "
            f"max={max(latencies) * 1000:.0f} ms")
