"""The Today reducer: table tests with hand-built events and time passed in."""

from __future__ import annotations

import time

import pytest

from sentinel.events import (
    Blip,
    Component,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    MonitorStatus,
    PcState,
    PcStatus,
    TargetStatus,
)
from sentinel.today import MAX_GAP_S, Segment, Today, advance, day_bounds

R, S, I = Component.ROUTER, Component.SERVER, Component.INTERNET
UP, FAILING, DOWN, UNKNOWN = Health.UP, Health.FAILING, Health.DOWN, Health.UNKNOWN
NOON = time.mktime((2026, 5, 4, 12, 0, 0, 0, 0, -1))  # local time


def status(at, router=UP, server=UP, internet=UP, *, since=None, in_session=0, pcs=4, configured=True):
    since = since or {}
    targets = tuple(TargetStatus(c, "198.51.100.1", h, since.get(c, at - 3600), None)
                    for c, h in ((R, router), (S, server), (I, internet)))
    pc_rows = tuple(PcStatus(n, f"PC-{n}", f"198.51.100.{n}", PcState.IN_SESSION if n <= in_session else PcState.OFF,
                             None, None) for n in range(1, pcs + 1))
    return MonitorStatus(at, configured, True, False, targets, pc_rows, 0)


def run(steps, start=Today()):
    """Feed (at, event) pairs in order."""
    today = start
    for at, event in steps:
        today = advance(today, event, at)
    return today


def ticks(t0, t1, every=2, **kwargs):
    return [(t, status(t, **kwargs)) for t in range(int(t0), int(t1) + 1, every)]


def test_day_bounds_are_local_midnights():
    start, end = day_bounds(NOON)
    assert time.localtime(start)[3:6] == (0, 0, 0) and time.localtime(end)[3:6] == (0, 0, 0)
    assert start < NOON < end and time.localtime(start).tm_mday == 4 and time.localtime(end).tm_mday == 5


@pytest.mark.parametrize("name, steps, component, uptime, outage_s, blips", [
    ("all up", ticks(NOON, NOON + 600), R, 100.0, 0, 0),
    ("nothing yet", [], R, None, 0, 0),
    # router fails at +100, confirmed DOWN at +110 (the FAILING run becomes the outage), back at +200
    ("one outage", ticks(NOON, NOON + 98) + ticks(NOON + 100, NOON + 108, router=FAILING)
     + ticks(NOON + 110, NOON + 198, router=DOWN) + ticks(NOON + 200, NOON + 400), R, 75.0, 100, 0),
    ("a blip is no outage", ticks(NOON, NOON + 98) + ticks(NOON + 100, NOON + 104, router=FAILING)
     + [(NOON + 106, Blip("b", R, NOON + 100, NOON + 106, 6))] + ticks(NOON + 106, NOON + 200), R, 100.0, 0, 1),
    ("unknown is not counted", ticks(NOON, NOON + 100) + ticks(NOON + 102, NOON + 300, internet=UNKNOWN)
     + ticks(NOON + 302, NOON + 400), I, 100.0, 0, 0),
])
def test_uptime_outage_and_blips(name, steps, component, uptime, outage_s, blips):
    summary = run(steps).summary(component)
    assert summary.uptime_percent == (pytest.approx(uptime) if uptime is not None else None), name
    assert summary.outage_s == pytest.approx(outage_s), name
    assert summary.blips == blips, name


def test_timeline_segments_for_the_dashboard():
    today = run(ticks(NOON, NOON + 98) + ticks(NOON + 100, NOON + 108, router=FAILING)
                + ticks(NOON + 110, NOON + 198, router=DOWN) + ticks(NOON + 200, NOON + 300))
    assert today.timeline[R] == (Segment(NOON, NOON + 100, UP), Segment(NOON + 100, NOON + 200, DOWN),
                                 Segment(NOON + 200, NOON + 300, UP))
    assert today.timeline[S] == (Segment(NOON, NOON + 300, UP),)


