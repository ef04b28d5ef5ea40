"""Durable records: SQLite (sentinel.db, WAL) is the source of truth; the CSV files follow it.

incidents.csv gets a row when an incident is confirmed (Notes `ongoing`) and the row is
completed in place when it ends (Notes `resolved`); an incident wholly outside opening hours
is marked `closed hours` instead (`ongoing, closed hours` while it lasts). sessions.csv gets
a row per ended session. A CSV that cannot be written (open in Excel on Windows) is brought up to date on a
later write: the database remembers what each CSV already holds.

Coverage: while the monitor runs (configured), the `coverage` table holds the intervals it
watched; the open interval is extended every COVERAGE_EVERY_S, so a crash loses at most that
much of it. Reports divide by watched time, never by elapsed time.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

from sentinel.config.model import atomic_write
from sentinel.schedule import Schedule
from sentinel.timefmt import hms, stamp
from sentinel.events import (
    Blip,
    Component,
    ConfigRejected,
    ConfigReloaded,
    IncidentConfirmed,
    IncidentEnded,
    MonitorStatus,
    OccupancySnapshot,
    PcState,
    PrivacyChanged,
    SessionEnded,
    SessionStarted,
)

log = logging.getLogger(__name__)

INCIDENT_HEADER = ["Start Time", "End Time", "Duration", "Cause", "Notes"]
SESSION_HEADER = ["PC", "IP", "Start Time", "End Time", "Duration", "Notes"]
LAST_SEEN_EVERY_S = 60.0  # how often open sessions' last-seen time is saved
COVERAGE_EVERY_S = 60.0  # how often the open coverage interval is extended
COVERAGE_GAP_S = 150.0  # no status for longer than this (suspend, frozen process): a new interval
NOTES_SQL = ("CASE WHEN end_wall IS NULL THEN CASE WHEN closed_hours THEN 'ongoing, closed hours' ELSE 'ongoing' END "
             "ELSE CASE WHEN closed_hours THEN 'closed hours' ELSE 'resolved' END END")

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


def connect(path: Path) -> sqlite3.Connection:
    """A connection to sentinel.db in WAL mode, safe against power cuts (synchronous=FULL)."""
    conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Storage:
    """Bus subscriber that records incidents, blips, sessions, snapshots and notable events."""

    def __init__(self, db_path: Path, incidents_csv: Path, sessions_csv: Path, schedule: Schedule = Schedule()):
        self._conn = connect(db_path)
        self._conn.executescript(SCHEMA)
        for table, column, kind in ADDED_COLUMNS:  # databases from before the column existed
            if column not in [row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")]:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self._schedule = schedule
        self._coverage_id: int | None = None
        self._coverage_last = self._coverage_saved = 0.0
        self._incidents_csv = Path(incidents_csv)
        self._sessions_csv = Path(sessions_csv)
        self._lock = threading.Lock()
        self._csv_dirty = True  # bring the CSVs up to date on the first status
        self._csv_failing = False
        self._last_seen_saved = 0.0
        self._latest: MonitorStatus | None = None

    def close(self) -> None:
        """Save open sessions' last-seen times (a clean stop loses nothing), then close."""
        with self._lock:
            if self._latest is not None:
                self.save_last_seen(self._latest)
            self._save_coverage()
            self._conn.close()

    def save_coverage(self) -> None:
        """Write the open coverage interval up to the latest status (before a digest reads it)."""
        with self._lock:
            self._save_coverage()

    def _save_coverage(self) -> None:
        if self._coverage_id is not None:
            self._conn.execute("UPDATE coverage SET end_wall = ? WHERE id = ?", (self._coverage_last, self._coverage_id))
            self._coverage_saved = self._coverage_last

    # -- restore ---------------------------------------------------------------------------

    def open_incidents(self) -> list[tuple[str, Component, float, int]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, cause, start_wall, pcs_start FROM incidents WHERE end_wall IS NULL ORDER BY id"
            ).fetchall()
        return [(key, Component(cause), start, pcs) for key, cause, start, pcs in rows]

    def open_sessions(self) -> list[tuple[str, str, float, float]]:
        with self._lock:
            return self._conn.execute(
                "SELECT key, ip, start_wall, last_seen_wall FROM sessions WHERE end_wall IS NULL ORDER BY id"
            ).fetchall()

    # -- queries (API, window) -------------------------------------------------------------

    def recent_incidents(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, cause, start_wall, end_wall, duration_s, pcs_start, pcs_end FROM incidents "
                "ORDER BY start_wall DESC LIMIT ?", (limit,)).fetchall()
        return [
            {"key": k, "cause": c, "component": Component(c).label, "start": stamp(s), "end": stamp(e),
             "duration": hms(d), "start_wall": s, "end_wall": e, "duration_s": d,
             "pcs_in_session_at_start": ps, "pcs_in_session_at_end": pe, "ongoing": e is None}
            for k, c, s, e, d, ps, pe in rows
        ]

    def recent_sessions(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, pc, ip, start_wall, last_seen_wall, end_wall, duration_s, notes FROM sessions "
                "ORDER BY start_wall DESC LIMIT ?", (limit,)).fetchall()
        return [
            {"key": k, "pc": pc, "ip": ip, "start": stamp(s), "end": stamp(e), "duration": hms(d),
             "start_wall": s, "last_seen_wall": ls, "end_wall": e, "duration_s": d, "notes": n, "open": e is None}
            for k, pc, ip, s, ls, e, d, n in rows
        ]

    def blip_count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM blips").fetchone()[0]

    def snapshots_since(self, since_wall: float) -> list[tuple[float, int, int]]:
        """(at_wall, in_session, total) of the occupancy snapshots since `since_wall`, oldest first."""
        with self._lock:
            return self._conn.execute("SELECT at_wall, in_session, total FROM snapshots WHERE at_wall >= ? "
                                      "ORDER BY at_wall", (since_wall,)).fetchall()

    def mark(self, name: str) -> str | None:
        """A small durable note (e.g. the last day whose digest was handled)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM marks WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_mark(self, name: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO marks (name, value) VALUES (?, ?)", (name, value))

    # -- evidence --------------------------------------------------------------------------

    def add_evidence(self, incident_key: str, phase: str, at_wall: float, file: str) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO evidence (incident_key, phase, at_wall, file) VALUES (?, ?, ?, ?)",
                               (incident_key, phase, at_wall, file))

    def evidence_file(self, incident_key: str, phase: str) -> str | None:
        """The file name of an incident's evidence of that phase ("confirmed" / "ended"), if kept."""
        with self._lock:
            row = self._conn.execute("SELECT file FROM evidence WHERE incident_key = ? AND phase = ? "
                                     "ORDER BY id DESC LIMIT 1", (incident_key, phase)).fetchone()
        return row[0] if row else None

    def evidence_before(self, cutoff_wall: float) -> list[tuple[int, str]]:
        """(id, file) of evidence taken before `cutoff_wall`."""
        with self._lock:
            return self._conn.execute("SELECT id, file FROM evidence WHERE at_wall < ?", (cutoff_wall,)).fetchall()

    def forget_evidence(self, ids: list[int]) -> None:
        with self._lock:
            self._conn.executemany("DELETE FROM evidence WHERE id = ?", [(i,) for i in ids])

    # -- the subscriber --------------------------------------------------------------------

    def on_event(self, event) -> None:
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            with self._lock:
                handler(self, event)
        if isinstance(event, (IncidentConfirmed, IncidentEnded, SessionEnded)) or self._csv_dirty:
            self.sync_csv()

    def _incident_confirmed(self, e: IncidentConfirmed) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO incidents (key, cause, start_wall, confirmed_wall, pcs_start, event_id, "
            "closed_hours) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (e.key, e.component.value, e.started_wall, e.confirmed_wall, e.pcs_in_session_at_start, e.event_id,
             self._schedule.outside(e.started_wall, e.confirmed_wall)))

    def _incident_ended(self, e: IncidentEnded) -> None:
        self._conn.execute(
            "UPDATE incidents SET end_wall = ?, duration_s = ?, pcs_end = ?, closed_hours = ? WHERE key = ?",
            (e.ended_wall, e.duration_s, e.pcs_in_session_now, self._schedule.outside(e.started_wall, e.ended_wall),
             e.key))

    def _blip(self, e: Blip) -> None:
        self._conn.execute("INSERT INTO blips (key, cause, start_wall, end_wall, duration_s) VALUES (?, ?, ?, ?, ?)",
                           (e.key, e.component.value, e.started_wall, e.ended_wall, e.duration_s))

    def _session_started(self, e: SessionStarted) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO sessions (key, pc, ip, start_wall, last_seen_wall) VALUES (?, ?, ?, ?, ?)",
            (e.key, e.pc, e.ip, e.started_wall, e.started_wall))

    def _session_ended(self, e: SessionEnded) -> None:
        notes = "ended during outage" if e.during_outage else ""
        self._conn.execute(
            "UPDATE sessions SET end_wall = ?, last_seen_wall = ?, duration_s = ?, notes = ? WHERE key = ?",
            (e.ended_wall, e.ended_wall, e.duration_s, notes, e.key))

    def _snapshot(self, e: OccupancySnapshot) -> None:
        self._conn.execute("INSERT INTO snapshots (at_wall, in_session, total) VALUES (?, ?, ?)",
                           (e.at_wall, e.in_session, e.total))

    def _status(self, e: MonitorStatus) -> None:
        """Save open sessions' last-seen time now and then, so a restart ends them at the right time."""
        self._latest = e
        if e.configured:
            self._cover(e.at_wall)
        if e.at_wall - self._last_seen_saved < LAST_SEEN_EVERY_S:
            return
        self._last_seen_saved = e.at_wall
        self.save_last_seen(e)

    def _cover(self, at_wall: float) -> None:
        """Extend the open coverage interval, or start a new one after a gap or a clock step back."""
        last = self._coverage_last
        if self._coverage_id is None or at_wall < last or at_wall - last > COVERAGE_GAP_S:
            if self._coverage_id is not None:
                self._conn.execute("UPDATE coverage SET end_wall = ? WHERE id = ?", (last, self._coverage_id))
            self._coverage_id = self._conn.execute("INSERT INTO coverage (start_wall, end_wall) VALUES (?, ?)",
                                                   (at_wall, at_wall)).lastrowid
            self._coverage_saved = at_wall
        elif at_wall - self._coverage_saved >= COVERAGE_EVERY_S:
            self._conn.execute("UPDATE coverage SET end_wall = ? WHERE id = ?", (at_wall, self._coverage_id))
            self._coverage_saved = at_wall
        self._coverage_last = at_wall

    def save_last_seen(self, status: MonitorStatus) -> None:
        rows = [(pc.last_seen_wall, pc.ip) for pc in status.pcs
                if pc.state is PcState.IN_SESSION and pc.last_seen_wall is not None]
        self._conn.executemany("UPDATE sessions SET last_seen_wall = ? WHERE ip = ? AND end_wall IS NULL", rows)

    def _record(self, kind: str, detail: dict) -> None:
        self._conn.execute("INSERT INTO events (at_wall, kind, detail) VALUES (?, ?, ?)",
                           (time.time(), kind, json.dumps(detail)))

    def _config_reloaded(self, e: ConfigReloaded) -> None:
        self._schedule = Schedule.from_settings(e.config.schedule_settings)
        self._record("config_reloaded", {"changed": list(e.changed)})

    def _config_rejected(self, e: ConfigRejected) -> None:
        self._record("config_rejected", {"problems": [list(p) for p in e.problems]})

    def _privacy(self, e: PrivacyChanged) -> None:
        self._record("privacy", {"on": e.on, "until": e.until_wall, "reason": e.reason})

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
    }

    # -- CSV -------------------------------------------------------------------------------

    def sync_csv(self) -> None:
        """Bring both CSV files up to date with the database; on failure retry on a later event."""
        try:
            with self._lock:
                self._sync_incidents()
                self._sync_sessions()
        except OSError as exc:
            self._csv_dirty = True
            if not self._csv_failing:
                log.warning("cannot write the CSV files (%s); will retry", exc)
            self._csv_failing = True
            return
        if self._csv_failing:
            log.info("CSV files are writable again and up to date")
        self._csv_dirty = self._csv_failing = False

    def _sync_incidents(self) -> None:
        pending = self._conn.execute(
            f"SELECT key, cause, start_wall, end_wall, duration_s, {NOTES_SQL} FROM incidents "
            f"WHERE csv_state != {NOTES_SQL} ORDER BY id").fetchall()
        if not pending:
            return
        rows = _read_csv(self._incidents_csv, INCIDENT_HEADER)
        index = {(r[0], r[3]): i for i, r in enumerate(rows) if len(r) >= 5}
        for _, cause, start, end, duration, notes in pending:
            row = [stamp(start), stamp(end), hms(duration), cause, notes]
            where = index.get((row[0], cause))
            if where is None:
                index[(row[0], cause)] = len(rows)
                rows.append(row)
            else:
                rows[where] = row
        _write_csv(self._incidents_csv, INCIDENT_HEADER, rows)
        self._conn.executemany(f"UPDATE incidents SET csv_state = {NOTES_SQL} WHERE key = ?",
                               [(key,) for key, *_ in pending])

    def _sync_sessions(self) -> None:
        pending = self._conn.execute(
            "SELECT key, pc, ip, start_wall, end_wall, duration_s, notes FROM sessions "
            "WHERE end_wall IS NOT NULL AND csv_written = 0 ORDER BY end_wall, id").fetchall()
        if not pending:
            return
        new_file = not self._sessions_csv.exists() or self._sessions_csv.stat().st_size == 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if new_file:
            writer.writerow(SESSION_HEADER)
        for _, pc, ip, start, end, duration, notes in pending:
            writer.writerow([pc, ip, stamp(start), stamp(end), hms(duration), notes])
        with open(self._sessions_csv, "a", encoding="utf-8", newline="") as out:
            out.write(buffer.getvalue())
            out.flush()
        self._conn.executemany("UPDATE sessions SET csv_written = 1 WHERE key = ?", [(k,) for k, *_ in pending])


def _read_csv(path: Path, header: list[str]) -> list[list[str]]:
    """Data rows of an existing CSV (rows we did not write, e.g. the seed's, are kept)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    rows = list(csv.reader(io.StringIO(text)))
    return rows[1:] if rows and rows[0] == header else rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue().encode("utf-8"))
