"""Values the monitor core publishes. Consumers (storage, Discord, GUI, API) only read them.

Times: `*_wall` are epoch seconds (time.time(), for display and records); durations are
computed from monotonic time inside the core and carried here as seconds.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field


def new_event_id() -> str:
    """Short id shown in Discord footers and stored with records."""
    return uuid.uuid4().hex[:8]


class Component(enum.Enum):
    """What an incident is about; the value is the CSV `Cause`."""

    LAN_LINK = "LAN_LINK_DOWN"
    LAN = "LAN_DOWN"
    ROUTER = "ROUTER_DOWN"
    SERVER = "SERVER_DOWN"
    INTERNET = "ISP_DOWN"

    @property
    def label(self) -> str:
        """Title word used in alerts: `Router DOWN`, `LAN link RESTORED`."""
        return _LABELS[self]

    @property
    def cause(self) -> str:
        """What went wrong, in plain words (alerts, digest, report)."""
        return _CAUSES[self]


_LABELS = {
    Component.LAN_LINK: "LAN link",
    Component.LAN: "LAN",
    Component.ROUTER: "Router",
    Component.SERVER: "Server",
    Component.INTERNET: "Internet",
}

_CAUSES = {
    Component.INTERNET: "Internet down - your ISP; the router is fine",
    Component.ROUTER: "Router not answering - no PC can reach the internet",
    Component.SERVER: "Server not answering - the router is fine",
    Component.LAN: "Nothing on the LAN answers - check the switch and its power",
    Component.LAN_LINK: "This PC lost its network link - cable, adapter or switch port",
}


class Health(enum.Enum):
    """Judged state of one infrastructure target in a tick."""

    UP = "up"
    FAILING = "failing"  # failed, not yet for min_incident_duration
    DOWN = "down"  # an incident is confirmed
    UNKNOWN = "unknown"  # cannot be judged (behind a failed router/LAN/link)
    UNCONFIGURED = "unconfigured"


class PcState(enum.Enum):
    OFF = "off"
    SEEN = "seen"  # answering, not yet for min_session_minutes
    IN_SESSION = "in_session"


@dataclass(frozen=True, slots=True)
class Event:
    """Base of everything published on the bus."""


@dataclass(frozen=True, slots=True)
class IncidentOpened(Event):
    """First failed probe of a component (not yet an incident; may become a blip)."""

    key: str
    component: Component
    started_wall: float
    pcs_in_session: int
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class IncidentConfirmed(Event):
    """Failed continuously for min_incident_duration: an incident, alerted."""

    key: str
    component: Component
    started_wall: float
    confirmed_wall: float
    pcs_in_session_at_start: int
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class IncidentEnded(Event):
    """First good probe after a confirmed incident."""

    key: str
    component: Component
    started_wall: float
    ended_wall: float
    duration_s: float
    pcs_in_session_at_start: int
    pcs_in_session_now: int
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class Blip(Event):
    """A failure that recovered before min_incident_duration: counted, logged, never alerted."""

    key: str
    component: Component
    started_wall: float
    ended_wall: float
    duration_s: float
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class IncidentReminder(Event):
    """A confirmed incident still lasts: "X still DOWN (1:00:00)", every reminder_minutes."""

    key: str
    component: Component
    started_wall: float
    at_wall: float
    duration_s: float  # so far, from monotonic time
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class ComponentUnstable(Event):
    """flap_blips blips within flap_window_minutes: one "X UNSTABLE" alert, again only after a quiet window."""

    component: Component
    blips: int
    window_s: float
    first_wall: float
    at_wall: float
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class SessionStarted(Event):
    key: str
    pc: str
    ip: str
    started_wall: float  # backdated to when the PC was first seen
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    key: str
    pc: str
    ip: str
    started_wall: float
    ended_wall: float  # when the PC was last seen
    duration_s: float
    during_outage: bool
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class OccupancySnapshot(Event):
    """Clock-aligned occupancy sample (the top of the hour for a 60-minute interval)."""

    at_wall: float
    in_session: int
    total: int
    pcs_in_session: tuple[str, ...]
    event_id: str = field(default_factory=new_event_id)

    @property
    def percent(self) -> float:
        return 100.0 * self.in_session / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class ConfigReloaded(Event):
    """A valid new config is in force; `changed` names the top-level sections that differ."""

    config: object  # sentinel.config.Config (kept untyped to avoid an import cycle)
    changed: tuple[str, ...]
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class ConfigRejected(Event):
    """The file changed but is invalid; the last good config stays in force."""

    problems: tuple[tuple[str, str], ...]  # (json_path, message)
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One infrastructure row of the status view."""

    component: Component
    address: str
    health: Health
    since_wall: float | None
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class PcStatus:
    index: int  # 1-based
    name: str
    ip: str
    state: PcState
    since_wall: float | None  # session start (IN_SESSION) or first seen (SEEN) or last seen (OFF)
    latency_ms: float | None
    last_seen_wall: float | None = None
    seen_by: str | None = None  # how it answered in the last tick: "ping", "arp" (ARP only) or None


