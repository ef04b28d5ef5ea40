"""config.json: every broken input gives a precise message with its JSON path, never a crash."""

from __future__ import annotations

import json
import os

import pytest

from sentinel.config.checks import mask_webhook, normalise_webhook
from sentinel.config.model import (MAX_BACKUPS, Config, config_from_dict, config_warnings, list_backups, parse_config,
                                   save_config)

HOOK_ID, TOKEN = "112233445566778899", "tok_EN-abc.def"


@pytest.mark.parametrize("data, path, message", [
    (b"", "", "the file is empty"),
    (b"   \n", "", "the file is empty"),
    (b"\x00\xff\xfe garbage \x80", "", "not UTF-8"),
    (bytes(range(256)) * 4, "", "not UTF-8"),
    (b'{"targets": {"router": "x"', "", "broken JSON at line 1"),
    (b"[1, 2]", "", "must be an object"),
    (b'"just a string"', "", "must be an object"),
    (b'{"targets": []}', "targets", "must be an object"),
    (b'{"nonsense": 1}', "nonsense", "unknown key"),
    (b'{"monitor_settings": {"interval": 2}}', "monitor_settings.interval", "unknown key"),
    (b'{"monitor_settings": {"interval_seconds": "2"}}', "monitor_settings.interval_seconds", "must be a number"),
    (b'{"monitor_settings": {"interval_seconds": true}}', "monitor_settings.interval_seconds", "must be a number"),
    (b'{"monitor_settings": {"interval_seconds": 0.1}}', "monitor_settings.interval_seconds", "from 0.5 to 60"),
    (b'{"monitor_settings": {"interval_seconds": 1e999}}', "monitor_settings.interval_seconds", "must be a number"),
    (b'{"monitor_settings": {"interval_seconds": NaN}}', "monitor_settings.interval_seconds", "must be a number"),
    (b'{"monitor_settings": {"pc_count": 2.5}}', "monitor_settings.pc_count", "whole number"),
    (b'{"monitor_settings": {"pc_count": -1}}', "monitor_settings.pc_count", "from 0 to 254"),
    (b'{"monitor_settings": {"pc_start_range": 250, "pc_count": 10}}', "monitor_settings.pc_count", "past .254"),
    (b'{"monitor_settings": {"pc_subnet": "192.168.1.0/24"}}', "monitor_settings.pc_subnet", "three octets"),
    (b'{"monitor_settings": {"pc_subnet": "300.1.1"}}', "monitor_settings.pc_subnet", "three octets"),
    (b'{"monitor_settings": {"pc_names": {"PC-1": "x"}}}', "monitor_settings.pc_names", "not an IPv4"),
    (b'{"monitor_settings": {"pc_names": {"10.0.0.1": ""}}}', "monitor_settings.pc_names", "1 to 32"),
    (b'{"targets": {"router": "not a host!"}}', "targets.router", "not an IP address or host name"),
    (b'{"targets": {"server": 12}}', "targets.server", "must be an IP address"),
    (b'{"verification_settings": {"min_incident_duration_seconds": 4000}}',
     "verification_settings.min_incident_duration_seconds", "from 0 to 3600"),
    (b'{"screenshot_settings": {"quality": 0}}', "screenshot_settings.quality", "from 1 to 100"),
    (b'{"screenshot_settings": {"resize_ratio": 1.5}}', "screenshot_settings.resize_ratio", "from 0.1 to 1"),
    (b'{"screenshot_settings": {"enabled": "yes"}}', "screenshot_settings.enabled", "true or false"),
    (b'{"occupancy_settings": {"mode": "instant"}}', "occupancy_settings.mode", "must be one of"),
    (b'{"discord_settings": {"webhook_alerts": "http://discord.com/api/webhooks/1/t"}}',
     "discord_settings.webhook_alerts", "https"),
    (b'{"discord_settings": {"webhook_alerts": "https://example.org/hook"}}',
     "discord_settings.webhook_alerts", "not a Discord webhook URL"),
    (b'{"discord_settings": {"webhook_alerts": "http://203.0.113.5/api/webhooks/1/t"}}',
     "discord_settings.webhook_alerts", "loopback"),
    (b'{"discord_settings": {"enabled": true}}', "discord_settings.enabled", "no webhook is set"),
    (b'{"system_settings": {"tray_visibility": {"router": 1}}}', "system_settings.tray_visibility.router",
     "true or false"),
    (b'{"system_settings": {"tray_visibility": {"printer": true}}}', "system_settings.tray_visibility.printer",
     "unknown key"),
    (b'{"api_settings": {"port": 70000}}', "api_settings.port", "from 1 to 65535"),
    (b'{"api_settings": {"bind": "localhost:5000"}}', "api_settings.bind", "IP address"),
    (b"[" * 100000, "", "broken JSON"),
    (b'{"api_settings": {"port": 1' + b"0" * 400 + b'}}', "api_settings.port", "a huge number"),
])
def test_bad_input_gives_a_precise_problem(data, path, message):
    config, problems = parse_config(data)
    assert config is None
    assert any(p == path and message in m for p, m in problems), problems


