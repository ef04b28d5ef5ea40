"""The metrics reducer: the contract's names and labels, values over a story of events, and the
exposition accepted by promtool."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sentinel.events import (Blip, Component, DeliveryStatus, Health, IncidentConfirmed, IncidentEnded,
                             IncidentOpened, MonitorStatus, PcState, PcStatus, TargetStatus)
from sentinel.services.web.metrics import Metrics

NAMES = {"cafesentinel_up", "cafesentinel_probe_rtt_seconds", "cafesentinel_incidents", "cafesentinel_blips",
         "cafesentinel_incident_active", "cafesentinel_pcs_in_session", "cafesentinel_pcs_total",
         "cafesentinel_outbox_pending", "cafesentinel_info"}


def status(router=Health.UP, server=Health.UP, internet=Health.UP, link_up=True, configured=True, in_session=2):
    targets = (TargetStatus(Component.ROUTER, "198.51.100.1", router, 0.0, 1.5 if router is Health.UP else None),
               TargetStatus(Component.SERVER, "198.51.100.10", server, 0.0, 0.5 if server is Health.UP else None),
               TargetStatus(Component.INTERNET, "", internet, None, None))
    pcs = tuple(PcStatus(n, f"PC-{n}", f"198.51.100.{109 + n}", PcState.IN_SESSION if n <= in_session else PcState.OFF,
                         0.0, None) for n in range(1, 6))
    return MonitorStatus(100.0, configured, link_up, False, targets, pcs, 0)


def samples(metrics: Metrics) -> dict:
    """{(sample name, frozenset(labels)): value}."""
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(metrics, name, **labels):
    return samples(metrics).get((name, frozenset(labels.items())))


def test_names_labels_and_values_follow_the_events():
    metrics = Metrics("9.9", lambda: "Riverside LAN")
    families = {f.name for f in text_string_to_metric_families(metrics.render().decode())}
    assert families <= NAMES and "cafesentinel_pcs_total" not in families, "no status yet: no PC numbers"
    assert value(metrics, "cafesentinel_info", version="9.9", shop="Riverside LAN") == 1
    assert value(metrics, "cafesentinel_up", component="router") is None, "unknown before the first tick"
    for cause in ("LAN_LINK_DOWN", "LAN_DOWN", "ROUTER_DOWN", "SERVER_DOWN", "ISP_DOWN"):
        assert value(metrics, "cafesentinel_incidents_total", cause=cause) == 0, "counters start at 0"

    metrics.on_event(status(internet=Health.UNCONFIGURED))
    assert value(metrics, "cafesentinel_up", component="router") == 1
    assert value(metrics, "cafesentinel_up", component="lan_link") == 1
    assert value(metrics, "cafesentinel_up", component="lan") == 1
    assert value(metrics, "cafesentinel_up", component="internet") is None, "not configured: absent"
    assert value(metrics, "cafesentinel_probe_rtt_seconds", component="router") == pytest.approx(0.0015)
    assert value(metrics, "cafesentinel_pcs_in_session") == 2 and value(metrics, "cafesentinel_pcs_total") == 5

    metrics.on_event(IncidentOpened("k1", Component.SERVER, 100.0, 2))
    metrics.on_event(status(server=Health.FAILING, internet=Health.UNKNOWN))
    assert value(metrics, "cafesentinel_up", component="server") == 0, "failing counts as down at once"
    assert value(metrics, "cafesentinel_up", component="internet") is None, "unknown: absent"
    assert value(metrics, "cafesentinel_probe_rtt_seconds", component="server") is None
    metrics.on_event(IncidentConfirmed("k1", Component.SERVER, 100.0, 110.0, 2))
    metrics.on_event(status(server=Health.DOWN))
    assert value(metrics, "cafesentinel_incidents_total", cause="SERVER_DOWN") == 1
    assert value(metrics, "cafesentinel_incident_active", cause="SERVER_DOWN") == 1
    metrics.on_event(IncidentEnded("k1", Component.SERVER, 100.0, 130.0, 30.0, 2, 2))
    metrics.on_event(status())
    assert value(metrics, "cafesentinel_incident_active", cause="SERVER_DOWN") == 0
    assert value(metrics, "cafesentinel_incidents_total", cause="SERVER_DOWN") == 1

    metrics.on_event(IncidentOpened("k2", Component.LAN, 200.0, 2))
    metrics.on_event(status(router=Health.UNKNOWN, server=Health.UNKNOWN, internet=Health.UNKNOWN))
    assert value(metrics, "cafesentinel_up", component="lan") == 0
    metrics.on_event(Blip("k2", Component.LAN, 200.0, 203.0, 3.0))
    metrics.on_event(status())
    assert value(metrics, "cafesentinel_up", component="lan") == 1
    assert value(metrics, "cafesentinel_blips_total", component="lan") == 1

    metrics.on_event(status(link_up=False, router=Health.UNKNOWN))
    assert value(metrics, "cafesentinel_up", component="lan_link") == 0
    assert value(metrics, "cafesentinel_up", component="lan") is None, "behind a dead link: unknown"

    metrics.on_event(DeliveryStatus((("alerts", 3),), ()))
    assert value(metrics, "cafesentinel_outbox_pending", kind="alerts") == 3
    assert value(metrics, "cafesentinel_outbox_pending", kind="screenshots") == 0

    metrics.on_event(status(configured=False))
    assert value(metrics, "cafesentinel_up", component="router") is None, "no targets set: nothing is up or down"


def test_the_exposition_passes_promtool():
    if not shutil.which("promtool"):
        pytest.skip("needs Debian's prometheus package (promtool)")
    metrics = Metrics("1.0.0", lambda: 'Caf\u00e9 "Nord"\n\\')
    for event in (status(), IncidentOpened("k", Component.ROUTER, 1.0, 1),
                  IncidentConfirmed("k", Component.ROUTER, 1.0, 11.0, 1), Blip("b", Component.SERVER, 1.0, 2.0, 1.0),
                  DeliveryStatus((("alerts", 1), ("occupancy", 2)), ())):
        metrics.on_event(event)
    result = subprocess.run(["promtool", "check", "metrics"], input=metrics.render(), capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert value(metrics, "cafesentinel_info", version="1.0.0", shop='Caf\u00e9 "Nord"\n\\') == 1
