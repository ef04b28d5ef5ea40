"""The real app (sentinel.app.main) with a prober that answers a few rounds and then never
returns, so the monitor thread is stuck for good while the process lives on.

    python tests/helpers/hanging_app.py ROUNDS [sentinel_app.py arguments]

The first ROUNDS probe rounds go to the real ICMP prober (run it inside a test namespace).
"""

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sentinel.app import main  # noqa: E402
from sentinel.monitor.probe import Prober  # noqa: E402


class HangingProber:
    def __init__(self, inner: Prober, rounds: int):
        self._inner = inner
        self._rounds = rounds
        self.privileged = inner.privileged

    async def probe(self, addresses, timeout):
        if self._rounds <= 0:
            threading.Event().wait()  # blocks the monitor thread, as a wedged driver call would
        self._rounds -= 1
        return await self._inner.probe(addresses, timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[2:], prober=HangingProber(Prober.create(), int(sys.argv[1]))))
