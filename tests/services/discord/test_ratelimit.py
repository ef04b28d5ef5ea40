"""Rate-limit and retry decisions, table-style with times passed in."""

from __future__ import annotations

import pytest

from sentinel.services.discord import ratelimit as rl
from sentinel.services.discord.ratelimit import (Backoff, Bucket, Budget, RateLimits, RetryPolicy, Verdict,
                                                 after_429, after_headers, classify, is_legacy_api, is_throttled,
                                                 plan_send, retry_after_seconds)


@pytest.mark.parametrize("bucket, now, wait, remaining_after", [
    (Bucket(), 10.0, 0.0, None),  # nothing known: send (a probe)
    (Bucket(probe_since=9.9), 10.0, rl.PROBE_POLL_S, None),  # someone else is probing: wait
    (Bucket(probe_since=9.9 - rl.PROBE_TIMEOUT_S), 10.0, 0.0, None),  # stale probe: go
    (Bucket(remaining=3, reset_at=12.0), 10.0, 0.0, 2),  # counts the request locally
    (Bucket(remaining=0, reset_at=12.0), 10.0, 2.0, 0),  # exhausted: wait for the reset
    (Bucket(remaining=0, reset_at=12.0), 12.0, 0.0, None),  # window over: unknown again
    (Bucket(remaining=5, reset_at=20.0, blocked_until=11.5), 10.0, 1.5, 5),  # 429 block wins
])
def test_plan_send(bucket, now, wait, remaining_after):
    got_wait, got = plan_send(bucket, now)
    assert got_wait == pytest.approx(wait)
    assert got.remaining == remaining_after


