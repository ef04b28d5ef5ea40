"""The guard program: keeps the monitor app alive and is kept alive by it (README: "Staying alive").

A composition root of its own: the pact (files, heartbeat staleness, signed shutdown intent) and
the watch-and-restart loop live in sentinel/services/keepalive/; `Guard` adds the app-only rules
(hang detection, the signed shutdown intent) and main() wires logging and the Discord reports.
Its log is logs/guard.log in the data dir.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from sentinel import platform
from sentinel.errors import AlreadyRunningError
from sentinel.platform import ProcessId
from sentinel.services.keepalive.pact import (
    APP_EXE_NAME,
    DEFAULT_HANG_S,
    GUARD_FILE,
    HEARTBEAT_FILE,
    INTENT_FILE,
    HeartbeatWatch,
    hang_verdict,
    heartbeat_owner,
    load_or_create_intent_key,
    observe_heartbeat,
    parse_pid_id,
    partner_command,
    read_record,
    restart_grace,
    start_heartbeat_watch,
    verify_intent,
    write_record,
)
from sentinel.services.keepalive.watch import DEFAULT_STABLE_S, PartnerWatch, Report

log = logging.getLogger(__name__)

GUARD_LOG_FILE = "guard.log"
ASLEEP_S = 10.0  # a gap this long between two of the guard's own looks (polled every 0.5 s): it was not running


# ---- the guard process ----

def default_app_command(config: Path | None, data_dir: Path) -> list[str]:
    """How the guard starts the app when --app-cmd is not given."""
    return partner_command(APP_EXE_NAME, "sentinel_app.py", config, data_dir)


class Guard:
    """Watches the app: restarts it on death or hang; stops only on a verified shutdown intent."""

    def __init__(self, app_cmd: list[str], data_dir: Path, report: Report,
                 hang_s: float = DEFAULT_HANG_S, stable_s: float = DEFAULT_STABLE_S,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.app_cmd = list(app_cmd)
        self.data_dir = Path(data_dir)
        self._report = report
        self._hang_s = hang_s
        self._clock = clock
        self._wall = wall
        self._heartbeat: HeartbeatWatch | None = None
        self._last_look: float | None = None  # when the guard last read the heartbeat
        self._record: dict | None = None  # guard.json still to be written (the disk may be full)
        self._record_failing = False
        self.me = platform.process_id(os.getpid())
        self.watch = PartnerWatch(
            label="monitor", command=lambda: self.app_cmd,
            locate=lambda: heartbeat_owner(self.data_dir), report=report,
            log_path=self.data_dir / "logs" / "app-stdout.log", stable_s=stable_s,
            on_exit=self._deliberate_exit, hang_reason=self._hang_reason,
            on_started=self._app_started, ran_fine=self._app_ran_fine, clock=clock, wall=wall)

    def _app_started(self, app: ProcessId, now: float) -> None:
        self._heartbeat = start_heartbeat_watch(app, now)
        self._last_look = now
        self._record = {**self.me.to_json(), "app": app.to_json(), "written_wall": self._wall()}
        self._write_record()

    def _write_record(self) -> None:
        """guard.json; a failed write is retried at every poll, logged once, and never fatal."""
        try:
            write_record(self.data_dir / GUARD_FILE, self._record)
        except OSError as exc:
            if not self._record_failing:
                log.warning("cannot write %s: %s (retrying)", GUARD_FILE, exc)
            self._record_failing = True
            return
        if self._record_failing:
            log.info("%s written again", GUARD_FILE)
        self._record, self._record_failing = None, False

    def _observe(self, now: float) -> None:
        if self._last_look is not None and now - self._last_look > ASLEEP_S:
            log.info("the guard did not run for %.0f s (sleep?): hang timers start again", now - self._last_look)
            self._heartbeat = restart_grace(self._heartbeat, now)
        self._last_look = now
        record = read_record(self.data_dir / HEARTBEAT_FILE)
        self._heartbeat = observe_heartbeat(self._heartbeat, record, now)

    def _hang_reason(self, app: ProcessId, now: float) -> str | None:
        if self._record is not None:
            self._write_record()
        self._observe(now)
        verdict = hang_verdict(self._heartbeat, now, self._hang_s)
        return None if verdict is None else f"monitor stopped responding ({verdict})"

    def _app_ran_fine(self, app: ProcessId) -> bool:
        """The dead app had got going: its last heartbeat shows every part at work."""
        self._observe(self._clock())
        return self._heartbeat is not None and self._heartbeat.progressed

    def _deliberate_exit(self, app: ProcessId) -> bool:
        path = self.data_dir / INTENT_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._report(f"shutdown intent unreadable ({exc}); restarting the monitor")
            return False
        try:
            key = load_or_create_intent_key(self.data_dir)
            ok, why = verify_intent(raw, key, app, self._wall())
        except platform.TamperError as exc:
            ok, why = False, f"intent key tampered: {exc}"
        except OSError as exc:
            ok, why = False, f"intent key unreadable: {exc}"
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove %s: %s", path, exc)
        if ok:
            log.info("verified shutdown intent from monitor pid %d: guard stops", app.pid)
            return True
        self._report(f"a shutdown intent was ignored ({why}); restarting the monitor")
        return False

    def run(self, stop: threading.Event, adopt: ProcessId | None = None) -> str:
        try:
            load_or_create_intent_key(self.data_dir)
        except platform.TamperError as exc:
            self._report(f"guard intent key was tampered with ({exc}); password exit cannot be verified")
        except OSError as exc:  # a full disk: the app creates it later, or the next check does
            log.warning("cannot create the intent key yet: %s", exc)
        result = self.watch.run(stop, adopt=adopt)
        if result == "deliberate":
            (self.data_dir / GUARD_FILE).unlink(missing_ok=True)
        return result


# ---- entry point ----

class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (README: Command line)
        print(f"sentinel_guard: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="sentinel_guard", description="CafeSentinel guard")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--hang-seconds", type=float, default=DEFAULT_HANG_S)
    parser.add_argument("--stable-seconds", type=float, default=DEFAULT_STABLE_S)
    parser.add_argument("--adopt-app", type=parse_pid_id, metavar="PID:CREATE_TIME",
                        help="watch this running app instead of starting one")
    parser.add_argument("--app-cmd", nargs=argparse.REMAINDER,
                        help="command that starts the app (everything after it)")
    return parser


def _setup_logging(logs: Path) -> None:
    handler = logging.handlers.RotatingFileHandler(
        logs / GUARD_LOG_FILE, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def outbox_report(config: Path | None, data_dir: Path) -> Report:
    """Reports go to the log and, when Discord is set up, into the app's outbox (alerts)."""
    from sentinel.config.model import parse_config
    from sentinel.paths import DataDir, default_config_path
    from sentinel.services.discord.delivery import enqueue_report

    data = DataDir(data_dir)

    def discord_settings():
        for path in (config or default_config_path(), data.last_good_config):
            try:
                parsed, problems = parse_config(Path(path).read_bytes())
            except OSError:
                continue
            if not problems:
                return parsed.discord_settings
        return None

    def report(text: str) -> None:
        log.warning("REPORT: %s", text)
        try:
            settings = discord_settings()
            if settings is not None:
                enqueue_report(data.db, settings, "Monitor guard", text)
        except Exception:
            log.exception("could not queue the report for Discord")

    return report


