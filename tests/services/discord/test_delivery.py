"""Discord delivery: the real senders against a real fake Discord (decisions: test_ratelimit.py)."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests

from sentinel.config.model import Config, DiscordSettings
from sentinel.events import DeliveryStatus
from sentinel.services.discord import webhook
from sentinel.services.discord.delivery import Delivery
from sentinel.services.discord.messages import KINDS, Message
from sentinel.services.discord.outbox import Attachment, Outbox
from sentinel.services.discord.ratelimit import Backoff, Budget, RateLimits, RetryPolicy
from sentinel.timefmt import iso_utc
from tests.helpers.apprun import wait_until
from tests.helpers.fake_discord import FakeDiscord

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000.0  # a fixed wall time for fake clocks


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
        delivery = Delivery(Outbox(tmp_path / "sentinel.db"), settings, **kwargs)
        made.append(delivery)
        return delivery

    yield make
    for delivery in made:
        delivery.stop()
        delivery.close()


def alert(i: int, wall: float | None = None, **kwargs) -> Message:
    return Message("alerts", wall if wall is not None else time.time(),
                   content=f"msg-{i:04d}", embeds=({"title": f"Router DOWN {i}"},), **kwargs)


def test_order_kept_per_webhook_and_files_uploaded(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1"), webhook_occupancy=fake.url("2")))
    for i in range(20):
        delivery.enqueue(alert(i))
        delivery.enqueue(Message("occupancy", time.time(), content=f"occ-{i:04d}"))
    delivery.enqueue(Message("alerts", time.time(), embeds=({
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
        assert delivery.counters().rate_limited == 1
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
            for kind in KINDS:
                delivery.enqueue(Message(kind, time.time(), content=f"{kind}-{i}"))
        delivery.start()
        fake.wait_for(24, timeout=15)
        # One probe learns the bucket; nobody guesses in parallel.
        assert fake.stats.rate_limited == 0
        for kind in KINDS:
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
    assert delivery.counters().retries == 5


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
    assert delivery.counters().dropped == 1
    assert "fault 400" in caplog.text and "dropping" in caplog.text


def test_invalid_message_is_never_queued(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")))
    assert delivery.enqueue(Message("alerts", T0, embeds=({"title": "t", "fields": [{"name": "", "value": "v"}]},))) is None
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
    clock.now = T0 + 129  # the first is 129 s old, the second 29 s
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
    assert delivery.enqueue(Message("occupancy", T0, content="x")) is not None
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
    wait_until(lambda: delivery.counters().dropped == 1)
    fake.kill("2", 401)
    delivery.enqueue(Message("occupancy", time.time(), content="dead"))
    wait_until(lambda: delivery.dead_kinds() == ("occupancy",))
    fake.offline()
    delivery.enqueue(alert(1))  # connection refused -> logged with the URL scrubbed
    wait_until(lambda: delivery.counters().retries >= 1)
    assert "connection" in caplog.text.lower() or "refused" in caplog.text.lower()
    assert token not in caplog.text
    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, "POST /api/v10/webhooks/1/%s?wait=true",
                               (token,), None)
    webhook.TokenFilter().filter(record)
    assert token not in record.getMessage() and "/webhooks/1/***" in record.getMessage()


def test_send_test_messages_reports_each_webhook(fake):
    fake.kill("2", 404)
    config = Config(discord_settings=settings_for(fake, webhook_alerts=fake.url("1", token="tok-abc"),
                                                  webhook_occupancy=fake.url("2", token="tok-abc")))
    results = webhook.send_test_messages(config, timeout=2.0)
    assert [(kind, ok) for kind, ok, _ in results] == [("alerts", True), ("occupancy", False), ("screenshots", False)]
    assert "message id" in results[0][2]
    assert "invalid or deleted" in results[1][2] and "tok-abc" not in results[1][2]
    assert results[2][2] == "no webhook configured"
    assert fake.messages("1")[0].titles == ["Test message"]
    fake.offline()
    results = webhook.send_test_messages(config, timeout=0.5)
    assert not results[0][1] and "cannot reach" in results[0][2] and "tok-abc" not in results[0][2]


def test_global_429_holds_every_webhook(make_delivery):
    with FakeDiscord(limit=2, period=1.0) as fake:
        fake.global_429 = True
        _exhaust(fake, fake.url("1"), 2)
        delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1"), webhook_occupancy=fake.url("2")))
        delivery.enqueue(alert(0))
        delivery.start()
        wait_until(lambda: fake.stats.rate_limited == 1)
        window_end = fake.stats.log[0][0] + 1.0  # the window the other client opened
        delivery.enqueue(Message("occupancy", time.time(), content="other webhook"))
        (occupancy,) = fake.wait_for(1, hook_id="2")
        fake.wait_for(3, hook_id="1")
        # Webhook 2 has its own bucket but a global 429 blocks every request for retry_after.
        assert occupancy.at >= window_end
        assert fake.stats.rate_limited == 1


class Competitor:
    """Another program posting to the same webhook every `gap_s` seconds, whatever it is told."""

    def __init__(self, url: str, gap_s: float):
        self.url, self.gap_s = url, gap_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with requests.Session() as s:
            s.trust_env = False
            while not self.stop.wait(self.gap_s):
                s.post(self.url + "?wait=true", json={"content": "someone else"}, timeout=2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


NAIVE = RetryPolicy(margin_s=0.0, growth_base_s=0.0)  # retry exactly at retry_after, never longer


@pytest.mark.parametrize("policy, seconds", [(NAIVE, 10.0), (RetryPolicy(), 25.0)], ids=["naive-livelocks", "default"])
def test_429_policy_cannot_livelock_beside_another_poster(make_delivery, policy, seconds):
    """A limiter that counts every attempt, and a second poster using 4 of its 5 requests a second:
    retrying exactly at retry_after keeps the window full for everyone (livelock); the default
    policy's margin and growth let the webhook breathe and every message goes out."""
    n = 6
    with FakeDiscord(limit=5, period=1.0, sliding=True) as fake:
        url = fake.url("1")
        delivery = make_delivery(settings_for(fake, webhook_alerts=url), limits=RateLimits(policy=policy))
        for i in range(n):
            delivery.enqueue(alert(i))
        with Competitor(url, 0.25):
            threading.Event().wait(1.0)  # its traffic is there first
            delivery.start()
            deadline = time.monotonic() + seconds
            while delivery.backlog() and time.monotonic() < deadline:
                threading.Event().wait(0.05)
            delivered = n - delivery.backlog().get("alerts", 0)
            counts = delivery.counters()
    if policy is NAIVE:
        assert delivered <= n // 2, "the livelock did not happen: the naive policy got through"
        assert counts.rate_limited >= seconds  # and hammering: a 429 every second or more
    else:
        assert delivered == n
        assert counts.rate_limited <= 4 * n


