"""Opening hours in local wall time (DST-correct), with the time always passed in.

A day's range belongs to the day it opens: "mon": "10:00-02:00" is open from Monday 10:00
to Tuesday 02:00. A closed date cancels the opening that starts on it. Without a schedule
(`enabled` false) the shop is open all day, every day, and a day closes at midnight.

Local times are turned into epoch seconds by the platform's local time zone, so a day with
a DST change is 23 or 25 hours long and "10:00" is always 10:00 on the wall clock. Intervals
are `(start_wall, end_wall)` pairs, half open; the small interval algebra the reports need
(merge, intersect, subtract, total) lives here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from sentinel.config.checks import DAYS
from sentinel.config.model import ScheduleSettings
from sentinel.events import ComponentUnstable, IncidentConfirmed, IncidentEnded, IncidentReminder

Interval = tuple[float, float]
ALL_DAY = "00:00-24:00"
CLOSED = "closed"
ONE_DAY = dt.timedelta(days=1)


def local_date(wall: float) -> dt.date:
    return dt.datetime.fromtimestamp(wall).date()


def local_midnight(day: dt.date) -> float:
    """Epoch seconds of 00:00 local time on `day`."""
    return dt.datetime(day.year, day.month, day.day).timestamp()


def _at(day: dt.date, hhmm: str) -> float:
    hour, minute = int(hhmm[:2]), int(hhmm[3:5])
    if hour == 24:
        return local_midnight(day + ONE_DAY)
    return dt.datetime(day.year, day.month, day.day, hour, minute).timestamp()


@dataclass(frozen=True, slots=True)
class Schedule:
    """The shop's opening hours; `days` are the seven ranges Monday to Sunday."""

    enabled: bool = False
    days: tuple[str, ...] = (ALL_DAY,) * 7
    closed_dates: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: ScheduleSettings) -> "Schedule":
        return cls(settings.enabled, tuple(settings.days.get(day, ALL_DAY) for day in DAYS),
                   frozenset(settings.closed_dates))

    def hours(self, day: dt.date) -> str:
        """"HH:MM-HH:MM" or "closed" for the opening that starts on `day`."""
        if not self.enabled:
            return ALL_DAY
        if day.isoformat() in self.closed_dates:
            return CLOSED
        return self.days[day.weekday()]

    def opening(self, day: dt.date) -> Interval | None:
        """The opening that starts on `day` (it may end the next day), or None when closed."""
        hours = self.hours(day)
        if hours == CLOSED:
            return None
        start, end = hours.split("-")
        return _at(day, start), _at(day if end > start else day + ONE_DAY, end)

    def closing(self, day: dt.date) -> float:
        """When `day` is over for the digest: its closing time, or the midnight after it if closed."""
        opening = self.opening(day)
        return opening[1] if opening is not None else local_midnight(day + ONE_DAY)

    def business_span(self, day: dt.date) -> Interval:
        """From the previous day's closing to this day's: every moment belongs to exactly one day."""
        start, end = self.closing(day - ONE_DAY), self.closing(day)
        return start, max(start, end)

    def openings(self, start_wall: float, end_wall: float) -> list[Interval]:
        """Opening intervals overlapping [start_wall, end_wall), clipped to it and merged."""
        if end_wall <= start_wall:
            return []
        day, last = local_date(start_wall) - ONE_DAY, local_date(end_wall)
        found = []
        while day <= last:
            opening = self.opening(day)
            if opening is not None:
                found.append(opening)
            day += ONE_DAY
        return intersect(merge(found), [(start_wall, end_wall)])

    def is_open(self, wall: float) -> bool:
        day = local_date(wall)
        return any(opening[0] <= wall < opening[1]
                   for opening in (self.opening(day - ONE_DAY), self.opening(day)) if opening is not None)

    def outside(self, start_wall: float, end_wall: float) -> bool:
        """True when [start_wall, end_wall] lies wholly outside opening hours ("closed hours")."""
        return not self.is_open(start_wall) and not self.openings(start_wall, end_wall)


def is_quiet(event: object, schedule: Schedule, closed_hours_alerts: bool) -> bool:
    """Whether an alert about `event` stays unsent because it happened outside opening hours."""
    if closed_hours_alerts or not schedule.enabled:
        return False
    if isinstance(event, IncidentConfirmed):
        return schedule.outside(event.started_wall, event.confirmed_wall)
    if isinstance(event, IncidentEnded):
        return schedule.outside(event.started_wall, event.ended_wall)
    if isinstance(event, (IncidentReminder, ComponentUnstable)):
        return not schedule.is_open(event.at_wall)
    return False


# ---------------------------------------------------------------------------------------------
# Interval algebra (half-open [start, end) pairs of epoch seconds)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping, non-empty; touching intervals are joined."""
    result: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if result and start <= result[-1][1]:
            result[-1][1] = max(result[-1][1], end)
        else:
            result.append([start, end])
    return [(a, b) for a, b in result]


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    a, b = merge(a), merge(b)
    result, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The parts of `a` not covered by `b`."""
    result = []
    b = merge(b)
    for start, end in merge(a):
        for cut_start, cut_end in b:
            if cut_end <= start or cut_start >= end:
                continue
            if cut_start > start:
                result.append((start, cut_start))
            start = max(start, cut_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def total(intervals: Iterable[Interval]) -> float:
    """Seconds covered (overlaps counted once)."""
    return sum(end - start for start, end in merge(intervals))
