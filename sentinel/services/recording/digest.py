"""The daily digest at closing time and the monthly report on the 1st, scheduled from the records.

`plan()` is the pure decision (opening hours, the last day handled, the time passed in). A day
is over at its closing time (midnight without a schedule, or on a closed day); the monthly
report of a month is due when its last day is over, which is on the 1st. The last day handled
is kept in the database, so a restart neither repeats nor loses a digest. After the PC was off
for days only the newest day's digest is posted; a missed monthly report is still made.

`Reports` runs it: every REPORTS_POLL_S, it computes the due numbers (recording/history.py),
writes the monthly HTML into <data>/reports/ and publishes DailyDigest / MonthlyReport on the
bus; the Discord notifier turns those into messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sentinel.config.model import Config
from sentinel.events import DailyDigest, MonthlyReport
from sentinel.schedule import Schedule, local_date
from sentinel.services.recording.history import day_summary
from sentinel.services.recording.report import default_report_path, write_report
from sentinel.services.recording.storage import Storage

log = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)
REPORTS_POLL_S = 20.0
DONE_MARK = "reports_done_day"


@dataclass(frozen=True, slots=True)
class Plan:
    latest: dt.date | None  # the newest day that is over (remember it as handled)
    digest: dt.date | None  # post this day's digest now (only the newest, however many were missed)
    months: tuple[str, ...]  # make these months' reports now ("2026-11")


def latest_over(schedule: Schedule, now_wall: float) -> dt.date:
    """The newest day whose closing has passed (a range ends before the second midnight after it opens)."""
    day = local_date(now_wall)
    while schedule.closing(day) > now_wall:
        day -= ONE_DAY
    return day


def plan(schedule: Schedule, last_done: dt.date | None, now_wall: float) -> Plan:
    latest = latest_over(schedule, now_wall)
    if last_done is None or latest <= last_done:
        return Plan(latest if last_done is None else last_done, None, ())
    months = []
    day = last_done + ONE_DAY
    while day <= latest:
        if (day + ONE_DAY).day == 1:
            months.append(f"{day.year:04d}-{day.month:02d}")
        day += ONE_DAY
    return Plan(latest, latest, tuple(months))


class Reports:
    """start() / stop(); `tick(now_wall)` does one round (tests call it with a fake clock)."""

    def __init__(self, storage: Storage, db: Path, evidence_dir: Path, reports_dir: Path,
                 publish: Callable[[object], None], config: Config, *,
                 wall_clock: Callable[[], float] = time.time):
        self._storage = storage
        self._db, self._evidence_dir, self._reports_dir = db, evidence_dir, reports_dir
        self._publish = publish
        self._config = config
        self._wall = wall_clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reconfigure(self, config: Config) -> None:
        self._config = config

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reports", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        while True:
            try:
                self.tick(self._wall())
            except Exception:
                if not failing:
                    log.exception("daily digest / monthly report failed; will try again")
                failing = True
            else:
                if failing:
                    log.info("daily digest / monthly report work again")
                failing = False
            if self._stop.wait(REPORTS_POLL_S):
                return

    def tick(self, now_wall: float) -> Plan:
        config = self._config
        schedule = Schedule.from_settings(config.schedule_settings)
        done = self._storage.mark(DONE_MARK)
        step = plan(schedule, dt.date.fromisoformat(done) if done else None, now_wall)
        if step.digest is None and not step.months and done is not None:
            return step
        self._storage.save_coverage()
        settings = config.report_settings
        if step.digest is not None and settings.daily_digest:
            summary = day_summary(self._db, schedule, step.digest, now_wall, config.monitor_settings.pc_count)
            self._publish(DailyDigest(summary, now_wall))
        for month in step.months if settings.monthly_report else ():
            self._publish(self._monthly(month, schedule, now_wall))
        self._storage.set_mark(DONE_MARK, step.latest.isoformat())
        return step

    def _monthly(self, month: str, schedule: Schedule, now_wall: float) -> MonthlyReport:
        out = default_report_path(self._reports_dir, month)
        report = write_report(self._db, self._evidence_dir, schedule, month, out, now_wall,
                              self._config.discord_settings.shop_name)
        log.info("monthly report for %s written to %s", month, out)
        internet = report.internet
        return MonthlyReport(month, out.name, out.read_bytes(), internet.percent, internet.down_s, report.local_s,
                             len(report.incidents), now_wall)
