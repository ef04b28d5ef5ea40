"""The app's half of the guard pact: heartbeat, watching the guard, and the signed exit.

    heartbeat = Heartbeat(data_dir); heartbeat.start()
    watcher = GuardWatcher(default_guard_command(config_path, data_dir), data_dir, report)
    watcher.start()
    ...
    # password Exit:
    write_shutdown_intent(data_dir); watcher.stop(); heartbeat.stop(); exit 0
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from sentinel import platform
from sentinel.guard import (
    DEFAULT_STABLE_S,
    GUARD_EXE_NAME,
    HEARTBEAT_FILE,
    HEARTBEAT_INTERVAL_S,
    INTENT_FILE,
    PartnerWatch,
    guard_owner,
    load_or_create_intent_key,
    sign_intent,
    write_json_atomic,
)
from sentinel.platform import ProcessId

log = logging.getLogger(__name__)


class Heartbeat:
    """Rewrites `<data>/heartbeat.json` every `interval_s`: {"pid", "create_time", "seq", "wall"}.

    The guard only looks at whether `seq` moves for this pid+create_time, so clock changes
    cannot fake or hide a hang.
    """

    def __init__(self, data_dir: Path, interval_s: float = HEARTBEAT_INTERVAL_S):
        self.path = Path(data_dir) / HEARTBEAT_FILE
        self.interval_s = interval_s
        self.me = platform.process_id(os.getpid())
        self.seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def beat(self) -> None:
        """Write one heartbeat now (also called by start())."""
        self.seq += 1
        try:
            write_json_atomic(self.path, {**self.me.to_json(), "seq": self.seq, "wall": time.time()})
            if self._failing:
                log.info("heartbeat writes recovered")
            self._failing = False
        except OSError as exc:
            if not self._failing:
                log.warning("cannot write heartbeat %s: %s", self.path, exc)
            self._failing = True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()

    def start(self) -> "Heartbeat":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.beat()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


def default_guard_command(config: Path | None, data_dir: Path) -> list[str]:
    """How the app starts the guard: CafeSentinelGuard[.exe] beside the app (or in
    ../CafeSentinelGuard/) when frozen, else [python, <install_dir>/sentinel_guard.py]."""
    from sentinel.paths import install_dir

    suffix = ".exe" if os.name == "nt" else ""
    if getattr(sys, "frozen", False):
        here = Path(sys.executable).resolve().parent
        candidates = [here / f"{GUARD_EXE_NAME}{suffix}",
                      here.parent / GUARD_EXE_NAME / f"{GUARD_EXE_NAME}{suffix}"]
        argv = [str(next((c for c in candidates if c.exists()), candidates[0]))]
    else:
        argv = [sys.executable, str(install_dir() / "sentinel_guard.py")]
    if config is not None:
        argv += ["--config", str(config)]
    return argv + ["--data-dir", str(data_dir)]


def _with_adopt(guard_cmd: list[str], me: ProcessId) -> list[str]:
    """Insert --adopt-app before --app-cmd (which swallows everything after it)."""
    adopt = ["--adopt-app", f"{me.pid}:{me.create_time!r}"]
    if "--app-cmd" in guard_cmd:
        at = guard_cmd.index("--app-cmd")
        return guard_cmd[:at] + adopt + guard_cmd[at:]
    return guard_cmd + adopt


class GuardWatcher:
    """Watches the guard and restarts it within a second of its death (mutual watching).

    A guard named in guard.json that is alive is adopted; otherwise one is started with
    --adopt-app <this app>, so the new guard watches us instead of starting a second app.
    `report(text)` gets "guard was terminated at 14:02:11, restarted in 0.1 s" (wire it to
    the alerts outbox). stop() before a password exit so the guard is not brought back.
    """

    def __init__(self, guard_cmd: list[str], data_dir: Path, report: Callable[[str], None],
                 stable_s: float = DEFAULT_STABLE_S):
        self.data_dir = Path(data_dir)
        self.me = platform.process_id(os.getpid())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.watch = PartnerWatch(
            label="guard", command=lambda: _with_adopt(list(guard_cmd), self.me),
            locate=lambda: guard_owner(self.data_dir), report=report,
            log_path=self.data_dir / "logs" / "guard-stdout.log", stable_s=stable_s)

    def start(self) -> "GuardWatcher":
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="guard-watcher", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.watch.run(self._stop)
        except Exception:
            log.exception("guard watcher failed")

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def write_shutdown_intent(data_dir: Path, wall: Callable[[], float] = time.time,
                          app: ProcessId | None = None) -> Path:
    """Sign "this app process (or `app`) is exiting on purpose" for the guard (password Exit only)."""
    me = app or platform.process_id(os.getpid())
    key = load_or_create_intent_key(data_dir)
    path = Path(data_dir) / INTENT_FILE
    tmp = path.with_name(f".{INTENT_FILE}.{os.getpid()}.tmp")
    tmp.write_bytes(sign_intent(key, me, wall(), secrets.token_hex(16)))
    os.replace(tmp, path)
    return path
