"""The guard: keeps the monitor app alive and is kept alive by it (SPEC section 6).

Pure decisions (crash-loop backoff, heartbeat staleness, shutdown-intent verification) are
plain functions with time passed in. `PartnerWatch` is the one watch-and-restart loop, used
by the guard for the app and by the app (services/partner.GuardWatcher) for the guard.
`Guard` adds the app-only rules: hang detection and the signed shutdown intent.

Files in the data dir:
    heartbeat.json   written by the app every ~2 s: {"pid", "create_time", "seq", "wall"}
    guard.json       written by the guard: {"pid", "create_time", "app": {pid, create_time}|null}
    shutdown.intent  written by the app on password Exit: {"v", "pid", "create_time",
                     "issued_wall", "nonce", "mac"}; mac = HMAC-SHA256(key, canonical body)
    intent.key       the HMAC key, sealed with platform.seal (DPAPI / machine key file)
    logs/guard.log   the guard's log
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from sentinel import platform
from sentinel.errors import AlreadyRunningError
from sentinel.platform import ProcessId

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "heartbeat.json"
GUARD_FILE = "guard.json"
INTENT_FILE = "shutdown.intent"
INTENT_KEY_FILE = "intent.key"
GUARD_LOG_FILE = "guard.log"

HEARTBEAT_INTERVAL_S = 2.0
DEFAULT_HANG_S = 30.0  # no new heartbeat for this long: the app is hung
DEFAULT_STABLE_S = 10.0  # a run shorter than this counts towards a crash loop
FREE_QUICK_EXITS = 2  # quick exits in a row that still restart at once (kills right after a restart)
BACKOFF_CAP_S = 60.0
INTENT_MAX_AGE_S = 60.0
INTENT_MAX_FUTURE_S = 5.0  # same machine, same clock: only rounding and a slow write
INTENT_KEY_BYTES = 32
WATCH_POLL_S = 0.5  # how often a watcher wakes without a death: stop flag, hang check
KILL_WAIT_S = 5.0

APP_EXE_NAME = "CafeSentinel"
GUARD_EXE_NAME = "CafeSentinelGuard"

Report = Callable[[str], None]


# ---- crash-loop backoff (pure) ----

def backoff_delay(quick_exits: int) -> float:
    """Seconds to wait before the next start after `quick_exits` short runs in a row.

    The first FREE_QUICK_EXITS restart at once (a kill shortly after a restart is not a
    loop); then 1, 2, 4 ... capped at 60 s.
    """
    if quick_exits <= FREE_QUICK_EXITS:
        return 0.0
    return float(min(BACKOFF_CAP_S, 2 ** (quick_exits - FREE_QUICK_EXITS - 1)))


@dataclass(frozen=True, slots=True)
class RestartState:
    quick_exits: int = 0
    loop_reported: bool = False


@dataclass(frozen=True, slots=True)
class RestartDecision:
    state: RestartState
    delay_s: float
    in_loop: bool  # restarts inside a crash loop are not reported one by one
    report_loop: bool  # True exactly once, when a loop is first detected


def decide_restart(state: RestartState, run_s: float, stable_s: float) -> RestartDecision:
    quick = state.quick_exits + 1 if run_s < stable_s else 0
    delay = backoff_delay(quick)
    in_loop = delay > 0
    report_loop = in_loop and not state.loop_reported
    new_state = RestartState(quick, state.loop_reported or in_loop)
    return RestartDecision(new_state, delay, in_loop, report_loop)


def mark_stable(state: RestartState) -> tuple[RestartState, bool]:
    """The current run lasted stable_s: clear the loop. True if a reported loop just ended."""
    return RestartState(), state.loop_reported


# ---- heartbeat staleness (pure) ----

@dataclass(frozen=True, slots=True)
class HeartbeatWatch:
    """What the guard knows about the watched app's heartbeat; times are guard-monotonic."""

    watched: ProcessId
    last_seq: int | None
    last_change: float  # when seq last changed (or when watching began)


