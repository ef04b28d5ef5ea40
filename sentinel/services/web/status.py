"""The latest picture of everything, as JSON for the local API and the dashboard."""

from __future__ import annotations

import threading
import time
from typing import Callable

from sentinel import today as day
from sentinel.events import (Blip, ConfigRejected, ConfigReloaded, DeliveryStatus, IncidentConfirmed, IncidentEnded,
                             IncidentOpened, MonitorStatus, PrivacyChanged)
from sentinel.timefmt import stamp

# Events that change what the dashboard shows beside the status (its incident list, today's timeline).
_ALSO_CHANGES = (IncidentOpened, IncidentConfirmed, IncidentEnded, Blip)
_COMPONENT_KEYS = {c: key for c, key in zip(day.COMPONENTS, ("lan_link", "lan", "router", "server", "internet"))}


class StatusBoard:
    """Bus subscriber keeping the newest MonitorStatus, Discord picture, config problems, privacy."""

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._wall = wall_clock
        self._today = day.Today()
        self._lock = threading.Lock()
        self._status: MonitorStatus | None = None
        self._delivery: DeliveryStatus | None = None
        self._problems: tuple = ()
        self._privacy: PrivacyChanged | None = None
        self._listeners: list[Callable[[], None]] = []

    def listen(self, callback: Callable[[], None]) -> None:
        """`callback()` after every change of the picture (on the publisher's thread; keep it quick)."""
        self._listeners.append(callback)

    def on_event(self, event) -> None:
        with self._lock:
            if isinstance(event, (MonitorStatus, *_ALSO_CHANGES)):
                now = event.at_wall if isinstance(event, MonitorStatus) else self._wall()
                self._today = day.advance(self._today, event, now)
            if isinstance(event, MonitorStatus):
                self._status = event
            elif isinstance(event, DeliveryStatus):
                self._delivery = event
            elif isinstance(event, ConfigRejected):
                self._problems = event.problems
            elif isinstance(event, ConfigReloaded):
                self._problems = ()
            elif isinstance(event, PrivacyChanged):
                self._privacy = event
            elif not isinstance(event, _ALSO_CHANGES):
                return
        for callback in self._listeners:
            callback()

    def as_dict(self) -> dict:
        with self._lock:
            status, delivery, problems, privacy = self._status, self._delivery, self._problems, self._privacy
        out: dict = {"config_errors": [{"path": p, "message": m} for p, m in problems],
                     "privacy_mode": bool(privacy and privacy.on),
                     "privacy_until": stamp(privacy.until_wall) if privacy and privacy.on else None,
                     "discord": {"backlog": dict(delivery.backlog) if delivery else {},
                                 "dead_webhooks": list(delivery.dead) if delivery else []}}
        if status is None:
            out["monitor"] = None
            return out
        out["monitor"] = {
            "at": stamp(status.at_wall),
            "at_wall": status.at_wall,
            "configured": status.configured,
            "lan_link_up": status.link_up,
            "occupancy_frozen": status.frozen,
            "blips": status.blips,
            "targets": [{"component": t.component.label, "address": t.address, "state": t.health.value,
                         "since": stamp(t.since_wall), "latency_ms": t.latency_ms} for t in status.targets],
            "pcs_in_session": status.in_session,
            "pcs_total": len(status.pcs),
            "pcs": [{"n": p.index, "name": p.name, "ip": p.ip, "state": p.state.value,
                     "since": stamp(p.since_wall), "latency_ms": p.latency_ms, "seen_by": p.seen_by} for p in status.pcs],
        }
        return out

    def today(self) -> dict:
        """Today's uptime and health timeline per component (sentinel.today), for the dashboard."""
        with self._lock:
            today = self._today
        components = []
        for component in day.COMPONENTS:
            segments = today.timeline.get(component, ())
            if not segments:
                continue
            summary = today.summary(component)
            components.append({
                "component": _COMPONENT_KEYS[component], "label": component.label,
                "uptime_percent": summary.uptime_percent, "outage_s": summary.outage_s, "blips": summary.blips,
                "segments": [[s.start_wall, s.end_wall, s.health.value] for s in segments]})
        peak = today.peak
        return {"day_start_wall": today.day_start_wall, "day_end_wall": today.day_end_wall,
                "components": components,
                "peak": {"in_session": peak.in_session, "total": peak.total, "at": stamp(peak.at_wall)} if peak else None}
