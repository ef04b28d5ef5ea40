"""The tick loop: probe at a fixed rate, feed the pure core, publish what it decides."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from sentinel.bus import EventBus
from sentinel.config.model import Config
from sentinel.errors import SentinelError
from sentinel.events import Component, ConfigReloaded
from sentinel.monitor import core

log = logging.getLogger(__name__)

# Room left at the end of every tick for deciding and publishing, so the next tick starts on time.
TICK_GUARD_S = 0.05

ArpProbe = Callable[[Sequence[str], float], set]  # (addresses, timeout) -> addresses that answered ARP now


class Clock:
    """Real time. The demo substitutes a faster one; tests use a fake."""

    def mono(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def real_seconds(self, seconds: float) -> float:
        """How long `seconds` of this clock's time takes in real time."""
        return seconds


def next_tick(previous: float, interval: float, now: float) -> float:
    """Fixed-rate schedule: the next slot after `previous`; overrun slots are skipped, never bunched."""
    due = previous + interval
    if due <= now:
        due = previous + interval * (int((now - previous) / interval) + 1)
    return due


@dataclass(frozen=True, slots=True)
class TickPlan:
    """When the probes of one tick run, in seconds after the tick's start."""

    first_timeout: float  # the first round: every target and PC (and the ARP sweep)
    retry_after: float  # earliest start of the retry of failed targets
    deadline: float  # every probe has ended by then; the rest of the interval is TICK_GUARD_S


def plan_tick(interval: float, timeout: float, retry_delay: float) -> TickPlan:
    """Fit the first round and the retry inside one interval, so a failing tick never overruns.

    With the defaults (2 s interval, 1 s timeout, 1 s retry) nothing is shortened except the
    retry's timeout (0.95 s). When timeout + retry delay do not fit, the first round and the
    retry delay give way, always leaving the retry a quarter of the tick.
    """
    deadline = max(interval - TICK_GUARD_S, interval / 2)
    reserve = min(timeout, deadline / 4)
    first = min(timeout, deadline - reserve)
    return TickPlan(first, min(max(retry_delay, first), deadline - reserve), deadline)


class Monitor:
    """Runs ticks on its own thread until stopped. reconfigure() applies at the next tick."""

    def __init__(self, config: Config, prober, bus: EventBus, state: core.State,
                 clock: Clock | None = None, link_up: Callable[[str], bool] | None = None,
                 arp: ArpProbe | None = None, on_progress: Callable[[], None] | None = None):
        """on_progress: called on the monitor thread after every tick (the app's heartbeat)."""
        self._config = config
        self._on_progress = on_progress
        self._pending: Config | None = None
        self._prober = prober
        self._bus = bus
        self._state = state
        self._clock = clock or Clock()
        self._link_up = link_up
        self._arp = arp
        self._arp_problem: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> core.State:
        return self._state

    def on_event(self, event) -> None:
        """Bus subscriber: a reloaded config applies at the next tick (which starts at once)."""
        if isinstance(event, ConfigReloaded):
            self.reconfigure(event.config)

    def reconfigure(self, config: Config) -> None:
        with self._lock:
            self._pending = config
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _take_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._config = pending

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            due = self._clock.mono()
            while not self._stop.is_set():
                self._take_pending()
                try:
                    if self._config.is_configured:
                        self.tick(loop)
                    else:
                        self._bus.publish(core.idle_status(core.Settings.from_config(self._config), self._clock.wall()))
                except Exception:
                    log.exception("tick failed; monitoring goes on")
                if self._on_progress is not None:
                    self._on_progress()
                interval = self._config.monitor_settings.interval_seconds
                due = next_tick(due, interval, self._clock.mono())
                if self._wake.wait(self._clock.real_seconds(max(0.0, due - self._clock.mono()))):
                    self._wake.clear()
                    due = self._clock.mono()  # a new config: tick now, then keep the new rate
        finally:
            loop.close()

    def tick(self, loop: asyncio.AbstractEventLoop) -> None:
        reading = loop.run_until_complete(self.read())
        self._state, events, status = core.step(self._state, reading, core.Settings.from_config(self._config))
        for event in events:
            self._bus.publish(event)
        self._bus.publish(status)

    async def read(self) -> core.Reading:
        """Probe everything once (failed targets once more, inside the tick) into a Reading.

        The first round pings every target and PC while the ARP sweep asks the PCs; a target
        that failed is pinged again `retry_delay` after the tick started, with a timeout cut to
        what is left of the tick (plan_tick), and its edge time is the retry's own time.
        """
        config = self._config
        mono, wall = self._clock.mono(), self._clock.wall()
        m, v, t = config.monitor_settings, config.verification_settings, config.targets
        link_up = self._link_up(m.pc_subnet) if self._link_up else True
        if not link_up:
            return core.Reading(mono, wall, False, None, None, None)
        plan = plan_tick(m.interval_seconds, m.ping_timeout_seconds, v.retry_delay_seconds)
        internet = [a for a in (t.internet, v.secondary_target if t.internet else "") if a]
        components = {t.router: Component.ROUTER, t.server: Component.SERVER,
                      **dict.fromkeys(internet, Component.INTERNET)}
        infra = [a for a in (t.router, t.server) if a] + internet
        pcs = [ip for _, ip, _ in m.pc_addresses()] if config.occupancy_settings.enabled else []
        sweep = None
        if pcs and m.arp_presence and self._arp is not None:
            sweep = asyncio.get_running_loop().run_in_executor(None, self._arp, pcs, plan.first_timeout)
        results = await self._prober.probe(infra + pcs, plan.first_timeout)
        failed = [a for a in infra if not results[a].is_alive]
        if t.internet and any(results[a].is_alive for a in internet):
            failed = [a for a in failed if a not in internet]  # one internet target answering is enough
        retry_at = {}
        if failed and not self._stop.is_set():
            wait = plan.retry_after - (self._clock.mono() - mono)
            if wait > 0:
                await asyncio.sleep(self._clock.real_seconds(wait))
            retry_mono, retry_wall = self._clock.mono(), self._clock.wall()
            timeout = min(m.ping_timeout_seconds, plan.deadline - (retry_mono - mono))
            if timeout > 0:
                retried = await self._prober.probe(failed, timeout)
                results.update({a: r for a, r in retried.items() if r.is_alive})
                retry_at = {components[a]: (retry_mono, retry_wall) for a in failed}
        arp_seen = await self._finish_sweep(sweep) if sweep is not None else set()

        def alive(address: str) -> bool | None:
            return results[address].is_alive if address else None

        pcs_alive = frozenset(ip for ip in pcs if results[ip].is_alive)
        return core.Reading(
            mono=mono,
            wall=wall,
            link_up=True,
            router=alive(t.router),
            server=alive(t.server),
            internet=any(results[a].is_alive for a in internet) if internet else None,
            pcs_alive=pcs_alive,
            rtt_ms={a: r.rtt_ms for a, r in results.items() if r.is_alive},
            retry_at=retry_at,
            pcs_arp=frozenset(ip for ip in pcs if ip in arp_seen and ip not in pcs_alive),
        )

    async def _finish_sweep(self, sweep: asyncio.Future) -> set:
        """The ARP sweep's answers; a sweep that cannot run is logged once (and its recovery once)."""
        try:
            seen = await sweep
        except (SentinelError, OSError) as exc:
            if str(exc) != self._arp_problem:
                log.warning("ARP presence unavailable, PCs are judged by ping only: %s", exc)
            self._arp_problem = str(exc)
            return set()
        if self._arp_problem is not None:
            log.info("ARP presence works again")
            self._arp_problem = None
        return seen
