"""Daily digest and monthly report: scheduling with a fake clock, numbers from the real records."""

from __future__ import annotations

import datetime as dt

import pytest

from sentinel.config.model import config_from_dict
from sentinel.events import DailyDigest, MonthlyReport
from sentinel.schedule import Schedule
from sentinel.services.recording.digest import DONE_MARK, Plan, Reports, plan
from sentinel.services.recording.history import day_summary
from sentinel.services.recording.storage import Storage
from tests.helpers import history_data as known
from tests.helpers.localtime import local_zone

D = dt.date


@pytest.fixture(autouse=True)
def berlin():
    with local_zone():
        yield


def at(*args, fold=0) -> float:
    return dt.datetime(*args, fold=fold).timestamp()


def test_without_a_schedule_the_day_is_over_at_midnight():
    s = Schedule()
    last = D(2026, 12, 1)
    assert plan(s, last, at(2026, 12, 2, 23, 59, 59)) == Plan(last, None, ())
    assert plan(s, last, at(2026, 12, 3, 0, 0, 0)) == Plan(D(2026, 12, 2), D(2026, 12, 2), ())


def test_with_a_schedule_the_day_is_over_at_its_closing_time_after_midnight():
    s = known.schedule()  # Mon-Fri 10:00-02:00
    last = D(2026, 10, 4)
    assert plan(s, last, at(2026, 10, 6, 1, 59, 59)) == Plan(last, None, ())
    assert plan(s, last, at(2026, 10, 6, 2, 0, 0)) == Plan(D(2026, 10, 5), D(2026, 10, 5), ())


def test_a_closed_day_is_over_at_midnight():
    s = known.schedule()  # Sunday closed; Saturday 10:00-04:00 ran until Sunday 04:00
    last = D(2026, 10, 10)
    assert plan(s, last, at(2026, 10, 11, 23, 59)) == Plan(last, None, ())
    assert plan(s, last, at(2026, 10, 12, 0, 0)) == Plan(D(2026, 10, 11), D(2026, 10, 11), ())


def test_the_dst_change_on_the_clock():
    # Saturday 24 Oct until 02:30 on the night the clocks go back at 03:00: 02:30 comes twice;
    # the day is over at the first 02:30 (summer time), and a midnight-closing day is 25 hours long.
    s = Schedule(True, ("closed",) * 5 + ("10:00-02:30", "closed"))
    last = D(2026, 10, 23)
    assert plan(s, last, at(2026, 10, 25, 2, 29, 59, fold=0)) == Plan(last, None, ())
    assert plan(s, last, at(2026, 10, 25, 2, 30, 0, fold=0)).digest == D(2026, 10, 24)
    assert at(2026, 10, 25, 2, 30, fold=1) - at(2026, 10, 25, 2, 30, fold=0) == 3600
    no_schedule = Schedule()
    assert plan(no_schedule, D(2026, 10, 24), at(2026, 10, 25, 23, 59, 59)).digest is None
    assert plan(no_schedule, D(2026, 10, 24), at(2026, 10, 26, 0, 0)).digest == D(2026, 10, 25)
    spring = plan(no_schedule, D(2026, 3, 28), at(2026, 3, 30, 0, 0))  # the 23-hour day
    assert spring.digest == D(2026, 3, 29)


def test_the_monthly_report_is_due_when_the_last_day_of_the_month_is_over():
    s = known.schedule()  # Sat 31 Oct 10:00 - Sun 1 Nov 04:00
    last = D(2026, 10, 30)
    assert plan(s, last, at(2026, 11, 1, 3, 59, 59)) == Plan(last, None, ())
    assert plan(s, last, at(2026, 11, 1, 4, 0)) == Plan(D(2026, 10, 31), D(2026, 10, 31), ("2026-10",))
    assert plan(Schedule(), D(2026, 11, 29), at(2026, 12, 1, 0, 0)).months == ("2026-11",)


def test_after_days_off_only_the_newest_digest_is_posted_and_the_monthly_report_still_is():
    # The PC was off from 29 Oct to 3 Nov 09:00.
    step = plan(Schedule(), D(2026, 10, 28), at(2026, 11, 3, 9, 0))
    assert step == Plan(D(2026, 11, 2), D(2026, 11, 2), ("2026-10",))


def test_the_first_run_only_remembers_where_it_is():
    assert plan(Schedule(), None, at(2026, 12, 2, 12)) == Plan(D(2026, 12, 1), None, ())


