"""The monitor's decisions as a pure state machine: step(state, reading, settings) -> (state, events, status).

No clock, no sockets, no logging here. `Reading.mono` (monotonic seconds) drives every
duration and threshold; `Reading.wall` (epoch seconds) is only carried into events for display
and records, so a wall-clock jump (DST, NTP) never corrupts an incident or a session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from dataclasses import dataclass, field

from sentinel.config.model import Config
from sentinel.events import (
    Blip,
    Component,
    Event,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    MonitorStatus,
    OccupancySnapshot,
    PcState,
    PcStatus,
    SessionEnded,
    SessionStarted,
    TargetStatus,
)
from sentinel.monitor import alerts

INFRA = (Component.ROUTER, Component.SERVER, Component.INTERNET)
# While these fail, PCs may just be unreachable: occupancy freezes; a confirmed one is an outage.
LAN_LEVEL = (Component.LAN_LINK, Component.LAN, Component.ROUTER)
# A failure of a higher-level component makes these unknown (they cannot be judged).
HIDES = {
    Component.LAN_LINK: (Component.LAN, Component.ROUTER, Component.SERVER, Component.INTERNET),
    Component.LAN: (Component.ROUTER, Component.SERVER, Component.INTERNET),
    Component.ROUTER: (Component.INTERNET,),
}


def new_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Reading:
    """What one tick saw. router/server/internet: True ok, False failed (after retry), None not configured.

    mono/wall are the first probe's time. A target that was re-probed has its retry's time in
    `retry_at`: when the retry answered, that is the edge; when it failed too, the failure has
    been seen until then.
    """

    mono: float
    wall: float
    link_up: bool
    router: bool | None
    server: bool | None
    internet: bool | None
    pcs_alive: frozenset[str] = frozenset()  # answered ping
    rtt_ms: dict = field(default_factory=dict)  # address -> round trip of the answering probe
    retry_at: dict = field(default_factory=dict)  # Component -> (mono, wall) of its retry this tick
    pcs_arp: frozenset[str] = frozenset()  # answered ARP only (echo dropped, e.g. by a firewall)

    @property
    def pcs_seen(self) -> frozenset[str]:
        return self.pcs_alive | self.pcs_arp

    def probe_time(self, comp: Component) -> tuple[float, float]:
        """(mono, wall) of the probe that decided `comp` this tick."""
        return self.retry_at.get(comp, (self.mono, self.wall))


@dataclass(frozen=True, slots=True)
class Settings:
    """The parts of Config the decisions need, in seconds."""

    min_incident_s: float
    min_session_s: float
    pcs: tuple[tuple[int, str, str], ...]  # (n, ip, name)
    occupancy: bool
    snapshot_minutes: float | None  # None: no snapshots
    addresses: tuple[tuple[Component, str], ...]  # infra component -> configured address ("" = none)
    alerts: alerts.AlertRules

    @classmethod
    def from_config(cls, config: Config) -> "Settings":
        occ = config.occupancy_settings
        t = config.targets
        return cls(
            min_incident_s=config.verification_settings.min_incident_duration_seconds,
            min_session_s=occ.min_session_minutes * 60.0,
            pcs=tuple(config.monitor_settings.pc_addresses()) if occ.enabled else (),
            occupancy=occ.enabled,
            snapshot_minutes=occ.snapshot_interval_minutes if occ.enabled and occ.hourly_snapshot_enabled else None,
            addresses=((Component.ROUTER, t.router), (Component.SERVER, t.server), (Component.INTERNET, t.internet)),
            alerts=alerts.AlertRules.from_settings(config.alert_settings),
        )


@dataclass(frozen=True, slots=True)
class Track:
    """A component that is failing (not yet confirmed) or down (confirmed)."""

    key: str
    start_mono: float
    start_wall: float
    pcs_at_start: int
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class Pc:
    """A PC that has been seen: SEEN (not yet a session) or IN_SESSION."""

    state: PcState
    first_mono: float
    first_wall: float
    last_mono: float
    last_wall: float
    key: str = ""


@dataclass(frozen=True)
class State:
    tracks: dict = field(default_factory=dict)  # Component -> Track
    since_wall: dict = field(default_factory=dict)  # Component -> wall time its current health began
    pcs: dict = field(default_factory=dict)  # ip -> Pc
    gone_wall: dict = field(default_factory=dict)  # ip -> last seen (for PCs that are off)
    pcs_before: frozenset = frozenset()  # PCs alive at the last tick the LAN was not in doubt
    thawed_mono: float | None = None  # end of the last freeze (failing router/LAN, restart)
    outage_ended_mono: float | None = None  # end of the last confirmed router/LAN/link incident
    blips: int = 0
    next_snapshot_wall: float | None = None
    alerts: alerts.AlertState = field(default_factory=alerts.AlertState)

    @property
    def in_session(self) -> int:
        return sum(1 for pc in self.pcs.values() if pc.state is PcState.IN_SESSION)


def restore(open_incidents, open_sessions, now_mono: float, now_wall: float) -> State:
    """State after a restart, from the database's open incidents and sessions.

    open_incidents: (key, Component, start_wall, pcs_at_start); open_sessions: (key, ip,
    start_wall, last_seen_wall). Monotonic times are reconstructed from wall time (the only
    clock that survives a restart); the restart counts as a thaw, so a PC gets
    min_session_minutes to answer again before its session ends at its last-seen time.
    """

    def mono_of(wall: float) -> float:
        return now_mono - max(0.0, now_wall - wall)

    tracks = {
        comp: Track(key, mono_of(start), start, pcs, confirmed=True) for key, comp, start, pcs in open_incidents
    }
    pcs = {
        ip: Pc(PcState.IN_SESSION, mono_of(start), start, mono_of(last), last, key)
        for key, ip, start, last in open_sessions
    }
    return State(tracks=tracks, pcs=pcs, thawed_mono=now_mono, pcs_before=frozenset(pcs))


def next_aligned(wall: float, minutes: float) -> float:
    """The next local clock time after `wall` that is a whole multiple of `minutes` since local midnight."""
    local = dt.datetime.fromtimestamp(wall)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    step = minutes * 60.0
    n = math.floor((local - midnight).total_seconds() / step) + 1
    return (midnight + dt.timedelta(seconds=n * step)).timestamp()


def classify(reading: Reading, pcs_before: frozenset) -> tuple[set, set]:
    """(failing, unknown) components for this tick, after root-cause reasoning."""
    if not reading.link_up:
        return {Component.LAN_LINK}, set(HIDES[Component.LAN_LINK])
    failing: set = set()
    router_failed = reading.router is False
    server_failed = reading.server is False
    evidence = server_failed or bool(pcs_before)  # at least two things behind the switch failed
    if router_failed and reading.server is not True and evidence and not reading.pcs_seen:
        return {Component.LAN}, set(HIDES[Component.LAN])
    unknown: set = set()
    if router_failed:
        failing.add(Component.ROUTER)
        unknown.update(HIDES[Component.ROUTER])
    if server_failed:
        failing.add(Component.SERVER)
    if reading.internet is False and not router_failed:
        failing.add(Component.INTERNET)
    return failing, unknown


def _step_incidents(state: State, reading: Reading, settings: Settings, failing: set, unknown: set):
    tracks = dict(state.tracks)
    since = dict(state.since_wall)
    events: list[Event] = []
    blips = state.blips
    in_session = state.in_session
    # Failures that a higher-level failure explains are absorbed into it: one incident, not three.
    absorbed = [c for c in unknown if c in tracks and not tracks[c].confirmed]
    for comp in absorbed:
        del tracks[comp]
    for comp in Component:
        track = tracks.get(comp)
        # The probe that decided this tick: the retry when there was one (its answer, or its failure).
        probe_mono, probe_wall = reading.probe_time(comp)
        if comp in failing:
            if track is None:
                starts = [(state.tracks[c].start_mono, state.tracks[c].start_wall, state.tracks[c].pcs_at_start)
                          for c in absorbed] + [(reading.mono, reading.wall, in_session)]
                start_mono, start_wall, pcs = min(starts)
                track = Track(new_key(), start_mono, start_wall, pcs)
                since[comp] = start_wall
                events.append(IncidentOpened(track.key, comp, start_wall, pcs))
            if not track.confirmed and probe_mono - track.start_mono >= settings.min_incident_s:
                track = dataclasses.replace(track, confirmed=True)
                since[comp] = track.start_wall
                events.append(IncidentConfirmed(track.key, comp, track.start_wall, probe_wall, track.pcs_at_start))
            tracks[comp] = track
        elif comp in unknown:
            continue
        elif track is not None:
            duration = max(0.0, probe_mono - track.start_mono)
            del tracks[comp]
            since[comp] = probe_wall
            if not track.confirmed and duration >= settings.min_incident_s:
                # Down from the first failed probe until this answer, at least the threshold: not
                # a blip (a blip is shorter by definition), an incident confirmed as it ends.
                track = dataclasses.replace(track, confirmed=True)
                events.append(IncidentConfirmed(track.key, comp, track.start_wall, probe_wall, track.pcs_at_start))
            if track.confirmed:
                events.append(IncidentEnded(track.key, comp, track.start_wall, probe_wall, duration,
                                            track.pcs_at_start, in_session))
            else:
                blips += 1
                events.append(Blip(track.key, comp, track.start_wall, probe_wall, duration))
        else:
            since.setdefault(comp, reading.wall)
    return tracks, since, blips, events


def _end(pc: Pc, ip: str, name: str, during_outage: bool) -> SessionEnded:
    return SessionEnded(pc.key, name, ip, pc.first_wall, pc.last_wall, max(0.0, pc.last_mono - pc.first_mono),
                        during_outage)


def _step_occupancy(state: State, reading: Reading, settings: Settings, frozen: bool):
    pcs = dict(state.pcs)
    gone = dict(state.gone_wall)
    events: list[Event] = []
    names = {ip: name for _, ip, name in settings.pcs}
    for ip in [ip for ip in pcs if ip not in names]:  # removed from the range by a config change
        pc = pcs.pop(ip)
        if pc.state is PcState.IN_SESSION:
            events.append(_end(pc, ip, ip, during_outage=False))
    thawed = state.thawed_mono
    outage_ended = state.outage_ended_mono
    seen = reading.pcs_seen
    for _, ip, name in settings.pcs:
        pc = pcs.get(ip)
        if ip in seen:
            gone.pop(ip, None)
            if pc is None:
                pc = Pc(PcState.SEEN, reading.mono, reading.wall, reading.mono, reading.wall)
            else:
                pc = dataclasses.replace(pc, last_mono=reading.mono, last_wall=reading.wall)
            if (not frozen and pc.state is PcState.SEEN
                    and reading.mono - pc.first_mono >= settings.min_session_s):
                pc = dataclasses.replace(pc, state=PcState.IN_SESSION, key=new_key())
                events.append(SessionStarted(pc.key, name, ip, pc.first_wall))
            pcs[ip] = pc
        elif pc is not None and not frozen:
            absent_from = max(pc.last_mono, thawed) if thawed is not None else pc.last_mono
            if reading.mono - absent_from >= settings.min_session_s:
                del pcs[ip]
                gone[ip] = pc.last_wall
                if pc.state is PcState.IN_SESSION:
                    events.append(_end(pc, ip, name,
                                       during_outage=outage_ended is not None and pc.last_mono < outage_ended))
    return pcs, gone, events


def _status(state: State, reading: Reading, settings: Settings, failing: set, unknown: set,
            frozen: bool, configured: bool) -> MonitorStatus:
    targets = []
    for comp, address in settings.addresses:
        track = state.tracks.get(comp)
        if not address:
            health = Health.UNCONFIGURED
        elif comp in unknown or (not reading.link_up):
            health = Health.UNKNOWN
        elif track is not None:
            health = Health.DOWN if track.confirmed else Health.FAILING
        else:
            health = Health.UP
        targets.append(TargetStatus(comp, address, health, state.since_wall.get(comp) if address else None,
                                    reading.rtt_ms.get(address) if address else None))
    pcs = []
    for n, ip, name in settings.pcs:
        pc = state.pcs.get(ip)
        if pc is None:
            pcs.append(PcStatus(n, name, ip, PcState.OFF, state.gone_wall.get(ip), None, state.gone_wall.get(ip)))
        else:
            seen_by = "ping" if ip in reading.pcs_alive else "arp" if ip in reading.pcs_arp else None
            pcs.append(PcStatus(n, name, ip, pc.state, pc.first_wall, reading.rtt_ms.get(ip), pc.last_wall,
                                seen_by))
    return MonitorStatus(reading.wall, configured, reading.link_up, frozen, tuple(targets), tuple(pcs), state.blips)


def idle_status(settings: Settings, wall: float) -> MonitorStatus:
    """What the status shows before setup is complete: nothing is probed."""
    targets = tuple(TargetStatus(comp, address, Health.UNCONFIGURED, None, None) for comp, address in settings.addresses)
    return MonitorStatus(wall, False, True, False, targets, (), 0)


def step(state: State, reading: Reading, settings: Settings) -> tuple[State, list[Event], MonitorStatus]:
    """Advance the state by one tick's reading."""
    failing, unknown = classify(reading, state.pcs_before)
    lan_in_doubt = bool(failing & {Component.LAN_LINK, Component.LAN})
    pcs_before = state.pcs_before if lan_in_doubt else reading.pcs_seen
    tracks, since, blips, events = _step_incidents(state, reading, settings, failing, unknown)
    # Smart freeze: while the router, the LAN or our own link fails, PCs may just be unreachable.
    frozen = bool(failing & set(LAN_LEVEL))
    thawed, outage_ended = state.thawed_mono, state.outage_ended_mono
    if not frozen and (state.tracks.keys() & set(LAN_LEVEL)):
        thawed = reading.mono
    if any(isinstance(e, IncidentEnded) and e.component in LAN_LEVEL for e in events):
        outage_ended = reading.mono  # a real outage ended: PCs gone meanwhile end "during outage"
    open_incidents = [alerts.OpenIncident(t.key, c, t.start_mono, t.start_wall)
                      for c, t in tracks.items() if t.confirmed]
    alert_state, alert_events = alerts.step(state.alerts, settings.alerts,
                                            [e for e in events if isinstance(e, Blip)],
                                            open_incidents, reading.mono, reading.wall)
    events += alert_events
    mid = dataclasses.replace(state, tracks=tracks, since_wall=since, blips=blips, pcs_before=pcs_before,
                              thawed_mono=thawed, outage_ended_mono=outage_ended, alerts=alert_state)
    pcs, gone, occ_events = _step_occupancy(mid, reading, settings, frozen)
    events += occ_events
    snapshot_at = state.next_snapshot_wall
    new = dataclasses.replace(mid, pcs=pcs, gone_wall=gone)
    if settings.snapshot_minutes is None:
        snapshot_at = None
    else:
        step_s = settings.snapshot_minutes * 60.0
        if snapshot_at is None or reading.wall < snapshot_at - step_s - 1.0:  # first tick, or clock went back
            snapshot_at = next_aligned(reading.wall, settings.snapshot_minutes)
        elif reading.wall >= snapshot_at:
            names = tuple(name for _, ip, name in settings.pcs
                          if ip in pcs and pcs[ip].state is PcState.IN_SESSION)
            events.append(OccupancySnapshot(snapshot_at, len(names), len(settings.pcs), names))
            snapshot_at = next_aligned(reading.wall, settings.snapshot_minutes)
    new = dataclasses.replace(new, next_snapshot_wall=snapshot_at)
    configured = any(address for _, address in settings.addresses)
    return new, events, _status(new, reading, settings, failing, unknown, frozen, configured)
