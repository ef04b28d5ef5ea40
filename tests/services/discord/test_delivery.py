"""Discord delivery: pure decisions table-style, then the real senders against a real fake Discord."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests

from sentinel.config.model import Config, DiscordSettings
from sentinel.events import DeliveryStatus
from sentinel.services.discord import delivery as dc
from sentinel.services.discord.delivery import (Backoff, Bucket, Delivery, Message, after_headers, classify,
                                       finish_payload, is_legacy_api, mark_late, pack_lines, plan_send,
                                       retry_after_seconds, validate_payload)
from sentinel.services.discord.outbox import Attachment
from sentinel.timefmt import iso_utc
from tests.helpers.fake_discord import FakeDiscord

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000.0  # a fixed wall time for fake clocks


# ---------------------------------------------------------------------------------------------
# Pure decisions


@pytest.mark.parametrize("bucket, now, wait, remaining_after", [
    (Bucket(), 10.0, 0.0, None),  # nothing known: send (a probe)
    (Bucket(probe_since=9.9), 10.0, dc.PROBE_POLL_S, None),  # someone else is probing: wait
    (Bucket(probe_since=9.9 - dc.PROBE_TIMEOUT_S), 10.0, 0.0, None),  # stale probe: go
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
    ({"X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "1.5"}, 4, 101.5 + dc.RATE_MARGIN_S),
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.250"}, 0, 100.25 + dc.RATE_MARGIN_S),
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
    ({"retry_after": 1e12}, {}, False, dc.MAX_RETRY_AFTER_S),  # absurd values capped
])
def test_retry_after_seconds(body, headers, legacy, seconds):
    assert retry_after_seconds(body, headers, legacy) == pytest.approx(seconds)


@pytest.mark.parametrize("status, body, headers, action", [
    (200, {"id": "123"}, {}, "delivered"),
    (200, {}, {}, "retry"),
    (204, None, {}, "delivered"),
    (429, {"retry_after": 0.5, "global": False}, {}, "rate_limited"),
    (400, {"code": 50035}, {}, "drop"),
    (413, None, {}, "drop"),
    (401, {"code": 50027}, {}, "dead"),
    (404, {"code": 10015}, {}, "dead"),
    (500, None, {}, "retry"),
    (502, None, {}, "retry"),
])
def test_classify(status, body, headers, action):
    assert classify(status, body, headers, legacy=False).action == action


def test_classify_global_429():
    verdict = classify(429, {"retry_after": 2.0, "global": True}, {}, legacy=False)
    assert verdict.is_global and verdict.wait_s == pytest.approx(2.0)


def test_backoff_grows_is_capped_and_jittered():
    b = Backoff(base_s=1.0, cap_s=60.0)
    assert [b.delay(n, 0.999999) for n in (1, 2, 3, 4)] == pytest.approx([1, 2, 4, 8], rel=1e-5)
    assert b.delay(50, 0.999999) == pytest.approx(60, rel=1e-5)
    assert b.delay(3, 0.0) == pytest.approx(2.0)  # jitter: between half and all of the ceiling


def test_mark_late_only_after_a_minute_and_keeps_timestamp():
    payload = finish_payload(Message("alerts", "abc", T0, content="hi", embeds=({"title": "Router DOWN"},)), "Shop")
    assert mark_late(payload, T0, T0 + 59) is payload
    late = mark_late(payload, T0, T0 + 120)
    happened = time.strftime("%H:%M:%S", time.localtime(T0))
    assert f"delivered late; happened at {happened}" in late["content"]
    assert late["content"].endswith("hi")
    assert late["embeds"][0]["timestamp"] == payload["embeds"][0]["timestamp"] == iso_utc(T0)
    days_later = mark_late(payload, T0, T0 + 3 * 86400)
    assert time.strftime("%Y-%m-%d", time.localtime(T0)) in days_later["content"]


def test_finish_payload_names_the_shop_on_every_embed():
    payload = finish_payload(Message("alerts", "ev1", T0, embeds=({"title": "a"}, {"title": "b"})), "Net Cafe")
    assert payload["username"] == "Net Cafe"
    assert [e["footer"]["text"] for e in payload["embeds"]] == ["Net Cafe · ev1"] * 2
    assert all(e["timestamp"].startswith("2023-11-14T22:13:20") for e in payload["embeds"])


@pytest.mark.parametrize("payload, files, problem", [
    ({"content": "x" * 2001}, (), "content"),
    ({"embeds": [{"title": "t" * 257}]}, (), "title"),
    ({"embeds": [{"description": "d" * 4097}]}, (), "description"),
    ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, (), "fields"),
    ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, (), "name"),
    ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, (), "value"),
    ({"embeds": [{"footer": {"text": "f" * 2049}}]}, (), "footer"),
    ({"embeds": [{"author": {"name": "a" * 257}}]}, (), "author"),
    ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, (), "total"),
    ({"embeds": [{"title": "t"}] * 11}, (), "11 embeds"),
    ({"content": "x"}, (Attachment("a.bin", b"0" * (10 * 1024 * 1024 + 1)),), "bytes"),
    ({"embeds": [{"image": {"url": "attachment://missing.webp"}}]}, (), "not attached"),
    ({}, (), "empty"),
])
def test_validate_payload_catches_each_limit(payload, files, problem):
    problems = validate_payload(payload, files)
    assert any(problem in p for p in problems), problems


def test_pack_lines_keeps_every_line_and_every_message_valid():
    lines = [f"PC-{n} (198.51.100.{n}) 12:34:56, 10:00:00–12:34:56 (ended during outage)" for n in range(1, 255)]
    messages = pack_lines("254 sessions ended", lines, colour=1)
    assert len(messages) > 1
    text = ""
    for i, embeds in enumerate(messages):
        payload = finish_payload(Message("occupancy", "x" * 8, T0, embeds=embeds), "S" * 80)
        assert validate_payload(payload) == []
        assert embeds[0]["title"].endswith(f"(part {i + 1}/{len(messages)})")
        text += "\n".join(e["description"] for e in embeds) + "\n"
    assert all(line in text for line in lines)


# ---------------------------------------------------------------------------------------------
# Real senders against the fake


class Clock:
    """A wall clock the test moves."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now


