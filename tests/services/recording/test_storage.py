"""A real SQLite file and real CSV files, seed-compatible."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from sentinel.events import Blip, Component, IncidentConfirmed, IncidentEnded, SessionEnded, SessionStarted
from sentinel.database import connect
from sentinel.services.recording.storage import INCIDENT_HEADER, SESSION_HEADER, Storage

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
