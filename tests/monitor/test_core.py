"""The pure decisions of README.md's "How it decides", table-style, with a fake clock (time is an argument)."""

from __future__ import annotations

import datetime as dt

import pytest

from sentinel.config.model import config_from_dict
from sentinel.events import (
    Blip,
    Component,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    OccupancySnapshot,
    PcState,
    SessionEnded,
    SessionStarted,
)
from sentinel.monitor import core

ROUTER, SERVER, NET = "198.51.100.1", "198.51.100.10", "203.0.113.1"
PC = [f"198.51.100.{110 + i}" for i in range(5)]
WALL0 = dt.datetime(2026, 11, 21, 9, 0, 0).timestamp()


def settings(min_incident=3.0, min_session_min=0.1, pcs=5, snapshot=None, server=SERVER, reminder_minutes=60.0):
    config, problems = config_from_dict({
        "alert_settings": {"reminder_minutes": reminder_minutes},
        "targets": {"router": ROUTER, "server": server, "internet": NET},
        "monitor_settings": {"pc_subnet": "198.51.100", "pc_start_range": 110, "pc_count": pcs},
        "verification_settings": {"min_incident_duration_seconds": min_incident},
        "occupancy_settings": {"min_session_minutes": min_session_min,
                               "hourly_snapshot_enabled": snapshot is not None,
                               "snapshot_interval_minutes": snapshot or 60},
    })
    assert not problems
    return core.Settings.from_config(config)


class Sim:
    """Feeds readings one tick (1 s) apart; wall may be shifted independently of mono."""

    def __init__(self, s, state=None, mono=1000.0, wall=WALL0):
        self.s, self.state, self.mono, self.wall = s, state or core.State(), mono, wall
        self.events, self.status = [], None

    def tick(self, router=True, server=True, internet=True, pcs=(), link=True, dt_s=1.0, wall_jump=0.0):
        self.wall += wall_jump
        reading = core.Reading(self.mono, self.wall, link, router, server, internet, frozenset(pcs))
        self.state, events, self.status = core.step(self.state, reading, self.s)
        self.events += events
        self.mono += dt_s
        self.wall += dt_s
        return events

    def run(self, n, **kw):
        out = []
        for _ in range(n):
            out += self.tick(**kw)
        return out

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def health(sim, comp):
    return next(t.health for t in sim.status.targets if t.component is comp)


# -- hysteresis ------------------------------------------------------------------------------

@pytest.mark.parametrize("failed_ticks, confirmed", [
    (1, False), (2, False),  # recovering 1 s / 2 s after the first failed probe: blips
    (3, True),  # recovering 3 s after it: as long as the threshold, so an incident (a blip is shorter)
    (4, True),  # the 4th failed probe is 3 s after the first: confirmed while still failing
    (10, True),
])
def test_threshold_boundary(failed_ticks, confirmed):
    sim = Sim(settings(min_incident=3.0))
    sim.run(2)
    sim.run(failed_ticks, server=False)
    sim.run(1)
    assert bool(sim.of(IncidentConfirmed)) is confirmed
    assert bool(sim.of(IncidentEnded)) is confirmed
    assert len(sim.of(Blip)) == (0 if confirmed else 1)
    assert sim.state.blips == (0 if confirmed else 1)


def test_incident_is_backdated_to_first_failed_probe_and_ends_at_first_good_one():
    sim = Sim(settings(min_incident=3.0))
    sim.run(2)
    start_wall = sim.wall
    sim.run(6, server=False)
    end_wall = sim.wall
    sim.tick()
    (confirmed,) = sim.of(IncidentConfirmed)
    (ended,) = sim.of(IncidentEnded)
    assert confirmed.component is Component.SERVER
    assert confirmed.started_wall == start_wall
    assert confirmed.confirmed_wall == start_wall + 3.0
    assert ended.started_wall == start_wall and ended.ended_wall == end_wall
    assert ended.duration_s == pytest.approx(6.0)
    assert ended.key == confirmed.key == sim.of(IncidentOpened)[0].key


def test_zero_threshold_confirms_on_first_failure():
    sim = Sim(settings(min_incident=0.0))
    sim.tick(server=False)
    assert len(sim.of(IncidentConfirmed)) == 1


def test_health_goes_failing_then_down_then_up():
    sim = Sim(settings(min_incident=3.0))
    sim.tick()
    assert health(sim, Component.SERVER) is Health.UP
    sim.tick(server=False)
    assert health(sim, Component.SERVER) is Health.FAILING
    sim.run(3, server=False)
    assert health(sim, Component.SERVER) is Health.DOWN
    sim.tick()
    assert health(sim, Component.SERVER) is Health.UP


# -- root cause ------------------------------------------------------------------------------

