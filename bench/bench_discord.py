"""Drain a backlog through the real Delivery against the fake Discord enforcing a rate limit.

    python3 bench/bench_discord.py [--runs 3] [--count 100] [--limit 5] [--period 2]

Prints, per run and as medians: drain time vs the theoretical minimum ((ceil(count/limit) - 1)
windows of `period` seconds: the first window opens with the first request) and the number
of 429s after the first response's rate-limit headers were read (must be 0).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinel.config.model import DiscordSettings  # noqa: E402
from sentinel.services.discord.delivery import Delivery, Message  # noqa: E402
from tests.helpers.fake_discord import FakeDiscord  # noqa: E402


def one_run(count: int, limit: int, period: float) -> tuple[float, int, int]:
    with FakeDiscord(limit=limit, period=period) as fake, tempfile.TemporaryDirectory() as tmp:
        delivery = Delivery(Path(tmp) / "sentinel.db",
                            DiscordSettings(enabled=True, shop_name="Bench Cafe", webhook_alerts=fake.url("1")))
        for i in range(count):
            delivery.enqueue(Message("alerts", f"e{i:04d}", time.time(), content=f"msg-{i:04d}",
                                     embeds=({"title": f"Router DOWN {i}"},)))
        started = time.monotonic()
        delivery.start()
        got = fake.wait_for(count, timeout=count / limit * period * 3 + 30)
        elapsed = time.monotonic() - started
        delivery.stop()
        delivery.close()
        assert [m.content for m in got] == [f"msg-{i:04d}" for i in range(count)], "order broken"
        log = list(fake.stats.log)
        first_answer = log[0][0]
        after_first = sum(1 for at, status in log if status == 429 and at > first_answer)
        return elapsed, after_first, fake.stats.rate_limited


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--period", type=float, default=2.0)
    args = parser.parse_args()
    minimum = (math.ceil(args.count / args.limit) - 1) * args.period
    print(f"{args.count} messages, fake limit {args.limit} requests / {args.period:g} s, "
          f"theoretical minimum {minimum:.2f} s")
    times, late_429s = [], []
    for run in range(1, args.runs + 1):
        elapsed, after_first, total_429 = one_run(args.count, args.limit, args.period)
        times.append(elapsed)
        late_429s.append(after_first)
        print(f"run {run}: {elapsed:.2f} s ({elapsed / minimum - 1:+.1%} vs minimum), "
              f"429s after first headers: {after_first}, 429s total: {total_429}")
    median = statistics.median(times)
    print(f"median: {median:.2f} s ({median / minimum - 1:+.1%} vs minimum {minimum:.2f} s); "
          f"429s after first headers (max of runs): {max(late_429s)}")
    ok = median <= minimum * 1.15 and max(late_429s) == 0
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
