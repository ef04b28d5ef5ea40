"""The command line: flags, exit codes, and the one-shot commands that run instead of the monitor
(--check-config, --send-test, --verify-admin [--exit], --setup, --report)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from sentinel import __version__
from sentinel.config.model import Config, config_warnings, parse_config
from sentinel.files import atomic_write
from sentinel.errors import ConfigError, UserError
from sentinel.paths import DataDir, default_config_path, default_data_dir
from sentinel.schedule import Schedule

log = logging.getLogger("sentinel")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_ALREADY_RUNNING = 0, 1, 2, 3
EXIT_CRASHED = 70  # an unexpected exception (BSD sysexits EX_SOFTWARE); the traceback is in the log


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UserError(f"{self.prog}: {message} (see --help)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="sentinel_app.py", description="CafeSentinel: network and occupancy monitor.")
    parser.add_argument("--config", type=Path, help="config.json (default: beside the program)")
    parser.add_argument("--data-dir", type=Path, help="where everything is written (default: per-user app data)")
    parser.add_argument("--headless", action="store_true", help="no window and no tray; status lines on stdout")
    parser.add_argument("--demo", action="store_true", help="a simulated cafe; sends no packets")
    parser.add_argument("--check-config", action="store_true", help="validate the config and exit 0/1")
    parser.add_argument("--send-test", action="store_true", help="send one test message to each webhook")
    parser.add_argument("--version", action="version", version=f"CafeSentinel {__version__}")
    parser.add_argument("--report", metavar="PERIOD",
                        help="write the ISP report of YYYY-MM or YYYY-MM-DD (HTML + CSV) and print its path")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="with --report: the HTML file to write (default: <data>/reports/cafesentinel-PERIOD.html)")
    parser.add_argument("--verify-admin", action="store_true",
                        help="ask for the admin password; exit 0 if right, 1 if wrong (used by uninstall.bat)")
    parser.add_argument("--exit", action="store_true",
                        help="with --verify-admin: then stop the running monitor and its guard (0 stopped, 3 not)")
    parser.add_argument("--setup", action="store_true",
                        help="first-run setup on the console (passwords, targets, webhooks): a box without a display")
    return parser.parse_args(argv)


def read_config_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read config {path}: {exc.strerror or exc}") from None


def prepare_data_dir(path: Path) -> DataDir:
    try:
        data = DataDir(path).create()
        probe = data.root / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
        return data
    except OSError as exc:
        raise UserError(f"cannot use data dir {path}: {exc.strerror or exc}") from None


def check_config(path: Path) -> int:
    config, problems = parse_config(read_config_file(path))
    if problems:
        print(f"{path}: {len(problems)} problem(s)")
        for json_path, message in problems:
            print(f"  {json_path or '(file)'}: {message}")
        return EXIT_PROBLEMS
    print(f"{path}: OK" + ("" if config.is_configured else " (no targets set: nothing will be pinged)"))
    for json_path, message in config_warnings(config):
        print(f"  warning {json_path}: {message}")
    return EXIT_OK


def ask_admin_password(vault) -> bool:
    """A password dialog with a display (the windowed build has no console), else a prompt."""
    if has_display():
        import tkinter as tk

        from sentinel.gui.dialogs import ask_exit

        root = tk.Tk()
        root.withdraw()
        result: list[bool] = []
        dialog = ask_exit(root, vault, on_exit=lambda: result.append(True))
        dialog.bind("<Destroy>", lambda event: root.quit() if event.widget is dialog else None, add="+")
        root.mainloop()
        root.destroy()
        return bool(result)
    import getpass

    try:
        attempt = vault.verify("admin", getpass.getpass("Admin password: "), time.time(), action="uninstall")
    except (EOFError, KeyboardInterrupt):
        return False
    if attempt.locked:
        print(f"locked for {attempt.locked_for_s:.0f} s after too many wrong passwords")
    return attempt.ok


def verify_admin(data: DataDir, then_exit: bool) -> int:
    """--verify-admin [--exit]: the password gate of uninstall.bat; --exit then stops app and guard."""
    from sentinel import platform
    from sentinel.services.access.vault import Vault
    from sentinel.services.keepalive.pact import (
        guard_owner,
        heartbeat_owner,
        write_shutdown_intent,
    )

    vault = Vault(data.root)
    if vault.check(time.time()).needs_setup:
        raise UserError(f"no admin password is set up in {data.root}")
    if not ask_admin_password(vault):
        print("wrong password or cancelled")
        return EXIT_PROBLEMS
    if not then_exit:
        print("admin password OK")
        return EXIT_OK
    app, guard = heartbeat_owner(data.root), guard_owner(data.root)
    if app is not None:
        write_shutdown_intent(data.root, app=app)  # signed: the guard lets this app go and exits
        platform.kill(app)
    stopped = all(platform.wait_exit(p, 10.0) for p in (app, guard) if p is not None)
    print("monitor and guard stopped" if stopped else "the monitor or the guard did not stop in 10 s")
    return EXIT_OK if stopped else EXIT_ALREADY_RUNNING


def setup_on_console(config_path: Path, data: DataDir) -> int:
    """--setup: the setup wizard's questions on the console (sentinel/console_setup.py)."""
    from sentinel.console_setup import run_setup
    from sentinel.services.access.vault import Vault

    config, _rejected = startup_config(read_config_file(config_path), data)
    return run_setup(config_path, config, Vault(data.root), data.config_backups)


