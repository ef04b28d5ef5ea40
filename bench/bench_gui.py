"""GUI timings: status-window update with 254 PCs and clients-badge rendering (medians).

    python3 bench/bench_gui.py        (starts its own Xvfb)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import gui_fakes as F  # noqa: E402
from tests.helpers.xvfb import Xvfb  # noqa: E402

RUNS = 21


def median_ms(fn) -> float:
    samples = []
    for i in range(RUNS):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> int:
    from sentinel.gui import icons

    def badge(i):
        icons.clients_icon.cache_clear()
        icons.clients_icon(100 + i, 64)
        icons.clients_icon(100 + i, 24)

    print(f"clients badge, uncached, 64 px + 24 px: median {median_ms(badge):.2f} ms")
    with Xvfb(1920, 1080) as server:
        os.environ["DISPLAY"] = server.display
        import tkinter as tk

        from sentinel.gui.window import StatusWindow

        root = tk.Tk()
        root.withdraw()
        window = StatusWindow(root, clock=lambda: F.NOW)
        window.set_status(F.many(254))
        root.update()
        every = [F.many(254, in_session=range(1 + i % 2, 255, 2)) for i in range(2)]
        one = [F.many(254, in_session=(1 + i % 254,)) for i in range(RUNS)]

        def all_change(i):
            window.set_status(every[i % 2])
            root.update_idletasks()

        def one_changes(i):
            window.set_status(one[i])
            root.update_idletasks()

        def same(i):
            window.set_status(every[0])
            root.update_idletasks()

        print(f"254 PCs, every tile changes: median {median_ms(all_change):.1f} ms")
        print(f"254 PCs, one tile changes:   median {median_ms(one_changes):.2f} ms")
        same(0)
        print(f"254 PCs, nothing changes:    median {median_ms(same):.2f} ms")
        root.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
