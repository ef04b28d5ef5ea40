"""The durable Discord outbox: messages wait in sentinel.db until Discord confirmed them.

A message is written here BEFORE its first attempt and deleted only after Discord answered
200 with a message id (or rejected it for good with a 400). Beside the queue it keeps what
must outlive a restart: the short incident numbers shown in footers (#12) and the live status
board's message id. The tables live in the app's database file next to the recording tables;
the app opens one `Outbox` (one connection, WAL) and hands it to `Delivery`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    created_wall REAL NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_kind_id ON outbox(kind, id);
CREATE TABLE IF NOT EXISTS outbox_files (
    message_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    filename TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (message_id, idx)
);
CREATE TABLE IF NOT EXISTS discord_incidents (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    started_wall REAL NOT NULL,
    ended_wall REAL
);
CREATE INDEX IF NOT EXISTS discord_incidents_key ON discord_incidents(key, started_wall);
CREATE TABLE IF NOT EXISTS discord_board (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    payload TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sent_seq INTEGER NOT NULL DEFAULT 0,
    hook TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT ''
);
"""
# Columns added after the first release; an older sentinel.db gets them on open.
_ADDED_COLUMNS = (("incident", "INTEGER"), ("closes", "INTEGER NOT NULL DEFAULT 0"))

BUSY_TIMEOUT_MS = 10_000
SAME_START_S = 1.0  # an incident restored after a restart may carry its start rounded


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # referenced from embeds as attachment://<filename>
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    kind: str
    created_wall: float
    payload: dict  # the webhook JSON body: username, content, embeds
    files: tuple[Attachment, ...]
    attempts: int
    incident: int | None = None  # the incident number it is about
    closes: bool = False  # it is the message that ends that incident (RESTORED)


@dataclass(frozen=True, slots=True)
class Board:
    """The live status board: the newest wanted payload (seq) and what Discord has (sent_seq)."""

    payload: dict
    seq: int
    sent_seq: int
    hook: str  # which webhook holds message_id (masked URL)
    message_id: str

    @property
    def dirty(self) -> bool:
        return self.seq > self.sent_seq


def _dumps(payload: dict) -> str:
    # ASCII escapes: any Python str, even broken text, can be stored.
    return json.dumps(payload, separators=(",", ":"))


class Outbox:
    """SQLite-backed FIFO per webhook kind. Thread-safe (one connection behind a lock)."""

    def __init__(self, db_path: Path):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(db_path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a confirmed enqueue survives a power cut, not only a crash. Messages are few.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            with self._lock:
                self._db.executescript(_SCHEMA)
                have = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
                for name, declaration in _ADDED_COLUMNS:
                    if name not in have:
                        self._db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {declaration}")
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self, work):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work()
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return result

    # -- the queue -------------------------------------------------------------------------

    def add(self, kind: str, created_wall: float, payload: dict, files: tuple[Attachment, ...] = (),
            incident: int | None = None, closes: bool = False) -> int:
        """Store one message durably; returns its id (ids grow: the FIFO order).

        A message that `closes` an incident also records when that incident ended.
        """
        text = _dumps(payload)

        def work() -> int:
            cur = self._db.execute(
                "INSERT INTO outbox (kind, created_wall, payload, incident, closes) VALUES (?, ?, ?, ?, ?)",
                (kind, created_wall, text, incident, int(closes)))
            message_id = cur.lastrowid
            self._db.executemany(
                "INSERT INTO outbox_files (message_id, idx, filename, data) VALUES (?, ?, ?, ?)",
                [(message_id, i, f.filename, f.data) for i, f in enumerate(files)])
            if closes and incident is not None:
                self._db.execute("UPDATE discord_incidents SET ended_wall = ? WHERE number = ?",
                                 (created_wall, incident))
            return message_id

        return self._transaction(work)

    def head(self, kind: str) -> StoredMessage | None:
        """The oldest message of `kind`, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, created_wall, payload, attempts, incident, closes FROM outbox "
                "WHERE kind = ? ORDER BY id LIMIT 1", (kind,)).fetchone()
            if row is None:
                return None
            files = self._db.execute(
                "SELECT filename, data FROM outbox_files WHERE message_id = ? ORDER BY idx",
                (row[0],)).fetchall()
        return StoredMessage(id=row[0], kind=row[1], created_wall=row[2], payload=json.loads(row[3]),
                             files=tuple(Attachment(name, bytes(data)) for name, data in files),
                             attempts=row[4], incident=row[5], closes=bool(row[6]))

    def remove(self, message_id: int) -> None:
        def work() -> None:
            self._db.execute("DELETE FROM outbox_files WHERE message_id = ?", (message_id,))
            self._db.execute("DELETE FROM outbox WHERE id = ?", (message_id,))

        self._transaction(work)

    def record_failure(self, message_id: int, error: str) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                             (error[:500], message_id))

    def backlog(self) -> dict[str, int]:
        """Queued messages per kind (kinds with none are absent)."""
        with self._lock:
            rows = self._db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind").fetchall()
        return {kind: n for kind, n in rows}

    # -- incident numbers ------------------------------------------------------------------

    def incident_number(self, key: str, started_wall: float) -> int:
        """The short number of the incident of `key` that started at `started_wall` (new ones count up)."""
        def work() -> int:
            row = self._db.execute(
                "SELECT number FROM discord_incidents WHERE key = ? AND started_wall BETWEEN ? AND ? "
                "ORDER BY number DESC LIMIT 1",
                (key, started_wall - SAME_START_S, started_wall + SAME_START_S)).fetchone()
            if row is not None:
                return row[0]
            return self._db.execute("INSERT INTO discord_incidents (key, started_wall) VALUES (?, ?)",
                                    (key, started_wall)).lastrowid

        return self._transaction(work)

    def incident_ended_wall(self, number: int) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT ended_wall FROM discord_incidents WHERE number = ?",
                                   (number,)).fetchone()
        return row[0] if row else None

    # -- the live status board -------------------------------------------------------------

    def set_board(self, payload: dict) -> int:
        """The board should now show `payload`; returns its sequence number."""
        text = _dumps(payload)

        def work() -> int:
            self._db.execute(
                "INSERT INTO discord_board (id, payload, seq) VALUES (1, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, seq = seq + 1", (text,))
            return self._db.execute("SELECT seq FROM discord_board WHERE id = 1").fetchone()[0]

        return self._transaction(work)

    def board(self) -> Board | None:
        with self._lock:
            row = self._db.execute(
                "SELECT payload, seq, sent_seq, hook, message_id FROM discord_board WHERE id = 1").fetchone()
        if row is None:
            return None
        return Board(json.loads(row[0]), row[1], row[2], row[3], row[4])

    def board_sent(self, seq: int, hook: str, message_id: str) -> None:
        """Discord shows payload `seq` in message `message_id` of webhook `hook`."""
        with self._lock:
            self._db.execute("UPDATE discord_board SET sent_seq = MAX(sent_seq, ?), hook = ?, message_id = ? "
                             "WHERE id = 1", (seq, hook, message_id))

    def board_gone(self) -> None:
        """The board message was deleted in Discord: the next send posts a new one."""
        with self._lock:
            self._db.execute("UPDATE discord_board SET message_id = '', sent_seq = 0 WHERE id = 1")