@dataclass(frozen=True, slots=True)
class MonitorStatus(Event):
    """Published after every tick: the whole picture, for the GUI, tray, API and headless line."""

    at_wall: float
    configured: bool
    link_up: bool
    frozen: bool  # occupancy frozen (router/LAN/link failing)
    targets: tuple[TargetStatus, ...]
    pcs: tuple[PcStatus, ...]
    blips: int  # since start

    @property
    def in_session(self) -> int:
        return sum(1 for pc in self.pcs if pc.state is PcState.IN_SESSION)


@dataclass(frozen=True, slots=True)
class PrivacyChanged(Event):
    """Privacy mode turned on (until `until_wall`) or off (by the owner or by expiry)."""

    on: bool
    at_wall: float
    until_wall: float | None
    reason: str  # "password", "expired", "turned off"
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class DeliveryStatus(Event):
    """Published by the Discord layer when its picture changes: backlog per webhook kind, dead ones."""

    backlog: tuple[tuple[str, int], ...]  # (kind, queued messages)
    dead: tuple[str, ...]  # kinds whose webhook answered 401/404
    at_wall: float = 0.0
    throttled: tuple[str, ...] = ()  # kinds whose webhook has answered only 429 for a minute or more
    delivered: int = 0  # messages Discord confirmed since the app started
    last_delivered_wall: float | None = None


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One day's numbers for the daily digest, computed from the records (opening hours, watched time)."""

    day: str  # ISO date of the day the opening starts on
    hours: str  # "10:00-02:00", "closed", "00:00-24:00"
    open_s: float
    watched_s: float  # opening time the monitor was running
    uptime: tuple[tuple[str, float | None, float], ...]  # (component label, percent or None if never judged, down s)
    incidents: tuple[tuple[str, float, float | None, bool], ...]  # (label, start_wall, duration_s or None, closed hours)
    downtime_s: float  # watched opening time with anything down
    blips: int
    sessions: int  # sessions that started this day
    pc_hours: float
    peak: int  # most PCs in session at once
    peak_wall: float | None
    pcs_total: int
    hourly: tuple[tuple[float, float], ...]  # (hour start wall, average PCs in session in that hour)


@dataclass(frozen=True, slots=True)
class DailyDigest(Event):
    """Closing time (midnight without a schedule): the day's digest is due on the alerts channel."""

    summary: DaySummary
    at_wall: float
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class MonthlyReport(Event):
    """The 1st (after the last day's closing): last month's ISP report, as an HTML file."""

    period: str  # "2026-11"
    filename: str
    html: bytes
    internet_uptime: float | None  # percent over judged watched opening time
    isp_down_s: float
    local_down_s: float
    incidents: int
    at_wall: float
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class DatabaseReplaced(Event):
    """sentinel.db was damaged or missing at start: a fresh one is in use (the damaged one kept aside)."""

    reason: str  # "damaged: file is not a database", "missing (deleted?): ..."
    kept_as: str  # file name the damaged database was moved to; "" when there was nothing to keep
    text: str  # the whole story for the owner, one paragraph
    at_wall: float
    event_id: str = field(default_factory=new_event_id)


@dataclass(frozen=True, slots=True)
class RecordingStalled(Event):
    """sentinel.db cannot be written (disk full, read-only): records wait in memory. Again with
    stalled=False once they are written."""

    stalled: bool
    reason: str  # SQLite's or the OS's words, e.g. "database or disk is full"; "" when recovered
    waiting: int  # records held in memory when it started
    at_wall: float
    event_id: str = field(default_factory=new_event_id)
