"""Storage when the disk fails it or Excel re-saved a CSV: nothing lost, told once. Real SQLite, real tmpfs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import sqlite3

import pytest

from sentinel.events import (Component, IncidentConfirmed, IncidentEnded, MonitorStatus, RecordingStalled,
                             SessionEnded, SessionStarted)
from sentinel.services.recording.csvfiles import INCIDENT_HEADER, SESSION_HEADER
from sentinel.services.recording.storage import RETRY_EVERY_S, Storage
from tests.helpers.tmpfs import Tmpfs

T0 = dt.datetime(2026, 11, 21, 14, 2, 11).timestamp()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tick(wall: float) -> MonitorStatus:
    return MonitorStatus(wall, True, True, False, (), (), 0)


def csv_rows(path, encoding="utf-8"):
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))


@pytest.mark.needs_root
def test_a_full_disk_keeps_records_in_memory_and_writes_them_all_when_space_returns(tmp_path, caplog):
    with Tmpfs(tmp_path / "data", size_kib=1024) as disk:
        published, mono = [], FakeClock()
        storage = Storage(disk.path / "sentinel.db", disk.path / "incidents.csv", disk.path / "sessions.csv",
                          publish=published.append, mono_clock=mono)
        storage.on_event(tick(T0))
        disk.fill()
        events = [IncidentConfirmed(f"k{n}", Component.ROUTER, T0 + 100 * n, T0 + 100 * n + 10, 2) for n in range(4)]
        events += [IncidentEnded(f"k{n}", Component.ROUTER, T0 + 100 * n, T0 + 100 * n + 50, 50.0, 2, 2)
                   for n in range(3)]
        events += [SessionStarted("s1", "PC-1", "198.51.100.110", T0),
                   SessionEnded("s1", "PC-1", "198.51.100.110", T0, T0 + 900, 900.0, False)]
        with caplog.at_level(logging.INFO):
            for n, event in enumerate(events):
                storage.on_event(event)  # never raises: the bus would log a traceback per event
                storage.on_event(tick(T0 + n))
                mono.now += 1
            assert [e.stalled for e in published] == [True]
            assert published[0].reason == "database or disk is full"
            disk.free()
            storage.on_event(tick(T0 + 100))  # the retry is not due yet
            assert [e.stalled for e in published] == [True]
            mono.now += RETRY_EVERY_S
            storage.on_event(tick(T0 + 101))
        assert [e.stalled for e in published] == [True, False]
        assert isinstance(published[1], RecordingStalled) and published[1].waiting == 0
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "records wait in memory" in errors[0].message
        assert not any("rollback" in r.getMessage().lower() for r in caplog.records)
        assert sum("writable again" in r.message for r in caplog.records) == 1

        assert [r[3:] for r in csv_rows(disk.path / "incidents.csv")] == \
            [INCIDENT_HEADER[3:]] + [["ROUTER_DOWN", "resolved"]] * 3 + [["ROUTER_DOWN", "ongoing"]]
        assert csv_rows(disk.path / "sessions.csv") == [
            SESSION_HEADER, ["PC-1", "198.51.100.110", "2026-11-21 14:02:11", "2026-11-21 14:17:11", "0:15:00", ""]]
        storage.close()
        conn = sqlite3.connect(disk.path / "sentinel.db")
        assert conn.execute("SELECT COUNT(*), COUNT(end_wall) FROM incidents").fetchone() == (4, 3)
        assert conn.execute("SELECT end_wall FROM sessions").fetchall() == [(T0 + 900,)]
        conn.close()


@pytest.mark.needs_root
def test_a_session_end_on_a_full_disk_leaves_no_half_row_in_sessions_csv(tmp_path):
    with Tmpfs(tmp_path / "data", size_kib=256) as disk:
        sessions_csv = disk.path / "sessions.csv"  # the database is elsewhere: only the CSV fails
        storage = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", sessions_csv)
        storage.on_event(SessionStarted("s0", "PC-0", "198.51.100.110", T0))
        storage.on_event(SessionEnded("s0", "PC-0", "198.51.100.110", T0, T0 + 60, 60.0, False))
        disk.fill()  # what is left is the rest of the CSV's last 4 KiB page
        before = sessions_csv.read_bytes()
        names = [f"PC-{n}-" + "x" * 1500 for n in range(1, 5)]  # rows of 1.6 kB: the third crosses the page
        for n, name in enumerate(names, 1):
            storage.on_event(SessionStarted(f"s{n}", name, "198.51.100.111", T0))
            storage.on_event(SessionEnded(f"s{n}", name, "198.51.100.111", T0, T0 + 60, 60.0, False))
        text = sessions_csv.read_bytes()
        assert text.startswith(before) and text.endswith(b"\r\n")
        assert len(csv_rows(sessions_csv)) < 6  # some did not fit
        disk.free()
        storage.on_event(IncidentConfirmed("k1", Component.ROUTER, T0, T0 + 10, 0))  # any record retries
        rows = csv_rows(sessions_csv)
        assert [r[0] for r in rows] == ["PC", "PC-0", *names]
        storage.close()


def excel_ansi(rows) -> bytes:
    """What Excel's "CSV (Comma delimited)" writes on a Western Windows: cp1252, CRLF."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("cp1252")


