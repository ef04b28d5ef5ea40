"""Screenshots: capture the primary monitor as WebP, routinely and as incident evidence.

capture_webp() is the edge (mss + Pillow). Screenshotter is the service: it honours
privacy mode (no grab at all while it is on), the enabled flag and hot-reloaded settings,
and runs the routine capture thread. Failures (no display, locked screen) are data: the
capture is skipped and logged once when failing starts and once when it recovers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from io import BytesIO
from typing import Callable

import mss
from mss.exception import ScreenShotError
from PIL import Image

from sentinel.config.model import ScreenshotSettings
from sentinel.errors import SentinelError
from sentinel.services.screens.privacy import PrivacyMode

log = logging.getLogger(__name__)

# libwebp effort 0..6. bench/bench_capture.py on a 1080p desktop-like screen, q80: method 2
# is 2% bigger than Pillow's default 4 at about half its time; 5/6 save another 8% for 2-5x
# the time; 0/1 are a little faster but 11% bigger (more to upload after an outage).
WEBP_METHOD = 2
# Lanczos keeps small text legible when downscaling (resize only costs 30-60 ms at 1080p).
RESIZE_FILTER = Image.Resampling.LANCZOS
# The routine thread re-reads settings and privacy expiry at least this often (seconds).
MAX_WAIT_S = 1.0


class CaptureError(SentinelError):
    """The screen could not be captured or encoded (no display, locked screen, ...)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One grabbed screen: raw BGRX pixels, 4 bytes a pixel, rows top to bottom."""

    width: int
    height: int
    bgrx: bytes


Grab = Callable[[], Frame]
Deliver = Callable[[bytes, float], None]


def grab_primary() -> Frame:
    """Grab the primary monitor with mss (a fresh connection each time: the display may come and go)."""
    with mss.MSS() as sct:
        shot = sct.grab(sct.primary_monitor)
        return Frame(shot.width, shot.height, bytes(shot.bgra))


def grab_frame(grab: Grab = grab_primary) -> Frame:
    """Run a grab function, translating mss/OS failures into CaptureError."""
    try:
        return grab()
    except (ScreenShotError, OSError) as exc:
        raise CaptureError(f"cannot grab the screen: {exc}") from exc


def encode_webp(frame: Frame, quality: int, resize_ratio: float, method: int = WEBP_METHOD) -> bytes:
    """Frame -> RGB -> resized by resize_ratio -> WebP bytes; raises CaptureError."""
    try:
        image = Image.frombytes("RGB", (frame.width, frame.height), frame.bgrx, "raw", "BGRX")
        size = scaled_size(frame.width, frame.height, resize_ratio)
        if size != image.size:
            image = image.resize(size, RESIZE_FILTER)
        out = BytesIO()
        image.save(out, format="WEBP", quality=int(quality), method=method)
    except (OSError, ValueError) as exc:
        raise CaptureError(f"cannot encode the screenshot: {exc}") from exc
    return out.getvalue()


def scaled_size(width: int, height: int, ratio: float) -> tuple[int, int]:
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def capture_webp(quality: int, resize_ratio: float, grab: Grab = grab_primary,
                 method: int = WEBP_METHOD) -> bytes:
    """Capture the primary monitor as WebP bytes; raises CaptureError on failure."""
    return encode_webp(grab_frame(grab), quality, resize_ratio, method)


@dataclass(frozen=True, slots=True)
class RoutinePlan:
    """Decision of one scheduler step: capture now or not, the new anchor, the next due time."""

    capture: bool
    anchor: float
    due: float


def plan_routine(anchor: float, interval_s: float, now: float) -> RoutinePlan:
    """Fixed-rate schedule on the grid anchor + k * interval (monotonic seconds).

    Due when one interval has passed since the anchor. Missed slots (a suspended PC, a
    long failure) collapse into one capture, not a burst. A changed interval applies at
    once because the due time is always derived from the anchor and the current interval.
    """
    due = anchor + interval_s
    if now < due:
        return RoutinePlan(False, anchor, due)
    slots = math.floor((now - anchor) / interval_s)
    new_anchor = anchor + slots * interval_s
    return RoutinePlan(True, new_anchor, new_anchor + interval_s)


class Screenshotter:
    """Routine and evidence captures, honouring privacy mode and hot-reloaded settings.

    `deliver(webp_bytes, taken_wall)` receives routine captures on this service's own
    thread; it should only queue them (the Discord outbox). evidence() is synchronous and
    takes one capture+encode (tens to hundreds of ms): call it from a worker, not from a bus
    subscriber on the monitor's thread.
    """

    def __init__(self, settings: ScreenshotSettings, privacy: PrivacyMode, deliver: Deliver, *,
                 grab: Grab = grab_primary, wall_clock: Callable[[], float] = time.time,
                 mono_clock: Callable[[], float] = time.monotonic, method: int = WEBP_METHOD) -> None:
        self._settings = settings
        self.privacy = privacy
        self._deliver = deliver
        self._grab = grab
        self._wall = wall_clock
        self._mono = mono_clock
        self._method = method
        self._failing = False
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        privacy.set_default_minutes(settings.privacy_minutes)

    @property
    def settings(self) -> ScreenshotSettings:
        return self._settings

    def reconfigure(self, settings: ScreenshotSettings) -> None:
        """Apply new settings; the routine thread picks them up within MAX_WAIT_S."""
        self._settings = settings
        self.privacy.set_default_minutes(settings.privacy_minutes)

    def evidence(self) -> bytes | None:
        """One capture for incident evidence; None if privacy is on, disabled, or it failed."""
        if not self._settings.enabled:
            return None
        return self._capture()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("Screenshotter already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="screenshots", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the routine thread; a capture in progress finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        anchor = self._mono()
        while not self._stop.is_set():
            try:
                anchor, wait_s = self._step(anchor)
            except Exception:
                log.exception("screenshot scheduler step failed")
                wait_s = MAX_WAIT_S
            self._stop.wait(min(max(wait_s, 0.0), MAX_WAIT_S))

    def _step(self, anchor: float) -> tuple[float, float]:
        self.privacy.check(self._wall())  # publishes expiry even if no capture is due
        settings = self._settings
        plan = plan_routine(anchor, settings.interval_minutes * 60.0, self._mono())
        if plan.capture and settings.enabled:
            taken_wall = self._wall()
            data = self._capture()
            if data is not None:
                try:
                    self._deliver(data, taken_wall)
                except Exception:
                    log.exception("delivering a routine screenshot failed")
        return plan.anchor, plan.due - self._mono()

    def _capture(self) -> bytes | None:
        settings = self._settings
        try:
            with self.privacy.holding_off(self._wall()) as privacy_off:
                if not privacy_off:
                    return None
                frame = grab_frame(self._grab)
            data = encode_webp(frame, settings.quality, settings.resize_ratio, self._method)
        except CaptureError as exc:
            self._note_failure(exc)
            return None
        if self.privacy.is_on(self._wall()):
            return None  # turned on while we were encoding: drop it
        self._note_success()
        return data

    def _note_failure(self, exc: CaptureError) -> None:
        with self._state_lock:
            first = not self._failing
            self._failing = True
        if first:
            log.warning("screenshots unavailable: %s", exc)

    def _note_success(self) -> None:
        with self._state_lock:
            recovered = self._failing
            self._failing = False
        if recovered:
            log.info("screenshots available again")