def test_a_webhook_that_stays_throttled_is_reported_and_recovers(make_delivery):
    events = []
    with FakeDiscord(limit=0, period=0.2) as fake:  # every request refused with 429
        delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")), publish=events.append,
                                 limits=RateLimits(policy=RetryPolicy(margin_s=0.01, growth_base_s=0.05),
                                                   throttled_after_s=0.3))
        delivery.enqueue(alert(0))
        delivery.start()
        wait_until(lambda: events and events[-1].throttled == ("alerts",))
        assert delivery.backlog() == {"alerts": 1}
        fake.limit = 50
        fake.wait_for(1)
        wait_until(lambda: events[-1].throttled == () and dict(events[-1].backlog)["alerts"] == 0)


def test_invalid_requests_stop_at_the_budget(make_delivery):
    with FakeDiscord(limit=0, period=0.05) as fake:
        delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")),
                                 limits=RateLimits(budget=Budget(limit=4, window_s=600.0),
                                                   policy=RetryPolicy(margin_s=0.0, growth_base_s=0.0)))
        delivery.enqueue(alert(0))
        delivery.start()
        wait_until(lambda: fake.stats.invalid >= 4)
        threading.Event().wait(0.5)  # retries every 0.05 s without the budget: 10 more
        assert fake.stats.invalid == 4


