"""GET /metrics: the monitor's picture in the Prometheus text format (prometheus_client renders it).

A bus subscriber keeps the few numbers Prometheus needs; a collector turns them into metric
families on each scrape, in a registry of its own (no global default registry). Names and
labels are a contract (README "Many branches"): dashboards and alert rules rely on them.
"""

from __future__ import annotations

import threading
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, UnknownMetricFamily

from sentinel.events import (Blip, Component, DeliveryStatus, Health, IncidentConfirmed, IncidentEnded,
                             IncidentOpened, MonitorStatus)

CONTENT_TYPE = CONTENT_TYPE_LATEST
COMPONENT_LABELS = {Component.LAN_LINK: "lan_link", Component.LAN: "lan", Component.ROUTER: "router",
                    Component.SERVER: "server", Component.INTERNET: "internet"}
OUTBOX_KINDS = ("alerts", "occupancy", "screenshots")


class Metrics:
    """Counts incidents and blips since start and keeps the newest status; thread-safe."""

    def __init__(self, version: str, shop: Callable[[], str]):
        self._version = version
        self._shop = shop
        self._lock = threading.Lock()
        self._status: MonitorStatus | None = None
        self._incidents = {c: 0 for c in Component}
        self._blips = {c: 0 for c in Component}
        self._active: set[Component] = set()  # confirmed and not ended
        self._failing: set[Component] = set()  # opened and not yet ended (blip or incident)
        self._outbox = {kind: 0 for kind in OUTBOX_KINDS}
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def on_event(self, event) -> None:
        with self._lock:
            if isinstance(event, MonitorStatus):
                self._status = event
            elif isinstance(event, IncidentOpened):
                self._failing.add(event.component)
            elif isinstance(event, IncidentConfirmed):
                self._incidents[event.component] += 1
                self._active.add(event.component)
            elif isinstance(event, IncidentEnded):
                self._active.discard(event.component)
                self._failing.discard(event.component)
            elif isinstance(event, Blip):
                self._blips[event.component] += 1
                self._failing.discard(event.component)
            elif isinstance(event, DeliveryStatus):
                self._outbox = {kind: 0 for kind in OUTBOX_KINDS} | dict(event.backlog)

    def render(self) -> bytes:
        return generate_latest(self._registry)

    def collect(self):
        with self._lock:
            status, incidents, blips = self._status, dict(self._incidents), dict(self._blips)
            active, failing, outbox = set(self._active), set(self._failing), dict(self._outbox)
        up = GaugeMetricFamily("cafesentinel_up", "1 when the component answers, 0 when it does not; "
                               "absent when unknown or not configured", labels=["component"])
        rtt = GaugeMetricFamily("cafesentinel_probe_rtt_seconds", "Round-trip time of the newest answered probe",
                                labels=["component"])
        if status is not None and status.configured:
            for component, value in _up_values(status, failing).items():
                up.add_metric([COMPONENT_LABELS[component]], value)
            for target in status.targets:
                if target.latency_ms is not None and target.health is Health.UP:
                    rtt.add_metric([COMPONENT_LABELS[target.component]], target.latency_ms / 1000.0)
            active |= {t.component for t in status.targets if t.health is Health.DOWN}
        yield up
        yield rtt
        total = CounterMetricFamily("cafesentinel_incidents", "Confirmed incidents since the monitor started",
                                    labels=["cause"])
        for component, count in incidents.items():
            total.add_metric([component.value], count)
        yield total
        blip = CounterMetricFamily("cafesentinel_blips", "Failures shorter than the incident threshold",
                                   labels=["component"])
        for component, count in blips.items():
            blip.add_metric([COMPONENT_LABELS[component]], count)
        yield blip
        now = GaugeMetricFamily("cafesentinel_incident_active", "1 while a confirmed incident lasts",
                                labels=["cause"])
        for component in Component:
            now.add_metric([component.value], 1 if component in active else 0)
        yield now
        if status is not None:
            yield GaugeMetricFamily("cafesentinel_pcs_in_session", "Client PCs in a session", value=status.in_session)
            # Untyped, not a gauge: the contract's name ends in _total, which promtool reserves for counters.
            yield UnknownMetricFamily("cafesentinel_pcs_total", "Client PCs watched", value=len(status.pcs))
        pending = GaugeMetricFamily("cafesentinel_outbox_pending", "Discord messages waiting to be delivered",
                                    labels=["kind"])
        for kind, count in outbox.items():
            pending.add_metric([kind], count)
        yield pending
        info = GaugeMetricFamily("cafesentinel_info", "Version and shop name", labels=["version", "shop"])
        info.add_metric([self._version, self._shop()], 1)
        yield info


def _up_values(status: MonitorStatus, failing: set[Component]) -> dict[Component, int]:
    values = {Component.LAN_LINK: 1 if status.link_up else 0}
    if status.link_up:
        values[Component.LAN] = 0 if Component.LAN in failing else 1
    for target in status.targets:
        if target.health is Health.UP:
            values[target.component] = 1
        elif target.health in (Health.FAILING, Health.DOWN):
            values[target.component] = 0
    return values
