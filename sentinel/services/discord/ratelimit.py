"""Rate-limit and retry decisions: pure functions with time passed in, and one locked registry.

- Before sending: `X-RateLimit-Remaining` / `X-RateLimit-Reset-After` of every answer say how
  many requests the webhook's window still takes (`plan_send`, `after_headers`).
- A 429 waits `retry_after` (seconds on v8+, milliseconds on the legacy unversioned API) plus a
  margin, and the wait grows on repeated 429s of the same bucket, with jitter (`after_429`):
  retrying exactly at `retry_after` lets another poster on the same webhook win every window,
  and each retry counts as an invalid request.
- Discord bans a client IP at 10,000 invalid requests (401/403/429) in 10 minutes; `Budget`
  keeps us at a tenth of that whatever happens.
- 5xx, timeouts, connection errors: capped exponential backoff with jitter (`Backoff`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Mapping

RATE_MARGIN_S = 0.02  # added to Reset-After: our clock reads the header after the server wrote it
RETRY_MARGIN_S = 0.1  # added to every 429's retry_after
GROWTH_BASE_S = 1.0  # extra wait on the second 429 in a row of one bucket, doubling after
GROWTH_CAP_S = 60.0
MAX_RETRY_AFTER_S = 3600.0  # never believe a 429 asking for more than this
PROBE_POLL_S = 0.02  # how often a sender re-checks while another one probes an unknown bucket
PROBE_TIMEOUT_S = 60.0  # a probe with no answer for this long no longer holds the others back
SAME_WINDOW_S = 0.1  # two reset times closer than this belong to the same rate-limit window
THROTTLED_AFTER_S = 60.0  # a bucket answering only 429 for this long is reported as throttled
INVALID_WINDOW_S = 600.0  # Discord: 10,000 invalid requests per 10 minutes bans the IP
INVALID_BUDGET = 1000  # we allow ourselves a tenth of that


@dataclass(frozen=True, slots=True)
class Bucket:
    """What we know about one webhook's rate limit. Times are monotonic seconds."""

    remaining: int | None = None  # None: unknown (no headers yet, or the window has reset)
    reset_at: float = 0.0
    blocked_until: float = 0.0  # from a 429 (or a global 429)
    probe_since: float | None = None  # a request is out to learn the unknown bucket
    strikes: int = 0  # 429s in a row without a success
    throttled_since: float | None = None  # the first 429 of those


def plan_send(bucket: Bucket, now: float) -> tuple[float, Bucket]:
    """(seconds to wait, bucket). Wait 0 means: send now, and the bucket counts the request.

    While the bucket is unknown only one request (the probe) goes out; senders sharing the
    webhook wait for its headers rather than all guessing at once.
    """
    if now < bucket.blocked_until:
        return bucket.blocked_until - now, bucket
    if bucket.remaining is not None and now < bucket.reset_at:
        if bucket.remaining <= 0:
            return bucket.reset_at - now, bucket
        return 0.0, dataclasses.replace(bucket, remaining=bucket.remaining - 1)
    if bucket.probe_since is not None and now - bucket.probe_since < PROBE_TIMEOUT_S:
        return PROBE_POLL_S, bucket
    return 0.0, dataclasses.replace(bucket, remaining=None, probe_since=now)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def after_headers(bucket: Bucket, headers: Mapping[str, str], now: float) -> Bucket:
    """Update the bucket from X-RateLimit-Remaining / X-RateLimit-Reset-After of any response.

    Within the same window the lower count wins: responses of concurrent requests may arrive
    out of order, and local reservations already counted requests still in flight.
    """
    remaining = _number(headers.get("X-RateLimit-Remaining"))
    reset_after = _number(headers.get("X-RateLimit-Reset-After"))
    if remaining is None or reset_after is None:
        return dataclasses.replace(bucket, probe_since=None)
    reset_at = now + reset_after + RATE_MARGIN_S
    count = int(remaining)
    same_window = bucket.remaining is not None and reset_at <= bucket.reset_at + SAME_WINDOW_S
    if same_window:
        count = min(count, bucket.remaining)
        reset_at = max(reset_at, bucket.reset_at)
    return dataclasses.replace(bucket, remaining=count, reset_at=reset_at, probe_since=None)


