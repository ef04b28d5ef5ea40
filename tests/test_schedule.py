"""Opening hours: table tests with the time passed in, including both DST changes of 2026."""

from __future__ import annotations

import datetime as dt

import pytest

from sentinel.config.model import config_from_dict
from sentinel.events import Component, IncidentConfirmed, IncidentEnded, IncidentReminder
from sentinel.schedule import Schedule, intersect, is_quiet, merge, subtract, total
from tests.helpers.localtime import local_zone

DAYS = {"mon": "10:00-02:00", "tue": "10:00-02:00", "wed": "10:00-22:00", "thu": "10:00-22:00",
        "fri": "10:00-04:00", "sat": "00:00-24:00", "sun": "closed"}


@pytest.fixture(autouse=True)
def berlin():
    with local_zone():
        yield


def at(*args) -> float:
    return dt.datetime(*args).timestamp()


def schedule(**settings) -> Schedule:
    config, problems = config_from_dict({"schedule_settings": {"enabled": True, "days": DAYS, **settings}})
    assert not problems
    return Schedule.from_settings(config.schedule_settings)


@pytest.mark.parametrize("when, open_", [
    ((2026, 11, 30, 9, 59, 59), False),   # Monday before opening
    ((2026, 11, 30, 10, 0, 0), True),     # Monday opening
    ((2026, 12, 1, 1, 59, 59), True),     # Monday's range runs past midnight into Tuesday
    ((2026, 12, 1, 2, 0, 0), False),      # ... and closes at 02:00 (half open)
    ((2026, 12, 2, 22, 0, 0), False),     # Wednesday closes at 22:00
    ((2026, 12, 5, 23, 59, 59), True),    # Saturday all day
    ((2026, 12, 6, 3, 0, 0), False),      # Saturday's 00:00-24:00 ended at midnight; Sunday closed
])
def test_is_open(when, open_):
    assert schedule().is_open(at(*when)) is open_


def test_friday_night_runs_into_saturday():
    s = schedule()
    assert s.is_open(at(2026, 12, 5, 3, 59, 59))
    assert s.opening(dt.date(2026, 12, 4)) == (at(2026, 12, 4, 10), at(2026, 12, 5, 4))


def test_closed_date_cancels_the_opening_that_starts_on_it():
    s = schedule(closed_dates=["2026-12-01"])
    assert s.hours(dt.date(2026, 12, 1)) == "closed"
    assert s.is_open(at(2026, 12, 1, 1, 0))  # Monday's range still runs into the closed Tuesday
    assert not s.is_open(at(2026, 12, 1, 12, 0))
    assert s.closing(dt.date(2026, 12, 1)) == at(2026, 12, 2)  # a closed day ends at midnight


def test_without_a_schedule_every_day_is_open_and_closes_at_midnight():
    s = Schedule()
    assert s.is_open(at(2026, 12, 6, 3, 0))
    assert s.closing(dt.date(2026, 12, 6)) == at(2026, 12, 7)
    assert s.business_span(dt.date(2026, 12, 6)) == (at(2026, 12, 6), at(2026, 12, 7))


@pytest.mark.parametrize("day, hours", [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25),
                                        (dt.date(2026, 11, 29), 24)])
def test_dst_days_are_23_and_25_hours_long(day, hours):
    assert total(Schedule().openings(*Schedule().business_span(day))) == hours * 3600


def test_opening_across_the_autumn_change_is_counted_on_the_wall_clock():
    # Saturday 24 Oct 2026 10:00 - Sunday 04:00 with clocks going back at 03:00: 19 hours.
    s = Schedule(True, ("closed",) * 5 + ("10:00-04:00", "closed"))
    start, end = s.opening(dt.date(2026, 10, 24))
    assert end - start == 19 * 3600
    assert dt.datetime.fromtimestamp(end).strftime("%H:%M") == "04:00"


def test_business_span_runs_from_the_previous_closing():
    s = schedule()
    assert s.business_span(dt.date(2026, 12, 1)) == (at(2026, 12, 1, 2), at(2026, 12, 2, 2))
    assert s.business_span(dt.date(2026, 12, 6)) == (at(2026, 12, 6), at(2026, 12, 7))  # closed Sunday


def test_openings_of_a_range_are_clipped_and_merged():
    s = schedule()
    got = s.openings(at(2026, 12, 5, 0), at(2026, 12, 7, 0))  # Sat, Sun
    assert got == [(at(2026, 12, 5, 0), at(2026, 12, 6, 0))]  # Fri's 04:00 merges into Saturday


def test_closed_hours_incidents_are_quiet_unless_asked_for():
    s = schedule()
    night = IncidentConfirmed("k", Component.INTERNET, at(2026, 12, 1, 3), at(2026, 12, 1, 3, 0, 10), 0)
    evening = IncidentConfirmed("k", Component.INTERNET, at(2026, 12, 1, 21), at(2026, 12, 1, 21, 0, 10), 0)
    assert is_quiet(night, s, closed_hours_alerts=False)
    assert not is_quiet(night, s, closed_hours_alerts=True)
    assert not is_quiet(evening, s, closed_hours_alerts=False)
    assert not is_quiet(night, Schedule(), closed_hours_alerts=False)
    # Down at night, back after opening: the RESTORED alert concerns opening hours.
    ended = IncidentEnded("k", Component.INTERNET, at(2026, 12, 1, 3), at(2026, 12, 1, 10, 30), 27000, 0, 0)
    assert not is_quiet(ended, s, closed_hours_alerts=False)
    reminder = IncidentReminder("k", Component.INTERNET, at(2026, 12, 1, 3), at(2026, 12, 1, 4), 3600)
    assert is_quiet(reminder, s, closed_hours_alerts=False)


def test_interval_algebra():
    assert merge([(5, 6), (1, 3), (2, 4), (7, 7)]) == [(1, 4), (5, 6)]
    assert intersect([(0, 10)], [(2, 3), (5, 12)]) == [(2, 3), (5, 10)]
    assert subtract([(0, 10)], [(2, 3), (5, 12)]) == [(0, 2), (3, 5)]
    assert subtract([(0, 10), (20, 30)], [(8, 22)]) == [(0, 8), (22, 30)]
    assert total([(0, 10), (5, 15)]) == 15