@pytest.mark.parametrize("headers, remaining, reset_at", [
    ({"X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "1.5"}, 4, 101.5 + rl.RATE_MARGIN_S),
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.250"}, 0, 100.25 + rl.RATE_MARGIN_S),
    ({"X-RateLimit-Remaining": "x", "X-RateLimit-Reset-After": "1"}, None, 0.0),  # garbage ignored
    ({}, None, 0.0),
])
def test_after_headers(headers, remaining, reset_at):
    got = after_headers(Bucket(probe_since=99.0), headers, now=100.0)
    assert got.remaining == remaining
    assert got.reset_at == pytest.approx(reset_at)
    assert got.probe_since is None


def test_after_headers_same_window_keeps_the_lower_count():
    bucket = Bucket(remaining=1, reset_at=101.0)  # two requests reserved since the last answer
    stale = after_headers(bucket, {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-After": "0.95"}, now=100.0)
    assert stale.remaining == 1
    fresh = after_headers(bucket, {"X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "2"}, now=100.0)
    assert fresh.remaining == 4  # a new window


@pytest.mark.parametrize("strikes, rand, wait", [
    (1, 0.0, 2.0 + rl.RETRY_MARGIN_S),  # the first 429: retry_after plus the margin, never exactly at it
    (2, 0.0, 2.0 + rl.RETRY_MARGIN_S + 0.5 * rl.GROWTH_BASE_S),  # then it grows, with jitter
    (2, 0.999999, 2.0 + rl.RETRY_MARGIN_S + rl.GROWTH_BASE_S),
    (3, 0.999999, 2.0 + rl.RETRY_MARGIN_S + 2 * rl.GROWTH_BASE_S),
    (5, 0.999999, 2.0 + rl.RETRY_MARGIN_S + 8 * rl.GROWTH_BASE_S),
    (60, 0.999999, 2.0 + rl.RETRY_MARGIN_S + rl.GROWTH_CAP_S),  # capped
])
def test_wait_after_429_has_a_margin_and_grows(strikes, rand, wait):
    assert RetryPolicy().wait(2.0, strikes, rand) == pytest.approx(wait, rel=1e-5)


def test_repeated_429s_of_one_bucket_grow_and_a_success_resets():
    bucket, waits = Bucket(), []
    for n in range(1, 6):
        bucket, wait = after_429(bucket, 1.0, now=100.0 + n, rand=0.5)
        waits.append(wait)
        assert bucket.strikes == n and bucket.throttled_since == 101.0
        assert bucket.blocked_until == pytest.approx(100.0 + n + wait)
    assert waits == sorted(waits) and waits[-1] > 4 * waits[0]
    assert not is_throttled(bucket, 101.0 + rl.THROTTLED_AFTER_S - 1)
    assert is_throttled(bucket, 101.0 + rl.THROTTLED_AFTER_S)
    cleared = rl.after_success(bucket)
    assert cleared.strikes == 0 and not is_throttled(cleared, 1e9)
    assert after_429(cleared, 1.0, 200.0, 0.5)[1] == pytest.approx(1.0 + rl.RETRY_MARGIN_S)


def test_budget_holds_every_request_once_the_invalid_requests_reach_it():
    budget = Budget(limit=3, window_s=600.0)
    for t in (0.0, 10.0, 20.0):
        assert budget.wait(t) == 0.0
        budget.record(t)
    assert budget.wait(30.0) == pytest.approx(570.0)  # until the first leaves the window
    assert budget.wait(600.0) == 0.0  # the first left the window


def test_default_budget_is_a_tenth_of_discords_ban():
    assert rl.INVALID_BUDGET * 10 <= 10_000 and rl.INVALID_WINDOW_S == 600.0


def test_rate_limits_count_invalid_answers_and_stop_at_the_budget():
    limits = RateLimits(budget=Budget(limit=3, window_s=60.0))
    url = "http://127.0.0.1:9/api/v10/webhooks/1/t"
    for status in (401, 429, 500, 200):
        limits.answered(url, status, {}, now=1.0)
    assert limits.reserve(url, now=1.5) == 0.0  # 401 and 429 count; 500 and 200 do not
    limits.answered(url, 403, {}, now=2.0)
    other = "http://127.0.0.1:9/api/v10/webhooks/2/t"
    assert limits.reserve(other, now=2.0) == pytest.approx(59.0)  # every webhook waits: the ban is per IP
    assert limits.reserve(other, now=61.5) == 0.0


def test_a_global_429_blocks_every_bucket():
    limits = RateLimits()
    wait = limits.limited("a", Verdict("rate_limited", retry_after_s=2.0, is_global=True), now=10.0, rand=0.0)
    assert limits.reserve("b", now=10.0) == pytest.approx(wait)


@pytest.mark.parametrize("url, legacy", [
    ("https://discord.com/api/v10/webhooks/1/abc", False),
    ("http://127.0.0.1:9/api/webhooks/1/abc", True),
    ("http://127.0.0.1:9/api/v6/webhooks/1/abc", True),
    ("http://127.0.0.1:9/api/v9/webhooks/1/abc", False),
])
def test_is_legacy_api(url, legacy):
    assert is_legacy_api(url) is legacy


@pytest.mark.parametrize("body, headers, legacy, seconds", [
    ({"retry_after": 1.5, "global": False}, {"Retry-After": "2"}, False, 1.5),  # body wins (more precise)
    ({"retry_after": 1500, "global": False}, {"Retry-After": "1500"}, True, 1.5),  # legacy: ms
    (None, {"Retry-After": "3"}, False, 3.0),
    (None, {"Retry-After": "250"}, True, 0.25),
    (None, {"X-RateLimit-Reset-After": "0.7"}, False, 0.7),
    (None, {}, False, 1.0),
    ({"retry_after": 1e12}, {}, False, rl.MAX_RETRY_AFTER_S),  # absurd values capped
])
def test_retry_after_seconds(body, headers, legacy, seconds):
    assert retry_after_seconds(body, headers, legacy) == pytest.approx(seconds)


@pytest.mark.parametrize("status, body, action", [
    (200, {"id": "123"}, "delivered"),
    (200, {}, "retry"),
    (204, None, "delivered"),
    (429, {"retry_after": 0.5, "global": False}, "rate_limited"),
    (400, {"code": 50035}, "drop"),
    (413, None, "drop"),
    (401, {"code": 50027}, "dead"),
    (404, {"code": 10015}, "dead"),  # Unknown Webhook
    (404, {"code": 10008}, "gone"),  # Unknown Message: an edited message was deleted
    (500, None, "retry"),
    (502, None, "retry"),
])
def test_classify(status, body, action):
    assert classify(status, body, {}, legacy=False).action == action


def test_classify_global_429():
    verdict = classify(429, {"retry_after": 2.0, "global": True}, {}, legacy=False)
    assert verdict.is_global and verdict.retry_after_s == pytest.approx(2.0)


def test_backoff_grows_is_capped_and_jittered():
    b = Backoff(base_s=1.0, cap_s=60.0)
    assert [b.delay(n, 0.999999) for n in (1, 2, 3, 4)] == pytest.approx([1, 2, 4, 8], rel=1e-5)
    assert b.delay(50, 0.999999) == pytest.approx(60, rel=1e-5)
    assert b.delay(3, 0.0) == pytest.approx(2.0)  # jitter: between half and all of the ceiling
