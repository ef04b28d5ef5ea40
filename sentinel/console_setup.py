"""--setup: the first-run setup on a console, for a box without a display (the wizard's twin).

Asks for the admin and privacy passwords (the vault's rules; hidden on a terminal), then for
what to watch: router, server, internet and second internet host, the PC range, the shop name
and the three Discord webhooks. Enter keeps the value shown in brackets (webhook tokens are
masked there), "-" empties it. Nothing is pinged or sent. The vault is written and the config
saved (with a backup) only once every answer is valid; a running app hot-applies the new
config. When the passwords are already set up, the admin password is asked instead and only
the settings change.

Reads answers line by line, so it can also be scripted (`printf ... | sentinel_app.py --setup`).
"""

from __future__ import annotations

import getpass
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from sentinel.config.checks import mask_webhook
from sentinel.config.model import Config, config_from_dict, save_config
from sentinel.platform.gateway import detect_default_gateway
from sentinel.services.access.passwords import VaultError
from sentinel.services.access.vault import ADMIN, PasswordRuleError, Vault, VaultState

EXIT_OK, EXIT_PROBLEMS = 0, 1
MAX_TRIES = 5  # per question; then setup stops and nothing is changed
SUGGESTED_INTERNET = "8.8.8.8"
SUGGESTED_SECONDARY = "1.1.1.1"


@dataclass(frozen=True)
class Question:
    path: str  # JSON path in config.json
    prompt: str


QUESTIONS = (
    Question("targets.router", "Router address"),
    Question("targets.server", "Game/boot server address (empty: not watched)"),
    Question("targets.internet", "Internet host"),
    Question("verification_settings.secondary_target", "Second internet host (down only if both fail)"),
    Question("monitor_settings.pc_subnet", "PC subnet, first three parts (like 192.168.1)"),
    Question("monitor_settings.pc_start_range", "First PC address (last part)"),
    Question("monitor_settings.pc_count", "Number of PCs"),
    Question("discord_settings.shop_name", "Shop name"),
    Question("discord_settings.webhook_alerts", "Discord webhook for alerts (empty: off)"),
    Question("discord_settings.webhook_occupancy", "Discord webhook for occupancy (empty: off)"),
    Question("discord_settings.webhook_screenshots", "Discord webhook for screenshots (empty: off)"),
)
NUMBERS = {"monitor_settings.pc_start_range", "monitor_settings.pc_count"}
CLEAR = "-"


class Cancelled(Exception):
    """End of input, Ctrl+C, or too many invalid answers: nothing was changed."""


