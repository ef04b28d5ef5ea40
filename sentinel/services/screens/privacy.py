"""Privacy mode: while on, no screenshot of any kind is taken. Auto-expires.

The password dialogs (desktop) verify the password and then call turn_on/turn_off; this
module only holds the state. Every change, including expiry, is published as
PrivacyChanged on the bus. Time is always passed in (wall-clock epoch seconds), so the
state is testable with a fake clock; expiry is noticed by whoever calls is_on()/check()
first, and the screenshot scheduler calls check() at least once a second.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from sentinel.bus import EventBus
from sentinel.events import PrivacyChanged

REASON_ON = "password"
REASON_OFF = "turned off"
REASON_EXPIRED = "expired"


class PrivacyMode:
    """On/off with an expiry time; thread-safe; publishes PrivacyChanged on every change."""

    def __init__(self, bus: EventBus, default_minutes: float = 60.0) -> None:
        self._bus = bus
        self._default_minutes = float(default_minutes)
        self._until_wall: float | None = None
        # Re-entrant: a bus subscriber may call is_on() while we publish on this thread.
        self._lock = threading.RLock()

    @property
    def default_minutes(self) -> float:
        return self._default_minutes

    def set_default_minutes(self, minutes: float) -> None:
        """Applies to the next turn_on() without a duration; a running period keeps its end."""
        self._default_minutes = float(minutes)

    def until_wall(self, now_wall: float) -> float | None:
        """When privacy ends, or None if it is off."""
        with self._lock:
            self._expire(now_wall)
            return self._until_wall

    def turn_on(self, now_wall: float, minutes: float | None = None, reason: str = REASON_ON) -> PrivacyChanged:
        """Start (or extend/shorten) privacy for `minutes` from now (default: the configured minutes)."""
        duration_min = self._default_minutes if minutes is None else float(minutes)
        if duration_min <= 0:
            raise ValueError(f"privacy minutes must be positive (got {minutes!r})")
        with self._lock:
            self._until_wall = now_wall + duration_min * 60.0
            event = PrivacyChanged(on=True, at_wall=now_wall, until_wall=self._until_wall, reason=reason)
            self._bus.publish(event)
            return event

    def turn_off(self, now_wall: float, reason: str = REASON_OFF) -> PrivacyChanged | None:
        """End privacy now; None (and nothing published) if it was already off."""
        with self._lock:
            if self._expire(now_wall) or self._until_wall is None:
                return None
            return self._switch_off(now_wall, reason)

    def is_on(self, now_wall: float) -> bool:
        """True while privacy is on; an elapsed period is switched off (and published) here."""
        with self._lock:
            self._expire(now_wall)
            return self._until_wall is not None

    def check(self, now_wall: float) -> bool:
        """For the scheduler: notice expiry even when nothing asks for a capture. Same as is_on()."""
        return self.is_on(now_wall)

    @contextlib.contextmanager
    def holding_off(self, now_wall: float) -> Iterator[bool]:
        """Yields whether privacy is off and keeps it from being turned on until the block ends.

        The screen grab runs inside this block, so once turn_on() has returned no grab starts.
        """
        with self._lock:
            self._expire(now_wall)
            yield self._until_wall is None

    def _expire(self, now_wall: float) -> bool:
        if self._until_wall is not None and now_wall >= self._until_wall:
            self._switch_off(self._until_wall, REASON_EXPIRED)
            return True
        return False

    def _switch_off(self, at_wall: float, reason: str) -> PrivacyChanged:
        self._until_wall = None
        event = PrivacyChanged(on=False, at_wall=at_wall, until_wall=None, reason=reason)
        self._bus.publish(event)
        return event
