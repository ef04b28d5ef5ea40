"""A separate process for crash tests: fills a real sentinel.db outbox, or drains it to a webhook.

    python3 tests/helpers/outbox_driver.py enqueue --db PATH --url URL --count N
    python3 tests/helpers/outbox_driver.py alerts --db PATH --url URL --shop NAME
    python3 tests/helpers/outbox_driver.py send --db PATH --url URL [--timeout S]

`alerts` runs the real notifier (with an evidence capture, as the app has) on a DOWN, a
RESTORED and a DOWN event, prints "queued" and waits to be killed. `send` runs the real
Delivery senders until the alerts backlog is empty (exit 0) or the timeout passes (exit 3).
A test SIGKILLs them mid-way and starts `send` again.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sentinel.config.model import DiscordSettings  # noqa: E402
from sentinel.events import Component, IncidentConfirmed, IncidentEnded  # noqa: E402
from sentinel.services.discord.delivery import Delivery  # noqa: E402
from sentinel.services.discord.messages import Message  # noqa: E402
from sentinel.services.discord.notifier import Notifier  # noqa: E402
from sentinel.services.discord.outbox import Outbox  # noqa: E402
from sentinel.services.discord.ratelimit import Backoff  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=("enqueue", "alerts", "send"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--shop", default="Crash Cafe", help="\\uXXXX escapes allowed (broken text)")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    shop = args.shop.encode("ascii", "backslashreplace").decode("unicode_escape", "surrogatepass")
    settings = DiscordSettings(enabled=True, shop_name=shop, webhook_alerts=args.url)
    delivery = Delivery(Outbox(Path(args.db)), settings, backoff=Backoff(0.05, 0.5), timeout=(2.0, 5.0))
    if args.action == "enqueue":
        for i in range(args.count):
            delivery.enqueue(Message("alerts", time.time(), content=f"msg-{i:04d}"))
        delivery.close()
        return 0
    if args.action == "alerts":
        notifier = Notifier(delivery, evidence=lambda event: None)
        now = time.time()
        notifier.on_event(IncidentConfirmed("router", Component.ROUTER, now - 20, now - 10, 3))
        notifier.on_event(IncidentEnded("router", Component.ROUTER, now - 20, now - 5, 15.0, 3, 3))
        notifier.on_event(IncidentConfirmed("internet", Component.INTERNET, now - 12, now - 2, 3))
        notifier.flush_due()
        print("queued", flush=True)
        threading.Event().wait(args.timeout)  # the test kills us here
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