def after_failure(bucket: Bucket) -> Bucket:
    """No response (connection error, timeout): the probe is over without news."""
    return dataclasses.replace(bucket, probe_since=None)


def after_success(bucket: Bucket) -> Bucket:
    """A request of this bucket went through: the run of 429s is over."""
    return dataclasses.replace(bucket, strikes=0, throttled_since=None)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait after a 429. The first waits retry_after plus a margin; each further one
    in a row adds a growing, jittered extra, so two posters sharing a webhook stop meeting at the
    same instant and our invalid requests thin out the longer the webhook stays busy."""

    margin_s: float = RETRY_MARGIN_S
    growth_base_s: float = GROWTH_BASE_S
    growth_cap_s: float = GROWTH_CAP_S

    def wait(self, retry_after: float, strikes: int, rand: float) -> float:
        """Seconds to wait after the `strikes`-th 429 in a row; `rand` in [0, 1) is the jitter."""
        extra = 0.0
        if strikes >= 2 and self.growth_base_s > 0:
            extra = min(self.growth_cap_s, self.growth_base_s * 2 ** min(strikes - 2, 30)) * (0.5 + 0.5 * rand)
        return min(MAX_RETRY_AFTER_S, retry_after + self.margin_s + extra)


def after_429(bucket: Bucket, retry_after: float, now: float, rand: float,
              policy: RetryPolicy = RetryPolicy()) -> tuple[Bucket, float]:
    """(bucket, wait) after a 429 of this bucket."""
    strikes = bucket.strikes + 1
    wait = policy.wait(retry_after, strikes, rand)
    until = now + wait
    return dataclasses.replace(
        bucket, blocked_until=until, remaining=0, reset_at=max(bucket.reset_at, until), probe_since=None,
        strikes=strikes, throttled_since=bucket.throttled_since if bucket.throttled_since is not None else now,
    ), wait


def is_throttled(bucket: Bucket, now: float, after_s: float = THROTTLED_AFTER_S) -> bool:
    """Answered only 429 for `after_s`: worth telling the owner (someone else posts there?)."""
    return bucket.throttled_since is not None and now - bucket.throttled_since >= after_s


class Budget:
    """Invalid requests (401/403/429) in the last INVALID_WINDOW_S; full at INVALID_BUDGET. Not locked."""

    def __init__(self, limit: int = INVALID_BUDGET, window_s: float = INVALID_WINDOW_S):
        self.limit, self.window_s = limit, window_s
        self._times: deque = deque()

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()

    def record(self, now: float) -> None:
        self._expire(now)
        self._times.append(now)

    def wait(self, now: float) -> float:
        """0 while under budget, else seconds until the oldest invalid request leaves the window."""
        self._expire(now)
        if len(self._times) < self.limit:
            return 0.0
        return self._times[-self.limit] + self.window_s - now


def is_legacy_api(url: str) -> bool:
    """Unversioned (`/api/webhooks/...`) or pre-v8 paths answer 429 retry_after in milliseconds."""
    match = re.search(r"/api(?:/v(\d+))?/webhooks/", url)
    if not match:
        return False
    return match.group(1) is None or int(match.group(1)) < 8


def retry_after_seconds(body: object, headers: Mapping[str, str], legacy: bool) -> float:
    """How long a 429 asks us to wait, in seconds: body retry_after, else Retry-After, else Reset-After."""
    scale = 0.001 if legacy else 1.0
    value = _number(body.get("retry_after")) if isinstance(body, dict) else None
    if value is None:
        value = _number(headers.get("Retry-After"))
    if value is not None:
        return min(value * scale, MAX_RETRY_AFTER_S)
    reset_after = _number(headers.get("X-RateLimit-Reset-After"))
    return min(reset_after, MAX_RETRY_AFTER_S) if reset_after is not None else 1.0


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, failures: int, rand: float) -> float:
        """Capped exponential backoff with jitter; `rand` in [0, 1). failures >= 1."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(failures - 1, 30)))
        return ceiling * (0.5 + 0.5 * rand)