def test_lan_link_outage_comes_from_incident_events_and_rows_behind_it_are_unknown():
    steps = ticks(NOON, NOON + 100)
    steps += [(NOON + 102, IncidentOpened("k", Component.LAN_LINK, NOON + 102, 0))]
    steps += ticks(NOON + 102, NOON + 110, router=UNKNOWN, server=UNKNOWN, internet=UNKNOWN)
    steps += [(NOON + 112, IncidentConfirmed("k", Component.LAN_LINK, NOON + 102, NOON + 112, 0))]
    steps += ticks(NOON + 112, NOON + 200, router=UNKNOWN, server=UNKNOWN, internet=UNKNOWN)
    steps += [(NOON + 202, IncidentEnded("k", Component.LAN_LINK, NOON + 102, NOON + 202, 100, 0, 0))]
    steps += ticks(NOON + 202, NOON + 400)
    today = run(steps)
    link = today.summary(Component.LAN_LINK)
    assert link.outage_s == pytest.approx(100) and link.uptime_percent == pytest.approx(75.0)
    assert today.summary(R).uptime_percent == pytest.approx(100.0)  # unknown time is not downtime
    assert today.timeline[R][1] == Segment(NOON + 102, NOON + 202, UNKNOWN)


def test_since_is_reset_after_recovery_even_when_the_core_keeps_an_old_one():
    old = NOON - 5000
    steps = [(t, status(t, since={R: old})) for t in range(int(NOON), int(NOON) + 11, 2)]
    today = run(steps)
    assert today.since_wall(R) == old  # the first look believes the core (a restored incident)
    steps = [(t, status(t, router=UNKNOWN, since={R: old})) for t in range(int(NOON) + 12, int(NOON) + 31, 2)]
    today = run(steps, today)
    assert (today.health(R), today.since_wall(R)) == (UNKNOWN, NOON + 12)
    today = run([(NOON + 32, status(NOON + 32, since={R: old}))], today)
    assert (today.health(R), today.since_wall(R)) == (UP, NOON + 32)


def test_since_of_an_incident_is_its_first_failed_probe():
    steps = ticks(NOON, NOON + 10) + [(NOON + 12, status(NOON + 12, router=FAILING, since={R: NOON + 12}))]
    steps += [(NOON + 24, status(NOON + 24, router=DOWN, since={R: NOON + 12}))]
    assert run(steps).since_wall(R) == NOON + 12


def test_peak_occupancy():
    steps = [(NOON + i, status(NOON + i, in_session=n)) for i, n in enumerate((1, 3, 2, 3, 0))]
    today = run(steps)
    assert (today.peak.in_session, today.peak.total, today.peak.at_wall) == (3, 4, NOON + 1)


def test_midnight_starts_a_new_day_with_the_states_that_hold():
    _, midnight = day_bounds(NOON)
    before = midnight - 20
    steps = ticks(before - 600, before - 302) + ticks(before - 300, before, router=DOWN, in_session=3)
    steps += [(before - 100, Blip("b", S, before - 110, before - 100, 10))]
    yesterday = run(steps)
    assert yesterday.summary(R).outage_s > 0 and yesterday.total_blips == 1
    today = run(ticks(midnight + 2, midnight + 62, router=DOWN, in_session=1), yesterday)
    assert today.day_start_wall == midnight
    assert today.timeline[R] == (Segment(midnight, midnight + 62, DOWN),)
    assert today.summary(R).outage_s == pytest.approx(62) and today.total_blips == 0
    assert today.peak.in_session == 1
    assert today.since_wall(R) == yesterday.since_wall(R)  # "since" is not cut at midnight


def test_a_long_gap_leaves_a_hole_not_uptime():
    steps = ticks(NOON, NOON + 100) + ticks(NOON + 100 + MAX_GAP_S + 50, NOON + 500 + MAX_GAP_S)
    today = run(steps)
    assert len(today.timeline[R]) == 2
    assert sum(s.seconds for s in today.timeline[R]) == pytest.approx(100 + 350)


def test_unconfigured_targets_have_no_timeline():
    today = run(ticks(NOON, NOON + 10, server=Health.UNCONFIGURED, configured=True))
    assert S not in today.timeline and today.summary(S).uptime_percent is None
    idle = run(ticks(NOON, NOON + 10, configured=False))
    assert Component.LAN_LINK not in idle.timeline
