"""What the records say about a day or a month: uptime in opening hours over watched time.

`load()` reads sentinel.db read-only (it works while the monitor writes it); everything else is
a pure function of the loaded rows, the opening hours and the time passed in.

The rules, per day (the opening that starts on that day, see sentinel/schedule.py):
- watched = opening hours covered by the monitor (the coverage table); time not watched is
  neither up nor down;
- a component is judged only while what it sits behind is up: the internet is "unknown"
  while the router, the LAN or the monitor's own link is down (README "How it decides"), so
  that time is local downtime (the shop's own network), never the ISP's;
- uptime = (judged - down) / judged.
Incidents and sessions belong to the day whose business span (previous closing to this
closing) holds their start. Incidents that are still open count until `now_wall`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sentinel.database import connect_read_only
from sentinel.errors import UserError
from sentinel.events import Component, DaySummary
from sentinel.schedule import Interval, Schedule, intersect, merge, subtract, total
from sentinel.services.recording.csvfiles import NOTES_SQL

# What must be up for a component to be judged at all (the monitor's cascade).
BEHIND = {
    Component.LAN_LINK: (),
    Component.LAN: (Component.LAN_LINK,),
    Component.ROUTER: (Component.LAN_LINK, Component.LAN),
    Component.SERVER: (Component.LAN_LINK, Component.LAN),
    Component.INTERNET: (Component.LAN_LINK, Component.LAN, Component.ROUTER),
}
LOCAL = (Component.LAN_LINK, Component.LAN, Component.ROUTER)  # the shop's own network
DIGEST_COMPONENTS = (Component.ROUTER, Component.SERVER, Component.INTERNET)
HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Incident:
    key: str
    component: Component
    start_wall: float
    end_wall: float | None  # None: still open
    duration_s: float | None  # as in incidents.csv and the alerts (monotonic)
    closed_hours: bool
    notes: str  # as in incidents.csv: ongoing, resolved, closed hours
    evidence: tuple[str, ...] = ()  # file names in <data>/evidence/, oldest first


@dataclass(frozen=True, slots=True)
class Session:
    pc: str
    start_wall: float
    end_wall: float | None  # None: still in session


@dataclass(frozen=True, slots=True)
class Records:
    incidents: tuple[Incident, ...]
    blips: tuple[tuple[Component, float], ...]  # (component, start_wall)
    sessions: tuple[Session, ...]
    coverage: tuple[Interval, ...]


def load(db_path: Path, start_wall: float, end_wall: float) -> Records:
    """Rows that touch [start_wall, end_wall) (open incidents and sessions included)."""
    if not Path(db_path).exists():
        raise UserError(f"no records yet: {db_path} does not exist")
    conn = connect_read_only(db_path)
    try:
        evidence: dict[str, list[str]] = {}
        for key, file in conn.execute("SELECT incident_key, file FROM evidence ORDER BY at_wall, id"):
            evidence.setdefault(key, []).append(file)
        incidents = tuple(
            Incident(key, Component(cause), start, end, duration, bool(closed), notes, tuple(evidence.get(key, ())))
            for key, cause, start, end, duration, closed, notes in conn.execute(
                f"SELECT key, cause, start_wall, end_wall, duration_s, closed_hours, {NOTES_SQL} FROM incidents "
                "WHERE start_wall < ? AND (end_wall IS NULL OR end_wall > ?) ORDER BY start_wall, id",
                (end_wall, start_wall)))
        blips = tuple((Component(cause), start) for cause, start in conn.execute(
            "SELECT cause, start_wall FROM blips WHERE start_wall >= ? AND start_wall < ? ORDER BY start_wall",
            (start_wall, end_wall)))
        sessions = tuple(Session(pc, start, end) for pc, start, end in conn.execute(
            "SELECT pc, start_wall, end_wall FROM sessions WHERE start_wall < ? AND (end_wall IS NULL OR "
            "end_wall > ?) ORDER BY start_wall, id", (end_wall, start_wall)))
        coverage = tuple(conn.execute(
            "SELECT start_wall, end_wall FROM coverage WHERE start_wall < ? AND end_wall > ? ORDER BY start_wall",
            (end_wall, start_wall)))
    except sqlite3.OperationalError as exc:
        raise UserError(f"cannot read {db_path}: {exc}") from None
    finally:
        conn.close()
    return Records(incidents, blips, sessions, coverage)


def down_intervals(records: Records, component: Component, now_wall: float) -> list[Interval]:
    return merge((i.start_wall, now_wall if i.end_wall is None else i.end_wall)
                 for i in records.incidents if i.component is component)


@dataclass(frozen=True, slots=True)
class Uptime:
    component: Component
    judged_s: float  # watched opening time in which it could be judged
    down_s: float

    @property
    def percent(self) -> float | None:
        return None if self.judged_s <= 0 else 100.0 * (self.judged_s - self.down_s) / self.judged_s


def uptime(records: Records, component: Component, watched: list[Interval], now_wall: float) -> Uptime:
    hidden = merge(i for behind in BEHIND[component] for i in down_intervals(records, behind, now_wall))
    judged = subtract(watched, hidden)
    return Uptime(component, total(judged), total(intersect(judged, down_intervals(records, component, now_wall))))


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One row of the report's per-day table."""

    day: dt.date
    hours: str  # "10:00-02:00" or "closed"
    open_s: float
    watched_s: float
    local_s: float  # watched opening time with the shop's own network down (internet not judged)
    internet: Uptime

    @property
    def not_watched_s(self) -> float:
        return self.open_s - self.watched_s


