"""Turns core events into Discord messages and hands them to the outbox (never sends itself).

Alerts channel: "<Label> DOWN" / "<Label> RESTORED" (scripts scan these titles), config
problems, privacy on/off. Occupancy channel: batched session starts/ends (one message per
`batch_delay_seconds` window per kind) and snapshots with a chart. Screenshots channel:
routine captures. Blips are never alerted.

`on_event` runs on the publisher's thread and stays quick. Anything slow (the evidence
capture, closing batch windows) happens in `flush_due(now)`, called by `NotifierTimer`
(or by a test with a fake clock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable, Protocol

from sentinel.charts import snapshot_chart
from sentinel.events import (ConfigRejected, DailyDigest, Event, IncidentConfirmed, IncidentEnded, MonthlyReport,
                             OccupancySnapshot, PrivacyChanged, SessionEnded, SessionStarted,
                             new_event_id)
from sentinel.services.discord.delivery import (COLOURS, MAX_DESCRIPTION, MAX_FIELD_VALUE, MAX_FIELDS, MAX_FILE_BYTES, MAX_TITLE,
                                       Message,
                                       clip, fit_lines, pack_lines)
from sentinel.services.discord.reports import daily_digest, monthly_report
from sentinel.services.discord.outbox import Attachment
from sentinel.timefmt import clock, hms, stamp

log = logging.getLogger(__name__)

EVIDENCE_NAME = "evidence.webp"
CHART_NAME = "occupancy.png"
SCREENSHOT_NAME = "screenshot.webp"


class Sink(Protocol):
    """What the notifier needs from the Discord layer (Delivery implements it)."""

    @property
    def shop_name(self) -> str: ...

    def accepts(self, kind: str) -> bool: ...

    def enqueue(self, message: Message) -> int | None: ...


def _field(name: str, value: object, inline: bool = True) -> dict:
    return {"name": clip(name, 256), "value": clip(str(value) or "-", MAX_FIELD_VALUE), "inline": inline}


# ---------------------------------------------------------------------------------------------
# Message builders (pure: event + wall time in, Message out)


def incident_down(event: IncidentConfirmed) -> Message:
    label = event.component.label
    return Message(kind="alerts", event_id=event.event_id, created_wall=event.confirmed_wall, embeds=({
        "title": f"{label} DOWN",
        "description": f"{label} has been failing since {clock(event.started_wall)}.",
        "color": COLOURS["down"],
        "fields": [_field("Started", stamp(event.started_wall)),
                   _field("Confirmed", stamp(event.confirmed_wall)),
                   _field("PCs in session", event.pcs_in_session_at_start)],
    },))


def incident_restored(event: IncidentEnded, evidence: bytes | None) -> Message:
    label = event.component.label
    embed = {
        "title": f"{label} RESTORED",
        "description": f"{label} was down for {hms(event.duration_s)}.",
        "color": COLOURS["restored"],
        "fields": [_field("Start", stamp(event.started_wall)),
                   _field("End", stamp(event.ended_wall)),
                   _field("Duration", hms(event.duration_s)),
                   _field("PCs in session at start", event.pcs_in_session_at_start),
                   _field("PCs in session now", event.pcs_in_session_now)],
    }
    files: tuple[Attachment, ...] = ()
    if evidence:
        embed["image"] = {"url": f"attachment://{EVIDENCE_NAME}"}
        files = (Attachment(EVIDENCE_NAME, evidence),)
    return Message(kind="alerts", event_id=event.event_id, created_wall=event.ended_wall,
                   embeds=(embed,), files=files)


def config_rejected(event: ConfigRejected, now_wall: float) -> Message:
    problems = list(event.problems)
    shown = problems if len(problems) <= MAX_FIELDS else problems[: MAX_FIELDS - 1]
    fields = [_field(path or "(file)", message, inline=False) for path, message in shown]
    if len(shown) < len(problems):
        fields.append(_field("More", f"and {len(problems) - len(shown)} more problems", inline=False))
    return Message(kind="alerts", event_id=event.event_id, created_wall=now_wall, embeds=({
        "title": "Config problem: changes not applied",
        "description": "config.json was changed but is not valid. The last good config stays in force.",
        "color": COLOURS["config"],
        "fields": fields,
    },))


def report(title: str, text: str, now_wall: float) -> Message:
    """A monitor/config problem worth the owner's attention (guard restarts, tampering, lockouts)."""
    return Message(kind="alerts", event_id=new_event_id(), created_wall=now_wall, embeds=({
        "title": clip(title, MAX_TITLE), "description": clip(text, MAX_DESCRIPTION), "color": COLOURS["config"],
    },))


