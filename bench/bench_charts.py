"""Charts: what one chart costs in time and resident memory, Pillow (ours) against matplotlib.

    python3 bench/bench_charts.py [--runs 21] [--matplotlib-python PATH]

Each memory figure comes from a fresh process: resident memory after importing the drawing
library and drawing one 24-bar chart, minus before. Prints medians over the runs (memory over
5 processes). matplotlib is measured only if the given interpreter has it (it is not a project
dependency; e.g. a throw-away venv with `pip install matplotlib`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = r"""
import io, json, sys, time, psutil
sys.path.insert(0, sys.argv[2])
before = psutil.Process().memory_info().rss
start = time.perf_counter()
if sys.argv[1] == "pillow":
    from sentinel.charts import snapshot_chart
    now = time.time()
    snapshot_chart([(now - 3600 * k, k % 13, 20) for k in range(24)], now)
else:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.2, 4.0), dpi=100)
    ax.bar(range(24), [k % 13 for k in range(24)])
    ax.set_title("Occupancy, last 24 hours"); ax.set_xlabel("hour (local time)"); ax.set_ylabel("PCs in session")
    fig.savefig(io.BytesIO(), format="png")
print(json.dumps({"rss_mib": (psutil.Process().memory_info().rss - before) / 2**20,
                  "first_ms": (time.perf_counter() - start) * 1000}))
"""


def probe(python: str, kind: str) -> dict:
    out = subprocess.run([python, "-c", PROBE, kind, str(ROOT)], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--matplotlib-python", help="an interpreter with matplotlib installed")
    args = parser.parse_args()

    from sentinel.charts import snapshot_chart

    now = time.time()
    samples = [(now - 3600 * k, k % 13, 20) for k in range(24)]
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        png = snapshot_chart(samples, now)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"pillow chart: median {statistics.median(times):.1f} ms, p99 {times[int(0.99 * (len(times) - 1))]:.1f} ms,"
          f" {len(png) / 1024:.1f} KiB PNG")
    kinds = [("pillow", sys.executable)]
    if args.matplotlib_python:
        kinds.append(("matplotlib", args.matplotlib_python))
    for kind, python in kinds:
        runs = [probe(python, kind) for _ in range(5)]
        print(f"{kind}: +{statistics.median(r['rss_mib'] for r in runs):.1f} MiB resident for import + first chart, "
              f"first chart {statistics.median(r['first_ms'] for r in runs):.0f} ms (medians of 5 processes)")


if __name__ == "__main__":
    main()