def opening_intervals(schedule: Schedule, day: dt.date) -> list[Interval]:
    opening = schedule.opening(day)
    return [] if opening is None else [opening]


def day_record(records: Records, schedule: Schedule, day: dt.date, now_wall: float) -> DayRecord:
    """The day's opening so far (a day still to come counts nothing) against the records."""
    opening = [(a, min(b, now_wall)) for a, b in opening_intervals(schedule, day)]
    watched = intersect(opening, records.coverage)
    local = merge(i for c in LOCAL for i in down_intervals(records, c, now_wall))
    return DayRecord(day, schedule.hours(day), total(opening), total(watched),
                     total(intersect(watched, local)), uptime(records, Component.INTERNET, watched, now_wall))


def days_of(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def span_of(schedule: Schedule, first: dt.date, last: dt.date) -> Interval:
    """From the closing before `first` to the closing of `last`: the business days of a period."""
    return schedule.business_span(first)[0], schedule.business_span(last)[1]


def in_span(wall: float, span: Interval) -> bool:
    return span[0] <= wall < span[1]


# ---------------------------------------------------------------------------------------------
# The daily digest


def sessions_in(records: Records, span: Interval, now_wall: float) -> list[Interval]:
    return [(max(s.start_wall, span[0]), min(now_wall if s.end_wall is None else s.end_wall, span[1]))
            for s in records.sessions]


def peak(intervals: list[Interval]) -> tuple[int, float | None]:
    """Most intervals open at once, and when that first happened."""
    edges = sorted([(a, 1) for a, b in intervals if b > a] + [(b, -1) for a, b in intervals if b > a],
                   key=lambda edge: (edge[0], edge[1]))  # an end before a start at the same second
    best, when, now = 0, None, 0
    for at, step in edges:
        now += step
        if now > best:
            best, when = now, at
    return best, when


def hourly(intervals: list[Interval], start: float, end: float) -> tuple[tuple[float, float], ...]:
    """(hour start, average PCs in session) for each hour from `start` to `end`."""
    result = []
    hour = start
    while hour < end:
        slot = [(hour, min(hour + HOUR_S, end))]
        pc_seconds = sum(total(intersect([i], slot)) for i in intervals)
        result.append((hour, pc_seconds / HOUR_S))
        hour += HOUR_S
    return tuple(result)


def day_summary(db_path: Path, schedule: Schedule, day: dt.date, now_wall: float, pcs_total: int) -> DaySummary:
    """The numbers of the daily digest for `day`, read from the database."""
    return summarise(load(db_path, *schedule.business_span(day)), schedule, day, now_wall, pcs_total)


def summarise(records: Records, schedule: Schedule, day: dt.date, now_wall: float, pcs_total: int) -> DaySummary:
    span = schedule.business_span(day)
    opening = opening_intervals(schedule, day)
    watched = intersect([(a, min(b, now_wall)) for a, b in opening], records.coverage)
    all_down = merge(i for c in Component for i in down_intervals(records, c, now_wall))
    sessions = [i for i in sessions_in(records, span, now_wall) if i[1] > i[0]]
    top, top_wall = peak(sessions)
    chart_span = opening[0] if opening else span
    uptimes = [uptime(records, c, watched, now_wall) for c in DIGEST_COMPONENTS]
    return DaySummary(
        day=day.isoformat(), hours=schedule.hours(day), open_s=total(opening), watched_s=total(watched),
        uptime=tuple((u.component.label, u.percent, u.down_s) for u in uptimes),
        incidents=tuple((i.component.label, i.start_wall, i.duration_s, i.closed_hours) for i in records.incidents if in_span(i.start_wall, span)),
        downtime_s=total(intersect(watched, all_down)),
        blips=sum(1 for _, start in records.blips if in_span(start, span)),
        sessions=sum(1 for s in records.sessions if in_span(s.start_wall, span)),
        pc_hours=sum(b - a for a, b in sessions) / HOUR_S, peak=top, peak_wall=top_wall, pcs_total=pcs_total,
        hourly=hourly(sessions, *chart_span))
