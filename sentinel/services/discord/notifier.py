"""Turns bus events into Discord messages and hands them to the sink (never sends itself).

Alerts channel: incidents (DOWN, still DOWN, RESTORED with evidence), UNSTABLE components,
config problems, privacy on/off, monitor reports, a webhook Discord keeps refusing, the daily
digest and monthly report (reports.py), and the live status board. Occupancy channel: one session summary per `batch_delay_seconds` window,
and snapshots with a chart. Screenshots channel: routine captures. Blips are never alerted.
Every message is built in messages.py.

`on_event` may run on any thread (the bus's) and stays quick. Anything slow (the evidence
capture, closing batch windows, the status board's once-a-minute edit) happens in
`flush_due(now)`, called by `NotifierTimer` (or by a test with a fake clock). All state is
behind one lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable, Protocol

from sentinel.charts import snapshot_chart
from sentinel.events import (ComponentUnstable, ConfigRejected, DailyDigest, DatabaseReplaced, DeliveryStatus, Event,
                             IncidentConfirmed, IncidentEnded, IncidentReminder, MonitorStatus, MonthlyReport,
                             OccupancySnapshot, PrivacyChanged, RecordingStalled, SessionEnded, SessionStarted)
from sentinel.services.discord import messages
from sentinel.services.discord.reports import daily_digest, monthly_report
from sentinel.services.discord.limits import MAX_FILE_BYTES
from sentinel.services.discord.messages import Message
from sentinel.today import Today, advance

log = logging.getLogger(__name__)

BOARD_EVERY_S = 60.0  # the status board is edited at most this often, and only when it changed


class Sink(Protocol):
    """What the notifier needs from the Discord layer (Delivery and the demo's FolderSink)."""

    def accepts(self, kind: str) -> bool: ...

    def enqueue(self, message: Message) -> int | None: ...

    def incident_number(self, key: str, started_wall: float) -> int | None: ...

    def update_board(self, message: Message) -> None: ...



class Notifier:
    """Bus subscriber: `bus.subscribe(notifier.on_event)`; a timer calls `flush_due()` every second.

    `evidence(ended)` is called (on the timer thread) at the end of an incident and returns WebP
    bytes (the screenshot kept when it was confirmed, so it shows the outage), or None. `clock` is monotonic (batch windows,
    the board's minute), `wall_clock` epoch seconds (message times). `quiet(event)` says an alert
    stays unsent (closed hours); `history(since_wall)` gives the stored snapshots (at_wall,
    in_session, total) for the chart.
    """

    def __init__(self, sink: Sink, *, batch_delay_seconds: float = 30.0,
                 evidence: Callable[[IncidentEnded], bytes | None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 occupancy_enabled: bool = True,
                 quiet: Callable[[Event], bool] = lambda event: False,
                 history: Callable[[float], list[tuple[float, int, int]]] | None = None,
                 status_board: bool = True):
        self._sink = sink
        self._evidence = evidence
        self._clock, self._wall = clock, wall_clock
        self._lock = threading.Lock()
        self._batch_delay = batch_delay_seconds
        self._occupancy_enabled = occupancy_enabled
        self._board_enabled = status_board
        self._batch: tuple[float, list, list] | None = None  # (window opened, started, ended)
        self._alerts: deque = deque()  # alert builders waiting for the timer thread (evidence capture)
        self._quiet = quiet
        self._history = history
        self._today = Today()
        self._status: MonitorStatus | None = None
        self._board_view: messages.BoardView | None = None  # what the board was last asked to show
        self._board_at = -float("inf")
        self._throttled: frozenset = frozenset()

    def reconfigure(self, batch_delay_seconds: float, occupancy_enabled: bool = True,
                    status_board: bool = True) -> None:
        with self._lock:
            self._batch_delay = batch_delay_seconds
            self._occupancy_enabled = occupancy_enabled
            if status_board and not self._board_enabled:
                self._board_view, self._board_at = None, -float("inf")
            self._board_enabled = status_board

    # -- events ----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        wall = event.at_wall if isinstance(event, MonitorStatus) else self._wall()
        with self._lock:
            self._today = advance(self._today, event, wall)
            if isinstance(event, MonitorStatus):
                self._status = event
        if self._quiet(event):
            return
        if isinstance(event, IncidentConfirmed):
            self._alert(lambda: messages.incident_down(event, self._number(event.key, event.started_wall)))
        elif isinstance(event, IncidentEnded):
            self._alert(lambda: messages.incident_restored(event, self._number(event.key, event.started_wall),
                                                           self._capture_evidence(event)),
                        slow=self._evidence is not None)
        elif isinstance(event, IncidentReminder):
            self._alert(lambda: messages.incident_reminder(event, self._number(event.key, event.started_wall)))
        elif isinstance(event, ComponentUnstable):
            self._alert(lambda: messages.component_unstable(event))
        elif isinstance(event, ConfigRejected):
            self._alert(lambda: messages.config_rejected(event, wall))
        elif isinstance(event, PrivacyChanged):
            self._alert(lambda: messages.privacy_changed(event))
        elif isinstance(event, (DatabaseReplaced, RecordingStalled)):
            self._alert(lambda: messages.recording_problem(event))
        elif isinstance(event, (SessionStarted, SessionEnded)):
            self._add_to_batch(event)
        elif isinstance(event, OccupancySnapshot):
            self._snapshot(event)
        elif isinstance(event, DeliveryStatus):
            self._delivery_status(event, wall)
        elif isinstance(event, DailyDigest):
            self._alert(lambda: daily_digest(event))
        elif isinstance(event, MonthlyReport):
            self._alert(lambda: monthly_report(event))
        # Blip, IncidentOpened, MonitorStatus, ...: nothing to send (they feed today's uptime).

    def report(self, title: str, text: str) -> None:
        """Queue a monitor problem on the alerts channel (thread-safe, keeps alert order)."""
        now = self._wall()
        self._alert(lambda: messages.report(title, text, now))

    def send_screenshot(self, webp: bytes, taken_wall: float) -> int | None:
        """Queue a routine screenshot on the screenshots channel (None when that channel is off)."""
        if len(webp) > MAX_FILE_BYTES:
            log.warning("screenshot of %d bytes is over Discord's file limit; not sent", len(webp))
            return None
        if not self._sink.accepts("screenshots"):
            return None
        return self._sink.enqueue(messages.screenshot(webp, taken_wall))

    def _number(self, key: str, started_wall: float) -> int | None:
        try:
            return self._sink.incident_number(key, started_wall)
        except Exception:
            log.exception("no incident number for %s", key)
            return None

    def _alert(self, build: Callable[[], Message], slow: bool = False) -> None:
        if not self._sink.accepts("alerts"):
            return
        with self._lock:
            if slow or self._alerts:
                # Keep alert order behind a slow build (the evidence capture): the timer does it.
                self._alerts.append(build)
                return
        self._queue_alert(build)

    def _queue_alert(self, build: Callable[[], Message]) -> bool:
        """Build and queue one alert; a failure is logged and never holds back the next one."""
        try:
            return self._sink.enqueue(build()) is not None
        except Exception:
            log.exception("an alert could not be built or queued; skipping it")
            return False

    def _capture_evidence(self, event: IncidentEnded) -> bytes | None:
        if self._evidence is None:
            return None
        try:
            data = self._evidence(event)
        except Exception:
            log.exception("evidence capture failed")
            return None
        if data and len(data) > MAX_FILE_BYTES:
            log.warning("evidence screenshot of %d bytes is over Discord's file limit; not attached", len(data))
            return None
        return data or None

    def _add_to_batch(self, event: SessionStarted | SessionEnded) -> None:
        with self._lock:
            if not self._occupancy_enabled:
                return
            if self._batch is None:
                self._batch = (self._clock(), [], [])
            self._batch[1 if isinstance(event, SessionStarted) else 2].append(event)
            immediate = self._batch_delay <= 0
        if immediate:
            self.flush_due()

    def _snapshot(self, event: OccupancySnapshot) -> None:
        with self._lock:
            enabled = self._occupancy_enabled
        if not enabled or not self._sink.accepts("occupancy"):
            return
        try:
            history = self._history(event.at_wall - 86400.0) if self._history else []
            chart = snapshot_chart(history or [(event.at_wall, event.in_session, event.total)], event.at_wall)
        except Exception:
            log.exception("drawing the occupancy chart failed; sending the snapshot without it")
            chart = None
        self._sink.enqueue(messages.snapshot(event, chart))

    def _delivery_status(self, event: DeliveryStatus, wall: float) -> None:
        throttled = frozenset(event.throttled)
        with self._lock:
            new = throttled - self._throttled
            self._throttled = throttled
        if new:
            self._alert(lambda: messages.webhook_throttled(tuple(sorted(new)), wall))

    # -- timer -----------------------------------------------------------------------------

    def flush_due(self, now: float | None = None) -> int:
        """Queue pending alerts, a batch whose window has closed and a due board edit; returns messages queued."""
        now = self._clock() if now is None else now
        queued = self._flush(now)
        self._update_board(now)
        return queued

    def flush_all(self) -> int:
        """Queue every pending alert and batch now (clean shutdown); the board keeps its minute."""
        return self._flush(float("inf"))

    def _flush(self, now: float) -> int:
        queued = 0
        while True:
            with self._lock:
                if not self._alerts:
                    break
                build = self._alerts[0]
            try:
                queued += self._queue_alert(build)
            finally:
                with self._lock:
                    self._alerts.popleft()
        with self._lock:
            batch = None
            if self._batch is not None and now - self._batch[0] >= self._batch_delay:
                batch, self._batch = self._batch, None
        if batch is not None and self._sink.accepts("occupancy"):
            for message in messages.sessions_summary(batch[1], batch[2], self._wall()):
                queued += self._sink.enqueue(message) is not None
        return queued

    def pending(self) -> dict[str, int]:
        with self._lock:
            started, ended = (self._batch[1], self._batch[2]) if self._batch else ((), ())
            return {"started": len(started), "ended": len(ended), "alerts": len(self._alerts)}

    def _update_board(self, now: float) -> None:
        with self._lock:
            if not self._board_enabled or self._status is None or now - self._board_at < BOARD_EVERY_S:
                return
            view = messages.board_view(self._status, self._today)
            if view == self._board_view:
                return
            self._board_view, self._board_at = view, now
        try:
            self._sink.update_board(messages.status_board(view, self._wall()))
        except Exception:
            log.exception("the status board could not be updated")


class NotifierTimer:
    """Calls `notifier.flush_due()` every `period_s` until `stop_event` is set, then flushes all."""

    def __init__(self, notifier: Notifier, stop_event: threading.Event, period_s: float = 1.0):
        self._notifier = notifier
        self._stop = stop_event
        self._period = period_s
        self._thread = threading.Thread(target=self._run, name="notifier-timer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self._notifier.flush_due()
            except Exception:
                log.exception("notifier flush failed")
        try:
            self._notifier.flush_all()
        except Exception:
            log.exception("notifier final flush failed")
