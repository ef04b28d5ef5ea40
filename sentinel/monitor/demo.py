"""--demo: a simulated cafe on a scripted day in fast motion. No packet is sent anywhere.

One real second is one simulated minute. The day opens at 09:00 with 12 PCs coming and
going (two behind a firewall that drops pings: seen by ARP only), a short router blip at
09:15 (shorter than the incident threshold), and an internet outage from 09:25 to 09:35;
then the afternoon brings more sessions, and the day repeats.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from sentinel.config.model import Config, config_from_dict
from sentinel.monitor.engine import Clock
from sentinel.monitor.probe import ProbeResult

SPEED = 60.0  # simulated seconds per real second
DAY_START_H = 9
DAY_LENGTH_S = 12 * 3600.0
ROUTER, SERVER, INTERNET, SECONDARY = "router.demo", "server.demo", "isp-a.demo", "isp-b.demo"
SUBNET = "198.51.100"  # documentation range; only ever simulated
PCS = 12

# (minutes after opening) the router does not answer / the internet does not answer
ROUTER_DOWN = ((15.0, 15.5),)
INTERNET_DOWN = ((25.0, 35.0), (300.0, 304.0))
FIREWALLED = (5, 9)  # these PCs drop echo requests, as Windows does by default, but answer ARP
# PC n (1-based) -> (arrive, leave) minutes after opening
VISITS = {
    1: ((0.5, 95.0), (140.0, 400.0)),
    2: ((1.0, 50.0), (70.0, 300.0)),
    3: ((1.5, 30.0), (200.0, 690.0)),
    4: ((2.0, 12.0), (45.0, 240.0)),
    5: ((3.0, 180.0),),
    6: ((4.0, 6.0), (20.0, 600.0)),  # a too-short first visit: never a session
    7: ((6.0, 40.0), (60.0, 120.0)),
    8: ((8.0, 330.0),),
    9: ((10.0, 22.0), (310.0, 700.0)),
    10: ((16.0, 90.0), (420.0, 660.0)),
    11: ((38.0, 160.0),),
    12: ((50.0, 250.0), (500.0, 710.0)),
}


def demo_config() -> Config:
    config, problems = config_from_dict({
        "targets": {"router": ROUTER, "server": SERVER, "internet": INTERNET},
        "monitor_settings": {"interval_seconds": 10, "pc_subnet": SUBNET, "pc_start_range": 101,
                             "pc_count": PCS, "ping_timeout_seconds": 1.0,
                             "pc_names": {f"{SUBNET}.101": "VIP-1", f"{SUBNET}.102": "VIP-2"}},
        "verification_settings": {"retry_delay_seconds": 1.0, "secondary_target": SECONDARY,
                                  "min_incident_duration_seconds": 60},
        "screenshot_settings": {"enabled": True, "interval_minutes": 1},
        "occupancy_settings": {"min_session_minutes": 3, "batch_delay_seconds": 3,
                               "snapshot_interval_minutes": 60},
        "discord_settings": {"enabled": False, "shop_name": "Demo Cafe"},
        "api_settings": {"enabled": False},
    })
    assert not problems, problems
    return config


class DemoClock(Clock):
    """Simulated time: starts at today's opening hour and runs SPEED times faster than real time."""

    def __init__(self, speed: float = SPEED, start_wall: float | None = None):
        self._real0 = time.monotonic()
        self._speed = speed
        if start_wall is None:
            start_wall = dt.datetime.now().replace(hour=DAY_START_H, minute=0, second=0, microsecond=0).timestamp()
        self._wall0 = start_wall

    def mono(self) -> float:
        return (time.monotonic() - self._real0) * self._speed

    def wall(self) -> float:
        return self._wall0 + self.mono()

    def real_seconds(self, seconds: float) -> float:
        return seconds / self._speed


def _inside(minute: float, spans) -> bool:
    return any(a <= minute < b for a, b in spans)


class DemoNetwork:
    """A prober with the real one's interface, answering from the script at the clock's time."""

    def __init__(self, clock: Clock, seed: int = 7):
        self._clock = clock
        self._random = random.Random(seed)

    def answers(self, address: str, minute: float) -> bool:
        if address == ROUTER:
            return not _inside(minute, ROUTER_DOWN)
        if address in (INTERNET, SECONDARY):
            return not _inside(minute, INTERNET_DOWN) and not _inside(minute, ROUTER_DOWN)
        if address == SERVER:
            return True
        if address.startswith(SUBNET + "."):
            n = int(address.rsplit(".", 1)[1]) - 100
            lost = self._random.random() < 0.02  # an occasional lost ping must not split a session
            return _inside(minute, VISITS.get(n, ())) and not lost and n not in FIREWALLED
        return False

    def arp(self, addresses, timeout: float) -> set:
        """The ARP sweep's twin: every PC that is on answers, firewalled or not."""
        minute = (self._clock.mono() % DAY_LENGTH_S) / 60.0
        return {a for a in addresses if a.startswith(SUBNET + ".")
                and _inside(minute, VISITS.get(int(a.rsplit(".", 1)[1]) - 100, ()))}

    async def probe(self, addresses, timeout: float) -> dict:
        minute = (self._clock.mono() % DAY_LENGTH_S) / 60.0
        out = {}
        for address in dict.fromkeys(addresses):
            alive = self.answers(address, minute)
            out[address] = ProbeResult(address, alive, round(self._random.uniform(0.3, 4.0), 2) if alive else None)
        return out
