"""Hostile config values: a webhook that would leak its token, world-readable backups, values
that are dangerous or impossible, and inputs that used to crash the reader."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sentinel.config.checks import normalise_webhook
from sentinel.config.model import Config, backup_config, config_from_dict, parse_config, save_config
from sentinel.config.watch import ConfigWatcher
from sentinel.bus import EventBus
from sentinel.events import ConfigRejected
from tests.helpers.netns import netns_unavailable_reason

REPO = Path(__file__).resolve().parents[2]
EVIL = "198.51.100.7"  # lives only on the loopback of the test's own namespace


@pytest.mark.parametrize("url", [
    f"http://{EVIL}:9\\@127.0.0.1:80/api/v10/webhooks/1/tok",  # requests ends the host at the backslash
    f"http://{EVIL}:9@127.0.0.1:80/api/v10/webhooks/1/tok",
    "http://user:pw@127.0.0.1:80/api/v10/webhooks/1/tok",
    "http://127.0.0.1:99999/api/v10/webhooks/1/tok",
    "http://127.0.0.1:8x/api/v10/webhooks/1/tok",
    "http://127.0.0.1:80/api/v10/webhooks/1/to k",
    "http://127.0.0.1:80/api/v10/webhooks/1/tok\x00",
    "https://user@discord.com/api/webhooks/1/tok",
])
def test_webhook_urls_that_could_reach_another_host_are_refused(url):
    with pytest.raises(ValueError):
        normalise_webhook(url)
    _, problems = config_from_dict({"discord_settings": {"webhook_alerts": url}})
    assert [path for path, _ in problems] == ["discord_settings.webhook_alerts"]
    assert "tok" not in problems[0][1]  # the token is never echoed


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:8080/api/webhooks/1/t", "http://127.0.0.1:8080/api/webhooks/1/t"),
    ("http://LOCALHOST/api/v10/webhooks/1/t/", "http://localhost/api/v10/webhooks/1/t"),
    ("http://[::1]:9/api/v10/webhooks/1/t", "http://[::1]:9/api/v10/webhooks/1/t"),
])
def test_loopback_relays_are_rebuilt_from_their_parsed_parts(url, expected):
    assert normalise_webhook(url) == expected


LISTENER = textwrap.dedent("""
    import http.server, json, sys, threading
    log = open(sys.argv[1], "a")
    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            log.write(f"{self.server.server_address[0]} {self.path}\\n"); log.flush()
            body = json.dumps({"id": "1", "channel_id": "2"}).encode()
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        def log_message(self, *args):
            pass
    servers = [http.server.ThreadingHTTPServer((host, 8080), Hook) for host in sys.argv[2:]]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()
