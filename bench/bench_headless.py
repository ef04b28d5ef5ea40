"""Resource use of the real app, headless, watching 3 targets + 20 PCs at a 2 s interval.

Runs inside a network-namespace test cafe (root). Prints CPU (% of one core, averaged over
each run after a warm-up) and resident memory, with the median of the runs.

    python3 bench/bench_headless.py [--runs 3] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import netns  # noqa: E402
from tests.helpers.apprun import AppRun, write_config  # noqa: E402

PCS = 20
WARMUP_S = 5.0


def config() -> dict:
    return {
        "targets": {"router": netns.ROUTER, "server": netns.SERVER, "internet": netns.INTERNET[0]},
        "monitor_settings": {"interval_seconds": 2, "pc_subnet": netns.PC_SUBNET,
                             "pc_start_range": netns.PC_START, "pc_count": PCS},
        "verification_settings": {"secondary_target": netns.INTERNET[1]},
        "api_settings": {"enabled": False},
    }


def app_process(popen) -> psutil.Process:
    """The python process under `ip netns exec` (exec replaces it, so the pid is the app's)."""
    return psutil.Process(popen.pid)


def measure(cafe, seconds: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_config(Path(tmp) / "cafe.json", config())
        app = AppRun(AppRun.command("--headless", "--config", str(path), "--data-dir", str(Path(tmp) / "d")),
                     popen=lambda a, **kw: cafe.run_in_mon(a, **kw))
        try:
            app.wait_line("in session", timeout=30)
            proc = app_process(app.proc)
            threading.Event().wait(WARMUP_S)
            t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
            threading.Event().wait(seconds)
            t1, c1 = time.monotonic(), sum(proc.cpu_times()[:2])
            rss = proc.memory_info().rss / 2**20
            app.stop()
        finally:
            app.kill()
    return 100.0 * (c1 - c0) / (t1 - t0), rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    reason = netns.netns_unavailable_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    results = []
    with netns.Cafe.create("bhl", pcs=PCS) as cafe:
        for n in range(args.runs):
            cpu, rss = measure(cafe, args.seconds)
            results.append((cpu, rss))
            print(f"run {n + 1}: CPU {cpu:.2f}% of one core over {args.seconds:.0f} s, RSS {rss:.1f} MiB", flush=True)
    cpu = statistics.median(r[0] for r in results)
    rss = statistics.median(r[1] for r in results)
    print(json.dumps({"targets": 3, "pcs": PCS, "interval_s": 2, "runs": args.runs, "seconds": args.seconds,
                      "cpu_percent_median": round(cpu, 2), "rss_mib_median": round(rss, 1),
                      "cpu_ok": cpu < 2.0, "rss_ok": rss < 60.0}))


if __name__ == "__main__":
    main()