def test_an_incidents_csv_resaved_by_excel_as_ansi_still_gets_every_incident(tmp_path, caplog):
    incidents_csv, sessions_csv = tmp_path / "incidents.csv", tmp_path / "sessions.csv"
    seed = ["2026-11-01 10:00:00", "2026-11-01 10:05:00", "0:05:00", "ISP_DOWN", "Panne Orange, café fermé – 5 €"]
    incidents_csv.write_bytes(excel_ansi([INCIDENT_HEADER, seed]))
    seed_bytes = incidents_csv.read_bytes().split(b"\r\n")[1]
    storage = Storage(tmp_path / "sentinel.db", incidents_csv, sessions_csv)
    storage.on_event(IncidentConfirmed("k1", Component.ROUTER, T0, T0 + 10, 0))
    storage.on_event(SessionStarted("s1", "Café-1", "198.51.100.110", T0))
    storage.on_event(SessionEnded("s1", "Café-1", "198.51.100.110", T0, T0 + 60, 60.0, False))
    storage.on_event(IncidentEnded("k1", Component.ROUTER, T0, T0 + 60, 60.0, 0, 0))
    storage.close()
    rows = csv_rows(incidents_csv, "cp1252")
    assert rows == [INCIDENT_HEADER, seed,
                    ["2026-11-21 14:02:11", "2026-11-21 14:03:11", "0:01:00", "ROUTER_DOWN", "resolved"]]
    assert incidents_csv.read_bytes().split(b"\r\n")[1] == seed_bytes  # the owner's row, byte for byte
    assert csv_rows(sessions_csv)[1][0] == "Café-1"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_sessions_csv_resaved_as_ansi_is_appended_to_in_ansi(tmp_path):
    sessions_csv = tmp_path / "sessions.csv"
    old = ["Café-1", "198.51.100.110", "2026-11-01 10:00:00", "2026-11-01 11:00:00", "1:00:00", ""]
    sessions_csv.write_bytes(excel_ansi([SESSION_HEADER, old]))
    storage = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", sessions_csv)
    for pc in ("Café-2", "ПК-3"):  # the second name has no cp1252 spelling
        storage.on_event(SessionStarted(pc, pc, "198.51.100.111", T0))
        storage.on_event(SessionEnded(pc, pc, "198.51.100.111", T0, T0 + 60, 60.0, False))
    storage.close()
    rows = csv_rows(sessions_csv, "cp1252")  # still one encoding: Excel opens it as before
    assert [r[0] for r in rows] == ["PC", "Café-1", "Café-2", "??-3"]
