"""The tick: one probe round, an in-tick retry for failed targets, dual internet, fixed rate."""

from __future__ import annotations

import asyncio

import pytest

from sentinel.bus import EventBus
from sentinel.config.model import config_from_dict
from sentinel.events import Blip, IncidentConfirmed, IncidentEnded, MonitorStatus
from sentinel.monitor import core
from sentinel.monitor.engine import TICK_GUARD_S, Clock, Monitor, next_tick, plan_tick
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


# -- the tick schedule under failure, with a fake clock and fake prober latencies ----------------

INFRA = (ROUTER, SERVER, NET1, NET2)


class TimedProber:
    """A silent address costs the round its whole timeout, an answering one `rtt`; a round lasts as
    long as its slowest address. `silent(address, t)` says whether an echo sent at fake time t is lost."""

    def __init__(self, clock, silent, rtt=0.003):
        self.clock, self.silent, self.rtt = clock, silent, rtt
        self.rounds = []  # (start, end, addresses, timeout)
        self.monitor = None
        self.ticks = 0
        self.max_ticks = 0

    async def probe(self, addresses, timeout):
        start = self.clock.now
        if ROUTER in addresses or SERVER in addresses or "198.51.100.110" in addresses:
            self.ticks += 1 if len(addresses) > len(INFRA) else 0
            if self.ticks > self.max_ticks:
                self.monitor._stop.set()
        lost = {a for a in addresses if self.silent(a, start)}
        self.clock.now += max(timeout if a in lost else min(self.rtt, timeout) for a in addresses)
        self.rounds.append((start, self.clock.now, list(addresses), timeout))
        return {a: ProbeResult(a, a not in lost, None if a in lost else self.rtt * 1000) for a in addresses}


def run_ticks(silent, ticks, **settings):
    """Run the real tick loop on a fake clock for `ticks` ticks; (prober, events published)."""
    raw = {
        "targets": {"router": ROUTER, "server": SERVER, "internet": NET1},
        "monitor_settings": {"pc_subnet": "198.51.100", "pc_start_range": 110, "pc_count": 2},
        "verification_settings": {"secondary_target": NET2},
    }
    for section, values in settings.items():
        raw.setdefault(section, {}).update(values)
    config, problems = config_from_dict(raw)
    assert not problems
    clock = FakeClock()
    prober = TimedProber(clock, silent)
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    monitor = Monitor(config, prober, bus, core.State(), clock, link_up=lambda subnet: True)
    prober.monitor, prober.max_ticks = monitor, ticks
    monitor._run()
    return prober, events


