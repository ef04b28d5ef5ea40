"""sentinel.db: how it is opened, and the check it passes before any part of the app opens it.

Storage (incidents, sessions) and the Discord outbox share this one file. `prepare()` runs
once at start, before either opens it: a damaged database (not SQLite, truncated, a folder,
failing `PRAGMA quick_check`) is moved aside under a name with the time, so nothing in it is
destroyed, and a fresh one is started; a database that was there before (its marker file
says so) and is gone is reported, not silently recreated. The CSV files stay the
human-readable record either way, and monitoring never stops for any of this.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0
DAMAGE = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}  # SQLite's own word that the file is not a good database
SIDE_FILES = ("-wal", "-shm", "-journal")
APPLICATION_ID = 0x43534442  # "CSDB" in the header's application_id: this database was started by prepare()


def connect(path: Path) -> sqlite3.Connection:
    """A connection to sentinel.db in WAL mode, safe against power cuts (synchronous=FULL)."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection for reports: it works while the monitor writes (WAL), and writes nothing."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)


def marker_of(path: Path) -> Path:
    """Written once the database exists: its absence later means the database was deleted."""
    return path.with_name(path.name + ".created")


@dataclass(frozen=True, slots=True)
class DatabaseProblem:
    """What prepare() found and did, for the log, the owner's alert and the window."""

    reason: str  # "damaged: file is not a database", "missing: ..."
    kept_as: Path | None  # where the damaged database was moved; None when there was nothing to keep

    def text(self) -> str:
        kept = (f" The damaged one is kept as {self.kept_as.name}." if self.kept_as is not None else "")
        return (f"sentinel.db was {self.reason}. A new, empty database is in use from now on;{kept} "
                "incidents.csv and sessions.csv still hold the history.")


def damage(path: Path) -> str | None:
    """Why `path` is not a usable database (None: it is one). A busy or unreadable file is not damage."""
    if path.is_dir():
        return "a folder, not a database file"
    try:
        conn = connect(path)
    except sqlite3.DatabaseError as exc:
        return _damage_of(exc)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return _damage_of(exc)
    finally:
        conn.close()
    if rows != [("ok",)]:
        return "damaged: " + "; ".join(str(r[0]) for r in rows[:3])
    return None


def _damage_of(exc: sqlite3.DatabaseError) -> str | None:
    if getattr(exc, "sqlite_errorname", "") in DAMAGE:
        return f"damaged: {exc}"
    log.warning("sentinel.db could not be checked (%s); using it as it is", exc)
    return None


def prepare(path: Path, now_wall: float | None = None) -> DatabaseProblem | None:
    """Make `path` a usable database before anything opens it; what was wrong, or None."""
    path = Path(path)
    now_wall = time.time() if now_wall is None else now_wall
    problem = None
    if not path.exists():
        if marker_of(path).exists():
            problem = DatabaseProblem("missing (deleted?): its history and unsent Discord messages are gone",
                                      _move_aside(path, now_wall, side_files_only=True))
    else:
        reason = damage(path)
        if reason is not None:
            problem = DatabaseProblem(reason, _move_aside(path, now_wall))
        elif marker_of(path).exists() and _application_id(path) != APPLICATION_ID:
            # Deleted, and a new one made by another process (the guard queueing a report): keep
            # that one, it holds the report; the owner still hears that the history is gone.
            problem = DatabaseProblem("missing (deleted?) and started again: its history and unsent Discord "
                                      "messages are gone", None)
    if problem is not None:
        log.error("%s", problem.text())
    _create(path)
    return problem


def _move_aside(path: Path, now_wall: float, side_files_only: bool = False) -> Path | None:
    """Rename the database and its WAL files to sentinel-damaged-<time>.db[-wal]; the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now_wall))
    for n in range(100):
        target = path.with_name(f"{path.stem}-damaged-{stamp}{f'-{n}' if n else ''}{path.suffix}")
        if not any(Path(f"{target}{side}").exists() for side in ("", *SIDE_FILES)):
            break
    moved = None
    for side in SIDE_FILES if side_files_only else ("", *SIDE_FILES):
        source = Path(f"{path}{side}")
        if not source.exists():
            continue
        try:
            source.rename(f"{target}{side}")
            moved = moved or target
        except OSError as exc:
            log.error("cannot move %s aside (%s)", source.name, exc.strerror or exc)
    return None if side_files_only else moved


def _application_id(path: Path) -> int | None:
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
        try:
            return conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _create(path: Path) -> None:
    """Start the database file (if it is missing) and its marker; a full or read-only disk is no reason to stop."""
    try:
        conn = connect(path)
        try:
            if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        finally:
            conn.close()
        if not marker_of(path).exists():
            marker_of(path).write_text(f"sentinel.db in use since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    except (OSError, sqlite3.Error) as exc:
        log.error("cannot start %s (%s); records wait in memory until it can be written", path, exc)
