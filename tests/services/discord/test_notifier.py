"""Notifier: events -> messages, with a fake clock and a hand-written sink (plus one real delivery)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from sentinel.charts import BAR, BAR_HIGHLIGHT, HEIGHT, WIDTH
from sentinel.config.model import DiscordSettings
from sentinel.events import (
    Blip,
    Component,
    ConfigRejected,
    DeliveryStatus,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    IncidentReminder,
    MonitorStatus,
    OccupancySnapshot,
    PcState,
    PcStatus,
    PrivacyChanged,
    SessionEnded,
    SessionStarted,
    TargetStatus,
)
from sentinel.services.discord.delivery import Delivery
from sentinel.services.discord.limits import validate_payload
from sentinel.services.discord.messages import Message, finish_payload
from sentinel.services.discord.notifier import Notifier, NotifierTimer
from sentinel.services.discord.outbox import Outbox
from sentinel.services.recording.storage import Storage
from tests.helpers.apprun import wait_until
from tests.helpers.fake_discord import FakeDiscord

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000.0


class FakeSink:
    """Records messages; every one must be a valid Discord payload."""

    def __init__(self, kinds=("alerts", "occupancy", "screenshots")):
        self.kinds = set(kinds)
        self.messages: list[Message] = []
        self.boards: list[Message] = []
        self.shop_name = "Test Cafe"
        self.numbers: dict = {}

    def accepts(self, kind):
        return kind in self.kinds

    def enqueue(self, message):
        assert message.kind in self.kinds
        assert validate_payload(finish_payload(message, self.shop_name), message.files) == []
        self.messages.append(message)
        return len(self.messages)

    def incident_number(self, key, started_wall):
        return self.numbers.setdefault((key, started_wall), len(self.numbers) + 1)

    def update_board(self, message):
        assert validate_payload(finish_payload(message, self.shop_name)) == []
        self.boards.append(message)

    def titles(self, kind=None):
        return [e.get("title", "") for m in self.messages if kind in (None, m.kind) for e in m.embeds]


class FakeClock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def fields(message: Message) -> dict:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


def local(wall):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))


@pytest.fixture
def sink():
    return FakeSink()


@pytest.fixture
def clock():
    return FakeClock()


def make(sink, clock, **kwargs):
    kwargs.setdefault("batch_delay_seconds", 30.0)
    return Notifier(sink, clock=clock, wall_clock=lambda: T0 + clock.now, **kwargs)


@pytest.mark.parametrize("component, title", [
    (Component.ROUTER, "Router DOWN"), (Component.INTERNET, "Internet DOWN"), (Component.LAN_LINK, "LAN link DOWN"),
    (Component.LAN, "LAN DOWN"), (Component.SERVER, "Server DOWN"),
])
def test_incident_confirmed_is_a_down_alert(sink, clock, component, title):
    notifier = make(sink, clock)
    notifier.on_event(IncidentConfirmed("k", component, T0, T0 + 10, 4))
    (message,) = sink.messages
    assert message.kind == "alerts" and message.embeds[0]["title"] == title
    assert message.incident == 1 and message.created_wall == T0 + 10
    assert fields(message)["PCs in session"] == "4"


def test_incident_ended_is_restored_with_the_same_number_and_evidence(sink, clock):
    webp = b"RIFF\x10\x00\x00\x00WEBPVP8 fake"
    notifier = make(sink, clock, evidence=lambda event: webp)
    notifier.on_event(IncidentConfirmed("k", Component.INTERNET, T0, T0 + 10, 7))
    notifier.on_event(IncidentReminder("k", Component.INTERNET, T0, T0 + 3600, 3600.0))
    notifier.on_event(IncidentEnded("k", Component.INTERNET, T0, T0 + 3725, 3725.0, 7, 5))
    assert len(sink.messages) == 2  # the capture is slow: the timer thread does it
    assert notifier.flush_due(clock.now) == 1
    down, reminder, restored = sink.messages
    assert [m.embeds[0]["title"] for m in sink.messages] == [
        "Internet DOWN", "Internet still DOWN (1:00:00)", "Internet RESTORED"]
    assert down.incident == reminder.incident == restored.incident == 1 and restored.closes
    assert fields(restored)["Duration"] == "1:02:05"
    assert restored.embeds[0]["image"] == {"url": "attachment://evidence.webp"}
    assert [(f.filename, f.data) for f in restored.files] == [("evidence.webp", webp)]


def test_no_evidence_in_privacy_mode_or_on_capture_failure(sink, clock):
    results = iter([None, RuntimeError("no display")])

    def evidence(event):
        value = next(results)
        if isinstance(value, Exception):
            raise value
        return value

    notifier = make(sink, clock, evidence=evidence)
    for _ in range(2):
        notifier.on_event(IncidentEnded("k", Component.ROUTER, T0, T0 + 60, 60.0, 1, 1))
    notifier.flush_due(clock.now)
    assert sink.titles() == ["Router RESTORED"] * 2
    assert all(m.files == () and "image" not in m.embeds[0] for m in sink.messages)


def test_alert_order_is_kept_behind_an_evidence_capture(sink, clock):
    notifier = make(sink, clock, evidence=lambda event: b"RIFFxxxxWEBP")
    notifier.on_event(IncidentConfirmed("k", Component.SERVER, T0, T0 + 10, 0))
    notifier.on_event(IncidentEnded("k", Component.SERVER, T0, T0 + 60, 60.0, 0, 0))
    notifier.on_event(PrivacyChanged(True, T0 + 61, T0 + 3661, "password"))
    notifier.flush_due(clock.now)
    assert sink.titles() == ["Server DOWN", "Server RESTORED", "Privacy mode ON"]


def test_blips_and_opened_incidents_are_not_sent(sink, clock):
    notifier = make(sink, clock)
    notifier.on_event(IncidentOpened("k", Component.ROUTER, T0, 3))
    notifier.on_event(Blip("k", Component.ROUTER, T0, T0 + 4, 4.0))
    notifier.flush_all()
    assert sink.messages == []


def test_privacy_on_and_off(sink, clock):
    notifier = make(sink, clock)
    notifier.on_event(PrivacyChanged(True, T0, T0 + 3600, "password"))
    notifier.on_event(PrivacyChanged(False, T0 + 3600, None, "expired"))
    assert sink.titles() == ["Privacy mode ON", "Privacy mode OFF"]
    on, off = (m.embeds[0]["description"] for m in sink.messages)
    assert time.strftime("%H:%M:%S", time.localtime(T0 + 3600)) in on and "expired" in off


def test_config_rejected_lists_problems_within_limits(sink, clock):
    notifier = make(sink, clock)
    problems = tuple((f"targets.router{i}", "unknown key") for i in range(40))
    notifier.on_event(ConfigRejected((("", "broken JSON at line 1 column 2"),)))
    notifier.on_event(ConfigRejected(problems))
    first, second = sink.messages
    assert first.embeds[0]["title"].startswith("Config problem")
    assert fields(first) == {"(file)": "broken JSON at line 1 column 2"}
    assert len(second.embeds[0]["fields"]) == 25
    assert "and 16 more" in second.embeds[0]["fields"][-1]["value"]


def started(n, wall=T0):
    return SessionStarted(f"pc{n}", f"PC-{n}", f"198.51.100.{n}", wall)


def ended(n, duration=5400.0, outage=False):
    return SessionEnded(f"pc{n}", f"PC-{n}", f"198.51.100.{n}", T0, T0 + duration, duration, outage)


def test_sessions_make_one_summary_per_batch_window(sink, clock):
    notifier = make(sink, clock, batch_delay_seconds=30)
    notifier.on_event(started(1))
    clock.now += 10
    notifier.on_event(started(2))
    notifier.on_event(ended(3, outage=True))
    assert notifier.flush_due(clock.now + 19.9) == 0  # the window opened 29.9 s ago
    assert notifier.flush_due(clock.now + 20) == 1
    assert sink.titles() == ["Sessions: 2 started, 1 ended"]
    lines = sink.messages[0].embeds[0]["description"].splitlines()
    assert [line.split(" ")[0] for line in lines] == ["PC-1", "PC-2", "PC-3"]
    assert "after 1:30:00" in lines[2] and "ended during outage" in lines[2]
    opened = clock.now + 25
    clock.now = opened
    notifier.on_event(ended(4))  # a new window
    assert notifier.flush_due(opened + 29) == 0
    assert notifier.flush_due(opened + 30) == 1
    assert sink.titles()[-1] == "Sessions: 1 ended"
    assert all(m.kind == "occupancy" for m in sink.messages)


def test_zero_batch_delay_sends_at_once(sink, clock):
    notifier = make(sink, clock, batch_delay_seconds=0)
    notifier.on_event(started(1))
    assert sink.titles() == ["Sessions: 1 started"]


def test_254_sessions_split_into_valid_messages(sink, clock):
    notifier = make(sink, clock)
    for n in range(1, 255):
        notifier.on_event(ended(n, outage=True))
    notifier.flush_all()
    assert len(sink.messages) >= 2  # the sink checked every one against Discord's limits
    text = "\n".join(e["description"] for m in sink.messages for e in m.embeds)
    assert all(f"PC-{n} ended" in text for n in range(1, 255))
    assert sink.titles()[0].startswith("Sessions: 254 ended (part 1/")


def test_snapshot_has_counts_percent_and_a_chart(sink, clock):
    notifier = make(sink, clock)
    for hour in range(30):
        notifier.on_event(OccupancySnapshot(T0 + hour * 3600, hour % 21, 20 if hour % 21 <= 20 else 21,
                                            tuple(f"PC-{n}" for n in range(1, hour % 21 + 1))))
    last = sink.messages[-1]
    embed = last.embeds[0]
    assert "8/20 PCs (40%)" in embed["title"]
    assert fields(last)["PCs in session"] == "8 / 20" and fields(last)["Occupancy"] == "40%"
    assert fields(last)["Names"].splitlines()[0] == "PC-1"
    assert embed["image"] == {"url": "attachment://occupancy.png"}
    chart = Image.open(io.BytesIO(last.files[0].data))
    assert chart.format == "PNG" and chart.size == (WIDTH, HEIGHT)
    assert chart.getbbox() is not None and len(chart.getcolors(100000)) > 2  # bars were drawn


def test_snapshot_chart_draws_the_stored_history_after_a_restart(sink, clock, tmp_path):
    storage = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    for hour in range(5):
        storage.on_event(OccupancySnapshot(T0 + hour * 3600, 10, 20, ()))
    latest = OccupancySnapshot(T0 + 5 * 3600, 10, 20, ())
    storage.on_event(latest)
    notifier = make(sink, clock)  # a fresh notifier, as after a restart
    notifier.on_event(latest)
    alone = Image.open(io.BytesIO(sink.messages[-1].files[0].data))
    notifier = make(sink, clock, history=storage.snapshots_since)
    notifier.on_event(latest)
    stored = Image.open(io.BytesIO(sink.messages[-1].files[0].data))
    storage.close()
    # The five earlier hours appear only from the database.
    pixels = lambda image: sum(1 for colour in image.convert("RGB").get_flattened_data() if colour in (BAR, BAR_HIGHLIGHT))
    assert pixels(stored) > 4 * pixels(alone) > 0


def test_snapshot_of_254_pcs_stays_valid(sink, clock):
    notifier = make(sink, clock)
    names = tuple(f"VIP-Gaming-Seat-{n:03d}" for n in range(254))
    notifier.on_event(OccupancySnapshot(T0, 254, 254, names))
    assert "… and" in fields(sink.messages[0])["Names"]


def test_disabled_kinds_build_nothing(clock):
    sink = FakeSink(kinds=())
    calls = []
    notifier = make(sink, clock, evidence=lambda event: calls.append(1))
    notifier.on_event(IncidentEnded("k", Component.ROUTER, T0, T0 + 60, 60.0, 1, 1))
    notifier.on_event(started(1))
    notifier.on_event(OccupancySnapshot(T0, 1, 2, ("PC-1",)))
    assert notifier.send_screenshot(b"RIFFxxxxWEBP", T0) is None
    notifier.flush_all()
    assert sink.messages == [] and calls == []  # no capture for a channel that is off


def test_send_screenshot_queues_on_the_screenshots_channel(sink, clock):
    notifier = make(sink, clock)
    notifier.send_screenshot(b"RIFFxxxxWEBP", T0)
    (message,) = sink.messages
    assert message.kind == "screenshots" and message.created_wall == T0
    assert message.files[0].filename == "screenshot.webp"
    assert message.embeds[0]["image"]["url"] == "attachment://screenshot.webp"


def test_timer_flushes_and_final_flush_on_stop(sink):
    notifier = Notifier(sink, batch_delay_seconds=3600)
    stop = threading.Event()
    timer = NotifierTimer(notifier, stop, period_s=0.01)
    timer.start()
    notifier.on_event(started(1))
    stop.set()
    timer.join(2)
    assert sink.titles() == ["Sessions: 1 started"]


def test_end_to_end_through_the_outbox(tmp_path):
    with FakeDiscord(limit=50, period=1.0) as fake:
        delivery = Delivery(Outbox(tmp_path / "sentinel.db"), DiscordSettings(
            enabled=True, shop_name="Pixel Cafe", webhook_alerts=fake.url("1"), webhook_occupancy=fake.url("2")))
        notifier = Notifier(delivery, batch_delay_seconds=0, evidence=lambda event: b"RIFF\x00\x00\x00\x00WEBPfake")
        try:
            delivery.start()
            notifier.on_event(IncidentConfirmed("k", Component.ROUTER, T0, T0 + 10, 2))
            notifier.on_event(IncidentEnded("k", Component.ROUTER, T0, T0 + 70, 70.0, 2, 3))
            notifier.flush_due()
            batching = Notifier(delivery, batch_delay_seconds=30)
            for n in range(1, 255):
                batching.on_event(ended(n))
            batching.flush_all()
            alerts = fake.wait_for(2, hook_id="1")
            fake.wait_for(2, hook_id="2")
            wait_until(lambda: not delivery.backlog(), timeout=10, what="outbox drained", interval=0.01)
        finally:
            delivery.stop()
            delivery.close()
    assert [m.titles[0] for m in alerts] == ["Router DOWN", "Router RESTORED"]
    assert [m.payload["embeds"][0]["footer"]["text"] for m in alerts] == ["Pixel Cafe · Incident #1"] * 2
    assert alerts[1].files == {"evidence.webp": b"RIFF\x00\x00\x00\x00WEBPfake"}
    occupancy = fake.messages("2")
    assert fake.stats.rejected_400 == 0
    text = "\n".join(e["description"] for m in occupancy for e in m.payload["embeds"])
    assert all(f"PC-{n} ended" in text for n in range(1, 255))


def test_a_failing_alert_never_blocks_the_ones_after_it(sink, clock):
    notifier = make(sink, clock, evidence=lambda event: b"RIFFxxxxWEBP")
    real_enqueue = sink.enqueue
    calls = []

    def enqueue(message):
        calls.append(message)
        if len(calls) == 1:
            raise RuntimeError("the outbox refused it")
        return real_enqueue(message)

    sink.enqueue = enqueue
    notifier.on_event(IncidentEnded("k", Component.SERVER, T0, T0 + 60, 60.0, 0, 0))  # fails to queue
    notifier.on_event(IncidentConfirmed("k2", Component.ROUTER, T0 + 61, T0 + 71, 0))
    notifier.flush_due(clock.now)
    notifier.on_event(PrivacyChanged(True, T0 + 80, T0 + 3680, "password"))
    assert sink.titles() == ["Router DOWN", "Privacy mode ON"]
    assert notifier.pending()["alerts"] == 0


def test_throttled_webhook_is_alerted_once(sink, clock):
    notifier = make(sink, clock)
    for throttled in [(), ("occupancy",), ("occupancy",), (), ("occupancy",)]:
        notifier.on_event(DeliveryStatus(backlog=(), dead=(), throttled=throttled))
    assert sink.titles() == ["Discord is holding back the occupancy messages"] * 2


def status(in_session=1, internet=Health.UP, at=T0):
    targets = (TargetStatus(Component.ROUTER, "r", Health.UP, T0 - 60, 1.0),
               TargetStatus(Component.INTERNET, "i", internet, T0 - 60, 5.0))
    pcs = tuple(PcStatus(n, f"PC-{n}", f"ip{n}", PcState.IN_SESSION if n <= in_session else PcState.OFF, None, None)
                for n in range(1, 6))
    return MonitorStatus(at, True, True, False, targets, pcs, 0)


def test_status_board_only_on_change_and_at_most_once_a_minute(sink, clock):
    notifier = make(sink, clock)
    notifier.on_event(status(1))
    notifier.flush_due(clock.now)
    assert len(sink.boards) == 1  # the first picture at once
    for second in range(1, 60):  # changes every second: nothing before the minute is over
        notifier.on_event(status(1 + second % 3, at=T0 + second))
        notifier.flush_due(clock.now + second)
    assert len(sink.boards) == 1
    notifier.on_event(status(4, at=T0 + 60))
    notifier.flush_due(clock.now + 60)
    assert len(sink.boards) == 2
    assert [f["value"] for f in sink.boards[-1].embeds[0]["fields"]][0] == "4 / 5"
    for second in range(61, 200):  # no change: no edit
        notifier.on_event(status(4, at=T0 + second))
        notifier.flush_due(clock.now + second)
    assert len(sink.boards) == 2
    notifier.on_event(status(4, internet=Health.DOWN, at=T0 + 200))
    notifier.flush_due(clock.now + 200)
    assert sink.boards[-1].embeds[0]["title"] == "Now: Internet DOWN"
    notifier.on_event(status(2, at=T0 + 201))
    notifier.flush_all()  # a clean stop does not break the minute either
    assert len(sink.boards) == 3
    notifier.reconfigure(30.0, True, status_board=False)
    notifier.on_event(status(0, at=T0 + 300))
    notifier.flush_due(clock.now + 300)
    assert len(sink.boards) == 3
