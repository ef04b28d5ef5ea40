"""The ISP report of a data dir whose history is known to the second (tests/helpers/history_data.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from sentinel.events import Component, IncidentConfirmed
from sentinel.services.recording.evidence import EvidenceKeeper
from sentinel.services.recording.history import load
from sentinel.services.recording.report import build_report, parse_period, write_report
from sentinel.services.recording.storage import Storage
from sentinel.errors import UserError
from tests.helpers import chromium
from tests.helpers import history_data as known
from tests.helpers.localtime import BERLIN, local_zone

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def now() -> float:
    """The report is made after the month (call inside the local zone)."""
    return known.at(11, 2, 12)


@pytest.fixture
def october(tmp_path):
    with local_zone():
        yield known.build_october(tmp_path / "data")


def october_report(data):
    schedule = known.schedule()
    records = load(data.db, known.at(9, 1, 0), known.at(12, 1, 0))
    return build_report(records, schedule, "2026-10", now(), "Pixel Cafe")


def test_days_are_exact_to_the_second(october):
    with local_zone():
        report = october_report(october)
        days = {d.day.day: d for d in report.days}
    assert len(report.days) == 31
    monday = days[5]
    assert (monday.hours, monday.open_s, monday.watched_s, monday.local_s) == ("10:00-02:00", 57600, 57600, 300)
    # 12:00-12:10:30, 15:05-15:20 (15:02-15:05 is behind the router), 01:50-02:00 (then closed)
    assert monday.internet.down_s == 630 + 900 + 600
    assert monday.internet.judged_s == 57600 - 300
    assert monday.internet.percent == pytest.approx(100 * (57300 - 2130) / 57300)
    assert days[6].watched_s == 0 and days[6].internet.percent is None  # the monitor stopped at 03:00
    crash = days[14]
    assert (crash.open_s, crash.watched_s, crash.not_watched_s) == (57600, 52200, 5400)
    assert crash.internet.down_s == 1200  # 13:50-14:00 and 15:30-15:40: the unwatched 90 minutes count nothing
    dst = days[24]
    assert (dst.hours, dst.open_s, dst.watched_s, dst.internet.down_s) == ("10:00-04:00", 19 * 3600, 19 * 3600, 2700)
    assert days[3].hours == "closed" and days[3].open_s == 0  # the holiday
    assert days[4].hours == "closed"  # a Sunday


def test_totals_and_the_incident_list(october):
    with local_zone():
        report = october_report(october)
    assert report.open_s == (22 * 16 + 3 * 18 + 19) * 3600  # 22 weekdays, 3 Saturdays, the 19-hour DST one
    assert report.watched_s == 57600 + 52200 + 68400
    assert report.local_s == 300
    assert report.internet.down_s == 2130 + 1200 + 2700
    assert report.internet.percent == pytest.approx(100 * (177900 - 6030) / 177900)
    assert report.blips == 1
    keys = [line.incident.key for line in report.incidents]
    assert keys == ["isp1", "router", "isp2", "isp3", "server", "crash", "dst"]  # not "sep", not "nov"
    counted = {line.incident.key: line.counted_s for line in report.incidents}
    assert counted == {"isp1": 630, "router": 300, "isp2": 900, "isp3": 600, "server": 0, "crash": 1200, "dst": 2700}
    closed = {line.incident.key for line in report.incidents if line.incident.closed_hours}
    assert closed == {"server"}


def test_the_cli_writes_html_and_csv_and_prints_the_path(october, tmp_path):
    config = known.write_config(tmp_path / "config.json")
    env = {**os.environ, "TZ": BERLIN}
    run = subprocess.run([sys.executable, "sentinel_app.py", "--report", "2026-10", "--config", str(config),
                          "--data-dir", str(october.root)], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    html_path = october.root / "reports" / "cafesentinel-2026-10.html"
    assert run.stdout.strip() == str(html_path)
    rows = list(csv.reader(io.StringIO(html_path.with_suffix(".csv").read_text(encoding="utf-8"))))
    assert rows == [
        ["Start Time", "End Time", "Duration", "Cause", "Notes", "In Opening Hours", "Counted As", "Evidence"],
        ["2026-10-05 12:00:00", "2026-10-05 12:10:30", "0:10:30", "ISP_DOWN", "resolved", "0:10:30", "ISP", ""],
        ["2026-10-05 15:00:00", "2026-10-05 15:05:00", "0:05:00", "ROUTER_DOWN", "resolved", "0:05:00", "local", ""],
        ["2026-10-05 15:02:00", "2026-10-05 15:20:00", "0:18:00", "ISP_DOWN", "resolved", "0:15:00", "ISP", ""],
        ["2026-10-06 01:50:00", "2026-10-06 02:20:00", "0:30:00", "ISP_DOWN", "resolved", "0:10:00", "ISP", ""],
        ["2026-10-06 02:30:00", "2026-10-06 02:40:00", "0:10:00", "SERVER_DOWN", "closed hours", "0:00:00", "server", ""],
        ["2026-10-14 13:50:00", "2026-10-14 15:40:00", "1:50:00", "ISP_DOWN", "resolved", "0:20:00", "ISP", ""],
        ["2026-10-25 02:30:00", "2026-10-25 02:15:00", "0:45:00", "ISP_DOWN", "resolved", "0:45:00", "ISP", ""],
    ]
    page = html_path.read_text(encoding="utf-8")
    assert "96.610%" in page and "1:40:30" in page and "49:30:00" in page and "425:00:00" in page
    assert "Internet down - your ISP; the router is fine" in page and "(closed hours)" in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page  # self-contained


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-10", "2026-02-30", "october", ""])
def test_a_bad_period_exits_2(period, tmp_path):
    with pytest.raises(UserError):
        parse_period(period)
    run = subprocess.run([sys.executable, "sentinel_app.py", "--report", period, "--data-dir", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "YYYY-MM" in run.stderr
    assert not (tmp_path / "reports").exists()


def test_a_day_report_and_evidence_thumbnails(october, tmp_path):
    with local_zone():
        storage = Storage(october.db, october.incidents_csv, october.sessions_csv)
        red = io.BytesIO()
        Image.new("RGB", (1280, 720), (220, 30, 30)).save(red, format="WEBP")
        keeper = EvidenceKeeper(october.evidence, storage, lambda: red.getvalue(), retention_days=400,
                                wall_clock=lambda: known.at(10, 5, 12, 0, 11))
        keeper.keep(IncidentConfirmed("isp1", Component.INTERNET, known.at(10, 5, 12), known.at(10, 5, 12, 0, 10), 2))
        storage.close()
        out = tmp_path / "day" / "monday.html"
        report = write_report(october.db, october.evidence, known.schedule(), "2026-10-05", out, now(), "Pixel Cafe")
    assert [d.day for d in report.days] == [dt.date(2026, 10, 5)]
    assert [line.incident.key for line in report.incidents] == ["isp1", "router", "isp2", "isp3"]
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/jpeg;base64,") == 1 and "ISP downtime per hour" not in page  # (a PNG chart)
    rows = list(csv.reader(io.StringIO(out.with_suffix(".csv").read_text(encoding="utf-8"))))
    assert rows[1][-1] == "20261005-120000-ISP_DOWN-isp1-confirmed.webp"


def test_the_report_reads_while_the_monitor_writes(october):
    with local_zone():
        live = Storage(october.db, october.incidents_csv, october.sessions_csv, known.schedule())
        known.incident(live, "live", Component.INTERNET, known.at(10, 30, 20), None)  # still down
        report = build_report(load(october.db, known.at(10, 1, 0), known.at(11, 2, 0)), known.schedule(),
                              "2026-10", known.at(10, 30, 20, 30), "Pixel Cafe")
        live.close()
    (line,) = [x for x in report.incidents if x.incident.key == "live"]
    assert line.incident.notes == "ongoing" and line.incident.end_wall is None


def test_the_report_in_a_real_browser_prints_the_month_on_one_page(october, tmp_path):
    with local_zone():
        out = tmp_path / "october.html"
        write_report(october.db, october.evidence, known.schedule(), "2026-10", out, now(), "Pixel Cafe")
    shot = chromium.screenshot(out, tmp_path / "october.png", 900, 1400)
    image = Image.open(shot)
    assert image.size == (900, 1400) and image.convert("L").getextrema()[0] < 60  # text was drawn
    pdf = chromium.print_pdf(out, tmp_path / "october.pdf")
    assert chromium.pdf_pages(pdf) == 2  # the month on page 1, the 7 incidents on page 2
    first, second = chromium.pdf_text(pdf, 1), chromium.pdf_text(pdf, 2)
    assert "Sat 31 Oct" in first and "Total" in first and "96.610%" in first and "Incidents" not in first
    assert "Incidents" in second and "2026-10-25" in second and "02:15:00" in second


def test_a_busy_month_keeps_its_summary_on_page_1_and_repeats_the_incident_header(october, tmp_path):
    with local_zone():
        with known.Run(october, known.at(10, 19, 9), known.at(10, 20, 3)) as storage:
            for n in range(45):
                start = known.at(10, 19, 10) + n * 1200
                known.incident(storage, f"busy{n}", Component.INTERNET, start, start + 300)
        out = tmp_path / "busy.html"
        write_report(october.db, october.evidence, known.schedule(), "2026-10", out, now(), "Pixel Cafe")
    pdf = chromium.print_pdf(out, tmp_path / "busy.pdf")
    pages = chromium.pdf_pages(pdf)
    assert pages >= 3
    first, last = chromium.pdf_text(pdf, 1), chromium.pdf_text(pdf, pages)
    assert "Sat 31 Oct" in first and "Total" in first and "What happened" not in first
    assert "What happened" in last and "52" in last  # the header again, down to the 52nd incident


def test_a_data_dir_without_records_is_a_usage_error(tmp_path):
    run = subprocess.run([sys.executable, "sentinel_app.py", "--report", "2026-10", "--data-dir", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "no records yet" in run.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the database
