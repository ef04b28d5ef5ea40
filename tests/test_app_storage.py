"""The real app (--demo, headless) on a damaged database and on a disk that fills up and frees again."""

from __future__ import annotations

import csv
import signal

import pytest

from tests.helpers.apprun import AppRun, query, wait_until
from tests.helpers.tmpfs import Tmpfs

DEMO_DISK_KIB = 8192  # the demo writes its database, logs and Discord messages here


def demo(data_dir) -> AppRun:
    return AppRun(AppRun.command("--demo", "--headless", "--data-dir", str(data_dir)), env={"DISPLAY": ""})


@pytest.mark.timeout(60)
def test_a_damaged_database_is_moved_aside_the_owner_told_and_monitoring_goes_on(tmp_path):
    damaged = b"SQLite format 3\0" + b"\xde\xad" * 4000  # a header, then garbage
    (tmp_path / "sentinel.db").write_bytes(damaged)
    app = demo(tmp_path)
    try:
        line = app.wait_line("sentinel.db was damaged")
        assert "kept as sentinel-damaged-" in line and "incidents.csv" in line
        app.wait_line("VIP-1 session started", timeout=15)
        wait_until(lambda: query(tmp_path / "sentinel.db", "SELECT key FROM sessions"), what="sessions stored")
        rc, took = app.stop(signal.SIGINT)
        assert rc == 0 and took < 3.0
    finally:
        app.kill()
    (kept,) = tmp_path.glob("sentinel-damaged-*.db")
    assert kept.read_bytes() == damaged
    outbox = "".join(p.read_text() for p in sorted((tmp_path / "demo_outbox").glob("*-alerts.json")))
    assert "Database replaced" in outbox


@pytest.mark.needs_root
@pytest.mark.timeout(120)
def test_a_full_disk_loses_no_incident_or_session_and_is_told_once(tmp_path):
    with Tmpfs(tmp_path / "data", size_kib=DEMO_DISK_KIB) as disk:
        app = demo(disk.path)
        try:
            app.wait_line("VIP-1 session started", timeout=15)
            disk.fill()
            full = app.mark()
            app.wait_line("cannot write the database", start=full, timeout=30)
            app.wait_line("Internet RESTORED", start=full, timeout=60)  # confirmed and ended on a full disk
            ended_while_full = [line for line in app.lines[full:] if "session ended" in line]
            assert ended_while_full
            disk.free()
            app.wait_line("database writable again", start=full, timeout=15)
            rc, took = app.stop(signal.SIGINT)
            assert rc == 0 and took < 3.0
        finally:
            app.kill()
        printed = app.lines
        stderr = app.proc.stderr.read()
        assert "Traceback" not in stderr and len(stderr.splitlines()) <= 2, stderr[-3000:]
        assert sum("cannot write the database" in line for line in printed) == 1

        incidents = query(disk.path / "sentinel.db", "SELECT cause, end_wall IS NOT NULL FROM incidents")
        assert incidents == [("ISP_DOWN", 1)]
        ended = [line for line in printed if "session ended" in line]
        stored = query(disk.path / "sentinel.db", "SELECT pc FROM sessions WHERE end_wall IS NOT NULL")
        assert sorted(pc for (pc,) in stored) == sorted(line.split()[2] for line in ended)
        with open(disk.path / "sessions.csv", newline="", encoding="utf-8") as f:
            assert sorted(r["PC"] for r in csv.DictReader(f)) == sorted(pc for (pc,) in stored)
        with open(disk.path / "incidents.csv", newline="", encoding="utf-8") as f:
            assert [(r["Cause"], r["Notes"]) for r in csv.DictReader(f)] == [("ISP_DOWN", "resolved")]
        assert "is writable again" in (disk.path / "logs" / "sentinel.log").read_text()
        outbox = "".join(p.read_text() for p in sorted((disk.path / "demo_outbox").glob("*-alerts.json")))
        assert "Records saved again" in outbox