@pytest.mark.parametrize("failing, retried", [
    ((), ()),
    ((SERVER, NET2), (SERVER,)),  # the primary internet target answers: the internet is up, no retry
    (INFRA, INFRA),
], ids=["0%", "50%", "100%"])
def test_ticks_keep_their_rate_while_targets_time_out(failing, retried):
    prober, _ = run_ticks(lambda address, t: address in failing, ticks=20)
    firsts = [r for r in prober.rounds if len(r[2]) > len(INFRA)][:20]
    starts = [r[0] for r in firsts]
    t0 = starts[0]
    assert starts == pytest.approx([t0 + 2.0 * k for k in range(20)], abs=1e-9), "a tick started late"
    for start, end, addresses, timeout in prober.rounds:
        tick = t0 + 2.0 * ((start - t0) // 2.0)
        assert end <= tick + 2.0 - TICK_GUARD_S + 1e-9, f"a probe round ran into the next tick ({addresses})"
    retries = [r for r in prober.rounds if len(r[2]) <= len(INFRA)]
    if not failing:
        assert retries == []
    else:
        assert {tuple(r[2]) for r in retries} == {retried}
        assert all(r[3] == pytest.approx(0.95) and (r[0] - t0) % 2.0 == pytest.approx(1.0) for r in retries)


@pytest.mark.parametrize("interval, timeout, retry, expected", [
    (2.0, 1.0, 1.0, (1.0, 1.0, 1.95)),  # the defaults: only the retry's timeout is cut (to 0.95 s)
    (5.0, 1.0, 1.0, (1.0, 1.0, 4.95)),
    (2.0, 1.0, 0.0, (1.0, 1.0, 1.95)),  # the retry waits for the first round's answers
    (1.0, 1.0, 1.0, (0.7125, 0.7125, 0.95)),  # no room for both: each gives way, the retry keeps a quarter
    (0.5, 3.0, 5.0, (0.3375, 0.3375, 0.45)),
])
def test_plan_fits_first_round_and_retry_in_the_interval(interval, timeout, retry, expected):
    plan = plan_tick(interval, timeout, retry)
    assert (plan.first_timeout, plan.retry_after, plan.deadline) == pytest.approx(expected)
    assert plan.retry_after + min(timeout, plan.deadline - plan.retry_after) <= interval - TICK_GUARD_S + 1e-9


def outage(address, begin, length):
    return lambda a, t: a == address and begin <= t < begin + length


PHASES = [0.05, 0.3, 0.5, 0.95, 1.05, 1.5, 1.7, 1.95]


@pytest.mark.parametrize("phase", PHASES)
def test_an_8_s_outage_is_always_a_blip_shorter_than_the_threshold(phase):
    _, events = run_ticks(outage(SERVER, 100.0 + 10.0 + phase, 8.0), ticks=20)
    assert not [e for e in events if isinstance(e, (IncidentConfirmed, IncidentEnded))]
    (blip,) = [e for e in events if isinstance(e, Blip)]
    assert 6.0 < blip.duration_s < 10.0 and blip.duration_s == pytest.approx(blip.ended_wall - blip.started_wall)


@pytest.mark.parametrize("phase", PHASES)
def test_a_12_s_outage_is_always_an_incident_with_the_probes_own_edges(phase):
    begin = 100.0 + 10.0 + phase
    _, events = run_ticks(outage(SERVER, begin, 12.0), ticks=20)
    assert not [e for e in events if isinstance(e, Blip)]
    (confirmed,) = [e for e in events if isinstance(e, IncidentConfirmed)]
    (ended,) = [e for e in events if isinstance(e, IncidentEnded)]
    wall0 = 1_800_000_000.0
    # start: the first probe sent inside the outage; end: the first probe after it (a retry or a tick)
    assert begin <= ended.started_wall - wall0 < begin + 2.0
    assert begin + 12.0 <= ended.ended_wall - wall0 < begin + 12.0 + 1.0 + 0.01
    assert ended.duration_s == pytest.approx(ended.ended_wall - ended.started_wall)
    assert confirmed.confirmed_wall - confirmed.started_wall >= 10.0


def test_the_retry_that_answers_is_the_edge():
    # 110.5 .. 120.5: the tick at 120 fails, its retry at 121 answers; 112 .. 121 is 9 s: a blip
    _, events = run_ticks(outage(SERVER, 110.5, 10.0), ticks=20)
    (blip,) = [e for e in events if isinstance(e, Blip)]
    assert blip.ended_wall - 1_800_000_000.0 == pytest.approx(121.0, abs=0.01), "not the retry's time"
    assert blip.duration_s == pytest.approx(9.0, abs=0.01)


# -- the ARP sweep beside the first round ------------------------------------------------------

PC1, PC2 = "198.51.100.110", "198.51.100.111"


def test_arp_sweep_asks_the_pcs_and_finds_those_that_drop_pings(caplog):
    monitor, prober, _ = make([{PC2}])
    asked = []

    def arp(addresses, timeout):
        asked.append((list(addresses), timeout))
        return {PC1, PC2}

    monitor._arp = arp
    reading = read(monitor)
    assert asked == [([PC1, PC2], 1.0)]
    assert reading.pcs_alive == {PC1} and reading.pcs_arp == {PC2}, "PC-1 answered ping: not 'ARP only'"


def test_arp_presence_off_asks_nobody():
    monitor, _, _ = make([set()])
    config, _ = config_from_dict({"targets": {"router": ROUTER}, "monitor_settings": {
        "pc_subnet": "198.51.100", "pc_start_range": 110, "pc_count": 2, "arp_presence": False}})
    monitor._config = config
    monitor._arp = lambda addresses, timeout: pytest.fail("ARP sweep with arp_presence off")
    assert read(monitor).pcs_arp == frozenset()


def test_arp_unavailable_is_logged_once_and_pcs_go_by_ping(caplog):
    from sentinel.platform import ArpUnavailableError

    monitor, _, _ = make([set(), set(), set()])

    def arp(addresses, timeout):
        raise ArpUnavailableError("raw packet sockets need root")

    monitor._arp = arp
    with caplog.at_level("WARNING"):
        readings = [read(monitor) for _ in range(3)]
    assert all(r.pcs_alive == {PC1, PC2} and not r.pcs_arp for r in readings)
    assert [r.message for r in caplog.records].count(
        "ARP presence unavailable, PCs are judged by ping only: raw packet sockets need root") == 1
