"""Evidence screenshots kept for reports: one when an incident is confirmed, one when it ends.

Files go to `<data>/evidence/` and are linked to their incident in the database; files older
than `report_settings.evidence_retention_days` are deleted (at start and every few hours).
The capture runs on this keeper's own thread, a moment after the event so the status window
already shows the incident red (or restored). `capture` returns WebP bytes, or None in
privacy mode, with screenshots disabled or when the screen cannot be grabbed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from sentinel.files import atomic_write
from sentinel.events import ConfigReloaded, IncidentConfirmed, IncidentEnded
from sentinel.services.recording.storage import Storage

log = logging.getLogger(__name__)

SETTLE_S = 1.0  # the window redraws within ~0.1 s of a status; wait this long before the capture
PRUNE_EVERY_S = 6 * 3600.0
DAY_S = 86400.0
PHASES = {IncidentConfirmed: "confirmed", IncidentEnded: "ended"}


def evidence_name(event: IncidentConfirmed | IncidentEnded, phase: str) -> str:
    """`20261201-140211-ISP_DOWN-1a2b3c-confirmed.webp`: sorts by time, names the cause."""
    started = time.strftime("%Y%m%d-%H%M%S", time.localtime(event.started_wall))
    return f"{started}-{event.component.value}-{event.key[:6]}-{phase}.webp"


class EvidenceKeeper:
    """Bus subscriber (`bus.subscribe(keeper.on_event)`) with a worker thread; start() / stop()."""

    def __init__(self, folder: Path, storage: Storage, capture: Callable[[], bytes | None], *,
                 retention_days: int, wall_clock: Callable[[], float] = time.time, settle_s: float = SETTLE_S):
        self._folder = Path(folder)
        self._storage = storage
        self._capture = capture
        self._retention_days = retention_days
        self._wall = wall_clock
        self._settle_s = settle_s
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_event(self, event) -> None:
        if isinstance(event, (IncidentConfirmed, IncidentEnded)):
            self._jobs.put(event)
        elif isinstance(event, ConfigReloaded):
            self._retention_days = event.config.report_settings.evidence_retention_days

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="evidence", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._jobs.put(None)  # wake the worker
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        next_prune = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_prune:
                self._guarded(self.prune, self._wall())
                next_prune = time.monotonic() + PRUNE_EVERY_S
            try:
                event = self._jobs.get(timeout=PRUNE_EVERY_S)
            except queue.Empty:
                continue
            if event is None or self._stop.wait(self._settle_s):
                return
            self._guarded(self.keep, event)

    def _guarded(self, work, arg) -> None:
        try:
            work(arg)
        except Exception:
            log.exception("evidence: %s failed", work.__name__)

    def keep(self, event: IncidentConfirmed | IncidentEnded) -> Path | None:
        """Capture now, save the file and link it to the incident; None when there was nothing to keep."""
        phase = PHASES[type(event)]
        taken_wall = self._wall()
        data = self._capture()
        if not data:
            return None
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / evidence_name(event, phase)
        atomic_write(path, data)
        self._storage.add_evidence(event.key, phase, taken_wall, path.name)
        return path

    def shot(self, incident_key: str, phase: str = "confirmed") -> bytes | None:
        """The kept screenshot of an incident (the RESTORED alert shows the outage, not the recovery)."""
        name = self._storage.evidence_file(incident_key, phase)
        try:
            return (self._folder / name).read_bytes() if name else None
        except OSError:
            return None

    def prune(self, now_wall: float) -> int:
        """Delete evidence older than the retention; returns how many files went."""
        old = self._storage.evidence_before(now_wall - self._retention_days * DAY_S)
        for _, name in old:
            (self._folder / name).unlink(missing_ok=True)
        self._storage.forget_evidence([row_id for row_id, _ in old])
        if old:
            log.info("evidence: deleted %d screenshots older than %d days", len(old), self._retention_days)
        return len(old)
