"""A real SQLite file and real CSV files, seed-compatible."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from sentinel.database import connect
from sentinel.events import (Blip, Component, IncidentConfirmed, IncidentEnded, MonitorStatus, SessionEnded,
                             SessionStarted)
from sentinel.schedule import Schedule
from sentinel.services.recording.csvfiles import INCIDENT_HEADER, SESSION_HEADER
from sentinel.services.recording.storage import Storage
from tests.helpers.localtime import local_zone

T0 = dt.datetime(2026, 11, 21, 14, 2, 11).timestamp()


@pytest.fixture
def storage(tmp_path):
    s = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    yield s
    s.close()


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_incident_row_written_when_confirmed_and_completed_in_place(storage, tmp_path):
    storage.on_event(IncidentConfirmed("k1", Component.ROUTER, T0, T0 + 10, 4))
    assert rows(tmp_path / "incidents.csv") == [INCIDENT_HEADER,
                                                ["2026-11-21 14:02:11", "", "", "ROUTER_DOWN", "ongoing"]]
    storage.on_event(IncidentConfirmed("k2", Component.SERVER, T0 + 5, T0 + 15, 4))
    storage.on_event(IncidentEnded("k1", Component.ROUTER, T0, T0 + 125, 125.0, 4, 6))
    assert rows(tmp_path / "incidents.csv")[1:] == [
        ["2026-11-21 14:02:11", "2026-11-21 14:04:16", "0:02:05", "ROUTER_DOWN", "resolved"],
        ["2026-11-21 14:02:16", "", "", "SERVER_DOWN", "ongoing"],
    ]
    assert storage.open_incidents() == [("k2", Component.SERVER, T0 + 5, 4)]
    (recent,) = [r for r in storage.recent_incidents() if r["key"] == "k1"]
    assert recent["pcs_in_session_at_end"] == 6 and recent["duration"] == "0:02:05"


def test_seed_rows_in_an_existing_csv_are_kept(storage, tmp_path):
    seed = ["2026-01-01 10:00:00", "2026-01-01 10:05:00", "0:05:00", "ISP_DOWN", "resolved"]
    with open(tmp_path / "incidents.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([INCIDENT_HEADER, seed])
    storage.on_event(IncidentConfirmed("k1", Component.INTERNET, T0, T0 + 10, 0))
    assert rows(tmp_path / "incidents.csv")[1] == seed
    assert len(rows(tmp_path / "incidents.csv")) == 3


def test_blips_are_recorded_but_not_in_the_csv(storage, tmp_path):
    storage.on_event(Blip("b", Component.SERVER, T0, T0 + 2, 2.0))
    assert storage.blip_count() == 1
    assert not (tmp_path / "incidents.csv").exists() or rows(tmp_path / "incidents.csv") == [INCIDENT_HEADER]


def test_sessions_csv_one_row_per_ended_session(storage, tmp_path):
    storage.on_event(SessionStarted("s1", "VIP-1", "198.51.100.110", T0))
    assert storage.open_sessions() == [("s1", "198.51.100.110", T0, T0)]
    storage.on_event(SessionEnded("s1", "VIP-1", "198.51.100.110", T0, T0 + 3600, 3600.0, True))
    assert rows(tmp_path / "sessions.csv") == [
        SESSION_HEADER,
        ["VIP-1", "198.51.100.110", "2026-11-21 14:02:11", "2026-11-21 15:02:11", "1:00:00", "ended during outage"],
    ]
    assert storage.open_sessions() == []


def test_csv_that_cannot_be_written_is_caught_up_on_a_later_event(storage, tmp_path, caplog):
    (tmp_path / "incidents.csv").mkdir()  # like a file locked by Excel: writing fails
    storage.on_event(IncidentConfirmed("k1", Component.ROUTER, T0, T0 + 10, 0))
    storage.on_event(IncidentConfirmed("k2", Component.SERVER, T0, T0 + 10, 0))
    assert sum("cannot write incidents.csv" in r.message for r in caplog.records) == 1
    (tmp_path / "incidents.csv").rmdir()
    storage.on_event(IncidentEnded("k1", Component.ROUTER, T0, T0 + 60, 60.0, 0, 0))
    assert [r[3:] for r in rows(tmp_path / "incidents.csv")[1:]] == [["ROUTER_DOWN", "resolved"],
                                                                     ["SERVER_DOWN", "ongoing"]]


def test_database_is_wal_and_survives_reopen(tmp_path):
    s = Storage(tmp_path / "sentinel.db", tmp_path / "i.csv", tmp_path / "s.csv")
    s.on_event(IncidentConfirmed("k1", Component.LAN, T0, T0 + 10, 2))
    s.close()
    conn = connect(tmp_path / "sentinel.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    s = Storage(tmp_path / "sentinel.db", tmp_path / "i.csv", tmp_path / "s.csv")
    assert s.open_incidents() == [("k1", Component.LAN, T0, 2)]
    s.close()


def test_clean_close_saves_last_seen_of_open_sessions(tmp_path):
    from sentinel.events import MonitorStatus, PcState, PcStatus

    s = Storage(tmp_path / "sentinel.db", tmp_path / "i.csv", tmp_path / "s.csv")
    s.on_event(SessionStarted("s1", "PC-1", "198.51.100.110", T0))
    for seen in (T0 + 1, T0 + 30):  # the first is saved at once, the second is within 60 s of it
        pc = PcStatus(1, "PC-1", "198.51.100.110", PcState.IN_SESSION, T0, 1.0, last_seen_wall=seen)
        s.on_event(MonitorStatus(seen, True, True, False, (), (pc,), 0))
    s.close()
    s = Storage(tmp_path / "sentinel.db", tmp_path / "i.csv", tmp_path / "s.csv")
    assert s.open_sessions() == [("s1", "198.51.100.110", T0, T0 + 30)]
    s.close()


def status(at, configured=True):
    return MonitorStatus(at, configured, True, False, (), (), 0)


def coverage(tmp_path):
    conn = connect(tmp_path / "sentinel.db")
    try:
        return conn.execute("SELECT start_wall, end_wall FROM coverage ORDER BY id").fetchall()
    finally:
        conn.close()


def test_coverage_is_extended_every_minute_and_survives_a_crash(tmp_path):
    s = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    for tick in range(0, 182, 2):  # 3 min of 2 s ticks
        s.on_event(status(T0 + tick))
    # No close(): as after a power cut, the database holds the interval up to the last minute mark.
    assert coverage(tmp_path) == [(T0, T0 + 180)]
    s.close()
    assert coverage(tmp_path) == [(T0, T0 + 180)]


def test_a_clean_stop_saves_coverage_to_the_last_tick_and_a_restart_opens_a_new_interval(tmp_path):
    paths = (tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    s = Storage(*paths)
    for tick in range(0, 100, 2):
        s.on_event(status(T0 + tick))
    s.close()
    s = Storage(*paths)
    s.on_event(status(T0 + 400))
    s.on_event(status(T0 + 402))
    s.close()
    assert coverage(tmp_path) == [(T0, T0 + 98), (T0 + 400, T0 + 402)]


def test_coverage_breaks_at_a_gap_or_a_clock_step_back_and_ignores_an_unconfigured_monitor(tmp_path):
    s = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    s.on_event(status(T0 - 50, configured=False))
    for at in (T0, T0 + 2, T0 + 302, T0 + 304, T0 + 200, T0 + 202):
        s.on_event(status(at))
    s.close()
    assert coverage(tmp_path) == [(T0, T0 + 2), (T0 + 302, T0 + 304), (T0 + 200, T0 + 202)]


def test_incidents_outside_opening_hours_are_marked_closed_hours(tmp_path):
    with local_zone():
        t = lambda *hm: dt.datetime(2026, 12, 1, *hm).timestamp()  # a Tuesday
        schedule = Schedule(True, ("10:00-02:00",) * 7)
        s = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv", schedule)
        s.on_event(IncidentConfirmed("night", Component.INTERNET, t(3, 0), t(3, 1), 0))
        s.on_event(IncidentConfirmed("into", Component.ROUTER, t(9, 0), t(9, 1), 0))
        s.on_event(IncidentConfirmed("day", Component.SERVER, t(12, 0), t(12, 1), 3))
        assert [r[4] for r in rows(tmp_path / "incidents.csv")[1:]] == [
            "ongoing, closed hours", "ongoing, closed hours", "ongoing"]
        s.on_event(IncidentEnded("night", Component.INTERNET, t(3, 0), t(4, 0), 3600, 0, 0))
        s.on_event(IncidentEnded("into", Component.ROUTER, t(9, 0), t(10, 30), 5400, 0, 2))  # lasted into opening
        s.on_event(IncidentEnded("day", Component.SERVER, t(12, 0), t(12, 5), 300, 3, 3))
        assert [r[4] for r in rows(tmp_path / "incidents.csv")[1:]] == ["closed hours", "resolved", "resolved"]
        conn = connect(tmp_path / "sentinel.db")
        assert conn.execute("SELECT key, closed_hours FROM incidents ORDER BY id").fetchall() == [
            ("night", 1), ("into", 0), ("day", 0)]
        conn.close()
        s.close()


def test_a_database_from_before_closed_hours_gets_the_column(tmp_path):
    conn = connect(tmp_path / "sentinel.db")
    conn.execute("CREATE TABLE incidents (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, cause TEXT NOT NULL, "
                 "start_wall REAL NOT NULL, confirmed_wall REAL NOT NULL, end_wall REAL, duration_s REAL, "
                 "pcs_start INTEGER NOT NULL, pcs_end INTEGER, event_id TEXT, csv_state TEXT NOT NULL DEFAULT '')")
    conn.execute("INSERT INTO incidents (key, cause, start_wall, confirmed_wall, pcs_start, end_wall, csv_state) "
                 "VALUES ('old', 'ISP_DOWN', 1, 2, 0, 3, 'resolved')")
    conn.close()
    s = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    s.on_event(status(T0))
    s.close()
    assert not (tmp_path / "incidents.csv").exists()  # the old row was already in the CSV: not rewritten


def test_an_event_after_close_does_not_open_the_database_again(tmp_path):
    s = Storage(tmp_path / "sentinel.db", tmp_path / "i.csv", tmp_path / "s.csv")
    s.close()
    s.on_event(IncidentConfirmed("late", Component.ROUTER, T0, T0 + 10, 0))  # a bus worker that was late
    assert s.open_incidents() == []
    conn = connect(tmp_path / "sentinel.db")
    assert conn.execute("SELECT COUNT(*) FROM incidents").fetchone() == (0,)
    conn.close()
