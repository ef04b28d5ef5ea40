"""Keep a partner process alive: the restart policy (pure) and the watch-and-restart loop.

`PartnerWatch` is used by the guard for the app and by the app (partner.GuardWatcher) for the
guard. Every death that is not a verified deliberate exit is reported, one report per death,
named with its time. Only a partner that dies on its own before it got going (short run, no
proof of work) counts towards a crash loop and its backoff: killing a partner that was running
fine, however often, restarts it at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from sentinel import platform
from sentinel.platform import ProcessId

log = logging.getLogger(__name__)

DEFAULT_STABLE_S = 10.0  # a run shorter than this without proof of work counts towards a crash loop
FREE_QUICK_EXITS = 2  # early deaths in a row that still restart at once
BACKOFF_CAP_S = 60.0
WATCH_POLL_S = 0.5  # how often a watcher wakes without a death: stop flag, hang check
KILL_WAIT_S = 5.0

Report = Callable[[str], None]


# ---- restart policy (pure) ----

def backoff_delay(quick_exits: int) -> float:
    """Seconds to wait before the next start after `quick_exits` early deaths in a row.

    The first FREE_QUICK_EXITS restart at once; then 1, 2, 4 ... capped at 60 s.
    """
    if quick_exits <= FREE_QUICK_EXITS:
        return 0.0
    return float(min(BACKOFF_CAP_S, 2 ** (quick_exits - FREE_QUICK_EXITS - 1)))


@dataclass(frozen=True, slots=True)
class RestartState:
    quick_exits: int = 0  # early deaths in a row
    loop_reported: bool = False


@dataclass(frozen=True, slots=True)
class RestartDecision:
    state: RestartState
    delay_s: float
    in_loop: bool  # this restart waits for the backoff
    report_loop: bool  # True exactly once, when a loop is first detected


def decide_restart(state: RestartState, run_s: float, stable_s: float, ran_fine: bool) -> RestartDecision:
    """`ran_fine`: the partner proved it was doing its work (e.g. its heartbeat moved).

    A run that ran fine or lasted `stable_s` ends any loop: it was killed or failed later on,
    and waiting would only lengthen the gap in monitoring.
    """
    early = run_s < stable_s and not ran_fine
    quick = state.quick_exits + 1 if early else 0
    delay = backoff_delay(quick)
    in_loop = delay > 0
    report_loop = in_loop and not state.loop_reported
    loop_reported = (state.loop_reported or in_loop) if early else False
    return RestartDecision(RestartState(quick, loop_reported), delay, in_loop, report_loop)


def mark_stable(state: RestartState) -> tuple[RestartState, bool]:
    """The current run lasted stable_s: clear the loop. True if a reported loop just ended."""
    return RestartState(), state.loop_reported


def restart_message(reason: str, died_wall: float, restart_s: float, decision: RestartDecision) -> str:
    at = time.strftime("%H:%M:%S", time.localtime(died_wall))
    message = f"{reason} at {at}, restarted in {restart_s:.2f} s"
    if decision.in_loop:
        message += (f" (crash loop: {decision.state.quick_exits} exits in a row right after starting, "
                    f"waited {decision.delay_s:.0f} s)")
    return message


# ---- the watch-and-restart loop ----

@dataclass(frozen=True, slots=True)
class RestartRecord:
    died_wall: float
    restart_s: float  # from noticing the death to the new process running (backoff included)
    reason: str


class PartnerWatch:
    """Keep one partner process alive: wait on it (event-driven), restart it, report.

    command(): argv to start a new partner. locate(): a live partner someone else started
    (adopted instead of starting a second one). on_exit(pid_id) -> True means a verified
    deliberate stop: the loop ends without a restart. hang_reason(pid_id, now) -> text means
    kill and restart now. ran_fine(pid_id) -> True: the dead partner had proved it was working,
    so its death is not part of a crash loop.
    """

    def __init__(self, *, label: str, command: Callable[[], list[str]],
                 locate: Callable[[], ProcessId | None], report: Report,
                 log_path: Path | None = None, stable_s: float = DEFAULT_STABLE_S,
                 on_exit: Callable[[ProcessId], bool] | None = None,
                 hang_reason: Callable[[ProcessId, float], str | None] | None = None,
                 on_started: Callable[[ProcessId, float], None] | None = None,
                 ran_fine: Callable[[ProcessId], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 poll_s: float = WATCH_POLL_S):
        self.label = label
        self._command = command
        self._locate = locate
        self._report = report
        self._log_path = log_path
        self._stable_s = stable_s
        self._on_exit = on_exit
        self._hang_reason = hang_reason
        self._on_started = on_started
        self._ran_fine = ran_fine
        self._clock = clock
        self._wall = wall
        self._poll_s = poll_s
        self.current: ProcessId | None = None
        self.restarts: list[RestartRecord] = []

    def _start(self) -> ProcessId:
        pid_id = platform.spawn(self._command(), log_path=self._log_path)
        log.info("started %s pid %d", self.label, pid_id.pid)
        return pid_id

    def _begin(self, pid_id: ProcessId) -> float:
        self.current = pid_id
        now = self._clock()
        if self._on_started is not None:
            self._on_started(pid_id, now)
        return now

    def run(self, stop: threading.Event, adopt: ProcessId | None = None) -> str:
        """Returns "stopped" (stop was set) or "deliberate" (on_exit accepted the exit)."""
        first = adopt if adopt is not None and platform.is_alive(adopt) else self._locate()
        if first is not None:
            log.info("watching running %s pid %d", self.label, first.pid)
        started = self._begin(first if first is not None else self._start())
        state, stable_marked = RestartState(), False
        while not stop.is_set():
            current = self.current
            died = platform.wait_exit(current, self._poll_s)
            now = self._clock()
            reason = f"{self.label} was terminated"
            if not died:
                if not stable_marked and now - started >= self._stable_s:
                    state, loop_ended = mark_stable(state)
                    stable_marked = True
                    if loop_ended:
                        self._report(f"{self.label} is running steadily again after a crash loop")
                hang = self._hang_reason(current, now) if self._hang_reason else None
                if hang is None:
                    continue
                reason = hang
                log.warning("%s: killing pid %d", hang, current.pid)
                platform.kill(current)
                platform.wait_exit(current, KILL_WAIT_S)
                now = self._clock()
            died_mono, died_wall = now, self._wall()
            if self._on_exit is not None and self._on_exit(current):
                return "deliberate"
            other = self._locate()
            if other is not None and other != current:
                log.info("%s pid %d exited; adopting pid %d started elsewhere",
                         self.label, current.pid, other.pid)
                started, stable_marked = self._begin(other), False
                continue
            ran_fine = self._ran_fine(current) if self._ran_fine is not None else False
            decision = decide_restart(state, died_mono - started, self._stable_s, ran_fine)
            state = decision.state
            if decision.report_loop:
                self._report(f"{self.label} is crash-looping ({state.quick_exits} exits in a row right "
                             f"after starting); restarting with backoff up to {BACKOFF_CAP_S:.0f} s")
            if decision.delay_s and stop.wait(decision.delay_s):
                break
            try:
                new = self._start()
            except OSError as exc:
                log.error("cannot start %s: %s", self.label, exc)
                state = replace(state, quick_exits=state.quick_exits + 1)
                if stop.wait(backoff_delay(state.quick_exits) or 1.0):
                    break
                continue
            restart_s = self._clock() - died_mono
            started, stable_marked = self._begin(new), False
            self.restarts.append(RestartRecord(died_wall, restart_s, reason))
            self._report(restart_message(reason, died_wall, restart_s, decision))
        return "stopped"