def settings_for(fake, **values) -> DiscordSettings:
    values.setdefault("shop_name", "Test Cafe")
    return DiscordSettings(enabled=True, **values)


@pytest.fixture
def fake():
    with FakeDiscord(limit=50, period=1.0) as server:
        yield server


@pytest.fixture
def make_delivery(tmp_path):
    made = []

    def make(settings, **kwargs):
        kwargs.setdefault("backoff", Backoff(0.02, 0.2))
        kwargs.setdefault("timeout", (1.0, 1.0))
        delivery = Delivery(tmp_path / "sentinel.db", settings, **kwargs)
        made.append(delivery)
        return delivery

    yield make
    for delivery in made:
        delivery.stop()
        delivery.close()


def alert(i: int, wall: float | None = None, **kwargs) -> Message:
    return Message("alerts", f"ev{i:04d}", wall if wall is not None else time.time(),
                   content=f"msg-{i:04d}", embeds=({"title": f"Router DOWN {i}"},), **kwargs)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    ready = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        ready.wait(0.01)


def test_order_kept_per_webhook_and_files_uploaded(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1"), webhook_occupancy=fake.url("2")))
    for i in range(20):
        delivery.enqueue(alert(i))
        delivery.enqueue(Message("occupancy", f"o{i}", time.time(), content=f"occ-{i:04d}"))
    delivery.enqueue(Message("alerts", "img", time.time(), embeds=({
        "title": "Router RESTORED", "image": {"url": "attachment://evidence.webp"}},),
        files=(Attachment("evidence.webp", b"RIFF\x00\x01webp-bytes"),)))
    delivery.start()
    fake.wait_for(41)
    assert [m.content for m in fake.messages("1")][:20] == [f"msg-{i:04d}" for i in range(20)]
    assert [m.content for m in fake.messages("2")] == [f"occ-{i:04d}" for i in range(20)]
    last = fake.messages("1")[-1]
    assert last.files == {"evidence.webp": b"RIFF\x00\x01webp-bytes"}
    assert last.payload["embeds"][0]["image"]["url"] == "attachment://evidence.webp"
    assert last.payload["username"] == "Test Cafe"
    wait_until(lambda: delivery.backlog() == {})


def _exhaust(fake, url, n):
    with requests.Session() as s:
        s.trust_env = False
        for _ in range(n):
            s.post(url + "?wait=true", json={"content": "someone else"}, timeout=2)


@pytest.mark.parametrize("legacy", [False, True], ids=["v10-seconds", "legacy-milliseconds"])
def test_429_waits_retry_after_in_the_right_unit(make_delivery, legacy):
    with FakeDiscord(limit=3, period=0.6) as fake:
        url = fake.url("7", legacy=legacy)
        _exhaust(fake, url, 3)  # another client used the whole window: our first request gets 429
        assert fake.stats.rate_limited == 0
        delivery = make_delivery(settings_for(fake, webhook_alerts=url))
        started = time.monotonic()
        delivery.enqueue(alert(1))
        delivery.start()
        got = fake.wait_for(4, timeout=10)
        elapsed = time.monotonic() - started
        assert got[-1].content == "msg-0001"
        # Exactly one 429: waiting too short (ms read as s is too long: the wait_for times out)
        # would have caused more of them.
        assert fake.stats.rate_limited == 1
        assert delivery.counters.rate_limited == 1
        assert elapsed < 3.0


def test_rate_limit_headers_prevent_429(make_delivery):
    with FakeDiscord(limit=5, period=0.5) as fake:
        delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")))
        for i in range(30):
            delivery.enqueue(alert(i))
        started = time.monotonic()
        delivery.start()
        got = fake.wait_for(30, timeout=15)
        elapsed = time.monotonic() - started
        assert [m.content for m in got] == [f"msg-{i:04d}" for i in range(30)]
        assert fake.stats.rate_limited == 0
        assert elapsed >= 5 * 0.5 * 0.95  # 6 windows: it really waited for the resets


def test_kinds_sharing_one_webhook_share_its_bucket(make_delivery):
    with FakeDiscord(limit=4, period=0.5) as fake:
        url = fake.url("1")
        delivery = make_delivery(settings_for(fake, webhook_alerts=url, webhook_occupancy=url, webhook_screenshots=url))
        for i in range(8):
            for kind in dc.KINDS:
                delivery.enqueue(Message(kind, f"{kind}{i}", time.time(), content=f"{kind}-{i}"))
        delivery.start()
        fake.wait_for(24, timeout=15)
        # One probe learns the bucket; nobody guesses in parallel.
        assert fake.stats.rate_limited == 0
        for kind in dc.KINDS:
            assert [m.content for m in fake.messages() if m.content.startswith(kind)] == [
                f"{kind}-{i}" for i in range(8)]


def test_5xx_reset_and_timeout_are_retried_then_delivered(fake, make_delivery):
    fake.inject(500, 502, "reset", ("hang", 3.0), 503)
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")), timeout=(0.5, 0.5))
    for i in range(5):
        delivery.enqueue(alert(i))
    delivery.start()
    got = fake.wait_for(5, timeout=15)
    assert [m.content for m in got] == [f"msg-{i:04d}" for i in range(5)]
    assert delivery.counters.retries == 5


def test_400_is_logged_and_dropped_and_the_queue_moves_on(fake, make_delivery, caplog):
    fake.inject(400)
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")))
    delivery.enqueue(alert(0))
    delivery.enqueue(alert(1))
    with caplog.at_level(logging.ERROR, logger="sentinel.services.discord.delivery"):
        delivery.start()
        got = fake.wait_for(1)
        wait_until(lambda: delivery.backlog() == {})
    assert [m.content for m in got] == ["msg-0001"]
    assert delivery.counters.dropped == 1
    assert "fault 400" in caplog.text and "dropping" in caplog.text


def test_invalid_message_is_never_queued(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")))
    assert delivery.enqueue(Message("alerts", "x", T0, embeds=({"title": "t", "fields": [{"name": "", "value": "v"}]},))) is None
    assert delivery.backlog() == {}


@pytest.mark.parametrize("status", [401, 404])
def test_dead_webhook_keeps_messages_until_a_new_url(fake, make_delivery, status):
    events = []
    fake.kill("1", status)
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")), publish=events.append)
    delivery.start()
    for i in range(3):
        delivery.enqueue(alert(i))
    wait_until(lambda: delivery.dead_kinds() == ("alerts",))
    assert delivery.backlog() == {"alerts": 3}
    statuses = [e for e in events if isinstance(e, DeliveryStatus)]
    assert statuses[-1].dead == ("alerts",) and dict(statuses[-1].backlog)["alerts"] == 3
    attempts = fake.stats.requests
    delivery.enqueue(alert(3))  # a dead webhook is not retried
    delivery.reconfigure(settings_for(fake, webhook_alerts=fake.url("1"), shop_name="Renamed"))
    assert delivery.dead_kinds() == ("alerts",)  # same URL: still dead
    assert fake.stats.requests == attempts
    delivery.reconfigure(settings_for(fake, webhook_alerts=fake.url("2", token="new-token")))
    got = fake.wait_for(4, hook_id="2")
    assert [m.content for m in got] == [f"msg-{i:04d}" for i in range(4)]
    wait_until(lambda: events[-1].dead == () and dict(events[-1].backlog)["alerts"] == 0)


def test_late_delivery_is_marked_and_keeps_the_original_timestamp(fake, make_delivery):
    clock = Clock(T0)
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")), wall_clock=clock)
    delivery.enqueue(alert(0, wall=T0))
    delivery.enqueue(alert(1, wall=T0 + 100))
    clock.now = T0 + 130  # the first is 130 s old, the second 30 s
    delivery.start()
    first, second = fake.wait_for(2)
    happened = time.strftime("%H:%M:%S", time.localtime(T0))
    assert first.content.startswith(f"*delivered late; happened at {happened}*")
    assert first.payload["embeds"][0]["timestamp"] == iso_utc(T0)
    assert second.content == "msg-0001"


def test_disabled_or_empty_webhook_queues_nothing(fake, make_delivery):
    delivery = make_delivery(DiscordSettings(enabled=False, webhook_alerts=fake.url("1")))
    assert delivery.enqueue(alert(0)) is None
    delivery.reconfigure(settings_for(fake, webhook_occupancy=fake.url("1")))
    assert delivery.enqueue(alert(1)) is None  # alerts webhook empty
    assert delivery.enqueue(Message("occupancy", "o", T0, content="x")) is not None
    assert delivery.backlog() == {"occupancy": 1}


def test_disabling_keeps_the_backlog_for_later(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")))
    delivery.enqueue(alert(0))
    delivery.reconfigure(DiscordSettings(enabled=False, webhook_alerts=fake.url("1")))
    delivery.start()
    threading.Event().wait(0.3)
    assert fake.messages() == [] and delivery.backlog() == {"alerts": 1}
    delivery.reconfigure(settings_for(fake, webhook_alerts=fake.url("1")))
    assert fake.wait_for(1)[0].content == "msg-0000"


def test_tokens_never_reach_the_logs(fake, make_delivery, caplog):
    token = "TOKEN-must-not-leak"
    caplog.set_level(logging.DEBUG, logger="sentinel")
    fake.inject(400)
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1", token=token),
                                          webhook_occupancy=fake.url("2", token=token)))
    delivery.enqueue(alert(0))  # 400
    delivery.start()
    wait_until(lambda: delivery.counters.dropped == 1)
    fake.kill("2", 401)
    delivery.enqueue(Message("occupancy", "o", time.time(), content="dead"))
    wait_until(lambda: delivery.dead_kinds() == ("occupancy",))
    fake.offline()
    delivery.enqueue(alert(1))  # connection refused -> logged with the URL scrubbed
    wait_until(lambda: delivery.counters.retries >= 1)
    assert "connection" in caplog.text.lower() or "refused" in caplog.text.lower()
    assert token not in caplog.text
    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, "POST /api/v10/webhooks/1/%s?wait=true",
                               (token,), None)
    dc.TokenFilter().filter(record)
    assert token not in record.getMessage() and "/webhooks/1/***" in record.getMessage()


