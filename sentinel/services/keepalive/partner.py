"""The app's half of the guard pact: heartbeat, watching the guard, and the signed exit.

    heartbeat = Heartbeat(data_dir)
    beat = heartbeat.part("monitor")        # called by the monitor after every tick
    heartbeat.start()
    watcher = GuardWatcher(default_guard_command(config_path, data_dir), data_dir, report)
    watcher.start()
    ...
    # password Exit:
    pact.write_shutdown_intent(data_dir); watcher.stop(); heartbeat.stop(); exit 0
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from sentinel import platform
from sentinel.platform import ProcessId
from sentinel.services.keepalive.pact import (
    GUARD_EXE_NAME,
    GUARD_FILE,
    HEARTBEAT_FILE,
    HEARTBEAT_INTERVAL_S,
    guard_owner,
    heartbeat_record,
    partner_command,
    read_record,
    write_record,
)
from sentinel.services.keepalive.watch import DEFAULT_STABLE_S, PartnerWatch

log = logging.getLogger(__name__)


class Heartbeat:
    """Carries the app's proof of progress to `<data>/heartbeat.json` (format in pact.py).

    Each part that must keep moving (the monitor tick, the Tk queue drain) gets a beat function
    from part() and calls it when it does its work; beating costs a counter increment, no I/O.
    A courier thread writes the counters every `interval_s`; the guard replaces the app when a
    part's counter stops moving, so a stuck monitor or a stuck window cannot look alive.
    The guard only compares counters for this pid+create_time: clock changes cannot fake a beat.
    """

    def __init__(self, data_dir: Path, interval_s: float = HEARTBEAT_INTERVAL_S,
                 wall: Callable[[], float] = time.time):
        self.path = Path(data_dir) / HEARTBEAT_FILE
        self.interval_s = interval_s
        self._wall = wall
        self.me = platform.process_id(os.getpid())
        self.seq = 0
        self._parts: dict[str, list] = {}  # name -> [beats, allow_s]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def part(self, name: str, allow_s: float = 0.0) -> Callable[[], None]:
        """Declare a part that must keep beating; returns its beat function (for one thread).

        allow_s: the longest normal gap between two beats when that is more than the guard's
        --hang-seconds (a slow tick rate); the guard caps it.
        """
        counter = self._parts.setdefault(name, [0, allow_s])

        def beat() -> None:
            counter[0] += 1
            if counter[0] == 1:  # the first beat goes out at once: proof that this start got going
                self._wake.set()

        return beat

    def allow(self, name: str, allow_s: float) -> None:
        """A new normal gap for `name` (its config changed)."""
        self._parts[name][1] = allow_s

    def write(self) -> None:
        """Write one record now; a failed write is logged once (and once when it recovers)."""
        self.seq += 1
        parts = {name: (n, allow_s) for name, (n, allow_s) in list(self._parts.items())}
        try:
            write_record(self.path, heartbeat_record(self.me, self.seq, self._wall(), parts))
            if self._failing:
                log.info("heartbeat writes recovered")
            self._failing = False
        except OSError as exc:
            if not self._failing:
                log.warning("cannot write heartbeat %s: %s (retrying)", self.path, exc)
            self._failing = True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.write()

    def start(self) -> "Heartbeat":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


def default_guard_command(config: Path | None, data_dir: Path) -> list[str]:
    """How the app starts the guard."""
    return partner_command(GUARD_EXE_NAME, "sentinel_guard.py", config, data_dir)


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
            log_path=self.data_dir / "logs" / "guard-stdout.log", stable_s=stable_s,
            ran_fine=self._guard_was_ready)

    def _guard_was_ready(self, guard: ProcessId) -> bool:
        """The dead guard had got going: it had written guard.json naming itself."""
        named = ProcessId.from_json(read_record(self.data_dir / GUARD_FILE))
        return named is not None and named.pid == guard.pid and guard.same_start(named.create_time)

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