def privacy_changed(event: PrivacyChanged) -> Message:
    if event.on:
        until = f" until {clock(event.until_wall)}" if event.until_wall else ""
        title, text = "Privacy mode ON", f"Screenshots are paused{until} ({event.reason})."
    else:
        title, text = "Privacy mode OFF", f"Screenshots resume ({event.reason})."
    return Message(kind="alerts", event_id=event.event_id, created_wall=event.at_wall, embeds=({
        "title": title, "description": text, "color": COLOURS["privacy"],
    },))


def sessions_started(events: list[SessionStarted], now_wall: float) -> list[Message]:
    n = len(events)
    title = f"{n} new session" + ("" if n == 1 else "s")
    lines = [f"{e.pc} ({e.ip}) since {clock(e.started_wall)}" for e in events]
    return _occupancy_messages(title, lines, now_wall)


def sessions_ended(events: list[SessionEnded], now_wall: float) -> list[Message]:
    n = len(events)
    title = f"{n} session" + ("" if n == 1 else "s") + " ended"
    lines = []
    for e in events:
        line = (f"{e.pc} ({e.ip}) {hms(e.duration_s)}, {clock(e.started_wall)}"
                f"–{clock(e.ended_wall)}")
        lines.append(line + (" (ended during outage)" if e.during_outage else ""))
    return _occupancy_messages(title, lines, now_wall)


def _occupancy_messages(title: str, lines: list[str], now_wall: float) -> list[Message]:
    return [Message(kind="occupancy", event_id=new_event_id(), created_wall=now_wall, embeds=embeds)
            for embeds in pack_lines(title, lines, colour=COLOURS["occupancy"])]


def snapshot(event: OccupancySnapshot, chart: bytes | None) -> Message:
    names, used = fit_lines(list(event.pcs_in_session), MAX_FIELD_VALUE - 40)
    if used < len(event.pcs_in_session):
        names += f"\n… and {len(event.pcs_in_session) - used} more"
    embed = {
        "title": clip(f"Occupancy {clock(event.at_wall)[:5]}: "
                      f"{event.in_session}/{event.total} PCs ({event.percent:.0f}%)", 256),
        "color": COLOURS["snapshot"],
        "fields": [_field("In session", f"{event.in_session} / {event.total}"),
                   _field("Occupancy", f"{event.percent:.0f}%"),
                   _field("PCs in session", names or "none", inline=False)],
    }
    files: tuple[Attachment, ...] = ()
    if chart:
        embed["image"] = {"url": f"attachment://{CHART_NAME}"}
        files = (Attachment(CHART_NAME, chart),)
    return Message(kind="occupancy", event_id=event.event_id, created_wall=event.at_wall,
                   embeds=(embed,), files=files)


def screenshot(webp: bytes, taken_wall: float) -> Message:
    return Message(kind="screenshots", event_id=new_event_id(), created_wall=taken_wall, embeds=({
        "title": "Screenshot",
        "description": f"Taken {stamp(taken_wall)}.",
        "color": COLOURS["screenshot"],
        "image": {"url": f"attachment://{SCREENSHOT_NAME}"},
    },), files=(Attachment(SCREENSHOT_NAME, webp),))


# ---------------------------------------------------------------------------------------------
# The bus subscriber