""")


@pytest.mark.needs_root
@pytest.mark.timeout(60)
def test_send_test_never_posts_the_token_to_another_host(tmp_path):
    """The attack of the issue, inside a namespace of our own where EVIL is a local listener."""
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    ns = f"cs-hook-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    listener = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True, timeout=10)
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{EVIL}/32", "dev", "lo"], check=True, timeout=10)
        received = tmp_path / "received.log"
        script = tmp_path / "listener.py"
        script.write_text(LISTENER)
        listener = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(script), str(received),
                                     EVIL, "127.0.0.1"], stdout=subprocess.PIPE, text=True)
        assert listener.stdout.readline().strip() == "ready"
        config = Config().to_dict()
        config["discord_settings"].update(enabled=True, webhook_alerts=(
            f"http://{EVIL}:8080\\@127.0.0.1:8080/api/v10/webhooks/1/SECRET-TOKEN"))
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        run = subprocess.run(["ip", "netns", "exec", ns, sys.executable, str(REPO / "sentinel_app.py"),
                              "--send-test", "--config", str(path), "--data-dir", str(tmp_path / "data")],
                             capture_output=True, text=True, timeout=30, cwd=REPO)
        assert run.returncode == 2, run.stdout + run.stderr
        assert "discord_settings.webhook_alerts" in run.stderr
        assert "SECRET-TOKEN" not in run.stdout + run.stderr
        # A loopback relay with the same listener set-up is reached: the namespace works.
        config["discord_settings"]["webhook_alerts"] = "http://127.0.0.1:8080/api/v10/webhooks/1/GOOD"
        path.write_text(json.dumps(config))
        good = subprocess.run(["ip", "netns", "exec", ns, sys.executable, str(REPO / "sentinel_app.py"),
                               "--send-test", "--config", str(path), "--data-dir", str(tmp_path / "data")],
                              capture_output=True, text=True, timeout=30, cwd=REPO)
        assert good.returncode == 0, good.stdout + good.stderr
        lines = received.read_text().splitlines()
        assert lines and all(line.startswith("127.0.0.1 ") for line in lines), lines
        assert not any("SECRET-TOKEN" in line for line in lines)
    finally:
        if listener is not None:
            listener.kill()
            listener.wait(10)
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=10)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_config_backups_are_private(tmp_path):
    path, backups = tmp_path / "config.json", tmp_path / "config_backups"
    path.write_text("{}")
    backups.mkdir(mode=0o755)
    os.chmod(backups, 0o755)
    (backups / "config-20200101-000000-00000.json").write_text("{}")
    os.chmod(backups / "config-20200101-000000-00000.json", 0o644)
    save_config(Config(), path, backups)
    backup_config(path, backups)
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in backups.iterdir()}
    assert len(modes) == 3 and set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@pytest.mark.parametrize("doc, path, words", [
    ({"api_settings": {"bind": 0}}, "api_settings.bind", "in quotes"),
    ({"api_settings": {"bind": "0.0.0.0"}}, "api_settings.bind", "every network"),
    ({"api_settings": {"bind": "::"}}, "api_settings.bind", "every network"),
    ({"api_settings": {"bind": "224.0.0.1"}}, "api_settings.bind", "not an address of this PC"),
    ({"targets": {"router": "255.255.255.255"}}, "targets.router", "broadcast"),
    ({"targets": {"server": "224.0.0.1"}}, "targets.server", "multicast"),
    ({"targets": {"internet": "0.0.0.0"}}, "targets.internet", "any address"),
    ({"targets": {"internet": "ff02::1"}}, "targets.internet", "multicast"),
    ({"verification_settings": {"secondary_target": "0.1.2.3"}}, "verification_settings.secondary_target",
     "any address"),
    ({"monitor_settings": {"pc_subnet": "127.0.0"}}, "monitor_settings.pc_subnet", "loopback"),
    ({"monitor_settings": {"pc_subnet": "224.1.1"}}, "monitor_settings.pc_subnet", "reserved"),
    ({"monitor_settings": {"pc_subnet": "0.0.0"}}, "monitor_settings.pc_subnet", "reserved"),
    ({"discord_settings": {"shop_name": "Caf\ud800"}}, "discord_settings.shop_name", "U+D800"),
    ({"discord_settings": {"shop_name": "Cafe\x1b[31m"}}, "discord_settings.shop_name", "U+001B"),
    ({"monitor_settings": {"pc_names": {"192.168.1.110": "VIP\udc80"}}}, "monitor_settings.pc_names", "U+DC80"),
    ({"monitor_settings": {"pc_names": {"192.168.1.110": "VIP\n1"}}}, "monitor_settings.pc_names", "U+000A"),
])
def test_dangerous_values_are_refused_in_plain_words(doc, path, words):
    _, problems = config_from_dict(doc)
    assert [p for p, _ in problems] == [path]
    assert words in problems[0][1]


def test_ordinary_addresses_and_names_still_pass():
    config, problems = config_from_dict({
        "api_settings": {"bind": "100.101.102.103"}, "targets": {"router": "10.0.0.1", "internet": "2001:db8::1"},
        "monitor_settings": {"pc_subnet": "172.16.5", "pc_names": {"172.16.5.110": "VIP-1 \u00e9\u4e2d"}},
        "discord_settings": {"shop_name": "Caf\u00e9 \U0001F3AE"}})
    assert problems == [] and config.discord_settings.shop_name == "Caf\u00e9 \U0001F3AE"


HUGE = "9" * 5000
DEEP = 900  # just under the JSON parser's nesting limit


@pytest.mark.parametrize("data, path", [
    (f'{{"monitor_settings": {{"pc_count": {HUGE}}}}}'.encode(), "monitor_settings.pc_count"),
    (f'{{"monitor_settings": {{"pc_count": -{HUGE}}}}}'.encode(), "monitor_settings.pc_count"),
    (f'{{"api_settings": {{"port": {HUGE}}}}}'.encode(), "api_settings.port"),
    (f'{{"discord_settings": {{"shop_name": {HUGE}}}}}'.encode(), "discord_settings.shop_name"),
    (b'{"targets": ' + b"[" * DEEP + b"]" * DEEP + b"}", "targets"),
    (b'{"monitor_settings": {"pc_names": ' + b"[" * DEEP + b"]" * DEEP + b"}}", "monitor_settings.pc_names"),
    (b'{"discord_settings": {"shop_name": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}}",
     "discord_settings.shop_name"),
], ids=["huge-count", "huge-negative", "huge-port", "huge-name", "deep-list", "deep-names", "deep-object"])
def test_huge_numbers_and_deep_nesting_are_problems_not_crashes(data, path):
    """A problem with its path, or (past what this stack can parse) one for the whole file."""
    config, problems = parse_config(data)
    assert config is None and len(problems) == 1 and problems[0][0] in (path, ""), problems


def test_check_config_start_and_reload_survive_a_huge_number(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(f'{{"monitor_settings": {{"pc_count": {HUGE}}}}}'.encode())
    check = subprocess.run([sys.executable, str(REPO / "sentinel_app.py"), "--check-config", "--config", str(path)],
                           capture_output=True, text=True, timeout=60, cwd=REPO)
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert "monitor_settings.pc_count" in check.stdout and "huge number" in check.stdout
    # hot reload: the old config stays and the problem is published
    good = json.dumps(Config().to_dict()).encode()
    path.write_bytes(good)
    bus, seen = EventBus(), []
    bus.subscribe(seen.append)
    watcher = ConfigWatcher(path, Config(), bus, good, tmp_path / "last_good.json")
    path.write_bytes(f'{{"monitor_settings": {{"pc_count": {HUGE}}}}}'.encode())
    os.utime(path, (time.time() + 5, time.time() + 5))
    watcher.check()
    rejected = [e for e in seen if isinstance(e, ConfigRejected)]
    assert rejected and rejected[0].problems[0][0] == "monitor_settings.pc_count"


def test_config_from_dict_of_values_json_cannot_write():
    assert config_from_dict({"monitor_settings": {"pc_count": 10 ** 5000}})[0] is None
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    assert config_from_dict({"targets": nested})[0] is None


def test_start_falls_back_to_the_last_good_config_on_a_huge_number(tmp_path):
    from sentinel.app import startup_config
    from sentinel.paths import DataDir

    data = DataDir(tmp_path / "data").create()
    good = Config()
    data.last_good_config.write_text(json.dumps(good.to_dict()))
    config, problems = startup_config(f'{{"monitor_settings": {{"pc_count": {HUGE}}}}}'.encode(), data)
    assert config == good and [p for p, _ in problems] == ["monitor_settings.pc_count"]