def test_router_failure_makes_internet_unknown_not_down():
    sim = Sim(settings(min_incident=3.0))
    sim.tick(pcs=PC[:2])
    sim.run(10, router=False, internet=False, pcs=PC[:2])
    assert {e.component for e in sim.of(IncidentConfirmed)} == {Component.ROUTER}
    assert health(sim, Component.INTERNET) is Health.UNKNOWN


def test_open_internet_incident_stays_open_behind_router_and_is_judged_after():
    sim = Sim(settings(min_incident=3.0))
    sim.tick(pcs=PC[:1])
    sim.run(5, internet=False, pcs=PC[:1])
    assert [e.component for e in sim.of(IncidentConfirmed)] == [Component.INTERNET]
    sim.run(5, router=False, internet=False, pcs=PC[:1])
    assert not sim.of(IncidentEnded)
    sim.run(2, internet=False, pcs=PC[:1])  # router back, internet still failing: same incident
    assert [e.component for e in sim.of(IncidentEnded)] == [Component.ROUTER]
    sim.tick(pcs=PC[:1])
    (ended,) = [e for e in sim.of(IncidentEnded) if e.component is Component.INTERNET]
    assert ended.duration_s == pytest.approx(12.0)


def test_internet_needs_both_targets_down_is_decided_by_the_reading():
    # the engine folds primary+secondary into Reading.internet; False only when both failed
    sim = Sim(settings(min_incident=0.0))
    sim.tick(internet=True)
    assert not sim.of(IncidentConfirmed)


def test_server_is_judged_on_its_own():
    sim = Sim(settings(min_incident=0.0))
    sim.tick(pcs=PC[:2])
    sim.tick(router=False, server=False, pcs=PC[:2])  # PCs still answer: not the switch
    assert {e.component for e in sim.of(IncidentConfirmed)} == {Component.ROUTER, Component.SERVER}


def test_router_server_and_all_online_pcs_failing_together_is_one_lan_incident():
    sim = Sim(settings(min_incident=3.0))
    sim.run(2, pcs=PC[:3])
    sim.run(6, router=False, server=False, internet=False, pcs=())
    assert [e.component for e in sim.of(IncidentConfirmed)] == [Component.LAN]
    sim.tick(pcs=PC[:3])
    assert [e.component for e in sim.of(IncidentEnded)] == [Component.LAN]
    assert not sim.of(Blip)


def test_lan_absorbs_a_router_failure_seen_one_tick_earlier():
    sim = Sim(settings(min_incident=3.0))
    sim.run(2, pcs=PC[:3])
    start = sim.wall
    sim.tick(router=False, internet=False, pcs=PC[:3])
    sim.run(5, router=False, server=False, internet=False)
    (lan,) = sim.of(IncidentConfirmed)
    assert lan.component is Component.LAN and lan.started_wall == start
    assert not sim.of(Blip)


def test_own_link_down_is_one_incident_and_nothing_else_opens():
    sim = Sim(settings(min_incident=3.0))
    sim.run(2, pcs=PC[:3])
    sim.run(6, link=False, router=None, server=None, internet=None)
    assert [e.component for e in sim.of(IncidentConfirmed)] == [Component.LAN_LINK]
    assert all(t.health is Health.UNKNOWN for t in sim.status.targets)
    assert not sim.of(SessionEnded)
    sim.tick(pcs=PC[:3])
    assert [e.component for e in sim.of(IncidentEnded)] == [Component.LAN_LINK]


def test_unconfigured_server_and_no_pcs_online_router_failure_is_router():
    sim = Sim(settings(min_incident=0.0, server=""))
    sim.tick()
    sim.tick(router=False, server=None, internet=False)
    assert [e.component for e in sim.of(IncidentConfirmed)] == [Component.ROUTER]


# -- occupancy -------------------------------------------------------------------------------

def test_session_starts_after_min_session_backdated_to_first_seen():
    sim = Sim(settings(min_session_min=0.1))  # 6 s
    first = sim.wall
    sim.run(6, pcs=[PC[0]])
    assert not sim.of(SessionStarted)
    sim.tick(pcs=[PC[0]])
    (started,) = sim.of(SessionStarted)
    assert started.pc == "PC-1" and started.ip == PC[0] and started.started_wall == first
    assert sim.status.in_session == 1


def test_session_ends_after_min_session_unseen_at_last_seen_time():
    sim = Sim(settings(min_session_min=0.1))
    sim.run(10, pcs=[PC[0]])
    last_seen = sim.wall - 1.0
    sim.run(5)
    assert not sim.of(SessionEnded)
    sim.tick()  # 6 s after the last sighting
    (ended,) = sim.of(SessionEnded)
    assert ended.ended_wall == last_seen and not ended.during_outage
    assert ended.duration_s == pytest.approx(9.0)


