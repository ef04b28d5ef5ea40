"""A separate process for crash tests: fills a real sentinel.db outbox, or drains it to a webhook.

    python3 tests/helpers/outbox_driver.py enqueue --db PATH --url URL --count N
    python3 tests/helpers/outbox_driver.py send --db PATH --url URL [--timeout S]

`send` runs the real Delivery senders until the alerts backlog is empty (exit 0) or the
timeout passes (exit 3). A test SIGKILLs it mid-backlog and starts it again.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sentinel.config.model import DiscordSettings  # noqa: E402
from sentinel.services.discord.delivery import Backoff, Delivery, Message  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=("enqueue", "send"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    settings = DiscordSettings(enabled=True, shop_name="Crash Cafe", webhook_alerts=args.url)
    delivery = Delivery(Path(args.db), settings, backoff=Backoff(0.05, 0.5), timeout=(2.0, 5.0))
    if args.action == "enqueue":
        for i in range(args.count):
            delivery.enqueue(Message("alerts", f"e{i:04d}", time.time(), content=f"msg-{i:04d}"))
        delivery.stop()
        delivery.close()
        return 0
    delivery.start()
    print("started", flush=True)
    deadline = time.monotonic() + args.timeout
    idle = threading.Event()
    while delivery.backlog().get("alerts", 0) and time.monotonic() < deadline:
        idle.wait(0.02)
    left = delivery.backlog().get("alerts", 0)
    delivery.stop()
    delivery.close()
    print(f"left {left}", flush=True)
    return 0 if left == 0 else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
