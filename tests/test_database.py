"""sentinel.db checked before use: damaged ones moved aside (kept), a deleted one reported. Real files."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3

import pytest

from sentinel import database
from sentinel.events import Component, IncidentConfirmed
from sentinel.services.recording.storage import Storage

T0 = dt.datetime(2026, 11, 21, 14, 2, 11).timestamp()


def filled_database(path, incidents: int = 300) -> None:
    """A real database several pages long, as the app leaves it."""
    database.prepare(path, T0)
    storage = Storage(path, path.parent / "incidents.csv", path.parent / "sessions.csv")
    for n in range(incidents):
        storage.on_event(IncidentConfirmed(f"k{n}", Component.ROUTER, T0 + n, T0 + n + 10, 3))
    storage.close()


def garbage_header(path):
    data = path.read_bytes()
    path.write_bytes(os.urandom(100) + data[100:])


def text(path):
    path.write_text("Start Time,End Time,Duration,Cause,Notes\r\n" * 200)


def truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def a_directory(path):
    path.unlink()
    path.mkdir()
    (path / "something").write_text("x")


def garbage_mid_file(path):
    data = bytearray(path.read_bytes())
    data[4096 * 3: 4096 * 4] = os.urandom(4096)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("spoil", [garbage_header, text, truncated, a_directory, garbage_mid_file])
def test_a_damaged_database_is_moved_aside_and_a_fresh_one_works(tmp_path, spoil):
    db = tmp_path / "sentinel.db"
    filled_database(db)
    spoil(db)
    problem = database.prepare(db, T0 + 3600)
    assert problem is not None and problem.kept_as is not None
    assert problem.kept_as.name == "sentinel-damaged-20261121-150211.db"
    assert problem.kept_as.exists()  # kept, not destroyed
    assert "incidents.csv" in problem.text() and problem.kept_as.name in problem.text()
    assert db.is_file()
    storage = Storage(db, tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    storage.on_event(IncidentConfirmed("new", Component.SERVER, T0, T0 + 10, 1))
    assert storage.open_incidents() == [("new", Component.SERVER, T0, 1)]
    storage.close()
    assert database.prepare(db, T0 + 7200) is None  # the fresh one passes the check


def test_a_healthy_database_is_left_alone(tmp_path):
    db = tmp_path / "sentinel.db"
    filled_database(db, incidents=5)
    assert database.prepare(db, T0) is None
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM incidents").fetchone() == (5,)
    conn.close()
    assert [p.name for p in tmp_path.glob("*damaged*")] == []


def test_a_busy_database_is_not_damage(tmp_path):
    db = tmp_path / "sentinel.db"
    filled_database(db, incidents=5)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        assert database.damage(db) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert db.exists()


def test_a_deleted_database_is_reported_not_silently_recreated(tmp_path):
    db = tmp_path / "sentinel.db"
    assert database.prepare(db, T0) is None  # a first start: nothing to report
    filled_database(db, incidents=5)
    for leftover in tmp_path.glob("sentinel.db*"):
        if leftover.name != database.marker_of(db).name:
            leftover.unlink()
    problem = database.prepare(db, T0)
    assert problem is not None and problem.reason.startswith("missing")
    assert problem.kept_as is None
    assert "missing" in problem.text()
    assert db.exists()  # monitoring goes on, on a fresh database
    assert database.prepare(db, T0) is None


def test_a_deleted_database_made_again_by_another_process_is_reported_and_kept(tmp_path):
    db = tmp_path / "sentinel.db"
    filled_database(db, incidents=5)
    for leftover in tmp_path.glob("sentinel.db*"):
        if leftover.name != database.marker_of(db).name:
            leftover.unlink()
    guard = sqlite3.connect(db)  # the guard queues a report before the app starts again
    guard.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload TEXT)")
    guard.execute("INSERT INTO outbox (payload) VALUES ('app restarted')")
    guard.commit()
    guard.close()
    problem = database.prepare(db, T0)
    assert problem is not None and problem.reason.startswith("missing") and problem.kept_as is None
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT payload FROM outbox").fetchall() == [("app restarted",)]
    conn.close()
    assert database.prepare(db, T0) is None
