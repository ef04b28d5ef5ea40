"""Discord inside the real composition root: a scripted prober (no packets at all) and the fake
Discord on loopback. An internet outage gives one DOWN and one RESTORED sharing one incident
number, the status board is posted once and not edited within its minute, and no 429."""

from __future__ import annotations

import json

import pytest

from sentinel import app
from sentinel.config.model import parse_config
from sentinel.monitor.probe import ProbeResult
from sentinel.paths import DataDir
from tests.helpers.apprun import wait_until
from tests.helpers.fake_discord import FakeDiscord

pytestmark = pytest.mark.timeout(60)

INTERNET = ("198.51.100.9", "198.51.100.10")  # documentation addresses: nothing is ever sent to them


class ScriptedProber:
    """Every address answers, except the internet targets while `down` is set. Sends nothing."""

    privileged = False

    def __init__(self):
        self.down = False

    async def probe(self, addresses, timeout):
        return {a: ProbeResult(a, not (self.down and a in INTERNET), 1.0) for a in dict.fromkeys(addresses)}


TAMPER = "Setup tampered with"  # a configured app without a vault says so first; not this test's subject


def titles(fake: FakeDiscord) -> list[str]:
    return [m.titles[0] for m in fake.messages("1") if m.titles != [TAMPER]]


def cafe_config(fake: FakeDiscord) -> tuple:
    raw = json.dumps({
        "targets": {"router": "198.51.100.1", "server": "198.51.100.2", "internet": INTERNET[0]},
        "monitor_settings": {"interval_seconds": 0.5, "ping_timeout_seconds": 0.2, "pc_subnet": "198.51.100",
                             "pc_start_range": 20, "pc_count": 2, "arp_presence": False},
        "verification_settings": {"retry_delay_seconds": 0, "secondary_target": INTERNET[1],
                                  "min_incident_duration_seconds": 1.5},
        "occupancy_settings": {"min_session_minutes": 0},
        "screenshot_settings": {"enabled": False},
        "api_settings": {"enabled": False},
        "discord_settings": {"enabled": True, "shop_name": "App Cafe", "webhook_alerts": fake.url("1"),
                             "webhook_occupancy": fake.url("2")},
    }).encode()
    config, problems = parse_config(raw)
    assert not problems, problems
    return config, raw


def test_outage_alerts_and_the_board_from_the_real_app(tmp_path, monkeypatch):
    monkeypatch.setattr("sentinel.monitor.link.lan_link_up", lambda subnet: True)  # this box has no such LAN
    prober = ScriptedProber()
    with FakeDiscord(limit=5, period=2.0) as fake:
        config, raw = cafe_config(fake)
        sentinel = app.Sentinel(app.parse_args(["--headless"]), config, None, DataDir(tmp_path / "d").create(), raw,
                                prober=prober)
        try:
            sentinel.start()
            wait_until(lambda: titles(fake) == ["Now: all OK"], timeout=15, what="the board", interval=0.05)
            prober.down = True
            wait_until(lambda: titles(fake) == ["Now: all OK", "Internet DOWN"], timeout=15, what="Internet DOWN",
                       interval=0.05)
            prober.down = False
            wait_until(lambda: len(titles(fake)) == 3, timeout=15, what="Internet RESTORED", interval=0.05)
        finally:
            sentinel.stop()
    board, down, restored = [m for m in fake.messages("1") if m.titles != [TAMPER]]
    assert restored.titles == ["Internet RESTORED"]
    assert {m.payload["embeds"][0]["footer"]["text"] for m in (down, restored)} == {"App Cafe · Incident #1"}
    assert "Internet down - your ISP; the router is fine." in down.payload["embeds"][0]["description"]
    assert fake.edits == []  # the board changed (internet DOWN) but its minute was not over
    assert fake.stats.rate_limited == 0