def test_send_test_messages_reports_each_webhook(fake):
    fake.kill("2", 404)
    config = Config(discord_settings=settings_for(fake, webhook_alerts=fake.url("1", token="tok-abc"),
                                                  webhook_occupancy=fake.url("2", token="tok-abc")))
    results = dc.send_test_messages(config, timeout=2.0)
    assert [(kind, ok) for kind, ok, _ in results] == [("alerts", True), ("occupancy", False), ("screenshots", False)]
    assert "message id" in results[0][2]
    assert "invalid or deleted" in results[1][2] and "tok-abc" not in results[1][2]
    assert results[2][2] == "no webhook configured"
    assert fake.messages("1")[0].titles == ["Test message"]
    fake.offline()
    results = dc.send_test_messages(config, timeout=0.5)
    assert not results[0][1] and "cannot reach" in results[0][2] and "tok-abc" not in results[0][2]


def test_global_429_holds_every_webhook(make_delivery):
    with FakeDiscord(limit=2, period=1.0) as fake:
        fake.global_429 = True
        _exhaust(fake, fake.url("1"), 2)
        delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1"), webhook_occupancy=fake.url("2")))
        delivery.enqueue(alert(0))
        delivery.start()
        wait_until(lambda: fake.stats.rate_limited == 1)
        limited_at = [at for at, status in fake.stats.log if status == 429][0]
        delivery.enqueue(Message("occupancy", "o", time.time(), content="other webhook"))
        (occupancy,) = fake.wait_for(1, hook_id="2")
        fake.wait_for(3, hook_id="1")
        # Webhook 2 has its own bucket but a global 429 blocks every request for retry_after.
        assert occupancy.at - limited_at >= 0.5
        assert fake.stats.rate_limited == 1
