"""Real Monitors (real ICMP, the real engine and core) side by side in one process, for tests
that need many tick schedules at once in one namespace cafe.

    python -m tests.helpers.tick_driver '[{config}, {config}, ...]'

Prints one JSON line per decision: {"monitor": i, "kind": "tick", "wall": ...} for each monitor's
first tick (its schedule is wall + k * interval), then {"monitor": i, "kind": "Blip" |
"IncidentConfirmed" | "IncidentEnded", "start": ..., "end": ..., "duration": ...}. Runs until
stdin closes, then stops every monitor.
"""

from __future__ import annotations

import json
import sys
import threading

from sentinel.bus import EventBus
from sentinel.config.model import config_from_dict
from sentinel.events import Blip, IncidentConfirmed, IncidentEnded, MonitorStatus
from sentinel.monitor import core
from sentinel.monitor.engine import Monitor
from sentinel.monitor.link import lan_link_up
from sentinel.monitor.probe import Prober

_print_lock = threading.Lock()


def emit(record: dict) -> None:
    with _print_lock:
        print(json.dumps(record), flush=True)


def reporter(index: int):
    first = []

    def on_event(event) -> None:
        if isinstance(event, MonitorStatus) and not first:
            first.append(event.at_wall)
            emit({"monitor": index, "kind": "tick", "wall": event.at_wall})
        elif isinstance(event, (Blip, IncidentEnded)):
            emit({"monitor": index, "kind": type(event).__name__, "start": event.started_wall,
                  "end": event.ended_wall, "duration": event.duration_s})
        elif isinstance(event, IncidentConfirmed):
            emit({"monitor": index, "kind": "IncidentConfirmed", "start": event.started_wall,
                  "confirmed": event.confirmed_wall})

    return on_event


def main() -> int:
    prober = Prober.create()
    monitors = []
    for index, raw in enumerate(json.loads(sys.argv[1])):
        config, problems = config_from_dict(raw)
        if problems:
            print(f"config {index}: {problems}", file=sys.stderr)
            return 2
        bus = EventBus()
        bus.subscribe(reporter(index))
        monitors.append(Monitor(config, prober, bus, core.State(), link_up=lan_link_up))
    for monitor in monitors:
        monitor.start()
    sys.stdin.read()
    for monitor in monitors:
        monitor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
