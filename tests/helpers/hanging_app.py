"""The real app (sentinel.app.main) with one part that works for a while and then is stuck for
good, while the process lives on:

    python tests/helpers/hanging_app.py monitor N [sentinel_app.py arguments]
        the prober answers N rounds (real ICMP: run it inside a test namespace), then never returns
    python tests/helpers/hanging_app.py window N [sentinel_app.py arguments]
        the Tk thread handles N queue drains, then blocks inside the next one
"""

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sentinel.app import main  # noqa: E402


def stuck() -> None:
    threading.Event().wait()  # as a wedged driver call or a dialog that never returns would


class HangingProber:
    def __init__(self, inner, rounds: int):
        self._inner = inner
        self._rounds = rounds
        self.privileged = inner.privileged

    async def probe(self, addresses, timeout):
        if self._rounds <= 0:
            stuck()
        self._rounds -= 1
        return await self._inner.probe(addresses, timeout)


def hang_the_window_after(drains: int) -> None:
    from sentinel.gui.desktop import Desktop

    drain = Desktop._drain
    left = [drains]

    def counted(self) -> None:
        if left[0] <= 0:
            stuck()
        left[0] -= 1
        drain(self)

    Desktop._drain = counted


if __name__ == "__main__":
    part, count, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if part == "monitor":
        from sentinel.monitor.probe import Prober

        sys.exit(main(argv, prober=HangingProber(Prober.create(), count)))
    hang_the_window_after(count)
    sys.exit(main(argv))
