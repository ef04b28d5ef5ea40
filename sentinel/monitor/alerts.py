"""The alert policy beside the core: flapping components and reminders of long incidents.

Pure like the core: step(state, rules, blips, open_incidents, now_mono, now_wall) -> (state, events),
no clock, no I/O. Windows and reminder periods count monotonic seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sentinel.config.model import AlertSettings
from sentinel.events import Blip, Component, ComponentUnstable, Event, IncidentReminder


@dataclass(frozen=True, slots=True)
class AlertRules:
    reminder_s: float  # 0: no reminders
    flap_blips: int
    flap_window_s: float

    @classmethod
    def from_settings(cls, alerts: AlertSettings) -> "AlertRules":
        return cls(alerts.reminder_minutes * 60.0, alerts.flap_blips, alerts.flap_window_minutes * 60.0)


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """A confirmed incident that is still going on, as the reminder needs it."""

    key: str
    component: Component
    start_mono: float
    start_wall: float


@dataclass(frozen=True)
class AlertState:
    recent: dict = field(default_factory=dict)  # Component -> ((mono, started_wall), ...) blips in the window
    unstable: frozenset = frozenset()  # components alerted UNSTABLE and not yet quiet for a whole window
    reminded: dict = field(default_factory=dict)  # incident key -> reminders already due (whole periods)


def _flaps(state: AlertState, rules: AlertRules, blips: list[Blip], now_mono: float, now_wall: float):
    recent = dict(state.recent)
    unstable = set(state.unstable)
    events: list[Event] = []
    for blip in blips:
        recent[blip.component] = (*recent.get(blip.component, ()), (now_mono, blip.started_wall))
    for comp in list(recent):
        kept = tuple(b for b in recent[comp] if now_mono - b[0] < rules.flap_window_s)
        if comp in unstable and not kept:
            unstable.discard(comp)  # quiet for a whole window: the next flapping is news again
        if kept:
            recent[comp] = kept
        else:
            del recent[comp]
    for comp, kept in recent.items():
        if comp not in unstable and len(kept) >= rules.flap_blips:
            unstable.add(comp)
            events.append(ComponentUnstable(comp, len(kept), rules.flap_window_s, kept[0][1], now_wall))
    return recent, frozenset(unstable), events


def _reminders(state: AlertState, rules: AlertRules, open_incidents: list[OpenIncident],
               now_mono: float, now_wall: float):
    reminded = {}
    events: list[Event] = []
    for incident in open_incidents:
        lasted = max(0.0, now_mono - incident.start_mono)
        due = math.floor(lasted / rules.reminder_s) if rules.reminder_s > 0 else 0
        before = state.reminded.get(incident.key)
        if before is not None and due > before:
            events.append(IncidentReminder(incident.key, incident.component, incident.start_wall, now_wall, lasted))
        # An incident first seen here (just confirmed, or resumed after a restart) owes no back reminders.
        reminded[incident.key] = due
    return reminded, events


def step(state: AlertState, rules: AlertRules, blips: list[Blip], open_incidents: list[OpenIncident],
         now_mono: float, now_wall: float) -> tuple[AlertState, list[Event]]:
    """One tick of the policy: this tick's blips and the confirmed incidents still open."""
    recent, unstable, flap_events = _flaps(state, rules, blips, now_mono, now_wall)
    reminded, reminder_events = _reminders(state, rules, open_incidents, now_mono, now_wall)
    return AlertState(recent, unstable, reminded), flap_events + reminder_events