@pytest.mark.parametrize("gap", [1, 3, 5])
def test_short_gap_does_not_split_or_restart_a_session(gap):
    sim = Sim(settings(min_session_min=0.1))
    sim.run(8, pcs=[PC[0]])
    sim.run(gap)
    sim.run(8, pcs=[PC[0]])
    assert len(sim.of(SessionStarted)) == 1 and not sim.of(SessionEnded)


def test_short_gap_before_the_session_counts_from_first_seen():
    sim = Sim(settings(min_session_min=0.1))
    first = sim.wall
    sim.run(3, pcs=[PC[0]])
    sim.run(2)
    sim.run(3, pcs=[PC[0]])
    (started,) = sim.of(SessionStarted)
    assert started.started_wall == first


def test_a_visit_shorter_than_min_session_is_never_a_session():
    sim = Sim(settings(min_session_min=0.1))
    sim.run(4, pcs=[PC[0]])
    sim.run(20)
    assert not sim.of(SessionStarted) and not sim.of(SessionEnded)


def test_smart_freeze_during_router_outage_then_end_marked_during_outage():
    sim = Sim(settings(min_incident=3.0, min_session_min=0.1))
    sim.run(10, pcs=PC[:2])
    assert sim.status.in_session == 2
    last_seen_pc2 = sim.wall - 1.0
    during = sim.run(30, router=False, internet=False, pcs=[PC[0]])  # PC-2 leaves during the outage
    assert sim.status.in_session == 2 and sim.status.frozen
    assert not [e for e in during if isinstance(e, (SessionStarted, SessionEnded))]
    sim.run(5, pcs=[PC[0]])
    assert not sim.of(SessionEnded)  # after recovery the PC gets min_session to answer again
    sim.run(2, pcs=[PC[0]])
    (ended,) = sim.of(SessionEnded)
    assert ended.ip == PC[1] and ended.during_outage and ended.ended_wall == last_seen_pc2


def test_a_router_blip_is_not_an_outage_for_sessions_that_end_after_it():
    sim = Sim(settings(min_incident=3.0, min_session_min=0.1))
    sim.run(10, pcs=PC[:2])
    sim.run(2, router=False, internet=False, pcs=[PC[0]])  # 2 s: a blip, and PC-2 leaves meanwhile
    sim.run(10, pcs=[PC[0]])
    assert len(sim.of(Blip)) == 1 and not sim.of(IncidentConfirmed)
    (ended,) = sim.of(SessionEnded)
    assert ended.ip == PC[1] and not ended.during_outage


def test_a_pc_seen_by_arp_only_is_in_session_and_says_how_it_was_seen():
    sim = Sim(settings(min_session_min=0.1))
    first = sim.wall
    for _ in range(8):
        reading = core.Reading(sim.mono, sim.wall, True, True, True, True, frozenset({PC[0]}), {PC[0]: 0.4},
                               pcs_arp=frozenset({PC[1]}))
        sim.state, events, sim.status = core.step(sim.state, reading, sim.s)
        sim.events += events
        sim.mono += 1.0
        sim.wall += 1.0
    assert {e.ip: e.started_wall for e in sim.of(SessionStarted)} == {PC[0]: first, PC[1]: first}
    assert [(p.state, p.seen_by) for p in sim.status.pcs[:3]] == [
        (PcState.IN_SESSION, "ping"), (PcState.IN_SESSION, "arp"), (PcState.OFF, None)]
    sim.run(7, pcs=[PC[0]])  # the ARP-only PC is switched off: it ends like any other
    (ended,) = sim.of(SessionEnded)
    assert ended.ip == PC[1] and ended.ended_wall == first + 7.0


def test_no_session_starts_during_freeze_but_first_seen_is_kept():
    sim = Sim(settings(min_incident=3.0, min_session_min=0.1))
    sim.tick()
    first = sim.wall
    sim.run(10, router=False, internet=False, pcs=[PC[0]])
    assert not sim.of(SessionStarted)
    sim.tick(pcs=[PC[0]])
    (started,) = sim.of(SessionStarted)
    assert started.started_wall == first


def test_pc_names_and_numbering():
    config, _ = config_from_dict({"monitor_settings": {"pc_subnet": "198.51.100", "pc_start_range": 110,
                                                       "pc_count": 3, "pc_names": {PC[1]: "VIP-1"}}})
    assert config.monitor_settings.pc_addresses() == [(1, PC[0], "PC-1"), (2, PC[1], "VIP-1"), (3, PC[2], "PC-3")]


def test_pc_removed_from_range_ends_its_session():
    sim = Sim(settings(min_session_min=0.0, pcs=5))
    sim.tick(pcs=[PC[4]])
    sim.s = settings(min_session_min=0.0, pcs=2)
    sim.tick()
    (ended,) = sim.of(SessionEnded)
    assert ended.ip == PC[4]