class Console:
    """Line-based questions; secrets are read without echo when stdin is a terminal."""

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.on_terminal = stdin.isatty()
        self.secret_reader: Callable[[str], str] = getpass.getpass if self.on_terminal else self.ask

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def ask(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise Cancelled("end of input")
        if not self.on_terminal:  # a terminal echoed the Enter; piped answers are never echoed
            self.stdout.write("\n")
        return line.rstrip("\r\n")

    def secret(self, prompt: str) -> str:
        try:
            return self.secret_reader(prompt)
        except EOFError:
            raise Cancelled("end of input") from None


def _get(raw: dict, path: str):
    section, key = path.split(".")
    return raw[section][key]


def _set(raw: dict, path: str, value) -> None:
    section, key = path.split(".")
    raw[section][key] = value


def _shown(path: str, value) -> str:
    return mask_webhook(value) if ".webhook_" in path else str(value)


def _typed(path: str, text: str):
    """An answer as the config wants it: numbers for the PC range (left as text if not a number,
    so validation names the field)."""
    if text == CLEAR:
        return ""
    if path in NUMBERS:
        try:
            return int(text)
        except ValueError:
            return text
    return text


def ask_passwords(console: Console, vault: Vault) -> tuple[str, str]:
    """Two new passwords that follow the vault's rules, each typed twice."""
    for _ in range(MAX_TRIES):
        admin = console.secret("Admin password (for Exit, settings and uninstall): ")
        privacy = console.secret("Privacy password (pauses screenshots; not the admin password): ")
        problems = [message for _kind, message in vault.new_password_problems(admin, privacy)]
        if not problems:
            if console.secret("Repeat the admin password: ") != admin:
                problems.append("The two admin passwords do not match.")
            elif console.secret("Repeat the privacy password: ") != privacy:
                problems.append("The two privacy passwords do not match.")
        if not problems:
            return admin, privacy
        for message in problems:
            console.say(f"  {message}")
    raise Cancelled("no valid passwords")


def check_admin(console: Console, vault: Vault, now: Callable[[], float]) -> None:
    """The passwords exist already: only the admin may change the settings."""
    console.say("The passwords are already set up; enter the admin password to change the settings.")
    for _ in range(MAX_TRIES):
        attempt = vault.verify(ADMIN, console.secret("Admin password: "), now(), action="setup")
        if attempt.ok:
            return
        if attempt.locked:
            raise Cancelled(f"locked for {attempt.locked_for_s:.0f} s after too many wrong passwords")
        console.say("  Wrong password.")
    raise Cancelled("wrong admin password")


def ask_settings(console: Console, initial: Config) -> Config:
    """Every question once; then only the answers the config's validation names, again."""
    raw = initial.to_dict()
    if not raw["targets"]["router"]:
        raw["targets"]["router"] = detect_default_gateway() or ""
    if not initial.is_configured:
        raw["targets"]["internet"] = raw["targets"]["internet"] or SUGGESTED_INTERNET
        secondary = raw["verification_settings"]["secondary_target"] or SUGGESTED_SECONDARY
        raw["verification_settings"]["secondary_target"] = secondary
    pending = list(QUESTIONS)
    for _ in range(MAX_TRIES):
        for question in pending:
            shown = _shown(question.path, _get(raw, question.path))
            answer = console.ask(f"{question.prompt} [{shown}]: ").strip()
            if answer:
                _set(raw, question.path, _typed(question.path, answer))
        hooks = [raw["discord_settings"][f"webhook_{kind}"] for kind in ("alerts", "occupancy", "screenshots")]
        raw["discord_settings"]["enabled"] = any(hooks)
        config, problems = config_from_dict(raw)
        if config is not None:
            return config
        for path, message in problems:
            console.say(f"  {path}: {message}")
        asked = {q.path for q in QUESTIONS}
        pending = [q for q in QUESTIONS if any(path == q.path for path, _ in problems)]
        if not pending or any(path not in asked and path != "discord_settings.enabled" for path, _ in problems):
            raise Cancelled("the config has problems these questions cannot fix; see --check-config")
    raise Cancelled("too many invalid answers")


def run_setup(config_path: Path, initial: Config, vault: Vault, backup_dir: Path, *,
              stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, now: Callable[[], float] = time.time) -> int:
    """The whole console setup; returns the exit code (0 saved, 1 nothing changed)."""
    console = Console(stdin, stdout)
    check = vault.check(now(), config_configured=initial.is_configured)
    try:
        passwords = None
        if check.state is VaultState.READY:
            check_admin(console, vault, now)
        else:
            if check.tamper is not None:
                console.say(f"{check.tamper.text()} A new setup replaces it; this is recorded.")
            console.say("CafeSentinel setup. Passwords: at least 6 characters, and different.")
            passwords = ask_passwords(console, vault)
        console.say(f"What to watch (Enter keeps the value in brackets, {CLEAR} empties it; nothing is pinged now):")
        config = ask_settings(console, initial)
    except (Cancelled, KeyboardInterrupt) as exc:
        console.say(f"\nSetup stopped ({exc or 'Ctrl+C'}): nothing was changed.")
        return EXIT_PROBLEMS
    try:
        if passwords is not None:
            vault.setup(*passwords, now(), replace_tampered=check.tamper)
        save_config(config, config_path, backup_dir)
    except (PasswordRuleError, VaultError, OSError) as exc:
        console.say(f"Setup could not be saved: {exc}")
        return EXIT_PROBLEMS
    console.say(f"Saved: passwords in {vault.directory}, settings in {config_path}.")
    return EXIT_OK
