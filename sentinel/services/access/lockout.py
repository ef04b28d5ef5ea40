"""Growing lockout after wrong passwords, as a pure state machine with wall time passed in, so it
survives restarts (the vault persists it after every try)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from sentinel.timefmt import spoken

MAX_TRIES = 5  # wrong passwords in a row before a lockout
LOCK_BASE_S = 30.0  # first lockout; doubles with each further lockout
LOCK_MAX_S = 3600.0


@dataclass(frozen=True, slots=True)
class Lockout:
    """Wrong-password state of one password kind. Times are wall-clock epoch seconds."""

    failures: int = 0  # wrong tries since the last lockout (or success)
    lockouts: int = 0  # lockouts since the last success; drives the growth
    locked_at: float | None = None
    locked_for_s: float = 0.0


@dataclass(frozen=True, slots=True)
class LockoutAlert:
    """Produced once per lockout; the app sends it to the alerts channel."""

    kind: str  # "admin" / "privacy"
    action: str  # what the password was for: "exit", "privacy mode", "settings"
    failures: int
    at_wall: float
    locked_for_s: float
    lockout_number: int

    def text(self) -> str:
        at = time.strftime("%H:%M", time.localtime(self.at_wall))
        return (f"{self.failures} wrong {self.action} passwords at {at}; "
                f"locked for {spoken(self.locked_for_s)}")


def lock_duration_s(lockout_number: int) -> float:
    """30 s, 60 s, 120 s, ... capped at 1 h, for the 1st, 2nd, 3rd ... lockout."""
    return min(LOCK_BASE_S * 2 ** max(lockout_number - 1, 0), LOCK_MAX_S)


def remaining_s(state: Lockout, now: float) -> float:
    """Seconds until a locked kind accepts tries again (0 when not locked).

    A clock set backwards never makes the wait longer than the lockout itself; a clock set
    forwards ends it early (changing the clock needs admin rights on Windows; documented).
    """
    if state.locked_at is None:
        return 0.0
    elapsed = max(now - state.locked_at, 0.0)
    return max(state.locked_for_s - elapsed, 0.0)


def register_failure(state: Lockout, now: float, kind: str, action: str) -> tuple[Lockout, LockoutAlert | None]:
    """One wrong password (only counted while not locked)."""
    failures = state.failures + 1
    if failures < MAX_TRIES:
        return replace(state, failures=failures), None
    number = state.lockouts + 1
    duration = lock_duration_s(number)
    alert = LockoutAlert(kind=kind, action=action, failures=failures, at_wall=now,
                         locked_for_s=duration, lockout_number=number)
    return Lockout(failures=0, lockouts=number, locked_at=now, locked_for_s=duration), alert


def register_success(state: Lockout) -> Lockout:
    return Lockout()


@dataclass(frozen=True, slots=True)
class AttemptResult:
    ok: bool
    locked_for_s: float = 0.0  # > 0: locked now, try again after this many seconds
    tries_left: int = MAX_TRIES  # before the next lockout
    alert: LockoutAlert | None = None  # set on the try that caused a lockout

    @property
    def locked(self) -> bool:
        return self.locked_for_s > 0
