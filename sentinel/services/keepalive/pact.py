"""The app <-> guard pact: the files both sides read and write, and the pure rules about them.

Files in the data dir:
    heartbeat.json   the app's proof of progress, rewritten every ~2 s:
                     {"pid", "create_time", "seq", "wall", "parts": {"monitor": {"n", "allow_s"}, ...}}
                     `seq` moves while the app's heartbeat courier runs; each part's `n` moves only
                     when that part does its work (the monitor tick, the Tk queue drain).
    guard.json       the guard: {"pid", "create_time", "app": {pid, create_time}|null, "written_wall"}
    shutdown.intent  written by the app on password Exit: {"v", "pid", "create_time",
                     "issued_wall", "nonce", "mac"}; mac = HMAC-SHA256(key, canonical body)
    intent.key       the HMAC key, sealed with platform.seal (DPAPI / machine key file)

heartbeat.json and guard.json are fixed-size records rewritten in place: rewriting blocks a file
already owns needs no free space, so both sides keep talking while the disk is full.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from sentinel import platform
from sentinel.files import atomic_write
from sentinel.platform import ProcessId

HEARTBEAT_FILE = "heartbeat.json"
GUARD_FILE = "guard.json"
INTENT_FILE = "shutdown.intent"
INTENT_KEY_FILE = "intent.key"

HEARTBEAT_INTERVAL_S = 2.0
DEFAULT_HANG_S = 30.0  # a part (or the whole heartbeat) without progress this long: the app is hung
MAX_ALLOW_S = 300.0  # a part may ask for more time between beats than hang_s, but not more than this
INTENT_MAX_AGE_S = 60.0
INTENT_MAX_FUTURE_S = 5.0  # same machine, same clock: only rounding and a slow write
INTENT_KEY_BYTES = 32
APP_EXE_NAME = "CafeSentinel"
GUARD_EXE_NAME = "CafeSentinelGuard"
RECORD_BYTES = 1024  # heartbeat.json / guard.json are padded to this size
READ_TRIES = 3  # a record read while it is being rewritten in place is read again


# ---- fixed-size records ----

def read_record(path: Path) -> dict | None:
    """The JSON object in `path`, or None (missing, damaged, or caught mid-rewrite three times)."""
    for _ in range(READ_TRIES):
        try:
            data = json.loads(Path(path).read_bytes())
        except OSError:
            return None
        except ValueError:
            continue
        return data if isinstance(data, dict) else None
    return None


def write_record(path: Path, data: dict) -> None:
    """Rewrite `path` in place (no new disk space needed); created atomically the first time.

    Raises OSError when the file cannot be written (the caller decides what that means).
    """
    body = json.dumps(data, separators=(",", ":")).encode()
    if len(body) > RECORD_BYTES:
        raise ValueError(f"record for {path} is {len(body)} bytes, over {RECORD_BYTES}")
    padded = body.ljust(RECORD_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        atomic_write(Path(path), padded)
        return
    try:
        if os.write(fd, padded) != RECORD_BYTES:
            raise OSError(f"short write to {path}")
        if os.fstat(fd).st_size != RECORD_BYTES:  # written by an older version
            os.ftruncate(fd, RECORD_BYTES)
    finally:
        os.close(fd)


# ---- heartbeat: what the guard makes of it (pure) ----

def heartbeat_record(me: ProcessId, seq: int, wall: float, parts: dict[str, tuple[int, float]]) -> dict:
    """parts: name -> (beats so far, seconds the part may normally take between two beats)."""
    return {**me.to_json(), "seq": seq, "wall": wall,
            "parts": {name: {"n": n, "allow_s": allow_s} for name, (n, allow_s) in parts.items()}}


@dataclass(frozen=True, slots=True)
class PartProgress:
    beats: int
    changed: float  # guard-monotonic time `beats` last moved (or the part was first seen)
    allow_s: float


@dataclass(frozen=True, slots=True)
class HeartbeatWatch:
    """What the guard knows about the watched app's heartbeat; times are guard-monotonic."""

    watched: ProcessId
    last_seq: int | None
    last_change: float  # when seq last changed (or when watching began)
    parts: tuple[tuple[str, PartProgress], ...] = ()

    @property
    def progressed(self) -> bool:
        """The app got as far as doing its work: every part it declared has beaten at least once."""
        return bool(self.parts) and all(p.beats > 0 for _, p in self.parts)


