"""--headless output: one line on every state change, to stdout, flushed."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from sentinel.events import (
    Blip,
    ComponentUnstable,
    ConfigRejected,
    ConfigReloaded,
    DatabaseReplaced,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    IncidentReminder,
    MonitorStatus,
    OccupancySnapshot,
    PrivacyChanged,
    RecordingStalled,
    SessionEnded,
    SessionStarted,
)
from sentinel.timefmt import clock, hms, spoken, stamp


def describe(event) -> str | None:
    """The line for one event, or None for events that are not state changes."""
    if isinstance(event, IncidentOpened):
        return f"{event.component.label} not answering (since {clock(event.started_wall)})"
    if isinstance(event, IncidentConfirmed):
        return f"{event.component.label} DOWN since {clock(event.started_wall)}"
    if isinstance(event, IncidentEnded):
        return f"{event.component.label} RESTORED after {hms(event.duration_s)}"
    if isinstance(event, Blip):
        return f"{event.component.label} blip of {event.duration_s:.1f} s (not an incident)"
    if isinstance(event, IncidentReminder):
        return f"{event.component.label} still DOWN ({hms(event.duration_s)})"
    if isinstance(event, ComponentUnstable):
        return f"{event.component.label} UNSTABLE: {event.blips} blips within {spoken(event.window_s)}"
    if isinstance(event, SessionStarted):
        return f"{event.pc} session started (since {clock(event.started_wall)})"
    if isinstance(event, SessionEnded):
        note = ", ended during outage" if event.during_outage else ""
        return f"{event.pc} session ended at {clock(event.ended_wall)} ({hms(event.duration_s)}{note})"
    if isinstance(event, OccupancySnapshot):
        return f"snapshot {clock(event.at_wall)}: {event.in_session}/{event.total} in session ({event.percent:.0f}%)"
    if isinstance(event, ConfigReloaded):
        return f"config reloaded ({', '.join(event.changed) or 'no effective change'})"
    if isinstance(event, ConfigRejected):
        problems = "; ".join(f"{path or '(file)'}: {message}" for path, message in event.problems)
        return f"config rejected, keeping the last good one: {problems}"
    if isinstance(event, PrivacyChanged):
        return "privacy mode ON" if event.on else f"privacy mode OFF ({event.reason})"
    if isinstance(event, DatabaseReplaced):
        return event.text
    if isinstance(event, RecordingStalled):
        if event.stalled:
            return f"cannot write the database ({event.reason}): records wait in memory"
        return "database writable again: the waiting records are written"
    return None


def summary(status: MonitorStatus) -> str:
    if not status.configured:
        return "not configured: set targets (setup wizard or config.json); nothing is pinged"
    parts = [] if status.link_up else ["LAN link DOWN"]
    parts += [f"{t.component.label.lower()} {t.health.value.upper()}" for t in status.targets]
    line = "  ".join(parts) + f"  |  in session {status.in_session}/{len(status.pcs)}"
    return line + ("  (occupancy frozen)" if status.frozen else "")


class StatusPrinter:
    """Bus subscriber for --headless."""

    def __init__(self, wall: Callable[[], float] = time.time, out: TextIO | None = None):
        self._wall = wall  # the monitor's clock (the demo's runs fast)
        self._out = out or sys.stdout
        self._last_summary = ""

    def on_event(self, event) -> None:
        if isinstance(event, MonitorStatus):
            line = summary(event)
            if line == self._last_summary:
                return
            self._last_summary = line
        else:
            line = describe(event)
            if line is None:
                return
        try:
            self._out.write(f"{stamp(self._wall())}  {line}\n")
            self._out.flush()
        except (OSError, ValueError, AttributeError):
            pass  # stdout closed or missing (windowed build, detached): the log still has everything
