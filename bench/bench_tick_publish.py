"""Monitor-thread work per tick: how long publishing one tick's events takes, p50/p99/max.

The app's real slow subscribers (storage on sentinel.db + the CSVs, the Discord notifier on
the outbox in the same database, the headless status printer) are subscribed as the app does,
and a scripted cafe day is published tick by tick: a status every tick, session ends,
incidents confirmed and ended, clock-aligned snapshots (with the chart). incidents.csv is
locked the way Excel locks it: readable, but it cannot be opened for writing or replaced (a
read-only bind mount of the file onto itself, in a private mount namespace; needs root).

    python3 bench/bench_tick_publish.py [--ticks 600] [--inline]

--inline subscribes everything on the publisher's thread, as the bus did before workers.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sentinel.bus import EventBus  # noqa: E402
from sentinel.config.model import DiscordSettings  # noqa: E402
from sentinel.console import StatusPrinter  # noqa: E402
from sentinel.events import (Component, Health, IncidentConfirmed, IncidentEnded, MonitorStatus,  # noqa: E402
                             OccupancySnapshot, PcState, PcStatus, SessionEnded, SessionStarted, TargetStatus)
from sentinel.services.discord.delivery import Delivery  # noqa: E402
from sentinel.services.discord.notifier import Notifier  # noqa: E402
from sentinel.services.discord.outbox import Outbox  # noqa: E402
from sentinel.services.recording.csvfiles import INCIDENT_HEADER  # noqa: E402
from sentinel.services.recording.storage import Storage  # noqa: E402

PCS = 20
TICK_PAUSE_S = 0.02  # between ticks, so worker threads get to run as they would between 2 s ticks
LOCK_ENV = "BENCH_TICK_LOCKED"


def status(wall: float, in_session: int) -> MonitorStatus:
    targets = tuple(TargetStatus(c, "198.51.100.1", Health.UP, wall - 3600, 1.0)
                    for c in (Component.ROUTER, Component.SERVER, Component.INTERNET))
    pcs = tuple(PcStatus(n, f"PC-{n}", f"198.51.100.{109 + n}",
                         PcState.IN_SESSION if n <= in_session else PcState.OFF, wall - 600, 1.0, wall)
                for n in range(1, PCS + 1))
    return MonitorStatus(wall, True, True, False, targets, pcs, 0)


def tick_events(n: int, wall: float) -> list:
    """A cafe day in fast motion: what the core publishes in tick n."""
    events = []
    pc = n % PCS + 1
    ip = f"198.51.100.{109 + pc}"
    if n % 7 == 0:
        events.append(SessionStarted(f"s{n}", f"PC-{pc}", ip, wall - 180))
    if n % 7 == 3 and n > 7:
        events.append(SessionEnded(f"s{n - 3}", f"PC-{pc}", ip, wall - 3600, wall, 3600.0, False))
    if n % 50 == 10:
        events.append(IncidentConfirmed(f"i{n}", Component.INTERNET, wall - 10, wall, 12))
    if n % 50 == 30:
        events.append(IncidentEnded(f"i{n - 20}", Component.INTERNET, wall - 50, wall, 40.0, 12, 12))
    if n % 100 == 0:
        events.append(OccupancySnapshot(wall, 12, PCS, tuple(f"PC-{i}" for i in range(1, 13))))
    events.append(status(wall, 12))
    return events


def lock_incidents_csv(path: Path) -> None:
    path.write_text(",".join(INCIDENT_HEADER) + "\r\n2026-11-20 10:00:00,2026-11-20 10:05:00,0:05:00,ISP_DOWN,resolved\r\n")
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)


def run(ticks: int, inline: bool) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
        root = Path(tmp)
        lock_incidents_csv(root / "incidents.csv")
        try:
            return measure(root, ticks, inline)
        finally:
            subprocess.run(["umount", str(root / "incidents.csv")], check=False)


def measure(root: Path, ticks: int, inline: bool) -> list[float]:
    storage = Storage(root / "sentinel.db", root / "incidents.csv", root / "sessions.csv")
    settings = DiscordSettings(enabled=True, shop_name="Bench",
                               webhook_alerts="http://127.0.0.1:9/api/v10/webhooks/1/bench",
                               webhook_occupancy="http://127.0.0.1:9/api/v10/webhooks/2/bench")
    delivery = Delivery(Outbox(root / "sentinel.db"), settings)  # senders never started: nothing is sent
    notifier = Notifier(delivery, batch_delay_seconds=30)
    printer = StatusPrinter(out=open(os.devnull, "w"))
    bus = EventBus()
    workers = "worker" in inspect.signature(bus.subscribe).parameters and not inline
    for subscriber in (storage.on_event, notifier.on_event, printer.on_event):
        bus.subscribe(subscriber, worker=True) if workers else bus.subscribe(subscriber)
    took = []
    wall = time.time()
    for n in range(ticks):
        wall += 2.0
        events = tick_events(n, wall)
        started = time.perf_counter()
        for event in events:
            bus.publish(event)
        took.append(time.perf_counter() - started)
        time.sleep(TICK_PAUSE_S)
    if workers:
        bus.close(10.0)
    storage.close()
    delivery.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--inline", action="store_true", help="every subscriber on the publisher's thread")
    args = parser.parse_args()
    if os.environ.get(LOCK_ENV) != "1":  # the bind mount lives in a private mount namespace
        env = dict(os.environ, **{LOCK_ENV: "1"})
        return subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, *sys.argv],
                              env=env).returncode
    took = sorted(run(args.ticks, args.inline))
    ms = [t * 1000 for t in took]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    mode = "inline" if args.inline else "as the app subscribes"
    print(f"monitor-thread publish per tick ({mode}, incidents.csv locked, {len(ms)} ticks): "
          f"p50 {statistics.median(ms):.3f} ms  p99 {p99:.3f} ms  max {ms[-1]:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
