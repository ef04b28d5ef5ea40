"""The real app, headless, inside a test cafe built from network namespaces: real ICMP, real
SQLite, real CSV files. Thresholds are compressed (min_incident 3 s, min_session 0.1 min)."""

from __future__ import annotations

import csv
import json
import signal

import pytest

from tests.helpers import netns
from tests.helpers.apprun import AppRun, query, wait_until, write_config
from tests.helpers.netns import cafe_fixture  # noqa: F401  (the "cafe" fixture)

pytestmark = [pytest.mark.needs_root, pytest.mark.timeout(180)]


def cafe_config(pcs: int = 5, **overrides) -> dict:
    config = {
        "targets": {"router": netns.ROUTER, "server": netns.SERVER, "internet": netns.INTERNET[0]},
        "monitor_settings": {"interval_seconds": 1.0, "pc_subnet": netns.PC_SUBNET,
                             "pc_start_range": netns.PC_START, "pc_count": pcs, "ping_timeout_seconds": 0.5,
                             "pc_names": {netns.pc_address(1): "VIP-1"}},
        "verification_settings": {"retry_delay_seconds": 0.2, "secondary_target": netns.INTERNET[1],
                                  "min_incident_duration_seconds": 3},
        "occupancy_settings": {"min_session_minutes": 0.1, "snapshot_interval_minutes": 1},
        "api_settings": {"enabled": False},
    }
    for section, values in overrides.items():
        config.setdefault(section, {}).update(values)
    return config


def start_app(cafe, tmp_path, config: dict, unprivileged: bool = False) -> AppRun:
    path = write_config(tmp_path / "cafe.json", config)
    argv = AppRun.command("--headless", "--config", str(path), "--data-dir", str(tmp_path / "data"))
    return AppRun(argv, popen=lambda a, **kw: cafe.run_in_mon(a, unprivileged=unprivileged, **kw))


def incidents_csv(tmp_path) -> list[dict]:
    path = tmp_path / "data" / "incidents.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sessions_csv(tmp_path) -> list[dict]:
    path = tmp_path / "data" / "sessions.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def db(tmp_path):
    return tmp_path / "data" / "sentinel.db"


def open_sessions(tmp_path) -> set[str]:
    return {ip for (ip,) in query(db(tmp_path), "SELECT ip FROM sessions WHERE end_wall IS NULL")}


def causes(tmp_path) -> list[tuple[str, str]]:
    return [(row["Cause"], row["Notes"]) for row in incidents_csv(tmp_path)]


def test_sessions_blips_and_incidents_with_unprivileged_icmp(cafe, tmp_path):
    for n in (4, 5):
        cafe.set_up(netns.pc_address(n), False)
    app = start_app(cafe, tmp_path, cafe_config(), unprivileged=True)
    try:
        app.wait_line("router UP  server UP  internet UP")
        wait_until(lambda: open_sessions(tmp_path) == set(cafe.pc_addresses[:3]), what="3 sessions open")
        line = app.wait_line("VIP-1 session started")
        assert "since" in line

        # A blip: the server misses ~1 s, below the 3 s threshold.
        mark = app.mark()
        cafe.set_up(netns.SERVER, False)
        app.wait_line("Server not answering", start=mark)
        cafe.set_up(netns.SERVER, True)
        app.wait_line("Server blip", start=mark)
        wait_until(lambda: query(db(tmp_path), "SELECT cause FROM blips") == [("SERVER_DOWN",)], what="blip stored")
        assert incidents_csv(tmp_path) == []

        # An incident: confirmed after 3 s with a row 'ongoing', completed in place.
        mark = app.mark()
        cafe.set_up(netns.SERVER, False)
        app.wait_line("Server DOWN since", start=mark)
        wait_until(lambda: causes(tmp_path) == [("SERVER_DOWN", "ongoing")], what="row written")
        row = incidents_csv(tmp_path)[0]
        assert row["End Time"] == "" and row["Duration"] == ""
        cafe.set_up(netns.SERVER, True)
        app.wait_line("Server RESTORED", start=mark)
        wait_until(lambda: causes(tmp_path) == [("SERVER_DOWN", "resolved")], what="row completed")
        row = incidents_csv(tmp_path)[0]
        h, m, s = map(int, row["Duration"].split(":"))
        assert 3 <= h * 3600 + m * 60 + s <= 15

        # A PC switched off ends its session at its last-seen time.
        cafe.set_up(netns.pc_address(3), False)
        wait_until(lambda: [r for r in sessions_csv(tmp_path) if r["IP"] == netns.pc_address(3)],
                   what="session of PC-3 ended")
        rc, took = app.stop(signal.SIGINT)
        assert rc == 0 and took < 3.0
    finally:
        app.kill()


