"""The durable Discord outbox: messages wait in sentinel.db until Discord confirmed them.

A message is written here BEFORE its first attempt and deleted only after Discord answered
200 with a message id (or it was rejected for good with a 400). The table lives in the app's
database file next to the lead's tables; this module opens its own connection (WAL).
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
"""

BUSY_TIMEOUT_MS = 10_000


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


class Outbox:
    """SQLite-backed FIFO per webhook kind. Thread-safe (one connection behind a lock)."""

    def __init__(self, db_path: Path):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(db_path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a confirmed enqueue survives a power cut, not only a crash. Messages are few.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with self._lock:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, kind: str, created_wall: float, payload: dict,
            files: tuple[Attachment, ...] = ()) -> int:
        """Store one message durably; returns its id (ids grow: the FIFO order)."""
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO outbox (kind, created_wall, payload) VALUES (?, ?, ?)",
                    (kind, created_wall, text))
                message_id = cur.lastrowid
                self._db.executemany(
                    "INSERT INTO outbox_files (message_id, idx, filename, data) VALUES (?, ?, ?, ?)",
                    [(message_id, i, f.filename, f.data) for i, f in enumerate(files)])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return message_id

    def head(self, kind: str) -> StoredMessage | None:
        """The oldest message of `kind`, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, created_wall, payload, attempts FROM outbox "
                "WHERE kind = ? ORDER BY id LIMIT 1", (kind,)).fetchone()
            if row is None:
                return None
            files = self._db.execute(
                "SELECT filename, data FROM outbox_files WHERE message_id = ? ORDER BY idx",
                (row[0],)).fetchall()
        return StoredMessage(id=row[0], kind=row[1], created_wall=row[2], payload=json.loads(row[3]),
                             files=tuple(Attachment(name, bytes(data)) for name, data in files),
                             attempts=row[4])

    def remove(self, message_id: int) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM outbox_files WHERE message_id = ?", (message_id,))
                self._db.execute("DELETE FROM outbox WHERE id = ?", (message_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def record_failure(self, message_id: int, error: str) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                             (error[:500], message_id))

    def backlog(self) -> dict[str, int]:
        """Queued messages per kind (kinds with none are absent)."""
        with self._lock:
            rows = self._db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind").fetchall()
        return {kind: n for kind, n in rows}
