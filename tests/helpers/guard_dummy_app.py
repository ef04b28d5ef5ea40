"""A stand-in for the monitor app in guard tests: holds the App lock, writes heartbeats (its
main loop is the one part that beats), watches the guard (partner.GuardWatcher), and obeys
request files in the data dir:

    exit.request   password Exit: signed intent, stop watching the guard, exit 0
    hang.request   the main loop stops beating but the heartbeat courier goes on (a hung app)

    python guard_dummy_app.py DATA_DIR
Environment: SENTINEL_TEST_GUARD_CMD (JSON argv of the guard), SENTINEL_TEST_HB (heartbeat
interval s), SENTINEL_TEST_STABLE (GuardWatcher stable seconds).
"""

import json
import logging
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sentinel import platform  # noqa: E402
from sentinel.errors import AlreadyRunningError  # noqa: E402
from sentinel.services.keepalive.pact import write_shutdown_intent  # noqa: E402
from sentinel.services.keepalive.partner import GuardWatcher, Heartbeat  # noqa: E402


def main() -> int:
    data_dir = Path(sys.argv[1])
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=data_dir / "logs" / "app.log", level=logging.INFO,
                        format="%(asctime)s %(process)d %(levelname)s %(message)s")
    log = logging.getLogger("dummy_app")
    lock = platform.InstanceLock("App", data_dir)
    try:
        lock.acquire()
    except AlreadyRunningError:
        return 3
    heartbeat = Heartbeat(data_dir, float(os.environ.get("SENTINEL_TEST_HB", "0.1")))
    beat = heartbeat.part("main")
    heartbeat.start()
    watcher = None
    guard_cmd = os.environ.get("SENTINEL_TEST_GUARD_CMD")
    if guard_cmd:
        watcher = GuardWatcher(json.loads(guard_cmd), data_dir,
                               lambda text: log.warning("REPORT: %s", text),
                               stable_s=float(os.environ.get("SENTINEL_TEST_STABLE", "10"))).start()
    tick = threading.Event()
    hung = False
    for _ in range(10 ** 6):  # bounded: about 14 hours at 50 ms
        if tick.wait(0.05):
            break
        if (data_dir / "exit.request").exists():
            (data_dir / "exit.request").unlink()
            write_shutdown_intent(data_dir)
            if watcher is not None:
                watcher.stop()
            heartbeat.stop()
            log.info("password exit")
            return 0
        if not hung and (data_dir / "hang.request").exists():
            hung = True
        if not hung:
            beat()
    return 0


if __name__ == "__main__":
    sys.exit(main())