class Notifier:
    """Bus subscriber: `bus.subscribe(notifier.on_event)`; a timer calls `flush_due()` every second.

    `evidence` is called (on the timer thread) at the end of an incident and returns WebP bytes,
    or None in privacy mode or when the capture failed. `clock` is monotonic (batch windows),
    `wall_clock` epoch seconds (message times). `quiet(event)` says an alert stays unsent (closed
    hours); `history(since_wall)` gives the stored snapshots (at_wall, in_session, total) for the chart.
    """

    def __init__(self, sink: Sink, *, batch_delay_seconds: float = 30.0,
                 evidence: Callable[[], bytes | None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 occupancy_enabled: bool = True,
                 quiet: Callable[[Event], bool] = lambda event: False,
                 history: Callable[[float], list[tuple[float, int, int]]] | None = None):
        self._sink = sink
        self._evidence = evidence
        self._clock, self._wall = clock, wall_clock
        self._lock = threading.Lock()
        self._batch_delay = batch_delay_seconds
        self._occupancy_enabled = occupancy_enabled
        self._batches: dict[str, tuple[float, list]] = {}  # "started"/"ended" -> (window opened, events)
        self._alerts: deque = deque()  # alert jobs waiting for the timer thread (evidence capture)
        self._quiet = quiet
        self._history = history

    def reconfigure(self, batch_delay_seconds: float, occupancy_enabled: bool = True) -> None:
        with self._lock:
            self._batch_delay = batch_delay_seconds
            self._occupancy_enabled = occupancy_enabled

    # -- events ----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if self._quiet(event):
            return
        if isinstance(event, IncidentConfirmed):
            self._alert(lambda: incident_down(event))
        elif isinstance(event, IncidentEnded):
            self._alert(lambda: incident_restored(event, self._capture_evidence()))
        elif isinstance(event, ConfigRejected):
            now = self._wall()
            self._alert(lambda: config_rejected(event, now))
        elif isinstance(event, PrivacyChanged):
            self._alert(lambda: privacy_changed(event))
        elif isinstance(event, (SessionStarted, SessionEnded)):
            self._batch(event)
        elif isinstance(event, OccupancySnapshot):
            self._snapshot(event)
        elif isinstance(event, DailyDigest):
            self._alert(lambda: daily_digest(event))
        elif isinstance(event, MonthlyReport):
            self._alert(lambda: monthly_report(event))
        # Blip, IncidentOpened, MonitorStatus, ...: nothing to send.

    def report(self, title: str, text: str) -> None:
        """Queue a monitor problem on the alerts channel (thread-safe, keeps alert order)."""
        now = self._wall()
        self._alert(lambda: report(title, text, now))

    def send_screenshot(self, webp: bytes, taken_wall: float) -> int | None:
        """Queue a routine screenshot on the screenshots channel (None when that channel is off)."""
        if len(webp) > MAX_FILE_BYTES:
            log.warning("screenshot of %d bytes is over Discord's file limit; not sent", len(webp))
            return None
        if not self._sink.accepts("screenshots"):
            return None
        return self._sink.enqueue(screenshot(webp, taken_wall))

    def _alert(self, build: Callable[[], Message]) -> None:
        if not self._sink.accepts("alerts"):
            return
        with self._lock:
            if self._evidence is not None or self._alerts:
                # Keep alert order; the evidence capture is slow, so the timer thread does it.
                self._alerts.append(build)
                return
        self._sink.enqueue(build())

    def _capture_evidence(self) -> bytes | None:
        if self._evidence is None:
            return None
        try:
            data = self._evidence()
        except Exception:
            log.exception("evidence capture failed")
            return None
        if data and len(data) > MAX_FILE_BYTES:
            log.warning("evidence screenshot of %d bytes is over Discord's file limit; not attached", len(data))
            return None
        return data or None

    def _batch(self, event: SessionStarted | SessionEnded) -> None:
        key = "started" if isinstance(event, SessionStarted) else "ended"
        with self._lock:
            if not self._occupancy_enabled:
                return
            opened, events = self._batches.get(key, (self._clock(), []))
            events.append(event)
            self._batches[key] = (opened, events)
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
        self._sink.enqueue(snapshot(event, chart))

    # -- timer -----------------------------------------------------------------------------

    def flush_due(self, now: float | None = None) -> int:
        """Queue pending alerts and every batch whose window has closed; returns messages queued."""
        now = self._clock() if now is None else now
        queued = 0
        while True:
            with self._lock:
                if not self._alerts:
                    break
                build = self._alerts[0]
            try:
                message = build()
            except Exception:
                log.exception("building an alert failed; skipping it")
                message = None
            if message is not None and self._sink.enqueue(message) is not None:
                queued += 1
            with self._lock:
                self._alerts.popleft()
        with self._lock:
            due = [(key, events) for key, (opened, events) in self._batches.items()
                   if now - opened >= self._batch_delay]
            for key, _ in due:
                del self._batches[key]
        for key, events in sorted(due, key=lambda item: item[0] != "ended"):
            queued += self._send_batch(key, events)
        return queued

    def flush_all(self) -> int:
        """Queue everything pending now (clean shutdown)."""
        return self.flush_due(now=float("inf"))

    def pending(self) -> dict[str, int]:
        with self._lock:
            result = {key: len(events) for key, (_, events) in self._batches.items()}
            result["alerts"] = len(self._alerts)
        return result

    def _send_batch(self, key: str, events: list) -> int:
        if not self._sink.accepts("occupancy"):
            return 0
        now_wall = self._wall()
        messages = sessions_started(events, now_wall) if key == "started" else sessions_ended(events, now_wall)
        for message in messages:
            self._sink.enqueue(message)
        return len(messages)


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


def queue_report_from_another_process(db_path, config_path, last_good_path, title: str, text: str) -> bool:
    """For the guard (no bus, no senders): store an alert in the shared outbox; the app's sender
    delivers it. False when Discord or the alerts webhook is off, or no usable config exists."""
    from pathlib import Path

    from sentinel.config.model import parse_config
    from sentinel.services.discord.delivery import finish_payload, validate_payload
    from sentinel.services.discord.outbox import Outbox

    config = None
    for path in (config_path, last_good_path):
        try:
            config, problems = parse_config(Path(path).read_bytes())
        except (OSError, TypeError):
            continue
        if not problems:
            break
        config = None
    if config is None or not config.discord_settings.enabled or not config.discord_settings.webhook_alerts:
        return False
    message = report(title, text, time.time())
    payload = finish_payload(message, config.discord_settings.shop_name)
    if validate_payload(payload, message.files):
        return False
    outbox = Outbox(db_path)
    try:
        outbox.add(message.kind, message.created_wall, payload, message.files)
    finally:
        outbox.close()
    return True