def test_internet_needs_both_targets_and_router_failure_hides_internet(cafe, tmp_path):
    app = start_app(cafe, tmp_path, cafe_config())
    try:
        wait_until(lambda: len(open_sessions(tmp_path)) == 5, what="5 sessions open")
        # Only the primary internet target goes silent: the secondary answers, no incident.
        mark = app.mark()
        cafe.set_up(netns.INTERNET[0], False)
        cafe.set_up(netns.SERVER, False)  # a server blip marks the passing of a few ticks
        app.wait_line("Server not answering", start=mark)
        cafe.set_up(netns.SERVER, True)
        app.wait_line("Server blip", start=mark)
        assert not [line for line in app.lines[mark:] if "Internet" in line or "internet FAILING" in line]
        cafe.set_up(netns.INTERNET[0], True)
        # The uplink goes: both fail, an ISP incident.
        mark = app.mark()
        cafe.set_internet(False)
        app.wait_line("Internet DOWN since", start=mark)
        cafe.set_internet(True)
        app.wait_line("Internet RESTORED", start=mark)
        # The router goes: Router DOWN, internet unknown (no ISP incident), sessions frozen;
        # PC-5 leaves during the outage and its session ends 'during outage' after recovery.
        mark = app.mark()
        cafe.set_up(netns.ROUTER, False)
        cafe.set_up(netns.pc_address(5), False)
        app.wait_line("Router DOWN since", start=mark)
        status = app.wait_line("internet UNKNOWN", start=mark)
        assert "(occupancy frozen)" in status and "in session 5/5" in status
        assert len(open_sessions(tmp_path)) == 5
        cafe.set_up(netns.ROUTER, True)
        app.wait_line("Router RESTORED", start=mark)
        ended = wait_until(lambda: sessions_csv(tmp_path), what="PC-5 session ended")
        assert [(r["PC"], r["Notes"]) for r in ended] == [("PC-5", "ended during outage")]
        wait_until(lambda: causes(tmp_path) == [("ISP_DOWN", "resolved"), ("ROUTER_DOWN", "resolved")],
                   what="both rows completed")
    finally:
        app.kill()


def test_lan_link_and_switch_failures_are_one_incident_each(cafe, tmp_path):
    app = start_app(cafe, tmp_path, cafe_config())
    try:
        wait_until(lambda: len(open_sessions(tmp_path)) == 5, what="5 sessions open")
        mark = app.mark()
        cafe.set_link(False)
        app.wait_line("LAN link DOWN since", start=mark)
        cafe.set_link(True)
        app.wait_line("LAN link RESTORED", start=mark)
        wait_until(lambda: causes(tmp_path) == [("LAN_LINK_DOWN", "resolved")], what="row completed")
        # The switch: router, server and every PC stop answering in the same tick.
        mark = app.mark()
        for address in (netns.ROUTER, netns.SERVER, *cafe.pc_addresses):
            cafe.set_up(address, False)
        app.wait_line("LAN DOWN since", start=mark)
        for address in (netns.ROUTER, netns.SERVER, *cafe.pc_addresses):
            cafe.set_up(address, True)
        app.wait_line("LAN RESTORED", start=mark)
        wait_until(lambda: causes(tmp_path)[-1:] == [("LAN_DOWN", "resolved")], what="LAN row resolved")
        assert [c for c, _ in causes(tmp_path)] == ["LAN_LINK_DOWN", "LAN_DOWN"]
        assert sessions_csv(tmp_path) == []  # frozen, never ended
    finally:
        app.kill()


def test_hot_reload_bad_config_and_restart_resumes_sessions(cafe, tmp_path):
    config = cafe_config()
    app = start_app(cafe, tmp_path, config)
    path = tmp_path / "cafe.json"
    try:
        wait_until(lambda: len(open_sessions(tmp_path)) == 5, what="5 sessions open")
        # A broken edit: reported, the last good config stays, monitoring goes on.
        mark = app.mark()
        path.write_text('{"monitor_settings": {"pc_count": 300}')
        app.wait_line("config rejected", start=mark)
        path.write_text(json.dumps(cafe_config(monitor_settings={"pc_count": 500})))
        line = app.wait_line("monitor_settings.pc_count", start=mark)
        assert "config rejected" in line
        # A good edit applies within a tick: three PCs now, two sessions end.
        mark = app.mark()
        write_config(path, cafe_config(pcs=3))
        app.wait_line("config reloaded (monitor_settings)", start=mark)
        app.wait_line("in session 3/3", start=mark)
        wait_until(lambda: len(open_sessions(tmp_path)) == 3, what="2 sessions ended")
        rc, took = app.stop(signal.SIGTERM)
        assert rc == 0 and took < 3.0
        # Restart: the open sessions resume, no 'session started' again for PCs that stayed on.
        app = start_app(cafe, tmp_path, cafe_config(pcs=3))
        app.wait_line("in session 3/3")
        cafe.set_up(netns.pc_address(3), False)  # its end comes > min_session later: time for a wrong start
        app.wait_line("PC-3 session ended")
        assert not [line for line in app.lines if "session started" in line]
        assert query(db(tmp_path), "SELECT COUNT(*) FROM sessions")[0][0] == 5
    finally:
        app.kill()
