"""Screenshots and privacy mode: real captures under Xvfb, fake clocks for the decisions."""

from __future__ import annotations

import logging
import queue
import threading
import time
from io import BytesIO

import pytest
from mss.exception import ScreenShotError
from PIL import Image

from sentinel.bus import EventBus
from sentinel.config.model import ScreenshotSettings
from sentinel.events import PrivacyChanged
from sentinel.services.screens.privacy import PrivacyMode
from sentinel.services.screens.screenshots import (
    MAX_WAIT_S,
    CaptureError,
    Frame,
    Screenshotter,
    capture_webp,
    encode_webp,
    grab_primary,
    plan_routine,
)

DEADLINE_S = 5.0
RED = (255, 0, 0)
WHITE = (255, 255, 255)
# The Tk test window: left half red, right half white, at a known place on the screen.
WIN_X, WIN_Y, WIN_W, WIN_H = 300, 200, 400, 300


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """Bus subscriber keeping PrivacyChanged events; wait_for() polls with a deadline."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[PrivacyChanged] = []
        self._cond = threading.Condition()
        bus.subscribe(self)

    def __call__(self, event) -> None:
        if isinstance(event, PrivacyChanged):
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = DEADLINE_S) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: any(predicate(e) for e in self.events), timeout)


class CountingGrab:
    """A grab function that counts its calls and returns a small synthetic screen."""

    def __init__(self, width: int = 64, height: int = 48, fail_first: int = 0) -> None:
        self.calls: list[float] = []
        self.size = (width, height)
        self.fail_first = fail_first

    def __call__(self) -> Frame:
        self.calls.append(time.time())
        if len(self.calls) <= self.fail_first:
            raise ScreenShotError("XGetImage() failed (screen locked)")
        width, height = self.size
        return Frame(width, height, bytes((0, 0, 255, 0)) * (width * height))  # BGRX red


def settings(**overrides) -> ScreenshotSettings:
    values = dict(enabled=True, interval_minutes=60.0, quality=80, resize_ratio=1.0, privacy_minutes=60.0)
    values.update(overrides)
    return ScreenshotSettings(**values)


def decode(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    assert image.format == "WEBP"
    return image.convert("RGB")


def near(pixel, colour, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


# --- real screen under Xvfb -------------------------------------------------------------

@pytest.fixture
def tk_window(xvfb_display):
    tkinter = pytest.importorskip("tkinter")
    root = tkinter.Tk(screenName=xvfb_display.display)
    root.overrideredirect(True)
    root.geometry(f"{WIN_W}x{WIN_H}+{WIN_X}+{WIN_Y}")
    canvas = tkinter.Canvas(root, width=WIN_W, height=WIN_H, highlightthickness=0, bd=0, bg="white")
    canvas.place(x=0, y=0)
    canvas.create_rectangle(0, 0, WIN_W // 2, WIN_H, fill="#ff0000", width=0)
    root.update()
    # Wait (bounded) until the X server really shows the window before asserting on captures.
    deadline = time.monotonic() + DEADLINE_S
    centre = (WIN_X + WIN_W // 4, WIN_Y + WIN_H // 2)
    while True:
        root.update()
        frame = grab_primary()
        shown = Image.frombytes("RGB", (frame.width, frame.height), frame.bgrx, "raw", "BGRX")
        if shown.getpixel(centre) == RED:
            break
        assert time.monotonic() < deadline, "the Tk window never appeared on the Xvfb screen"
        time.sleep(0.02)
    yield root
    root.destroy()


@pytest.mark.needs_display
@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_capture_webp_shows_the_window(tk_window, ratio):
    data = capture_webp(quality=80, resize_ratio=ratio)

    image = decode(data)
    assert image.size == (round(1920 * ratio), round(1080 * ratio))
    assert image.getbbox() is not None

    def at(x, y):
        return image.getpixel((round(x * ratio), round(y * ratio)))

    assert near(at(WIN_X + WIN_W // 4, WIN_Y + WIN_H // 2), RED)
    assert near(at(WIN_X + 3 * WIN_W // 4, WIN_Y + WIN_H // 2), WHITE)
    assert near(at(WIN_X + WIN_W + 200, WIN_Y + WIN_H + 200), (0, 0, 0))  # bare Xvfb root is black


@pytest.mark.needs_display
def test_evidence_from_the_real_screen(tk_window):
    privacy = PrivacyMode(EventBus())
    shooter = Screenshotter(settings(resize_ratio=0.25, quality=50), privacy, deliver=lambda *_: None)

    image = decode(shooter.evidence())

    assert image.size == (480, 270)
    assert near(image.getpixel(((WIN_X + WIN_W // 4) // 4, (WIN_Y + WIN_H // 2) // 4)), RED, tolerance=60)


@pytest.mark.needs_display
def test_empty_xvfb_screen_is_black_but_captured(xvfb_display):
    image = decode(capture_webp(quality=80, resize_ratio=0.5))
    assert image.size == (960, 540)
    assert image.getbbox() is None  # guards the "not blank" assertion above against false passes


# --- encoding and errors (no display needed) --------------------------------------------

def test_encode_resizes_and_keeps_colour():
    frame = CountingGrab(200, 100)()
    image = decode(encode_webp(frame, quality=80, resize_ratio=0.5))
    assert image.size == (100, 50)
    assert near(image.getpixel((50, 25)), RED)


def test_capture_translates_grab_failures():
    def locked():
        raise ScreenShotError("XGetImage() failed")

    with pytest.raises(CaptureError, match="cannot grab the screen: XGetImage"):
        capture_webp(80, 1.0, grab=locked)


def test_capture_translates_encode_failures():
    with pytest.raises(CaptureError, match="cannot encode"):
        capture_webp(80, 1.0, grab=lambda: Frame(100, 100, b"\0" * 10))


def test_no_display_returns_none_and_logs_once(monkeypatch, caplog):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    shooter = Screenshotter(settings(), PrivacyMode(EventBus()), deliver=lambda *_: None)

    with caplog.at_level(logging.INFO, logger="sentinel.services.screens.screenshots"):
        results = [shooter.evidence() for _ in range(3)]

    assert results == [None, None, None]
    unavailable = [r for r in caplog.records if "screenshots unavailable" in r.getMessage()]
    assert len(unavailable) == 1
    assert unavailable[0].levelno == logging.WARNING


def test_failure_logged_once_and_recovery_once(caplog):
    grab = CountingGrab(fail_first=3)
    shooter = Screenshotter(settings(), PrivacyMode(EventBus()), deliver=lambda *_: None, grab=grab)

    with caplog.at_level(logging.INFO, logger="sentinel.services.screens.screenshots"):
        results = [shooter.evidence() for _ in range(6)]

    assert [r is None for r in results] == [True, True, True, False, False, False]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("screenshots unavailable" in m for m in messages) == 1
    assert sum("available again" in m for m in messages) == 1


def test_disabled_takes_no_capture():
    grab = CountingGrab()
    shooter = Screenshotter(settings(enabled=False), PrivacyMode(EventBus()), deliver=lambda *_: None, grab=grab)
    assert shooter.evidence() is None
    assert grab.calls == []
    shooter.reconfigure(settings(enabled=True, resize_ratio=0.5))
    assert decode(shooter.evidence()).size == (32, 24)
    assert len(grab.calls) == 1


# --- privacy mode -------------------------------------------------------------------------

def test_privacy_on_off_publishes_events():
    bus, clock = EventBus(), FakeClock()
    seen = Recorder(bus)
    privacy = PrivacyMode(bus, default_minutes=60)

    privacy.turn_on(clock())
    assert privacy.is_on(clock())
    clock.advance(600)
    assert privacy.turn_off(clock()) is not None
    assert not privacy.is_on(clock())
    assert privacy.turn_off(clock()) is None  # already off: nothing published

    assert [(e.on, e.reason) for e in seen.events] == [(True, "password"), (False, "turned off")]
    assert seen.events[0].until_wall == clock.now - 600 + 3600
    assert seen.events[1].at_wall == clock.now


def test_privacy_expires_and_publishes_once():
    bus, clock = EventBus(), FakeClock()
    seen = Recorder(bus)
    privacy = PrivacyMode(bus, default_minutes=60)
    started = clock()
    privacy.turn_on(started, minutes=5)

    clock.advance(5 * 60 - 1)
    assert privacy.check(clock())
    clock.advance(1)
    assert not privacy.check(clock())
    assert not privacy.is_on(clock() + 10)

    assert [(e.on, e.reason) for e in seen.events] == [(True, "password"), (False, "expired")]
    assert seen.events[1].at_wall == started + 300  # when it expired, not when it was noticed


def test_privacy_default_minutes_follow_config():
    bus, clock = EventBus(), FakeClock()
    privacy = PrivacyMode(bus)
    shooter = Screenshotter(settings(privacy_minutes=15), privacy, deliver=lambda *_: None, grab=CountingGrab())
    assert privacy.turn_on(clock()).until_wall == clock() + 15 * 60
    shooter.reconfigure(settings(privacy_minutes=30))
    assert privacy.turn_on(clock()).until_wall == clock() + 30 * 60


def test_privacy_on_means_no_grab_at_all():
    bus, clock = EventBus(), FakeClock()
    grab = CountingGrab()
    privacy = PrivacyMode(bus)
    shooter = Screenshotter(settings(), privacy, deliver=lambda *_: None, grab=grab, wall_clock=clock)

    privacy.turn_on(clock(), minutes=10)
    assert [shooter.evidence() for _ in range(3)] == [None, None, None]
    assert grab.calls == []

    clock.advance(10 * 60)  # expired
    assert shooter.evidence() is not None
    assert len(grab.calls) == 1


def test_capture_dropped_if_privacy_turned_on_during_it():
    bus, clock = EventBus(), FakeClock()
    privacy = PrivacyMode(bus)
    inner = CountingGrab()

    def grab_then_privacy_on():
        frame = inner()
        privacy.turn_on(clock())  # the owner switched it on while the capture was running
        return frame

    shooter = Screenshotter(settings(), privacy, deliver=lambda *_: None, grab=grab_then_privacy_on,
                            wall_clock=clock)
    assert shooter.evidence() is None
    assert len(inner.calls) == 1


# --- routine schedule (pure) ---------------------------------------------------------------

@pytest.mark.parametrize(
    "anchor, interval, now, expected",
    [
        (0.0, 60.0, 0.0, (False, 0.0, 60.0)),
        (0.0, 60.0, 59.9, (False, 0.0, 60.0)),
        (0.0, 60.0, 60.0, (True, 60.0, 120.0)),
        (0.0, 60.0, 61.5, (True, 60.0, 120.0)),  # late tick: stays on the grid, no drift
        (0.0, 60.0, 250.0, (True, 240.0, 300.0)),  # missed slots collapse into one capture
        (100.0, 3600.0, 1000.0, (False, 100.0, 3700.0)),
        (100.0, 600.0, 1000.0, (True, 700.0, 1300.0)),  # interval shortened: due at once
    ],
)
def test_plan_routine(anchor, interval, now, expected):
    plan = plan_routine(anchor, interval, now)
    assert (plan.capture, plan.anchor, plan.due) == expected


def test_plan_routine_fake_clock_day():
    clock = FakeClock(start=0.0)
    anchor, captures = clock(), []
    for _ in range(24 * 60):  # one simulated day in one-minute steps
        clock.advance(60)
        plan = plan_routine(anchor, 3600.0, clock())
        anchor = plan.anchor
        if plan.capture:
            captures.append(clock())
    assert captures == [3600.0 * h for h in range(1, 25)]


# --- routine thread ------------------------------------------------------------------------

def test_routine_thread_delivers_and_stops():
    delivered: queue.Queue = queue.Queue()
    grab = CountingGrab()
    shooter = Screenshotter(settings(interval_minutes=0.001, resize_ratio=0.5), PrivacyMode(EventBus()),
                            deliver=lambda data, taken: delivered.put((data, taken)), grab=grab)
    before = time.time()
    shooter.start()
    try:
        items = [delivered.get(timeout=DEADLINE_S) for _ in range(3)]
    finally:
        started_stop = time.monotonic()
        shooter.stop()
    assert time.monotonic() - started_stop < MAX_WAIT_S + 1.0
    for data, taken in items:
        assert decode(data).size == (32, 24)
        assert before <= taken <= time.time()


def test_routine_interval_change_applies_without_restart():
    delivered: queue.Queue = queue.Queue()
    shooter = Screenshotter(settings(interval_minutes=60), PrivacyMode(EventBus()),
                            deliver=lambda data, taken: delivered.put(data), grab=CountingGrab())
    shooter.start()
    try:
        with pytest.raises(queue.Empty):
            delivered.get(timeout=0.3)
        shooter.reconfigure(settings(interval_minutes=0.001))
        assert delivered.get(timeout=MAX_WAIT_S + DEADLINE_S)
    finally:
        shooter.stop()


def test_scheduler_notices_privacy_expiry_without_any_capture():
    bus = EventBus()
    seen = Recorder(bus)
    privacy = PrivacyMode(bus)
    grab = CountingGrab()
    shooter = Screenshotter(settings(interval_minutes=60), privacy, deliver=lambda *_: None, grab=grab)
    privacy.turn_on(time.time(), minutes=0.2 / 60)
    shooter.start()
    try:
        # Nobody calls is_on() and no capture is due: the scheduler's check() must publish it.
        assert seen.wait_for(lambda e: not e.on and e.reason == "expired", MAX_WAIT_S + DEADLINE_S)
    finally:
        shooter.stop()
    assert grab.calls == []


def test_routine_skips_during_privacy_and_resumes_after_expiry():
    bus = EventBus()
    seen = Recorder(bus)
    privacy = PrivacyMode(bus)
    grab = CountingGrab()
    delivered: queue.Queue = queue.Queue()
    shooter = Screenshotter(settings(interval_minutes=0.001), privacy,
                            deliver=lambda data, taken: delivered.put(taken), grab=grab)
    on = privacy.turn_on(time.time(), minutes=0.6 / 60)  # 0.6 s: ~10 routine slots fall inside it
    shooter.start()
    try:
        assert seen.wait_for(lambda e: not e.on and e.reason == "expired"), "expiry never published"
        delivered.get(timeout=DEADLINE_S)
    finally:
        shooter.stop()
    assert grab.calls, "routine captures did not resume after privacy expired"
    assert min(grab.calls) >= on.until_wall, "the screen was grabbed while privacy mode was on"


def test_routine_survives_failing_capture_and_deliver(caplog):
    grab = CountingGrab(fail_first=2)
    delivered: queue.Queue = queue.Queue()
    calls = []

    def deliver(data, taken):
        calls.append(taken)
        if len(calls) == 1:
            raise RuntimeError("outbox full")
        delivered.put(data)

    shooter = Screenshotter(settings(interval_minutes=0.001), PrivacyMode(EventBus()), deliver=deliver, grab=grab)
    with caplog.at_level(logging.INFO, logger="sentinel.services.screens.screenshots"):
        shooter.start()
        try:
            delivered.get(timeout=DEADLINE_S)
        finally:
            shooter.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("screenshots unavailable" in m for m in messages) == 1
    assert any("delivering a routine screenshot failed" in m for m in messages)
