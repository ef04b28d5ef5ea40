"""The alert policy (flapping, reminders), table-style with a fake clock, alone and through the core."""

from __future__ import annotations

import pytest

from sentinel.events import Blip, Component, ComponentUnstable, IncidentReminder
from sentinel.monitor import alerts
from tests.monitor.test_core import Sim, settings

ROUTER = Component.ROUTER
RULES = alerts.AlertRules(reminder_s=3600.0, flap_blips=3, flap_window_s=600.0)


def blip(comp=ROUTER, wall=0.0):
    return Blip("k", comp, wall, wall + 1.0, 1.0)


def run_blips(times, rules=RULES, until=None, comp=ROUTER):
    """Feed blips at the given seconds (one tick a second up to `until`); the UNSTABLE alerts, by time."""
    state, out = alerts.AlertState(), []
    end = until if until is not None else max(times) + 1
    for t in range(int(end) + 1):
        state, events = alerts.step(state, rules, [blip(comp, 1000.0 + t)] * times.count(t), [], float(t),
                                    1000.0 + t)
        out += [(t, e) for e in events]
    return out


@pytest.mark.parametrize("times, alerted_at", [
    ([0, 100], []),  # two blips: not yet
    ([0, 100, 200], [200]),  # the third within 10 min: one alert
    ([0, 100, 200, 250, 300, 400], [200]),  # more flapping: still one alert
    ([0, 300, 601], []),  # the first fell out of the window before the third came
    ([0, 100, 200, 300, 1000, 1100, 1200], [200, 1200]),  # quiet 10 min after 300: news again
    ([0, 100, 200, 300, 800, 900, 1000], [200]),  # 500 s gaps: never a whole quiet window
])
def test_flapping_alerts_once_until_a_quiet_window(times, alerted_at):
    out = run_blips(times, until=1300)
    assert [t for t, _ in out] == alerted_at
    for t, event in out:
        assert isinstance(event, ComponentUnstable) and event.component is ROUTER
        assert event.blips >= 3 and event.window_s == 600.0 and event.at_wall == 1000.0 + t


def test_unstable_names_the_first_blip_of_the_window_and_components_count_apart():
    state = alerts.AlertState()
    state, _ = alerts.step(state, RULES, [blip(ROUTER, 5.0), blip(Component.SERVER, 5.0)], [], 0.0, 5.0)
    state, _ = alerts.step(state, RULES, [blip(ROUTER, 60.0)], [], 55.0, 60.0)
    state, events = alerts.step(state, RULES, [blip(ROUTER, 90.0)], [], 85.0, 90.0)
    (unstable,) = events
    assert unstable.component is ROUTER and unstable.first_wall == 5.0 and unstable.blips == 3


def incident(start=0.0):
    return alerts.OpenIncident("i1", Component.INTERNET, start, 5000.0 + start)


@pytest.mark.parametrize("reminder_s, ticks_s, expected", [
    (3600.0, range(0, 7300, 2), [3600, 7200]),
    (0.0, range(0, 7300, 2), []),  # 0 = off
    (600.0, range(0, 1900, 7), [602, 1204, 1806]),  # 7 s ticks: the first tick past each period
])
def test_reminders_every_period_while_the_incident_lasts(reminder_s, ticks_s, expected):
    rules = alerts.AlertRules(reminder_s, 3, 600.0)
    state, out = alerts.AlertState(), []
    for t in ticks_s:
        state, events = alerts.step(state, rules, [], [incident()], float(t), 5000.0 + t)
        out += events
    assert [round(e.duration_s) for e in out] == expected
    assert all(isinstance(e, IncidentReminder) and e.key == "i1" and e.started_wall == 5000.0 for e in out)


def test_no_back_reminders_after_a_restart_and_none_once_ended():
    state, events = alerts.step(alerts.AlertState(), RULES, [], [incident(start=-9000.0)], 0.0, 0.0)  # 2.5 h in
    assert events == []
    state, events = alerts.step(state, RULES, [], [incident(start=-9000.0)], 1700.0, 1700.0)
    assert events == []
    state, events = alerts.step(state, RULES, [], [incident(start=-9000.0)], 1800.0, 1800.0)  # 3:00:00
    assert [round(e.duration_s) for e in events] == [10800]
    state, events = alerts.step(state, RULES, [], [], 7300.0, 7300.0)
    assert events == [] and state.reminded == {}


def test_core_alerts_a_flapping_router_and_reminds_of_a_long_outage():
    sim = Sim(settings(min_incident=3.0))
    for _ in range(3):  # three router blips of 2 s within a minute
        sim.run(10)
        sim.run(2, router=False, internet=False)
    sim.run(5)
    (unstable,) = sim.of(ComponentUnstable)
    assert unstable.component is ROUTER and unstable.blips == 3
    assert len(sim.of(Blip)) == 3
    sim.s = settings(min_incident=3.0, reminder_minutes=1.0)
    sim.run(150, internet=False)  # 150 s ISP outage, a reminder a minute
    assert [round(e.duration_s) for e in sim.of(IncidentReminder)] == [60, 120]
    assert {e.component for e in sim.of(IncidentReminder)} == {Component.INTERNET}