def start_heartbeat_watch(watched: ProcessId, now: float) -> HeartbeatWatch:
    return HeartbeatWatch(watched, None, now)


def observe_heartbeat(watch: HeartbeatWatch, record: dict | None, now: float) -> HeartbeatWatch:
    """A record only counts if it names the watched process and its counter moved."""
    if not isinstance(record, dict):
        return watch
    writer = ProcessId.from_json(record)
    seq = record.get("seq")
    if writer is None or type(seq) is not int:
        return watch
    if writer.pid != watch.watched.pid or not watch.watched.same_start(writer.create_time):
        return watch
    if seq == watch.last_seq:
        return watch
    return replace(watch, last_seq=seq, last_change=now)


def heartbeat_age(watch: HeartbeatWatch, now: float) -> float:
    return now - watch.last_change


def is_hung(watch: HeartbeatWatch, now: float, hang_s: float) -> bool:
    return heartbeat_age(watch, now) >= hang_s


# ---- shutdown intent (pure) ----

def _intent_body(pid_id: ProcessId, issued_wall: float, nonce: str) -> dict:
    return {"v": 1, "pid": pid_id.pid, "create_time": pid_id.create_time,
            "issued_wall": issued_wall, "nonce": nonce}


def _mac(key: bytes, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def sign_intent(key: bytes, pid_id: ProcessId, issued_wall: float, nonce: str) -> bytes:
    body = _intent_body(pid_id, issued_wall, nonce)
    return json.dumps({**body, "mac": _mac(key, body)}).encode()


def verify_intent(raw: bytes, key: bytes, watched: ProcessId, now_wall: float,
                  max_age_s: float = INTENT_MAX_AGE_S) -> tuple[bool, str]:
    """(True, "ok") only for an intent signed with `key`, naming `watched`, issued < max_age_s ago."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False, "not JSON"
    if not isinstance(data, dict):
        return False, "not a JSON object"
    named = ProcessId.from_json(data)
    issued, nonce, mac = data.get("issued_wall"), data.get("nonce"), data.get("mac")
    if named is None or type(issued) not in (int, float) or not isinstance(nonce, str) \
            or not isinstance(mac, str) or data.get("v") != 1:
        return False, "malformed"
    expected = _mac(key, _intent_body(named, issued, nonce))
    if not hmac.compare_digest(expected, mac):
        return False, "bad signature"
    if named.pid != watched.pid or not watched.same_start(named.create_time):
        return False, f"names process {named.pid}, not the watched monitor {watched.pid}"
    age = now_wall - issued
    if age > max_age_s:
        return False, f"stale ({age:.0f} s old)"
    if age < -INTENT_MAX_FUTURE_S:
        return False, "issued in the future"
    return True, "ok"


# ---- small file helpers ----

def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(json.dumps(data).encode())
    for attempt in range(5):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:  # Windows: a reader has it open this instant
            if attempt == 4:
                tmp.unlink(missing_ok=True)
                raise
            threading.Event().wait(0.01)


def load_or_create_intent_key(data_dir: Path) -> bytes:
    """The HMAC key shared by app and guard, sealed to this machine; created on first use.

    Raises platform.TamperError when the sealed key was edited or comes from elsewhere.
    """
    path = Path(data_dir) / INTENT_KEY_FILE
    try:
        return platform.unseal(path.read_bytes(), data_dir)
    except FileNotFoundError:
        pass
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{INTENT_KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(platform.seal(secrets.token_bytes(INTENT_KEY_BYTES), data_dir))
    try:
        os.link(tmp, path)  # appears whole or not at all; of two racing creators one wins
    except FileExistsError:
        pass
    except OSError:
        if not path.exists():
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return platform.unseal(path.read_bytes(), data_dir)


def heartbeat_owner(data_dir: Path) -> ProcessId | None:
    """The live app named by the heartbeat file, if any."""
    pid_id = ProcessId.from_json(read_json(Path(data_dir) / HEARTBEAT_FILE))
    return pid_id if pid_id is not None and platform.is_alive(pid_id) else None


def guard_owner(data_dir: Path) -> ProcessId | None:
    """The live guard named by guard.json, if any."""
    pid_id = ProcessId.from_json(read_json(Path(data_dir) / GUARD_FILE))
    return pid_id if pid_id is not None and platform.is_alive(pid_id) else None


def parse_pid_id(text: str) -> ProcessId:
    """"PID:CREATE_TIME" as passed with --adopt-app."""
    pid, _, created = text.partition(":")
    return ProcessId(int(pid), float(created))


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
    kill and restart now.
    """

    def __init__(self, *, label: str, command: Callable[[], list[str]],
                 locate: Callable[[], ProcessId | None], report: Report,
                 log_path: Path | None = None, stable_s: float = DEFAULT_STABLE_S,
                 on_exit: Callable[[ProcessId], bool] | None = None,
                 hang_reason: Callable[[ProcessId, float], str | None] | None = None,
                 on_started: Callable[[ProcessId, float], None] | None = None,
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
            decision = decide_restart(state, died_mono - started, self._stable_s)
            state = decision.state
            if decision.report_loop:
                self._report(f"{self.label} is crash-looping ({state.quick_exits} quick exits in a "
                             f"row); restarting with backoff up to {BACKOFF_CAP_S:.0f} s")
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
            at = time.strftime("%H:%M:%S", time.localtime(died_wall))
            message = f"{reason} at {at}, restarted in {restart_s:.2f} s"
            log.warning(message)
            if not decision.in_loop:
                self._report(message)
        return "stopped"


# ---- the guard process ----

def default_app_command(config: Path | None, data_dir: Path) -> list[str]:
    """How the guard starts the app when --app-cmd is not given.

    Frozen (PyInstaller): CafeSentinel[.exe] next to the guard executable, else in a sibling
    folder ../CafeSentinel/ (two one-folder builds side by side). From source:
    [python, <install_dir>/sentinel_app.py]. --config/--data-dir are passed on so both agree.
    """
    from sentinel.paths import install_dir

    suffix = ".exe" if os.name == "nt" else ""
    if getattr(sys, "frozen", False):
        here = Path(sys.executable).resolve().parent
        candidates = [here / f"{APP_EXE_NAME}{suffix}",
                      here.parent / APP_EXE_NAME / f"{APP_EXE_NAME}{suffix}"]
        exe = next((c for c in candidates if c.exists()), candidates[0])
        argv = [str(exe)]
    else:
        argv = [sys.executable, str(install_dir() / "sentinel_app.py")]
    if config is not None:
        argv += ["--config", str(config)]
    return argv + ["--data-dir", str(data_dir)]


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
        self.me = platform.process_id(os.getpid())
        self.watch = PartnerWatch(
            label="monitor", command=lambda: self.app_cmd,
            locate=lambda: heartbeat_owner(self.data_dir), report=report,
            log_path=self.data_dir / "logs" / "app-stdout.log", stable_s=stable_s,
            on_exit=self._deliberate_exit, hang_reason=self._hang_reason,
            on_started=self._app_started, clock=clock, wall=wall)

    def _app_started(self, app: ProcessId, now: float) -> None:
        self._heartbeat = start_heartbeat_watch(app, now)
        write_json_atomic(self.data_dir / GUARD_FILE, {
            **self.me.to_json(), "app": app.to_json(), "written_wall": self._wall()})

    def _hang_reason(self, app: ProcessId, now: float) -> str | None:
        record = read_json(self.data_dir / HEARTBEAT_FILE)
        self._heartbeat = observe_heartbeat(self._heartbeat, record, now)
        if is_hung(self._heartbeat, now, self._hang_s):
            return f"monitor stopped responding (no heartbeat for {heartbeat_age(self._heartbeat, now):.0f} s)"
        return None

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
        path.unlink(missing_ok=True)
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
        result = self.watch.run(stop, adopt=adopt)
        if result == "deliberate":
            (self.data_dir / GUARD_FILE).unlink(missing_ok=True)
        return result


# ---- entry point ----

class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (SPEC section 1)
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
