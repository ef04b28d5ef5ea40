"""Durable records: SQLite (sentinel.db, WAL) is the source of truth; the CSV files follow it.

incidents.csv gets a row when an incident is confirmed (Notes `ongoing`) and the row is
completed in place when it ends (Notes `resolved`); an incident wholly outside opening hours
is marked `closed hours` instead (`ongoing, closed hours` while it lasts). sessions.csv gets
a row per ended session (csvfiles.py writes both). A CSV that cannot be written (open in Excel
on Windows) is brought up to date on a later write: the database remembers what each CSV
already holds.

Coverage: while the monitor runs (configured), the `coverage` table holds the intervals it
watched; the open interval is extended every COVERAGE_EVERY_S, so a crash loses at most that
much of it. Reports divide by watched time, never by elapsed time.
"""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from sentinel.schedule import Schedule
from sentinel.services.recording.csvfiles import append_sessions, sync_incidents
from sentinel.services.recording.writer import RETRY_EVERY_S, Writer
from sentinel.timefmt import hms, stamp
from sentinel.events import (
    Blip,
    Component,
    ConfigRejected,
    ConfigReloaded,
    DatabaseReplaced,
    IncidentConfirmed,
    IncidentEnded,
    MonitorStatus,
    OccupancySnapshot,
    PcState,
    PrivacyChanged,
    RecordingStalled,
    SessionEnded,
    SessionStarted,
)

log = logging.getLogger(__name__)

