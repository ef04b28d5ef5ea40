"""The one way records reach sentinel.db: queued in memory, written in one transaction, kept while that fails.

A full or read-only disk, a locked or damaged file: the records wait (bounded) and go in on a
later write once it works again; failing and recovering are logged once each. A record SQLite
refuses for what it holds (not for the disk) is dropped and logged, so it cannot block the others.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import Callable

from sentinel.database import connect

log = logging.getLogger(__name__)

RETRY_EVERY_S = 5.0  # while writes fail, how often a write is tried without a new record
MAX_WAITING = 20_000  # records held in memory while the database cannot be written (days of a busy cafe)
# SQLite refusing a record for what it holds (a bug, a lone surrogate), not for the disk.
REFUSED = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError, ValueError)


class Writer:
    """Not thread-safe: its owner holds one lock around every call. `prepare(conn)` sets up the schema."""

    def __init__(self, db_path: Path, prepare: Callable[[sqlite3.Connection], None],
                 mono_clock: Callable[[], float] = time.monotonic):
        self.db_path = Path(db_path)
        self._prepare = prepare
        self._mono = mono_clock
        self._conn: sqlite3.Connection | None = None
        self._waiting: deque[tuple[str, object, bool]] = deque()  # (sql, parameters, executemany)
        self._dropped = 0
        self.failing: str | None = None  # the reason, while writes fail
        self._retry_at = 0.0
        self._closed = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def retry_due(self) -> bool:
        return self._mono() >= self._retry_at

    def connection(self) -> sqlite3.Connection | None:
        """The open connection, opened (and prepared) if needed; None when that fails or after close()."""
        if self._closed:
            return None
        if self._conn is None:
            try:
                conn = connect(self.db_path)
            except (sqlite3.Error, OSError) as exc:
                self._failed(exc)
                return None
            try:
                self._prepare(conn)
            except (sqlite3.Error, OSError) as exc:
                conn.close()
                self._failed(exc)
                return None
            self._conn = conn
        return self._conn

    def rows(self, sql: str, parameters: tuple = ()) -> list:
        """A query (the API, the window, the reports); nothing while the database cannot be read."""
        conn = self.connection()
        if conn is None:
            return []
        try:
            return conn.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            log.warning("cannot read %s: %s", self.db_path, exc)
            return []

    def queue(self, sql: str, parameters, many: bool = False) -> None:
        if len(self._waiting) >= MAX_WAITING:
            self._waiting.popleft()
            self._dropped += 1
            if self._dropped == 1:
                log.error("%d records are waiting for %s; dropping the oldest", MAX_WAITING, self.db_path)
        self._waiting.append((sql, parameters, many))

    def write(self) -> None:
        """Write every waiting record in one transaction; on failure they keep waiting."""
        if not self._waiting:
            return
        conn = self.connection()
        if conn is None:
            return
        try:
            _apply(conn, list(self._waiting))
            self._waiting.clear()
        except REFUSED:
            if not self._write_one_by_one(conn):
                return
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return
        self._recovered()

    def close(self) -> None:
        """Write what waits, then close (what still cannot be written is logged)."""
        self.write()
        if self._waiting:
            log.error("stopping with %d records that could not be written to %s", len(self._waiting), self.db_path)
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write_one_by_one(self, conn: sqlite3.Connection) -> bool:
        while self._waiting:
            statement = self._waiting[0]
            try:
                _apply(conn, [statement])
            except REFUSED as exc:
                log.error("dropping a record %s refuses (%s): %s", self.db_path.name, exc, statement[0][:60])
            except (sqlite3.Error, OSError) as exc:
                self._failed(exc)
                return False
            self._waiting.popleft()
        return True

    def _failed(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        self._retry_at = self._mono() + RETRY_EVERY_S
        if self._conn is not None:  # open afresh next time (a moved, remounted or repaired file)
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None
        if self.failing is not None:
            return
        self.failing = reason
        log.error("cannot write %s (%s); %d records wait in memory and are written once it works again",
                  self.db_path, reason, len(self._waiting))

    def _recovered(self) -> None:
        if self.failing is None:
            return
        self.failing = None
        lost = f"; {self._dropped} of the oldest were dropped" if self._dropped else ""
        log.info("%s is writable again; the waiting records are written%s", self.db_path, lost)
        self._dropped = 0


def _apply(conn: sqlite3.Connection, statements: list) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
        for sql, parameters, many in statements:
            (conn.executemany if many else conn.execute)(sql, parameters)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the first error is the one worth reporting
        raise