def main(argv: list[str] | None = None, report: Report | None = None) -> int:
    from sentinel.paths import default_data_dir
    from sentinel.stdio import redirect_if_missing

    redirect_if_missing(default_data_dir() / "logs" / "console.log")  # windowed builds have no console

    args = _parser().parse_args(argv)
    if args.app_cmd is not None and not args.app_cmd:
        print("sentinel_guard: --app-cmd needs a command", file=sys.stderr)
        return 2
    if args.config is not None:
        try:
            args.config.read_bytes()
        except OSError as exc:
            print(f"sentinel_guard: cannot read config {args.config}: {exc.strerror}", file=sys.stderr)
            return 2
    data_dir = (args.data_dir or default_data_dir()).resolve()
    try:
        (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"sentinel_guard: cannot use data dir {data_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    _setup_logging(data_dir / "logs")
    lock = platform.InstanceLock("Guard", data_dir)
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        log.info("%s; this start exits", exc)
        print(f"sentinel_guard: {exc}", file=sys.stderr)
        return 3
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if report is None:
        report = outbox_report(args.config, data_dir)
    app_cmd = args.app_cmd or default_app_command(args.config, data_dir)
    try:
        guard = Guard(app_cmd, data_dir, report, hang_s=args.hang_seconds, stable_s=args.stable_seconds)
        result = guard.run(stop, adopt=args.adopt_app)
        log.info("guard exits: %s", result)
        return 0
    except Exception:
        log.exception("guard failed")  # into guard.log: stderr goes nowhere in the windowed build
        raise
    finally:
        lock.release()
