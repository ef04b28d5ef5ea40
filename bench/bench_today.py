"""The Today reducer's cost per event, on the Tk thread of the desktop (median and p99).

    python3 bench/bench_today.py

A day of 2-second ticks for a 254-PC cafe with an outage every ten minutes (many segments).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel.events import Component, Health  # noqa: E402
from sentinel.today import Today, advance  # noqa: E402
from tests.helpers import gui_fakes as F  # noqa: E402

TICK_S = 2.0
TICKS = 43_200  # one day


def main() -> None:
    pcs = F.many(254, in_session=range(1, 120)).pcs
    up, down = F.targets(), F.targets(internet=Health.DOWN, down_for=30)
    start = time.mktime(time.localtime(F.NOW)[:3] + (0, 0, 1, 0, 0, -1))
    today, samples = Today(), []
    for i in range(TICKS):
        at = start + i * TICK_S
        status = F.status(at=at, targets_=down if i % 300 < 15 else up, pcs_=pcs)
        t0 = time.perf_counter()
        today = advance(today, status, at)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    print(f"Today reducer, {TICKS} ticks, {len(today.timeline[Component.INTERNET])} internet segments: "
          f"median {statistics.median(samples) * 1e6:.1f} us, p99 {samples[int(len(samples) * 0.99)] * 1e6:.1f} us")


if __name__ == "__main__":
    main()
