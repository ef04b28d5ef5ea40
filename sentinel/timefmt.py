"""Every time and duration the owner reads, formatted in one place (window, tray, messages, CSV, logs).

Durations are rounded to the nearest second once, here, so the window, Discord and the CSV
always show the same number for the same incident.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


def stamp(wall: float | None) -> str:
    """Local `YYYY-MM-DD HH:MM:SS` (the CSV time format); "" for None."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall)) if wall is not None else ""


def clock(wall: float) -> str:
    """Local `HH:MM:SS`."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


def clock_near(wall: float, now_wall: float) -> str:
    """Local wall time: "14:02:11" today, "3 May 14:02" on another day."""
    then, now = time.localtime(wall), time.localtime(now_wall)
    if (then.tm_year, then.tm_yday) == (now.tm_year, now.tm_yday):
        return time.strftime("%H:%M:%S", then)
    return f"{then.tm_mday} {time.strftime('%b %H:%M', then)}"


def day_clock(wall: float) -> str:
    """Local weekday, date and time: "Tue 1 Dec 14:02:11" (a message's one mention of the date)."""
    then = time.localtime(wall)
    return f"{time.strftime('%a', then)} {then.tm_mday} {time.strftime('%b %H:%M:%S', then)}"


def hms(seconds: float | None) -> str:
    """`H:MM:SS` (the CSV Duration format); "" for None; negative counts as 0."""
    if seconds is None:
        return ""
    total = max(0, int(round(seconds)))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def hm(seconds: float) -> str:
    """`H:MM` (session lengths on tiles), whole minutes."""
    minutes = max(0, int(round(seconds))) // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


def spoken(seconds: float) -> str:
    """A short wait in words: "45 s", "2 min 30 s", "1 h"."""
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 3600 or seconds % 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min" if not rest else f"{minutes} min {rest} s"
    return f"{seconds // 3600} h"


def iso_utc(wall: float) -> str:
    """ISO 8601 in UTC to the second (Discord embed timestamps)."""
    return datetime.fromtimestamp(wall, tz=timezone.utc).isoformat(timespec="seconds")
