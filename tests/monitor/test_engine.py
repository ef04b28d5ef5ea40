"""The tick: one probe round, an in-tick retry for failed targets, dual internet, fixed rate."""

from __future__ import annotations

import asyncio

import pytest

from sentinel.bus import EventBus
from sentinel.config.model import config_from_dict
from sentinel.events import MonitorStatus
from sentinel.monitor import core
from sentinel.monitor.engine import Clock, Monitor, next_tick
from sentinel.monitor.probe import ProbeResult

ROUTER, SERVER, NET1, NET2 = "198.51.100.1", "198.51.100.10", "203.0.113.1", "203.0.113.2"


class FakeClock(Clock):
    def __init__(self):
        self.now = 100.0

    def mono(self):
        return self.now

    def wall(self):
        return 1_800_000_000.0 + self.now

    def real_seconds(self, seconds):
        self.now += seconds  # the retry wait advances fake time instead of sleeping
        return 0.0


class ScriptedProber:
    """Answers per round from a list of sets of silent addresses; records every call."""

    def __init__(self, silent_rounds):
        self.silent_rounds = list(silent_rounds)
        self.calls = []

    async def probe(self, addresses, timeout):
        silent = self.silent_rounds.pop(0) if self.silent_rounds else set()
        self.calls.append(list(addresses))
        return {a: ProbeResult(a, a not in silent, None if a in silent else 1.0) for a in addresses}


def make(silent_rounds, **targets):
    config, problems = config_from_dict({
        "targets": {"router": ROUTER, "server": SERVER, "internet": NET1, **targets},
        "monitor_settings": {"pc_subnet": "198.51.100", "pc_start_range": 110, "pc_count": 2},
        "verification_settings": {"secondary_target": NET2, "retry_delay_seconds": 1.0},
    })
    assert not problems
    prober = ScriptedProber(silent_rounds)
    clock = FakeClock()
    monitor = Monitor(config, prober, EventBus(), core.State(), clock, link_up=lambda subnet: True)
    return monitor, prober, clock


def read(monitor):
    return asyncio.run(monitor.read())


def test_all_targets_and_pcs_in_one_round_no_retry_when_all_answer():
    monitor, prober, _ = make([set()])
    reading = read(monitor)
    assert len(prober.calls) == 1
    assert set(prober.calls[0]) == {ROUTER, SERVER, NET1, NET2, "198.51.100.110", "198.51.100.111"}
    assert (reading.router, reading.server, reading.internet) == (True, True, True)


def test_failed_target_is_reprobed_once_after_retry_delay_and_passes_if_second_answers():
    monitor, prober, clock = make([{SERVER}, set()])
    start = clock.now
    reading = read(monitor)
    assert prober.calls[1] == [SERVER]
    assert clock.now - start == pytest.approx(1.0)
    assert reading.server is True


def test_failed_only_if_both_attempts_fail():
    monitor, prober, _ = make([{SERVER}, {SERVER}])
    assert read(monitor).server is False


def test_internet_fails_only_if_both_targets_fail():
    monitor, prober, _ = make([{NET1}])
    reading = read(monitor)
    assert reading.internet is True and len(prober.calls) == 1  # the secondary answered: no retry
    monitor, prober, _ = make([{NET1, NET2}, {NET1, NET2}])
    assert read(monitor).internet is False
    monitor, prober, _ = make([{NET1, NET2}, {NET1}])
    assert read(monitor).internet is True


def test_pcs_are_not_retried():
    monitor, prober, _ = make([{"198.51.100.110"}])
    reading = read(monitor)
    assert len(prober.calls) == 1 and reading.pcs_alive == {"198.51.100.111"}


def test_unconfigured_targets_are_not_probed():
    monitor, prober, _ = make([set()], server="")
    reading = read(monitor)
    assert SERVER not in prober.calls[0] and reading.server is None


def test_link_down_probes_nothing():
    monitor, prober, _ = make([set()])
    monitor._link_up = lambda subnet: False
    reading = read(monitor)
    assert not reading.link_up and prober.calls == []


@pytest.mark.parametrize("previous, interval, now, expected", [
    (0.0, 2.0, 0.5, 2.0),  # on time
    (0.0, 2.0, 1.99, 2.0),
    (0.0, 2.0, 2.0, 4.0),  # the tick overran its slot: the next slot, not a burst
    (0.0, 2.0, 7.3, 8.0),
    (10.0, 0.5, 10.1, 10.5),
])
def test_fixed_rate_schedule(previous, interval, now, expected):
    assert next_tick(previous, interval, now) == pytest.approx(expected)


def test_tick_publishes_status_and_reconfigure_applies_at_next_tick():
    monitor, prober, _ = make([set(), set()])
    seen = []
    monitor._bus.subscribe(seen.append)
    loop = asyncio.new_event_loop()
    try:
        monitor.tick(loop)
        config, _ = config_from_dict({"targets": {"router": ROUTER}})
        monitor.reconfigure(config)
        monitor._take_pending()
        monitor.tick(loop)
    finally:
        loop.close()
    statuses = [e for e in seen if isinstance(e, MonitorStatus)]
    assert len(statuses) == 2
    assert len(statuses[0].pcs) == 2 and len(statuses[1].pcs) == 20
    assert prober.calls[1][0] == ROUTER and SERVER not in prober.calls[1]