def test_every_problem_is_listed_at_once():
    data = json.dumps({"monitor_settings": {"interval_seconds": "x", "pc_count": 999},
                       "bogus": {}, "api_settings": {"port": 0}}).encode()
    _, problems = parse_config(data)
    assert {p for p, _ in problems} == {"monitor_settings.interval_seconds", "monitor_settings.pc_count",
                                         "bogus", "api_settings.port"}


def test_defaults_and_seed_keys():
    config, problems = parse_config(b"{}")
    assert not problems
    assert config == Config()
    m = config.monitor_settings
    assert (m.interval_seconds, m.pc_subnet, m.pc_start_range, m.pc_count) == (2.0, "192.168.1", 110, 20)
    assert not config.is_configured


def test_utf8_bom_from_notepad_is_accepted():
    config, problems = parse_config(b'\xef\xbb\xbf{"targets": {"router": "198.51.100.1"}}')
    assert not problems and config.targets.router == "198.51.100.1"


def test_shipped_config_pings_nothing():
    from sentinel.paths import default_config_path

    config, problems = parse_config(default_config_path().read_bytes())
    assert not problems
    assert not config.is_configured and not config.discord_settings.enabled
    assert config.verification_settings.secondary_target == ""


@pytest.mark.parametrize("url, expected", [
    (f"https://discord.com/api/webhooks/{HOOK_ID}/{TOKEN}", f"https://discord.com/api/v10/webhooks/{HOOK_ID}/{TOKEN}"),
    (f"https://discordapp.com/api/webhooks/{HOOK_ID}/{TOKEN}/",
     f"https://discord.com/api/v10/webhooks/{HOOK_ID}/{TOKEN}"),
    (f"https://canary.discord.com/api/v9/webhooks/{HOOK_ID}/{TOKEN}",
     f"https://discord.com/api/v10/webhooks/{HOOK_ID}/{TOKEN}"),
    (f"  https://ptb.discord.com/api/v6/webhooks/{HOOK_ID}/{TOKEN}  ",
     f"https://discord.com/api/v10/webhooks/{HOOK_ID}/{TOKEN}"),
    ("http://127.0.0.1:8080/api/webhooks/1/t", "http://127.0.0.1:8080/api/webhooks/1/t"),
    ("http://[::1]:9/api/v10/webhooks/1/t", "http://[::1]:9/api/v10/webhooks/1/t"),
])
def test_webhook_normalisation(url, expected):
    assert normalise_webhook(url) == expected


@pytest.mark.parametrize("url", [
    f"https://discord.com/api/webhooks/{HOOK_ID}/{TOKEN}?wait=true",
    f"https://evil.example/api/webhooks/{HOOK_ID}/{TOKEN}",
    "https://discord.com/channels/1/2",
])
def test_webhook_rejections(url):
    with pytest.raises(ValueError):
        normalise_webhook(url)


