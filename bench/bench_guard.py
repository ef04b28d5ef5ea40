"""Restart latency of the guard pact: SIGKILL the app 20 times and the guard 20 times.

    python3 bench/bench_guard.py [--kills N] [--runs R]

Prints median/max per run and over all runs. App restart = kill until the guard has a new
app process; guard restart = kill until the app has started a new guard process (and until
that guard is ready, i.e. has rewritten guard.json).
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.guard_cluster import Cluster, summary  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    all_app, all_guard, all_ready = [], [], []
    for run in range(1, args.runs + 1):
        app, guard, ready = one_run(args.kills)
        all_app += app
        all_guard += guard
        all_ready += ready
        print(f"run {run}: app {summary(app)} | guard {summary(guard)} | guard ready {summary(ready)}")
    print(f"all:   app {summary(all_app)} | guard {summary(all_guard)} | guard ready {summary(all_ready)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