# -- clocks and restarts ---------------------------------------------------------------------

@pytest.mark.parametrize("jump", [-3600.0, 3600.0, -86400.0])
def test_wall_clock_jump_does_not_change_durations(jump):
    sim = Sim(settings(min_incident=3.0, min_session_min=0.1))
    sim.run(8, pcs=[PC[0]])
    sim.tick(server=False, pcs=[PC[0]])
    sim.tick(server=False, pcs=[PC[0]], wall_jump=jump)
    sim.run(4, server=False, pcs=[PC[0]])
    sim.tick(pcs=[PC[0]])
    sim.run(8)
    (ended,) = sim.of(IncidentEnded)
    assert ended.duration_s == pytest.approx(6.0)
    (session,) = sim.of(SessionEnded)
    assert session.duration_s == pytest.approx(14.0)  # seen at t=0..14


def test_restart_mid_incident_resumes_and_ends_it():
    start = WALL0 - 120
    state = core.restore([("k1", Component.INTERNET, start, 3)], [], now_mono=50.0, now_wall=WALL0)
    sim = Sim(settings(min_incident=3.0), state=state, mono=50.0)
    sim.run(3, internet=False)
    assert not sim.of(IncidentOpened) and not sim.of(IncidentConfirmed)
    assert health(sim, Component.INTERNET) is Health.DOWN
    sim.tick()
    (ended,) = sim.of(IncidentEnded)
    assert ended.key == "k1" and ended.started_wall == start and ended.pcs_in_session_at_start == 3
    assert ended.duration_s == pytest.approx(123.0)


def test_restart_mid_session_resumes_without_a_new_start():
    state = core.restore([], [("s1", PC[0], WALL0 - 600, WALL0 - 5)], now_mono=50.0, now_wall=WALL0)
    sim = Sim(settings(min_session_min=0.1), state=state, mono=50.0)
    sim.run(10, pcs=[PC[0]])
    assert not sim.of(SessionStarted) and sim.status.in_session == 1
    sim.run(7)
    (ended,) = sim.of(SessionEnded)
    assert ended.key == "s1" and ended.started_wall == WALL0 - 600


def test_restart_with_a_pc_that_went_away_ends_at_last_seen():
    state = core.restore([], [("s1", PC[0], WALL0 - 600, WALL0 - 300)], now_mono=50.0, now_wall=WALL0)
    sim = Sim(settings(min_session_min=0.1), state=state, mono=50.0)
    sim.run(7)
    (ended,) = sim.of(SessionEnded)
    assert ended.ended_wall == WALL0 - 300 and ended.duration_s == pytest.approx(300.0)


# -- snapshots -------------------------------------------------------------------------------

@pytest.mark.parametrize("minutes, at, expected", [
    (60, (9, 0, 0), (10, 0, 0)),
    (60, (9, 59, 59), (10, 0, 0)),
    (15, (9, 7, 0), (9, 15, 0)),
    (15, (9, 45, 0), (10, 0, 0)),
    (1, (9, 0, 30), (9, 1, 0)),
])
def test_next_aligned(minutes, at, expected):
    wall = dt.datetime(2026, 11, 21, *at).timestamp()
    assert core.next_aligned(wall, minutes) == dt.datetime(2026, 11, 21, *expected).timestamp()


def test_snapshots_fire_at_clock_aligned_times():
    sim = Sim(settings(min_session_min=0.0, snapshot=1), wall=WALL0 + 50)
    sim.run(130, pcs=PC[:2], dt_s=1.0)  # 09:00:50 .. 09:02:59
    snaps = sim.of(OccupancySnapshot)
    assert [dt.datetime.fromtimestamp(s.at_wall).strftime("%H:%M:%S") for s in snaps] == ["09:01:00", "09:02:00"]
    assert snaps[0].in_session == 2 and snaps[0].total == 5 and snaps[0].percent == 40.0


def test_snapshot_schedule_recovers_after_clock_goes_back():
    sim = Sim(settings(snapshot=1), wall=WALL0 + 50)
    sim.run(5)
    sim.tick(wall_jump=-3600)  # 09:00:55 -> 08:00:55: the 09:01 slot is an hour away now
    sim.run(40)
    (snap,) = sim.of(OccupancySnapshot)
    assert dt.datetime.fromtimestamp(snap.at_wall).strftime("%H:%M:%S") == "08:01:00"


def test_status_reports_pc_states():
    sim = Sim(settings(min_session_min=0.1))
    sim.run(7, pcs=[PC[0]])
    sim.tick(pcs=[PC[0], PC[1]])
    states = [pc.state for pc in sim.status.pcs]
    assert states == [PcState.IN_SESSION, PcState.SEEN, PcState.OFF, PcState.OFF, PcState.OFF]