def test_tokens_are_masked_everywhere():
    config, _ = config_from_dict({"discord_settings": {
        "webhook_alerts": f"https://discord.com/api/webhooks/{HOOK_ID}/{TOKEN}"}})
    assert TOKEN not in json.dumps(config.masked_dict())
    assert mask_webhook(config.discord_settings.webhook_alerts).endswith(f"/{HOOK_ID}/***")
    _, problems = parse_config(json.dumps({"discord_settings": {
        "webhook_alerts": f"https://evil.example/api/webhooks/{HOOK_ID}/{TOKEN}"}}).encode())
    assert TOKEN not in repr(problems)


def test_save_is_atomic_and_keeps_ten_unique_backups(tmp_path):
    path, backups = tmp_path / "config.json", tmp_path / "config_backups"
    config = Config()
    path.write_text("{}")
    for n in range(MAX_BACKUPS + 5):
        save_config(config, path, backups)
    kept = list_backups(backups)
    assert len(kept) == MAX_BACKUPS and len({p.name for p in kept}) == MAX_BACKUPS
    assert parse_config(path.read_bytes())[0] == config
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_round2_sections_have_safe_defaults():
    config = Config()
    assert config.monitor_settings.arp_presence is True
    assert (config.alert_settings.reminder_minutes, config.alert_settings.flap_blips,
            config.alert_settings.flap_window_minutes, config.alert_settings.closed_hours_alerts) == (60, 3, 10, False)
    assert config.schedule_settings.enabled is False
    assert set(config.schedule_settings.days.values()) == {"00:00-24:00"}
    assert (config.report_settings.daily_digest, config.report_settings.monthly_report,
            config.report_settings.evidence_retention_days) == (True, True, 400)
    assert config.discord_settings.status_board is True


def test_opening_hours_and_closed_dates_are_validated():
    good = {"schedule_settings": {"enabled": True, "days": {"mon": "10:00-02:00", "sun": "Closed"},
                                  "closed_dates": ["2026-12-25", "2026-01-01", "2026-12-25"]}}
    config, problems = parse_config(json.dumps(good).encode())
    assert problems == []
    assert config.schedule_settings.days["mon"] == "10:00-02:00"
    assert config.schedule_settings.days["sun"] == "closed"
    assert config.schedule_settings.days["tue"] == "00:00-24:00"
    assert config.schedule_settings.closed_dates == ("2026-01-01", "2026-12-25")
    for days in ({"mon": "25:00-02:00"}, {"funday": "10:00-12:00"}, {"mon": "10:00-10:00"}, {"mon": 10},
                 {"mon": "10:00-24:30"}, []):
        _, problems = parse_config(json.dumps({"schedule_settings": {"days": days}}).encode())
        assert [path for path, _ in problems] == ["schedule_settings.days"], days
    for dates in (["2026-13-01"], ["26-12-25"], "2026-12-25", [20261225]):
        _, problems = parse_config(json.dumps({"schedule_settings": {"closed_dates": dates}}).encode())
        assert [path for path, _ in problems] == ["schedule_settings.closed_dates"], dates


@pytest.mark.parametrize("internet, secondary, warned", [
    ("203.0.113.1", "", True),
    ("203.0.113.1", "203.0.113.1", True),  # the same server twice is still one
    ("203.0.113.1", "203.0.113.2", False),
    ("", "", False),  # the internet is not watched at all
])
def test_config_warns_when_the_internet_is_judged_on_one_target(internet, secondary, warned):
    config, problems = config_from_dict({"targets": {"internet": internet},
                                         "verification_settings": {"secondary_target": secondary}})
    assert not problems
    warnings = config_warnings(config)
    assert [path for path, _ in warnings] == (["verification_settings.secondary_target"] if warned else [])
    assert all("one target only" in message for _, message in warnings)