class FlakyOutbox(Outbox):
    """A real outbox whose disk is full for the first `failures` stores."""

    def __init__(self, path, failures: int):
        super().__init__(path)
        self.failures = failures

    def add(self, *args, **kwargs):
        if self.failures > 0:
            self.failures -= 1
            import sqlite3
            raise sqlite3.OperationalError("database or disk is full")
        return super().add(*args, **kwargs)


def test_a_message_the_outbox_cannot_take_waits_in_memory_and_blocks_nothing(fake, tmp_path):
    outbox = FlakyOutbox(tmp_path / "sentinel.db", failures=2)
    delivery = Delivery(outbox, settings_for(fake, webhook_alerts=fake.url("1")), backoff=Backoff(0.02, 0.2))
    try:
        assert delivery.enqueue(alert(0)) is None  # disk full: kept in memory
        assert delivery.enqueue(alert(1)) is None  # behind it, in order (the retry fails too)
        assert delivery.enqueue(alert(2)) is not None  # the disk is back: all three stored, in order
        delivery.start()
        got = fake.wait_for(3)
    finally:
        delivery.stop()
        delivery.close()
    assert [m.content for m in got] == ["msg-0000", "msg-0001", "msg-0002"]


def test_broken_shop_name_still_reaches_discord(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1"), shop_name="Caf\ud83de\x07"))
    assert delivery.enqueue(Message("alerts", time.time(), embeds=({"title": "Router DOWN \udc00"},))) is not None
    delivery.start()
    (got,) = fake.wait_for(1)
    assert got.payload["username"] == "Caf\ufffde" and got.titles == ["Router DOWN \ufffd"]


def test_down_alert_sent_after_its_incident_ended_is_marked_late(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1")))
    now = time.time()
    number = delivery.incident_number("internet", now - 30)
    assert delivery.incident_number("internet", now - 30) == number  # the same incident, the same number
    delivery.enqueue(Message("alerts", now - 20, embeds=({"title": "Internet DOWN"},), incident=number))
    delivery.enqueue(Message("alerts", now - 1, embeds=({"title": "Internet RESTORED"},), incident=number,
                             closes=True))
    delivery.start()
    down, restored = fake.wait_for(2)
    assert "delivered late; happened at" in down.content  # 20 s old, but its incident is over
    assert restored.content == ""
    assert down.payload["embeds"][0]["footer"]["text"] == f"Test Cafe · Incident #{number}"


def test_a_database_error_does_not_end_the_sender(fake, tmp_path):
    class BrokenOnce(Outbox):
        broken = True

        def head(self, kind):
            if kind == "alerts" and self.broken:
                self.broken = False
                import sqlite3
                raise sqlite3.OperationalError("disk I/O error")
            return super().head(kind)

    delivery = Delivery(BrokenOnce(tmp_path / "sentinel.db"), settings_for(fake, webhook_alerts=fake.url("1")),
                        backoff=Backoff(0.02, 0.2))
    try:
        delivery.enqueue(alert(0))
        delivery.start()
        assert [m.content for m in fake.wait_for(1)] == ["msg-0000"]
    finally:
        delivery.stop()
        delivery.close()


def test_a_shop_named_after_discord_still_gets_its_messages_through(fake, make_delivery):
    delivery = make_delivery(settings_for(fake, webhook_alerts=fake.url("1"), shop_name="Discord Gamers Cafe"))
    delivery.enqueue(alert(0))
    delivery.start()
    (got,) = fake.wait_for(1)
    assert got.payload["username"] == "Disc\u043erd Gamers Cafe"  # looks the same; Discord would refuse the real word
    assert got.payload["embeds"][0]["footer"]["text"] == "Discord Gamers Cafe"
    assert fake.stats.rejected_400 == 0
