"""`sentinel_app.py --setup`: the first-run setup on a console, driven as a person would.

On a real terminal (a pty): the passwords are not echoed, the answers are saved, the vault
accepts the admin password afterwards. Through a pipe (scripted setup): a rule-breaking or
mismatched password and an invalid address are named and asked again; end of input changes
nothing; once set up, only the admin password opens the settings. Nothing is pinged: the
answers are loopback addresses and the app never starts monitoring in this mode.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sentinel.config.model import Config, parse_config
from sentinel.services.access.vault import Vault, VaultState

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30
ADMIN_PW, PRIVACY_PW = "counter-admin-77", "quiet-hours-42"
WEBHOOK = "http://127.0.0.1:9/api/webhooks/123/secret-token-abc"


@pytest.fixture
def paths(tmp_path):
    config = tmp_path / "config.json"
    config.write_bytes((REPO / "config.json").read_bytes())
    return config, tmp_path / "data"


def load_config(path: Path) -> Config:
    config, problems = parse_config(path.read_bytes())
    assert not problems, problems
    return config


def argv(config: Path, data: Path) -> list[str]:
    return [sys.executable, str(REPO / "sentinel_app.py"), "--setup", "--config", str(config), "--data-dir", str(data)]


class Terminal:
    """The app on a pseudo-terminal: `expect` a prompt, `send` a line, all output kept."""

    def __init__(self, command: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal (getpass opens /dev/tty)
            os.execv(command[0], command)
        self.output = ""

    def expect(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while text not in self.output:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {text!r} within {TIMEOUT_S} s; output:\n{self.output}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                assert chunk, f"the app ended before {text!r}; output:\n{self.output}"
                self.output += chunk.decode(errors="replace")

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def wait(self) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            assert time.monotonic() < deadline, "the app did not exit"
            select.select([self.fd], [], [], 0.05)  # drain so the child never blocks on a full pty
            try:
                self.output += os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                pass


def scripted(config: Path, data: Path, answers: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv(config, data), input="".join(f"{a}\n" for a in answers), capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False)


SETTINGS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "198.51.100", "110", "12", "Cafe Rio",
            WEBHOOK, "", ""]


def test_setup_on_a_terminal_hides_passwords_and_saves_everything(paths):
    config, data = paths
    term = Terminal(argv(config, data))
    for prompt, answer in [("Admin password", ADMIN_PW), ("Privacy password", PRIVACY_PW),
                           ("Repeat the admin password", ADMIN_PW), ("Repeat the privacy password", PRIVACY_PW)]:
        term.expect(prompt)
        term.send(answer)
    prompts = ["Router address", "Game/boot server", "Internet host", "Second internet host", "PC subnet",
               "First PC address", "Number of PCs", "Shop name", "webhook for alerts", "webhook for occupancy",
               "webhook for screenshots"]
    for prompt, answer in zip(prompts, SETTINGS):
        term.expect(prompt)
        term.send(answer)
    term.expect("Saved:")
    assert term.wait() == 0, term.output
    assert ADMIN_PW not in term.output and PRIVACY_PW not in term.output, "a password was echoed"

    saved = load_config(config)
    assert (saved.targets.router, saved.targets.server, saved.targets.internet) == ("127.0.0.1", "127.0.0.2",
                                                                                    "127.0.0.3")
    assert saved.verification_settings.secondary_target == "127.0.0.4"
    assert (saved.monitor_settings.pc_subnet, saved.monitor_settings.pc_start_range,
            saved.monitor_settings.pc_count) == ("198.51.100", 110, 12)
    assert saved.discord_settings.shop_name == "Cafe Rio" and saved.discord_settings.enabled
    assert saved.discord_settings.webhook_alerts.endswith("/webhooks/123/secret-token-abc")
    assert saved.discord_settings.webhook_occupancy == ""
    assert list((data / "config_backups").glob("config-*.json")), "the previous config was backed up"

    vault = Vault(data)
    assert vault.check(time.time(), config_configured=True).state is VaultState.READY
    assert vault.verify("admin", ADMIN_PW, time.time()).ok
    assert vault.verify("privacy", PRIVACY_PW, time.time()).ok
    check = subprocess.run([sys.executable, str(REPO / "sentinel_app.py"), "--check-config", "--config", str(config)],
                           capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert check.returncode == 0, check.stdout


def test_scripted_setup_names_each_problem_and_asks_again(paths):
    config, data = paths
    answers = ["short", PRIVACY_PW,                       # too short: both asked again
               ADMIN_PW, ADMIN_PW,                        # the same twice: asked again
               ADMIN_PW, PRIVACY_PW, ADMIN_PW, "typo",   # repeat does not match: asked again
               ADMIN_PW, PRIVACY_PW, ADMIN_PW, PRIVACY_PW,
               "not a host!", *SETTINGS[1:],              # a bad router: only the router again
               "127.0.0.1"]
    result = scripted(config, data, answers)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "The admin password" in out.split("must differ")[0], out
    assert "must differ from the admin password" in out, out
    assert "The two privacy passwords do not match." in out, out
    assert "targets.router:" in out, out
    assert out.count("Router address") == 2 and out.count("Number of PCs") == 1, "only the bad answer again"
    assert load_config(config).targets.router == "127.0.0.1"
    vault = Vault(data)
    assert vault.check(time.time()).state is VaultState.READY
    assert vault.verify("admin", ADMIN_PW, time.time()).ok


def test_end_of_input_changes_nothing(paths):
    config, data = paths
    before = config.read_bytes()
    result = scripted(config, data, [ADMIN_PW, PRIVACY_PW, ADMIN_PW, PRIVACY_PW, "127.0.0.1"])
    assert result.returncode == 1
    assert "nothing was changed" in result.stdout
    assert config.read_bytes() == before
    assert not (data / "vault.bin").exists()


def test_once_set_up_only_the_admin_password_opens_the_settings(paths):
    config, data = paths
    assert scripted(config, data, [ADMIN_PW, PRIVACY_PW, ADMIN_PW, PRIVACY_PW, *SETTINGS]).returncode == 0
    vault_before = (data / "vault.bin").read_bytes()

    wrong = scripted(config, data, ["nope-nope", PRIVACY_PW, "still-wrong"])
    assert wrong.returncode == 1 and wrong.stdout.count("Wrong password.") == 3, wrong.stdout
    assert load_config(config).targets.router == "127.0.0.1"

    masked = scripted(config, data, [ADMIN_PW, "127.0.0.9", *[""] * (len(SETTINGS) - 1)])
    assert masked.returncode == 0, masked.stdout
    assert "secret-token-abc" not in masked.stdout, "a webhook token was shown"
    assert "/webhooks/123/***" in masked.stdout
    saved = load_config(config)
    assert saved.targets.router == "127.0.0.9" and saved.discord_settings.webhook_alerts.endswith("secret-token-abc")
    assert (data / "vault.bin").read_bytes() == vault_before, "the passwords were not touched"