UNKNOWN_MESSAGE = 10008  # Discord's JSON error code: the message (not the webhook) is gone


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str  # "delivered", "rate_limited", "drop", "dead", "gone", "retry"
    detail: str = ""
    retry_after_s: float = 0.0
    is_global: bool = False
    message_id: str = ""


def classify(status: int, body: object, headers: Mapping[str, str], legacy: bool) -> Verdict:
    """What to do with a webhook response (a POST, or a PATCH of one of its messages)."""
    if status == 200:
        if isinstance(body, dict) and body.get("id"):
            return Verdict("delivered", f"message id {body['id']}", message_id=str(body["id"]))
        return Verdict("retry", "200 without a message id")
    if 200 <= status < 300:
        # A relay that ignores ?wait=true: accepted, but not confirmed. Retrying would duplicate.
        return Verdict("delivered", f"HTTP {status} (unconfirmed)")
    if status == 429:
        is_global = bool(body.get("global")) if isinstance(body, dict) else False
        is_global = is_global or headers.get("X-RateLimit-Global", "").lower() == "true"
        return Verdict("rate_limited", "HTTP 429", retry_after_seconds(body, headers, legacy), is_global)
    text = json.dumps(body)[:500] if body is not None else ""
    if status == 404 and isinstance(body, dict) and body.get("code") == UNKNOWN_MESSAGE:
        return Verdict("gone", f"HTTP 404 {text}")
    if status in (401, 403, 404):
        return Verdict("dead", f"HTTP {status} {text}")
    if status in (400, 413):
        return Verdict("drop", f"HTTP {status} {text}")
    return Verdict("retry", f"HTTP {status}")


def is_invalid(status: int) -> bool:
    """Counts towards Discord's invalid-request ban."""
    return status in (401, 403, 429)


class RateLimits:
    """Every bucket (one per webhook URL: kinds sharing a URL share it), the global gate and the
    invalid-request budget, behind one lock. Times are monotonic seconds, passed in."""

    def __init__(self, budget: Budget | None = None, policy: RetryPolicy = RetryPolicy(),
                 throttled_after_s: float = THROTTLED_AFTER_S):
        self._lock = threading.Lock()
        self._policy = policy
        self._throttled_after_s = throttled_after_s
        self._buckets: dict[str, Bucket] = {}
        self._global_until = 0.0
        self._budget = budget if budget is not None else Budget()

    def reserve(self, url: str, now: float) -> float:
        """Seconds to wait before a request to `url`; 0: go (the request is counted)."""
        with self._lock:
            wait = max(self._global_until - now, self._budget.wait(now))
            if wait > 0:
                return wait
            wait, self._buckets[url] = plan_send(self._buckets.get(url, Bucket()), now)
            return wait

    def answered(self, url: str, status: int, headers: Mapping[str, str], now: float) -> None:
        """Any HTTP answer: read its rate-limit headers, count it if invalid, end a 429 run on success."""
        with self._lock:
            bucket = after_headers(self._buckets.get(url, Bucket()), headers, now)
            if 200 <= status < 300:
                bucket = after_success(bucket)
            self._buckets[url] = bucket
            if is_invalid(status):
                self._budget.record(now)

    def failed(self, url: str) -> None:
        """No answer at all."""
        with self._lock:
            self._buckets[url] = after_failure(self._buckets.get(url, Bucket()))

    def limited(self, url: str, verdict: Verdict, now: float, rand: float) -> float:
        """A 429: block the bucket (and everything, if global); returns the wait."""
        with self._lock:
            self._buckets[url], wait = after_429(self._buckets.get(url, Bucket()), verdict.retry_after_s, now, rand,
                                                    self._policy)
            if verdict.is_global:
                self._global_until = max(self._global_until, now + wait)
            return wait

    def throttled(self, urls, now: float) -> set[str]:
        """Those of `urls` whose bucket has answered only 429 for a while (THROTTLED_AFTER_S)."""
        with self._lock:
            return {u for u in urls if is_throttled(self._buckets.get(u, Bucket()), now, self._throttled_after_s)}