def send_test(config: Config) -> int:
    """--send-test: one message to each configured webhook, one line per outcome."""
    from sentinel.services.discord.webhook import send_test_messages

    if not config.discord_settings.enabled:
        print("Discord is disabled in the config (discord_settings.enabled); sending the test anyway")
    results = send_test_messages(config)
    for kind, ok, detail in results:
        print(f"{kind:12s} {'OK  ' if ok else 'FAIL'} {detail}")
    configured = [ok for kind, ok, detail in results if getattr(config.discord_settings, f"webhook_{kind}")]
    return EXIT_OK if configured and all(configured) else EXIT_PROBLEMS


def report_command(args: argparse.Namespace) -> int:
    """--report PERIOD [--out PATH]: read-only on the records, so it works while the monitor runs."""
    from sentinel.services.recording.report import (
        default_report_path,
        parse_period,
        write_report,
    )

    parse_period(args.report)  # a bad period is a usage error before anything is read
    data = DataDir(args.data_dir or default_data_dir())
    config = Config()
    for path in (args.config or default_config_path(), data.last_good_config):
        try:
            parsed, problems = parse_config(path.read_bytes())
        except OSError:
            continue
        if not problems:
            config = parsed
            break
    out = (args.out or default_report_path(data.reports, args.report)).resolve()
    write_report(data.db, data.evidence, Schedule.from_settings(config.schedule_settings), args.report, out,
                 time.time(), config.discord_settings.shop_name)
    print(out)
    return EXIT_OK


def startup_config(raw: bytes, data: DataDir) -> tuple[Config, tuple]:
    """The config to start with, and the problems of config.json if the last good copy had to stand in.

    Monitoring must not stop because of a bad edit, not even across a restart; with no good
    copy to fall back on, the problems are a usage error (exit 2).
    """
    config, problems = parse_config(raw)
    if not problems:
        try:
            atomic_write(data.last_good_config, raw)
        except OSError as exc:  # a full disk must not stop monitoring; the older copy stays
            log.warning("cannot save the last good config %s: %s", data.last_good_config, exc)
        return config, ()
    try:
        fallback, fallback_problems = parse_config(data.last_good_config.read_bytes())
    except OSError:
        fallback, fallback_problems = None, [("", "no last good config")]
    if fallback_problems:
        raise ConfigError(problems)
    return fallback, tuple(problems)


def has_display() -> bool:
    if os.name == "nt" or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))

