"""The guard pact under kills: restart latency, and how much monitoring is left under quick kills.

    python3 bench/bench_guard.py [--kills N] [--runs R] [--quick-kills K] [--window S]

Restart latency: SIGKILL the app N times and the guard N times, median/max per run and over all
runs. App restart = kill until the guard has a new app process; guard restart = kill until the
app has started a new guard process (and until that guard is ready, i.e. has rewritten guard.json).

Uptime under quick kills: with the guard's default --stable-seconds (10), kill each new app as
soon as it heart-beats, K times in a row, and print the share of the S seconds from the first
kill during which an app was running.
"""

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.guard_cluster import Cluster, gone, summary  # noqa: E402

SAMPLE_S = 0.02


def one_run(kills: int) -> tuple[list[float], list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        cluster = Cluster(Path(tmp) / "data")
        try:
            cluster.start()
            app = [cluster.kill_app() for _ in range(kills)]
            guard = [cluster.kill_guard() for _ in range(kills)]
        finally:
            cluster.kill_all()
    return app, [g[0] for g in guard], [g[1] for g in guard]


def running_app(cluster: Cluster) -> int | None:
    """The app named by the heartbeat, if it is alive and has beaten at least twice."""
    beat = cluster.heartbeat()
    if not beat or beat.get("seq", 0) < 2 or gone(beat.get("pid", 0)):
        return None
    return beat["pid"]


def uptime_under_quick_kills(kills: int, window_s: float) -> tuple[float, int]:
    """(share of `window_s` with an app running, kills done) when every new app is killed at once."""
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        cluster = Cluster(Path(tmp) / "data", stable_s=10.0, mutual=False)
        try:
            cluster.start()
            pause = threading.Event()
            deadline = time.monotonic() + 10
            while running_app(cluster) is None and time.monotonic() < deadline:
                pause.wait(SAMPLE_S)
            start = time.monotonic()
            up = samples = done = 0
            last_killed = None
            while time.monotonic() - start < window_s:
                app = running_app(cluster)
                if app is not None and app != last_killed:
                    up += 1
                    if done < kills:
                        os.kill(app, signal.SIGKILL)
                        last_killed, done = app, done + 1
                samples += 1
                pause.wait(SAMPLE_S)
        finally:
            cluster.kill_all()
    return up / samples, done


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick-kills", type=int, default=9)
    parser.add_argument("--window", type=float, default=90.0)
    args = parser.parse_args()
    all_app, all_guard, all_ready = [], [], []
    for run in range(1, args.runs + 1):
        app, guard, ready = one_run(args.kills)
        all_app += app
        all_guard += guard
        all_ready += ready
        print(f"run {run}: app {summary(app)} | guard {summary(guard)} | guard ready {summary(ready)}")
    print(f"all:   app {summary(all_app)} | guard {summary(all_guard)} | guard ready {summary(all_ready)}")
    shares = []
    for run in range(1, args.runs + 1):
        share, done = uptime_under_quick_kills(args.quick_kills, args.window)
        shares.append(share)
        print(f"quick kills run {run}: {done} kills, monitoring up {share * 100:.1f} % of {args.window:.0f} s")
    shares.sort()
    print(f"quick kills: median uptime {shares[len(shares) // 2] * 100:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
