"""A data dir whose history is known to the second, written through the real storage code.

Local time is Europe/Berlin (call inside tests.helpers.localtime.local_zone()). October 2026:
Mon-Fri 10:00-02:00, Sat 10:00-04:00, Sun closed, Sat 3 Oct (a holiday) closed; the clocks
go back on Sun 25 Oct at 03:00, inside Saturday 24's opening. The monitor ran three times:
- Mon 5 Oct 09:00 - Tue 6 Oct 03:00: internet down 12:00:00-12:10:30; router down
  15:00-15:05 while the internet, down from 15:02, stays down until 15:20 (only 15:05-15:20 is
  the ISP's); internet down 01:50-02:20 across closing (10 min count); server down 02:30-02:40
  after closing (closed hours); one internet blip at 13:00.
- Wed 14 Oct 09:00 - 14:00 (a crash, no clean stop), restarted 15:30 - Thu 15 Oct 03:00; an
  internet outage 13:50-15:40 spans the crash: only 20 of its 110 minutes were watched.
- Sat 24 Oct 09:30 - Sun 25 Oct 05:00 (21.5 h across the DST change): internet down from
  02:30 summer time to 02:15 winter time (45 minutes).
And outside the month: an incident at 01:00 on 1 Oct (Wednesday's business day, September)
and one on Sun 1 Nov 05:00 (after Saturday 31's 04:00 closing, so November's).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sentinel.config.model import config_from_dict
from sentinel.events import Blip, Component, IncidentConfirmed, IncidentEnded, MonitorStatus, SessionEnded, SessionStarted
from sentinel.paths import DataDir
from sentinel.schedule import Schedule
from sentinel.services.recording.storage import Storage

TICK_S = 120.0
CONFIG = {
    "schedule_settings": {"enabled": True,
                          "days": {"mon": "10:00-02:00", "tue": "10:00-02:00", "wed": "10:00-02:00",
                                   "thu": "10:00-02:00", "fri": "10:00-02:00", "sat": "10:00-04:00",
                                   "sun": "closed"},
                          "closed_dates": ["2026-10-03"]},
    "discord_settings": {"shop_name": "Pixel Cafe"},
}


def at(month, day, hour, minute=0, second=0, fold=0) -> float:
    return dt.datetime(2026, month, day, hour, minute, second, fold=fold).timestamp()


def schedule() -> Schedule:
    config, problems = config_from_dict(CONFIG)
    assert not problems
    return Schedule.from_settings(config.schedule_settings)


def write_config(path: Path) -> Path:
    path.write_text(json.dumps(CONFIG), encoding="utf-8")
    return path


class Run:
    """One monitor run: a Storage that sees a status every TICK_S from start to end."""

    def __init__(self, data: DataDir, start: float, end: float, clean_stop: bool = True):
        self.storage = Storage(data.db, data.incidents_csv, data.sessions_csv, schedule())
        self.start, self.end, self.clean_stop = start, end, clean_stop

    def __enter__(self) -> Storage:
        return self.storage

    def __exit__(self, *exc) -> None:
        ticks = int(round((self.end - self.start) / TICK_S))
        assert self.start + ticks * TICK_S == self.end
        for n in range(ticks + 1):
            self.storage.on_event(MonitorStatus(self.start + n * TICK_S, True, True, False, (), (), 0))
        if self.clean_stop:
            self.storage.close()
        # A crash: nothing more is written (the connection is simply dropped).


def incident(storage: Storage, key: str, component: Component, start: float, end: float | None) -> None:
    storage.on_event(IncidentConfirmed(key, component, start, start + 10, 2))
    if end is not None:
        storage.on_event(IncidentEnded(key, component, start, end, end - start, 2, 3))


def session(storage: Storage, key: str, pc: str, start: float, end: float) -> None:
    storage.on_event(SessionStarted(key, pc, "192.0.2." + pc.split("-")[-1], start))
    storage.on_event(SessionEnded(key, pc, "192.0.2." + pc.split("-")[-1], start, end, end - start, False))


def build_october(root: Path) -> DataDir:
    data = DataDir(root).create()
    with Run(data, at(9, 30, 23), at(10, 1, 1, 30)) as s:
        incident(s, "sep", Component.INTERNET, at(10, 1, 1, 0), at(10, 1, 1, 5))
    with Run(data, at(10, 5, 9), at(10, 6, 3)) as s:
        incident(s, "isp1", Component.INTERNET, at(10, 5, 12), at(10, 5, 12, 10, 30))
        s.on_event(Blip("blip", Component.INTERNET, at(10, 5, 13), at(10, 5, 13, 0, 5), 5.0))
        incident(s, "router", Component.ROUTER, at(10, 5, 15), at(10, 5, 15, 5))
        incident(s, "isp2", Component.INTERNET, at(10, 5, 15, 2), at(10, 5, 15, 20))
        incident(s, "isp3", Component.INTERNET, at(10, 6, 1, 50), at(10, 6, 2, 20))
        incident(s, "server", Component.SERVER, at(10, 6, 2, 30), at(10, 6, 2, 40))
    with Run(data, at(10, 14, 9), at(10, 14, 14), clean_stop=False) as s:
        incident(s, "crash", Component.INTERNET, at(10, 14, 13, 50), None)
    with Run(data, at(10, 14, 15, 30), at(10, 15, 3)) as s:
        s.on_event(IncidentEnded("crash", Component.INTERNET, at(10, 14, 13, 50), at(10, 14, 15, 40), 6600.0, 2, 3))
    with Run(data, at(10, 24, 9, 30), at(10, 25, 5)) as s:
        incident(s, "dst", Component.INTERNET, at(10, 25, 2, 30, fold=0), at(10, 25, 2, 15, fold=1))
    with Run(data, at(11, 1, 4, 30), at(11, 1, 6)) as s:
        incident(s, "nov", Component.INTERNET, at(11, 1, 5), at(11, 1, 5, 10))
    return data
