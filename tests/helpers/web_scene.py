"""The web wing as the app wires it, in-process: a real ApiServer on a free loopback port, a real
StatusBoard and Metrics fed with real events, a real vault with an admin password, a real
config file and log file. Tests publish monitor events and look at what a client sees.
Also the config for the real app in a namespace cafe (`cafe_config`).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sentinel.app import explain_problem, settings_form
from sentinel.config.model import ApiSettings, Config, DiscordSettings, MonitorSettings, Targets, save_config
from sentinel.events import (Blip, Component, DeliveryStatus, Health, IncidentConfirmed, IncidentEnded,
                             IncidentOpened, MonitorStatus, PcState, PcStatus, TargetStatus)
from sentinel.services.access.vault import Vault
from sentinel.services.web.api import ApiServer, ensure_api_token
from sentinel.services.web.metrics import Metrics
from sentinel.services.web.status import StatusBoard
from tests.helpers import netns

ADMIN_PASSWORD = "admin-pass-1"
PRIVACY_PASSWORD = "privacy-pass-2"
WEBHOOK = "http://127.0.0.1:9/api/v10/webhooks/123456/SceneSecretSceneSecretSceneSecret"  # nothing is ever sent
NAMES = ["VIP-1", "VIP-2", "VIP-3", "VIP-4"] + [f"PC-{n}" for n in range(5, 21)]
TARGETS = ((Component.ROUTER, "198.51.100.1"), (Component.SERVER, "198.51.100.10"), (Component.INTERNET, "203.0.113.1"))


APP_PORT = 5000  # the real app's port inside a test cafe's monitor namespace (its own port space)


def cafe_config() -> dict:
    """The real app in a test cafe (tests/helpers/netns.py): 3 targets, 5 PCs, quick thresholds."""
    return {
        "targets": {"router": netns.ROUTER, "server": netns.SERVER, "internet": netns.INTERNET[0]},
        "monitor_settings": {"interval_seconds": 1.0, "pc_subnet": netns.PC_SUBNET,
                             "pc_start_range": netns.PC_START, "pc_count": 5, "ping_timeout_seconds": 0.5},
        "verification_settings": {"retry_delay_seconds": 0.2, "secondary_target": netns.INTERNET[1],
                                  "min_incident_duration_seconds": 2},
        "discord_settings": {"shop_name": "Branch Test"},
        "api_settings": {"port": APP_PORT},
    }


def scene_config() -> Config:
    """Shown, never pinged: the scene publishes readings itself."""
    return Config(targets=Targets(router="198.51.100.1", server="198.51.100.10", internet="203.0.113.1"),
                  monitor_settings=MonitorSettings(pc_subnet="198.51.100", pc_names={f"198.51.100.{109 + n}": name
                                                             for n, name in enumerate(NAMES[:4], 1)}),
                  discord_settings=DiscordSettings(enabled=True, shop_name="Riverside LAN", webhook_alerts=WEBHOOK))


class Scene:
    def __init__(self, root: Path, **api_kwargs):
        self.root = Path(root)
        self.data = self.root / "data"
        self.config_path = self.root / "config.json"
        self.config = scene_config()
        save_config(self.config, self.config_path, self.data / "config_backups")
        self.token = ensure_api_token(self.data)
        self.log_file = self.data / "logs" / "sentinel.log"
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.write_text("2026-12-01 09:00:00 INFO sentinel: CafeSentinel running\n"
                                 f"2026-12-01 09:00:01 INFO delivery: posting to {WEBHOOK}\n")
        self.vault = Vault(self.data)
        self.vault.check(time.time())
        self.vault.setup(ADMIN_PASSWORD, PRIVACY_PASSWORD, time.time())
        self.wall = time.time()
        self.board = StatusBoard(lambda: self.wall)
        self.metrics = Metrics("test", lambda: self.config.discord_settings.shop_name)
        self.incidents: list[dict] = []
        self.api = ApiServer(ApiSettings(port=0), self.token, status=self.board.as_dict,
                             incidents=lambda limit: self.incidents[:limit], sessions=lambda limit: [],
                             current_config=lambda: self.config, config_path=self.config_path,
                             backup_dir=self.data / "config_backups", today=self.board.today,
                             metrics=self.metrics.render, verify_admin=self.verify, log_path=self.log_file,
                             settings_form=settings_form, explain=explain_problem, **api_kwargs)
        self.board.listen(self.api.notify)
        assert self.api.start()
        self.url = f"http://127.0.0.1:{self.api.address[1]}"

    def verify(self, password: str):
        return self.vault.verify("admin", password, time.time(), action="web login")

    def publish(self, event) -> None:
        for subscriber in (self.board.on_event, self.metrics.on_event):
            subscriber(event)

    def status(self, at: float, router=Health.UP, server=Health.UP, internet=Health.UP, in_session=7, seen=2,
               link_up=True) -> MonitorStatus:
        healths = {Component.ROUTER: router, Component.SERVER: server, Component.INTERNET: internet}
        targets = tuple(TargetStatus(c, address, healths[c], at - 3600, 1.2 + i * 7.3 if healths[c] is Health.UP
                                     else None) for i, (c, address) in enumerate(TARGETS))
        pcs = []
        for n, name in enumerate(NAMES, 1):
            state = PcState.IN_SESSION if n <= in_session else PcState.SEEN if n <= in_session + seen else PcState.OFF
            pcs.append(PcStatus(n, name, f"198.51.100.{109 + n}", state, at - 600 * n,
                                0.4 if state is not PcState.OFF else None, at,
                                ("arp" if n % 3 == 0 else "ping") if state is not PcState.OFF else None))
        return MonitorStatus(at, True, link_up, False, targets, tuple(pcs), 0)

    def replay_morning(self) -> None:
        """Today from 08:00 on: a 19-minute server outage, an internet blip, then quiet."""
        day = dt.datetime.combine(dt.date.today(), dt.time(8)).timestamp()
        now = time.time()
        start = min(day, now - 3 * 3600)
        outage = (start + 2.2 * 3600, start + 2.2 * 3600 + 19 * 60)
        at = start
        while at < now:
            self.wall = at
            server = Health.DOWN if outage[0] <= at < outage[1] else Health.UP
            if at == start + 1800:
                self.publish(Blip("b1", Component.INTERNET, at, at + 4, 4.0))
            if outage[0] <= at < outage[0] + 60:
                self.publish(IncidentOpened("i1", Component.SERVER, at, 6))
                self.publish(IncidentConfirmed("i1", Component.SERVER, at, at + 10, 6))
            self.publish(self.status(at, server=server, in_session=min(2 + int((at - start) / 1800), 9)))
            if outage[1] <= at < outage[1] + 60:
                self.publish(IncidentEnded("i1", Component.SERVER, outage[0], at, at - outage[0], 6, 7))
            at += 60
        self.wall = now
        self.incidents = [{"cause": "SERVER_DOWN", "component": "Server", "ongoing": False, "duration": "0:19:00",
                           "start": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(outage[0]))}]
        self.publish(DeliveryStatus((("alerts", 0), ("occupancy", 2), ("screenshots", 0)), ()))

    def close(self) -> None:
        self.api.stop()