def with_sessions(data):
    storage = Storage(data.db, data.incidents_csv, data.sessions_csv, known.schedule())
    known.session(storage, "a", "PC-1", at(2026, 10, 5, 10), at(2026, 10, 5, 14))
    known.session(storage, "b", "PC-2", at(2026, 10, 5, 12), at(2026, 10, 5, 13, 30))
    known.session(storage, "c", "PC-3", at(2026, 10, 5, 13), at(2026, 10, 5, 13, 15))
    known.session(storage, "d", "PC-1", at(2026, 10, 5, 22), at(2026, 10, 6, 3))  # ends after closing
    return storage


def test_the_digest_numbers_of_a_known_day(tmp_path):
    data = known.build_october(tmp_path / "data")
    with_sessions(data).close()
    s = day_summary(data.db, known.schedule(), D(2026, 10, 5), at(2026, 10, 6, 2), pcs_total=20)
    assert (s.day, s.hours, s.open_s, s.watched_s) == ("2026-10-05", "10:00-02:00", 57600, 57600)
    uptime = {label: (percent, down) for label, percent, down in s.uptime}
    assert uptime["Router"] == (pytest.approx(100 * (57600 - 300) / 57600), 300)
    assert uptime["Server"] == (100.0, 0)  # its incident came after closing, on Tuesday's business day
    assert uptime["Internet"] == (pytest.approx(100 * (57300 - 2130) / 57300), 2130)
    assert [(label, start, duration) for label, start, duration, _ in s.incidents] == [
        ("Internet", at(2026, 10, 5, 12), 630), ("Router", at(2026, 10, 5, 15), 300),
        ("Internet", at(2026, 10, 5, 15, 2), 1080), ("Internet", at(2026, 10, 6, 1, 50), 1800)]
    assert s.downtime_s == 630 + 1200 + 600  # 15:00-15:20 once, though router and internet overlap
    assert s.blips == 1
    assert s.sessions == 4
    assert s.pc_hours == pytest.approx(4 + 1.5 + 0.25 + 4)  # the late one counts until 02:00
    assert (s.peak, s.peak_wall) == (3, at(2026, 10, 5, 13))
    hours = {dt.datetime.fromtimestamp(start).hour: average for start, average in s.hourly}
    assert len(s.hourly) == 16 and hours[10] == 1 and hours[13] == pytest.approx(1.75) and hours[1] == 1


def reports_for(data, events, **report_settings):
    config, problems = config_from_dict({**known.CONFIG, "report_settings": report_settings,
                                         "monitor_settings": {"pc_count": 20}})
    assert not problems
    storage = Storage(data.db, data.incidents_csv, data.sessions_csv, known.schedule())
    return storage, Reports(storage, data.db, data.evidence, data.reports, events.append, config)


def test_reports_post_once_at_closing_and_the_month_on_the_1st(tmp_path):
    data = known.build_october(tmp_path / "data")
    events: list = []
    storage, reports = reports_for(data, events)
    reports.tick(at(2026, 10, 30, 12))  # first start: remembers Thursday 29 as handled
    assert events == [] and storage.mark(DONE_MARK) == "2026-10-29"
    reports.tick(at(2026, 10, 31, 1, 59))
    assert events == []
    reports.tick(at(2026, 10, 31, 2, 0))
    (digest,) = events
    assert isinstance(digest, DailyDigest) and digest.summary.day == "2026-10-30"
    reports.tick(at(2026, 10, 31, 2, 0, 20))
    assert len(events) == 1  # once
    storage.close()
    events.clear()
    storage, reports = reports_for(data, events)  # a restart
    reports.tick(at(2026, 11, 1, 3, 59, 59))
    assert events == []
    reports.tick(at(2026, 11, 1, 4, 0))
    digest, monthly = events
    assert digest.summary.day == "2026-10-31"
    assert isinstance(monthly, MonthlyReport) and monthly.period == "2026-10"
    assert monthly.incidents == 7 and monthly.isp_down_s == 6030 and monthly.local_down_s == 300
    assert (data.reports / "cafesentinel-2026-10.html").read_bytes() == monthly.html
    assert monthly.filename == "cafesentinel-2026-10.html"
    storage.close()


def test_switched_off_reports_are_not_made_but_the_day_is_handled(tmp_path):
    data = known.build_october(tmp_path / "data")
    events: list = []
    storage, reports = reports_for(data, events, daily_digest=False, monthly_report=False)
    reports.tick(at(2026, 10, 31, 12))
    reports.tick(at(2026, 11, 1, 4, 0))
    assert events == [] and storage.mark(DONE_MARK) == "2026-10-31" and not data.reports.exists()
    storage.close()
