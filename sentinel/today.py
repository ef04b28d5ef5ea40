"""Today's story of the network, reduced from bus events: uptime, outages, blips, peak occupancy.

One pure reducer, `advance(today, event, now_wall) -> today`, with time passed in: no clock,
no I/O. The window's Today strip, its "since" times and the web dashboard's timeline all read
the same `Today`. A day is local midnight to local midnight; at midnight the timeline is cut
and starts again with the states that still hold.

Health per component comes from `MonitorStatus` (router, server, internet) and from incident
events (LAN link, LAN: they have no row of their own). A failure that becomes an incident was
the incident from its first failed probe, so a FAILING run that turns DOWN is relabelled DOWN
(the same start the CSV and Discord give it). Blips stay FAILING: counted, never an outage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from sentinel.events import (
    Blip,
    Component,
    Event,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    MonitorStatus,
)

COMPONENTS = (Component.LAN_LINK, Component.LAN, Component.ROUTER, Component.SERVER, Component.INTERNET)
OBSERVED = (Health.UP, Health.FAILING, Health.DOWN)  # the health counts towards uptime
MAX_GAP_S = 300.0  # statuses further apart than this (app stopped, PC asleep) leave a hole


@dataclass(frozen=True, slots=True)
class Segment:
    """One run of the same health; the last one of a component is still open (end = last seen)."""

    start_wall: float
    end_wall: float
    health: Health

    @property
    def seconds(self) -> float:
        return max(0.0, self.end_wall - self.start_wall)


@dataclass(frozen=True, slots=True)
class Peak:
    in_session: int
    total: int
    at_wall: float


@dataclass(frozen=True, slots=True)
class ComponentSummary:
    component: Component
    uptime_percent: float | None  # None: nothing observed today
    outage_s: float
    blips: int


@dataclass(frozen=True)
class Today:
    """Never mutated: `advance` returns a new one. Dicts are keyed by Component."""

    day_start_wall: float | None = None
    day_end_wall: float | None = None
    timeline: dict = field(default_factory=dict)  # Component -> tuple[Segment, ...]
    blips: dict = field(default_factory=dict)  # Component -> int
    peak: Peak | None = None
    since: dict = field(default_factory=dict)  # Component -> (Health, since_wall); survives midnight
    incidents: dict = field(default_factory=dict)  # Component -> Health, LAN link / LAN only

    def summary(self, component: Component) -> ComponentSummary:
        segments = self.timeline.get(component, ())
        observed = sum(s.seconds for s in segments if s.health in OBSERVED)
        down = sum(s.seconds for s in segments if s.health is Health.DOWN)
        uptime = 100.0 * (observed - down) / observed if observed > 0 else None
        return ComponentSummary(component, uptime, down, self.blips.get(component, 0))

    def since_wall(self, component: Component) -> float | None:
        entry = self.since.get(component)
        return entry[1] if entry is not None else None

    def health(self, component: Component) -> Health | None:
        entry = self.since.get(component)
        return entry[0] if entry is not None else None

    @property
    def total_blips(self) -> int:
        return sum(self.blips.values())


def day_bounds(wall: float) -> tuple[float, float]:
    """(local midnight before `wall`, the next local midnight); DST days are 23 or 25 hours."""
    day = dt.datetime.fromtimestamp(wall).date()
    start = dt.datetime.combine(day, dt.time())
    return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()


def _healths(today: Today, status: MonitorStatus) -> dict:
    """Component -> (health, since reported by the core or None) for one status."""
    out = {}
    if status.configured:
        for component in (Component.LAN_LINK, Component.LAN):
            out[component] = (today.incidents.get(component, Health.UP), None)
    for target in status.targets:
        out[target.component] = (target.health, target.since_wall)
    return out


def _extend(segments: tuple, health: Health, at: float) -> tuple:
    if segments:
        last = segments[-1]
        if at - last.end_wall > MAX_GAP_S:
            return segments + (Segment(at, at, health),)
        if last.health is health:
            return segments[:-1] + (dataclasses.replace(last, end_wall=at),)
        closed = dataclasses.replace(last, end_wall=at)
        if health is Health.DOWN and last.health is Health.FAILING:
            # the failure was the incident from its first failed probe
            return segments[:-1] + (dataclasses.replace(closed, health=Health.DOWN),)
        return segments[:-1] + (closed, Segment(at, at, health))
    return (Segment(at, at, health),)


def _roll(today: Today, now_wall: float) -> Today:
    """Start a new day at midnight, carrying the states that hold on into it."""
    if today.day_end_wall is not None and today.day_start_wall <= now_wall < today.day_end_wall:
        return today
    start, end = day_bounds(now_wall)
    timeline = {}
    if today.day_end_wall is not None and now_wall >= today.day_end_wall:
        for component, segments in today.timeline.items():
            last = segments[-1]
            if today.day_end_wall - last.end_wall <= MAX_GAP_S:  # still running at midnight
                timeline[component] = (Segment(start, start, last.health),)
    return Today(start, end, timeline, {}, None, today.since, today.incidents)


def advance(today: Today, event: Event, now_wall: float) -> Today:
    """Today after `event`, which happened at `now_wall` (local wall time, epoch seconds)."""
    today = _roll(today, now_wall)
    if isinstance(event, MonitorStatus):
        return _on_status(today, event, now_wall)
    if isinstance(event, Blip):
        blips = dict(today.blips)
        blips[event.component] = blips.get(event.component, 0) + 1
        today = dataclasses.replace(today, blips=blips)
    if isinstance(event, (IncidentOpened, IncidentConfirmed, IncidentEnded, Blip)) and \
            event.component in (Component.LAN_LINK, Component.LAN):
        incidents = dict(today.incidents)
        if isinstance(event, IncidentOpened):
            incidents[event.component] = Health.FAILING
        elif isinstance(event, IncidentConfirmed):
            incidents[event.component] = Health.DOWN
        else:
            incidents.pop(event.component, None)
        today = dataclasses.replace(today, incidents=incidents)
    return today


def _on_status(today: Today, status: MonitorStatus, now_wall: float) -> Today:
    timeline, since = dict(today.timeline), dict(today.since)
    for component, (health, core_since) in _healths(today, status).items():
        if health is not Health.UNCONFIGURED:
            timeline[component] = _extend(timeline.get(component, ()), health, now_wall)
        known = since.get(component)
        if known is None:
            since[component] = (health, core_since if core_since is not None else now_wall)
        elif known[0] is not health:
            # FAILING -> DOWN keeps the first failed probe; any other change starts now (the core
            # keeps an old "since" for a row that was unknown behind a failed router or link).
            keep = health is Health.DOWN and known[0] is Health.FAILING
            start = known[1] if keep else (core_since if health in (Health.FAILING, Health.DOWN)
                                           and core_since is not None else now_wall)
            since[component] = (health, start)
    peak = today.peak
    if status.pcs and (peak is None or status.in_session > peak.in_session):
        peak = Peak(status.in_session, len(status.pcs), now_wall)
    return dataclasses.replace(today, timeline=timeline, since=since, peak=peak)
