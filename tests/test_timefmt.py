import time

import pytest

from sentinel import timefmt


@pytest.mark.parametrize("seconds, text", [(0, "0:00:00"), (59.6, "0:01:00"), (599.6, "0:10:00"), (3725, "1:02:05"),
                                           (90000, "25:00:00"), (-3, "0:00:00"), (None, "")])
def test_hms_rounds_once_for_window_messages_and_csv(seconds, text):
    assert timefmt.hms(seconds) == text


@pytest.mark.parametrize("seconds, text", [(83 * 60 + 59, "1:23"), (59, "0:00"), (0, "0:00")])
def test_hm_whole_minutes(seconds, text):
    assert timefmt.hm(seconds) == text


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (150, "2 min 30 s"), (120, "2 min"), (3600, "1 h"),
                                           (5400, "90 min")])
def test_spoken(seconds, text):
    assert timefmt.spoken(seconds) == text


def test_stamp_clock_and_near():
    wall = time.mktime((2026, 5, 3, 14, 2, 11, 0, 0, -1))
    assert timefmt.stamp(wall) == "2026-05-03 14:02:11"
    assert timefmt.stamp(None) == ""
    assert timefmt.clock(wall) == "14:02:11"
    assert timefmt.clock_near(wall, wall + 60) == "14:02:11"
    assert timefmt.clock_near(wall, wall + 2 * 86400) == "3 May 14:02"
    assert timefmt.iso_utc(0) == "1970-01-01T00:00:00+00:00"