def start_heartbeat_watch(watched: ProcessId, now: float) -> HeartbeatWatch:
    return HeartbeatWatch(watched, None, now)


def _parts_of(record: dict) -> dict[str, tuple[int, float]]:
    raw = record.get("parts")
    if not isinstance(raw, dict):
        return {}
    parts = {}
    for name, value in raw.items():
        if not isinstance(value, dict):
            continue
        n, allow_s = value.get("n"), value.get("allow_s")
        if type(n) is int and type(allow_s) in (int, float):
            parts[str(name)] = (n, float(allow_s))
    return parts


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
    known = dict(watch.parts)
    parts = []
    for name, (n, allow_s) in _parts_of(record).items():
        before = known.get(name)
        moved = before is None or n != before.beats
        parts.append((name, PartProgress(n, now if moved else before.changed, allow_s)))
    return replace(watch, last_seq=seq, last_change=now, parts=tuple(parts))


def restart_grace(watch: HeartbeatWatch, now: float) -> HeartbeatWatch:
    """The guard itself was not running for a while (the machine slept, the guard was paused):
    the app could not beat either, so every part's grace starts again now."""
    parts = tuple((name, replace(part, changed=now)) for name, part in watch.parts)
    return replace(watch, last_change=now, parts=parts)


def heartbeat_age(watch: HeartbeatWatch, now: float) -> float:
    return now - watch.last_change


def hang_verdict(watch: HeartbeatWatch, now: float, hang_s: float) -> str | None:
    """Why the app counts as hung, or None. A part gets max(hang_s, its own allow_s) (capped)."""
    age = heartbeat_age(watch, now)
    if age >= hang_s:
        return f"no heartbeat for {age:.0f} s"
    for name, part in watch.parts:
        limit = max(hang_s, min(part.allow_s, MAX_ALLOW_S))
        stalled = now - part.changed
        if stalled >= limit:
            return f"its {name} made no progress for {stalled:.0f} s"
    return None


# ---- shutdown intent ----

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


def write_shutdown_intent(data_dir: Path, wall: Callable[[], float] = time.time,
                          app: ProcessId | None = None) -> Path:
    """Sign "this app process (or `app`) is exiting on purpose" for the guard (password Exit only)."""
    me = app or platform.process_id(os.getpid())
    key = load_or_create_intent_key(data_dir)
    path = Path(data_dir) / INTENT_FILE
    atomic_write(path, sign_intent(key, me, wall(), secrets.token_hex(16)))
    return path


# ---- who is running ----

def heartbeat_owner(data_dir: Path) -> ProcessId | None:
    """The live app named by the heartbeat file, if any."""
    pid_id = ProcessId.from_json(read_record(Path(data_dir) / HEARTBEAT_FILE))
    return pid_id if pid_id is not None and platform.is_alive(pid_id) else None


def guard_owner(data_dir: Path) -> ProcessId | None:
    """The live guard named by guard.json, if any."""
    pid_id = ProcessId.from_json(read_record(Path(data_dir) / GUARD_FILE))
    return pid_id if pid_id is not None and platform.is_alive(pid_id) else None


def parse_pid_id(text: str) -> ProcessId:
    """"PID:CREATE_TIME" as passed with --adopt-app."""
    pid, _, created = text.partition(":")
    return ProcessId(int(pid), float(created))


def partner_command(exe_name: str, script: str, config: Path | None, data_dir: Path) -> list[str]:
    """How one side starts the other. Frozen (PyInstaller): <exe_name>[.exe] beside this
    executable, else in a sibling folder ../<exe_name>/ (two one-folder builds side by side).
    From source: [python, <install_dir>/<script>]. --config/--data-dir are passed on so both agree."""
    from sentinel.paths import install_dir

    suffix = ".exe" if os.name == "nt" else ""
    if getattr(sys, "frozen", False):
        here = Path(sys.executable).resolve().parent
        candidates = [here / f"{exe_name}{suffix}", here.parent / exe_name / f"{exe_name}{suffix}"]
        argv = [str(next((c for c in candidates if c.exists()), candidates[0]))]
    else:
        argv = [sys.executable, str(install_dir() / script)]
    if config is not None:
        argv += ["--config", str(config)]
    return argv + ["--data-dir", str(data_dir)]