LAST_SEEN_EVERY_S = 60.0  # how often open sessions' last-seen time is saved
COVERAGE_EVERY_S = 60.0  # how often the open coverage interval is extended
COVERAGE_GAP_S = 150.0  # no status for longer than this (suspend, frozen process): a new interval

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, cause TEXT NOT NULL,
    start_wall REAL NOT NULL, confirmed_wall REAL NOT NULL, end_wall REAL, duration_s REAL,
    pcs_start INTEGER NOT NULL, pcs_end INTEGER, event_id TEXT,
    csv_state TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS blips (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, cause TEXT NOT NULL,
    start_wall REAL NOT NULL, end_wall REAL NOT NULL, duration_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, pc TEXT NOT NULL, ip TEXT NOT NULL,
    start_wall REAL NOT NULL, last_seen_wall REAL NOT NULL, end_wall REAL, duration_s REAL,
    notes TEXT NOT NULL DEFAULT '', csv_written INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, at_wall REAL NOT NULL, in_session INTEGER NOT NULL, total INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, at_wall REAL NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coverage (
    id INTEGER PRIMARY KEY, start_wall REAL NOT NULL, end_wall REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY, incident_key TEXT NOT NULL, phase TEXT NOT NULL, at_wall REAL NOT NULL,
    file TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS marks (
    name TEXT PRIMARY KEY, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_open ON sessions (end_wall);
CREATE INDEX IF NOT EXISTS evidence_incident ON evidence (incident_key);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (end_wall);
"""


ADDED_COLUMNS = (("incidents", "closed_hours", "INTEGER NOT NULL DEFAULT 0"),)


def _prepare(conn: sqlite3.Connection) -> None:
    """The schema, and the columns databases from before them lack."""
    conn.executescript(SCHEMA)
    for table, column, kind in ADDED_COLUMNS:
        if column not in [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


class Storage:
    """Bus subscriber (on its own worker) recording incidents, blips, sessions, snapshots, events.

    Every record is queued in memory and written in one transaction; when sentinel.db cannot
    be written (disk full, read-only, damaged, locked) the records wait (bounded) and are
    written on a later event once it works again. Failing and recovering are each logged once
    and published (`RecordingStalled`) so the owner hears of it; no error ever reaches the bus.
    """

    def __init__(self, db_path: Path, incidents_csv: Path, sessions_csv: Path, schedule: Schedule = Schedule(), *,
                 publish: Callable[[object], None] | None = None,
                 wall_clock: Callable[[], float] = time.time, mono_clock: Callable[[], float] = time.monotonic):
        self._incidents_csv = Path(incidents_csv)
        self._sessions_csv = Path(sessions_csv)
        self._publish = publish
        self._schedule = schedule
        self._coverage_start: float | None = None  # the open coverage interval, by its start
        self._coverage_last = self._coverage_saved = 0.0
        self._wall, self._mono = wall_clock, mono_clock
        self._lock = threading.Lock()
        self._db = Writer(db_path, _prepare, mono_clock)
        self._told_failing = False  # what the last RecordingStalled said
        self._csv_dirty = True  # bring the CSVs up to date on the first status
        self._csv_failing: dict[str, str] = {}  # CSV file name -> reason
        self._csv_retry_at = 0.0
        self._last_seen_saved = 0.0
        self._latest: MonitorStatus | None = None
        with self._lock:
            self._db.connection()

    def close(self) -> None:
        """Save open sessions' last-seen times and what waits (a clean stop loses nothing), then close."""
        with self._lock:
            if self._latest is not None:
                self._queue_last_seen(self._latest)
            self._save_coverage()
            self._db.close()

    def save_coverage(self) -> None:
        """Write the open coverage interval up to the latest status (before a digest reads it)."""
        with self._lock:
            self._save_coverage()
            self._db.write()

    def _save_coverage(self) -> None:
        if self._coverage_start is not None:
            self._db.queue("UPDATE coverage SET end_wall = ? WHERE start_wall = ?",
                        (self._coverage_last, self._coverage_start))
            self._coverage_saved = self._coverage_last

    def _rows(self, sql: str, parameters: tuple = ()) -> list:
        with self._lock:
            return self._db.rows(sql, parameters)

    # -- restore ---------------------------------------------------------------------------

    def open_incidents(self) -> list[tuple[str, Component, float, int]]:
        rows = self._rows("SELECT key, cause, start_wall, pcs_start FROM incidents WHERE end_wall IS NULL ORDER BY id")
        return [(key, Component(cause), start, pcs) for key, cause, start, pcs in rows]

    def open_sessions(self) -> list[tuple[str, str, float, float]]:
        return self._rows("SELECT key, ip, start_wall, last_seen_wall FROM sessions WHERE end_wall IS NULL ORDER BY id")

    # -- queries (API, window) -------------------------------------------------------------

    def recent_incidents(self, limit: int = 100) -> list[dict]:
        rows = self._rows("SELECT key, cause, start_wall, end_wall, duration_s, pcs_start, pcs_end FROM incidents "
                          "ORDER BY start_wall DESC LIMIT ?", (limit,))
        return [
            {"key": k, "cause": c, "component": Component(c).label, "start": stamp(s), "end": stamp(e),
             "duration": hms(d), "start_wall": s, "end_wall": e, "duration_s": d,
             "pcs_in_session_at_start": ps, "pcs_in_session_at_end": pe, "ongoing": e is None}
            for k, c, s, e, d, ps, pe in rows
        ]

    def recent_sessions(self, limit: int = 100) -> list[dict]:
        rows = self._rows("SELECT key, pc, ip, start_wall, last_seen_wall, end_wall, duration_s, notes FROM sessions "
                          "ORDER BY start_wall DESC LIMIT ?", (limit,))
        return [
            {"key": k, "pc": pc, "ip": ip, "start": stamp(s), "end": stamp(e), "duration": hms(d),
             "start_wall": s, "last_seen_wall": ls, "end_wall": e, "duration_s": d, "notes": n, "open": e is None}
            for k, pc, ip, s, ls, e, d, n in rows
        ]

    def blip_count(self) -> int:
        rows = self._rows("SELECT COUNT(*) FROM blips")
        return rows[0][0] if rows else 0

    def snapshots_since(self, since_wall: float) -> list[tuple[float, int, int]]:
        """(at_wall, in_session, total) of the occupancy snapshots since `since_wall`, oldest first."""
        return self._rows("SELECT at_wall, in_session, total FROM snapshots WHERE at_wall >= ? ORDER BY at_wall",
                          (since_wall,))

    def mark(self, name: str) -> str | None:
        """A small durable note (e.g. the last day whose digest was handled)."""
        rows = self._rows("SELECT value FROM marks WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_mark(self, name: str, value: str) -> None:
        with self._lock:
            self._db.queue("INSERT OR REPLACE INTO marks (name, value) VALUES (?, ?)", (name, value))
            self._db.write()

    # -- evidence --------------------------------------------------------------------------

    def add_evidence(self, incident_key: str, phase: str, at_wall: float, file: str) -> None:
        with self._lock:
            self._db.queue("INSERT INTO evidence (incident_key, phase, at_wall, file) VALUES (?, ?, ?, ?)",
                        (incident_key, phase, at_wall, file))
            self._db.write()

    def evidence_file(self, incident_key: str, phase: str) -> str | None:
        """The file name of an incident's evidence of that phase ("confirmed" / "ended"), if kept."""
        rows = self._rows("SELECT file FROM evidence WHERE incident_key = ? AND phase = ? ORDER BY id DESC LIMIT 1",
                          (incident_key, phase))
        return rows[0][0] if rows else None

    def evidence_before(self, cutoff_wall: float) -> list[tuple[int, str]]:
        """(id, file) of evidence taken before `cutoff_wall`."""
        return self._rows("SELECT id, file FROM evidence WHERE at_wall < ?", (cutoff_wall,))

    def forget_evidence(self, ids: list[int]) -> None:
        if ids:
            with self._lock:
                self._db.queue("DELETE FROM evidence WHERE id = ?", [(i,) for i in ids], many=True)
                self._db.write()

    # -- the subscriber --------------------------------------------------------------------

    def on_event(self, event) -> None:
        handler = self._HANDLERS.get(type(event))
        is_record = handler is not None and not isinstance(event, MonitorStatus)
        with self._lock:
            if handler is not None:
                handler(self, event)
            if is_record or self._db.failing is None or self._db.retry_due():
                self._db.write()
            self._tell()
            written = self._db.failing is None
        if written and (isinstance(event, (IncidentConfirmed, IncidentEnded, SessionEnded))
                        or self._csv_dirty and (not self._csv_failing or self._mono() >= self._csv_retry_at)):
            self.sync_csv()

    def _tell(self) -> None:
        """Publish a change in whether records are written; from on_event, so everyone listens by then."""
        failing = self._db.failing is not None
        if failing == self._told_failing:
            return
        self._told_failing = failing
        self._csv_dirty = self._csv_dirty or not failing  # what waited goes into the CSVs too
        if self._publish is not None:
            self._publish(RecordingStalled(failing, self._db.failing or "", self._db.waiting, self._wall()))

    def _incident_confirmed(self, e: IncidentConfirmed) -> None:
        self._db.queue(
            "INSERT OR IGNORE INTO incidents (key, cause, start_wall, confirmed_wall, pcs_start, event_id, "
            "closed_hours) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (e.key, e.component.value, e.started_wall, e.confirmed_wall, e.pcs_in_session_at_start, e.event_id,
             self._schedule.outside(e.started_wall, e.confirmed_wall)))

    def _incident_ended(self, e: IncidentEnded) -> None:
        self._db.queue("UPDATE incidents SET end_wall = ?, duration_s = ?, pcs_end = ?, closed_hours = ? WHERE key = ?",
                    (e.ended_wall, e.duration_s, e.pcs_in_session_now,
                     self._schedule.outside(e.started_wall, e.ended_wall), e.key))

    def _blip(self, e: Blip) -> None:
        self._db.queue("INSERT INTO blips (key, cause, start_wall, end_wall, duration_s) VALUES (?, ?, ?, ?, ?)",
                    (e.key, e.component.value, e.started_wall, e.ended_wall, e.duration_s))

    def _session_started(self, e: SessionStarted) -> None:
        self._db.queue("INSERT OR IGNORE INTO sessions (key, pc, ip, start_wall, last_seen_wall) VALUES (?, ?, ?, ?, ?)",
                    (e.key, e.pc, e.ip, e.started_wall, e.started_wall))

    def _session_ended(self, e: SessionEnded) -> None:
        notes = "ended during outage" if e.during_outage else ""
        self._db.queue("UPDATE sessions SET end_wall = ?, last_seen_wall = ?, duration_s = ?, notes = ? WHERE key = ?",
                    (e.ended_wall, e.ended_wall, e.duration_s, notes, e.key))

    def _snapshot(self, e: OccupancySnapshot) -> None:
        self._db.queue("INSERT INTO snapshots (at_wall, in_session, total) VALUES (?, ?, ?)",
                    (e.at_wall, e.in_session, e.total))

    def _status(self, e: MonitorStatus) -> None:
        """Save open sessions' last-seen time now and then, so a restart ends them at the right time."""
        self._latest = e
        if e.configured:
            self._cover(e.at_wall)
        if e.at_wall - self._last_seen_saved < LAST_SEEN_EVERY_S:
            return
        self._last_seen_saved = e.at_wall
        self._queue_last_seen(e)

    def _cover(self, at_wall: float) -> None:
        """Extend the open coverage interval, or start a new one after a gap or a clock step back."""
        last = self._coverage_last
        if self._coverage_start is None or at_wall < last or at_wall - last > COVERAGE_GAP_S:
            if self._coverage_start is not None:
                self._db.queue("UPDATE coverage SET end_wall = ? WHERE start_wall = ?", (last, self._coverage_start))
            self._db.queue("INSERT INTO coverage (start_wall, end_wall) VALUES (?, ?)", (at_wall, at_wall))
            self._coverage_start = self._coverage_saved = at_wall
        elif at_wall - self._coverage_saved >= COVERAGE_EVERY_S:
            self._db.queue("UPDATE coverage SET end_wall = ? WHERE start_wall = ?", (at_wall, self._coverage_start))
            self._coverage_saved = at_wall
        self._coverage_last = at_wall

    def _queue_last_seen(self, status: MonitorStatus) -> None:
        rows = [(pc.last_seen_wall, pc.ip) for pc in status.pcs
                if pc.state is PcState.IN_SESSION and pc.last_seen_wall is not None]
        if rows:
            self._db.queue("UPDATE sessions SET last_seen_wall = ? WHERE ip = ? AND end_wall IS NULL", rows, many=True)

    def _record(self, kind: str, detail: dict) -> None:
        self._db.queue("INSERT INTO events (at_wall, kind, detail) VALUES (?, ?, ?)",
                    (self._wall(), kind, json.dumps(detail)))

    def _config_reloaded(self, e: ConfigReloaded) -> None:
        self._schedule = Schedule.from_settings(e.config.schedule_settings)
        self._record("config_reloaded", {"changed": list(e.changed)})

    def _config_rejected(self, e: ConfigRejected) -> None:
        self._record("config_rejected", {"problems": [list(p) for p in e.problems]})

    def _privacy(self, e: PrivacyChanged) -> None:
        self._record("privacy", {"on": e.on, "until": e.until_wall, "reason": e.reason})

    def _database_replaced(self, e: DatabaseReplaced) -> None:
        self._record("database_replaced", {"reason": e.reason, "kept_as": e.kept_as})

    _HANDLERS = {
        IncidentConfirmed: _incident_confirmed,
        IncidentEnded: _incident_ended,
        Blip: _blip,
        SessionStarted: _session_started,
        SessionEnded: _session_ended,
        OccupancySnapshot: _snapshot,
        MonitorStatus: _status,
        ConfigReloaded: _config_reloaded,
        ConfigRejected: _config_rejected,
        PrivacyChanged: _privacy,
        DatabaseReplaced: _database_replaced,
    }

    # -- CSV -------------------------------------------------------------------------------

    def sync_csv(self) -> None:
        """Bring both CSV files up to date with the database; what fails is tried again later.

        Each file on its own: one that Excel holds, or re-saved in another encoding, does not
        stop the other. Failing and recovering are logged once per file.
        """
        self._csv_dirty = False
        for path, sync in ((self._incidents_csv, sync_incidents), (self._sessions_csv, append_sessions)):
            try:
                with self._lock:
                    conn = self._db.connection()
                    if conn is None:
                        self._csv_dirty = True
                        return
                    sync(conn, path)
            except (OSError, ValueError, csv.Error, sqlite3.Error) as exc:  # ValueError: a decoding problem
                self._csv_dirty = True
                self._csv_retry_at = self._mono() + RETRY_EVERY_S
                if path.name not in self._csv_failing:
                    log.warning("cannot write %s (%s); will retry", path.name, exc)
                self._csv_failing[path.name] = str(exc)
                continue
            if self._csv_failing.pop(path.name, None) is not None:
                log.info("%s is writable again and up to date", path.name)
