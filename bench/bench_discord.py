"""Drain backlogs through the real Delivery against the fake Discord.

    python3 bench/bench_discord.py [--runs 3] [--count 100] [--limit 5] [--period 2]
                                   [--livelock-count 10] [--livelock-seconds 40]

1. Plain drain: drain time vs the theoretical minimum ((ceil(count/limit) - 1) windows of
   `period` seconds) and the 429s after the first response's rate-limit headers (must be 0).
2. Livelock: a limiter that counts every attempt (5 a second) and a second poster using 4 of
   them; the naive 429 policy (retry exactly at retry_after, no growth) against the default one.
   Prints requests, 429s, messages delivered and the time to drain (medians over the runs).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinel.config.model import DiscordSettings  # noqa: E402
from sentinel.services.discord.delivery import Delivery  # noqa: E402
from sentinel.services.discord.messages import Message  # noqa: E402
from sentinel.services.discord.outbox import Outbox  # noqa: E402
from sentinel.services.discord.ratelimit import RateLimits, RetryPolicy  # noqa: E402
from tests.helpers.fake_discord import FakeDiscord  # noqa: E402

NAIVE = RetryPolicy(margin_s=0.0, growth_base_s=0.0)


def fill(tmp: str, url: str, count: int, policy: RetryPolicy = RetryPolicy()) -> Delivery:
    delivery = Delivery(Outbox(Path(tmp) / "sentinel.db"),
                        DiscordSettings(enabled=True, shop_name="Bench Cafe", webhook_alerts=url),
                        limits=RateLimits(policy=policy))
    for i in range(count):
        delivery.enqueue(Message("alerts", time.time(), content=f"msg-{i:04d}",
                                 embeds=({"title": f"Router DOWN {i}"},)))
    return delivery


def drain_run(count: int, limit: int, period: float) -> tuple[float, int, int]:
    with FakeDiscord(limit=limit, period=period) as fake, tempfile.TemporaryDirectory() as tmp:
        delivery = fill(tmp, fake.url("1"), count)
        started = time.monotonic()
        delivery.start()
        got = fake.wait_for(count, timeout=count / limit * period * 3 + 30)
        elapsed = time.monotonic() - started
        delivery.stop()
        delivery.close()
        assert [m.content.splitlines()[-1] for m in got] == [f"msg-{i:04d}" for i in range(count)], "order broken"
        log = list(fake.stats.log)
        first_answer = log[0][0]
        after_first = sum(1 for at, status in log if status == 429 and at > first_answer)
        return elapsed, after_first, fake.stats.rate_limited


def livelock_run(policy: RetryPolicy, count: int, seconds: float) -> tuple[int, int, int, float | None]:
    """(our requests, our 429s, delivered, seconds to drain or None if it did not)."""
    with FakeDiscord(limit=5, period=1.0, sliding=True) as fake, tempfile.TemporaryDirectory() as tmp:
        url = fake.url("1")
        delivery = fill(tmp, url, count, policy)
        stop = threading.Event()

        def other_poster():
            with requests.Session() as s:
                s.trust_env = False
                while not stop.wait(0.25):
                    s.post(url + "?wait=true", json={"content": "someone else"}, timeout=2)

        thread = threading.Thread(target=other_poster, daemon=True)
        thread.start()
        stop.wait(1.0)
        started = time.monotonic()
        delivery.start()
        while delivery.backlog() and time.monotonic() - started < seconds:
            stop.wait(0.05)
        elapsed = time.monotonic() - started
        left = delivery.backlog().get("alerts", 0)
        counts = delivery.counters()
        stop.set()
        thread.join(5)
        delivery.stop()
        delivery.close()
        return counts.attempts, counts.rate_limited, count - left, (elapsed if left == 0 else None)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--period", type=float, default=2.0)
    parser.add_argument("--livelock-count", type=int, default=10)
    parser.add_argument("--livelock-seconds", type=float, default=40.0)
    args = parser.parse_args()
    minimum = (math.ceil(args.count / args.limit) - 1) * args.period
    print(f"drain: {args.count} messages, fake limit {args.limit} requests / {args.period:g} s, "
          f"theoretical minimum {minimum:.2f} s")
    times, late_429s = [], []
    for run in range(1, args.runs + 1):
        elapsed, after_first, total_429 = drain_run(args.count, args.limit, args.period)
        times.append(elapsed)
        late_429s.append(after_first)
        print(f"  run {run}: {elapsed:.2f} s ({elapsed / minimum - 1:+.1%} vs minimum), "
              f"429s after first headers: {after_first}, 429s total: {total_429}")
    median = statistics.median(times)
    print(f"  median: {median:.2f} s ({median / minimum - 1:+.1%} vs minimum {minimum:.2f} s); "
          f"429s after first headers (max of runs): {max(late_429s)}")
    ok = median <= minimum * 1.15 and max(late_429s) == 0

    print(f"livelock: {args.livelock_count} messages, limiter counting every attempt (5 / 1 s), "
          f"another poster every 0.25 s, give up after {args.livelock_seconds:g} s")
    for name, policy in (("naive (before)", NAIVE), ("default (after)", RetryPolicy())):
        runs = [livelock_run(policy, args.livelock_count, args.livelock_seconds) for _ in range(args.runs)]
        drains = [r[3] for r in runs if r[3] is not None]
        drained = f"{statistics.median(drains):.1f} s" if len(drains) == len(runs) else \
            f"did not drain in {len(runs) - len(drains)} of {len(runs)} runs"
        print(f"  {name:16s} requests {statistics.median(r[0] for r in runs):.0f}, "
              f"429s {statistics.median(r[1] for r in runs):.0f}, "
              f"delivered {statistics.median(r[2] for r in runs):.0f}/{args.livelock_count}, drain: {drained}")
        if policy is not NAIVE:
            ok = ok and len(drains) == len(runs)
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
