"""The composition root: parse the command line, build every part, wire them, run, stop cleanly."""

from __future__ import annotations

import argparse
import gc
import logging
import logging.handlers
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from sentinel import __version__
from sentinel.bus import EventBus
from sentinel.config.model import Config, atomic_write, parse_config
from sentinel.events import ConfigRejected, ConfigReloaded
from sentinel.errors import AlreadyRunningError, ConfigError, SentinelError, UserError
from sentinel.paths import DataDir, default_config_path, default_data_dir
from sentinel.schedule import Schedule, is_quiet
from sentinel.services.discord.delivery import TokenFilter

log = logging.getLogger("sentinel")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_ALREADY_RUNNING = 0, 1, 2, 3
STOP_TIMEOUT_S = 2.5  # SPEC: a clean stop within 3 s


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


def setup_logging(data: DataDir, retention_days: int) -> None:
    handler = logging.handlers.TimedRotatingFileHandler(
        data.log_file, when="midnight", backupCount=retention_days, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(TokenFilter())  # urllib3 logs request paths, which hold webhook tokens
    # Without a tray host pystray logs "Failed to dock icon" many times a second.
    logging.getLogger("pystray").setLevel(logging.CRITICAL)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def check_config(path: Path) -> int:
    config, problems = parse_config(read_config_file(path))
    if problems:
        print(f"{path}: {len(problems)} problem(s)")
        for json_path, message in problems:
            print(f"  {json_path or '(file)'}: {message}")
        return EXIT_PROBLEMS
    print(f"{path}: OK" + ("" if config.is_configured else " (no targets set: nothing will be pinged)"))
    return EXIT_OK


class Stopper:
    """SIGINT/SIGTERM (and Ctrl+C, Ctrl+Break) call one stop function."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self, stop: Callable[[], None]) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)):
            if sig is not None:
                signal.signal(sig, lambda *_: stop())


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
    from sentinel.guard import guard_owner, heartbeat_owner
    from sentinel.services.keepalive.partner import write_shutdown_intent
    from sentinel.services.access.vault import Vault

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


def send_test(config: Config) -> int:
    """--send-test: one message to each configured webhook, one line per outcome."""
    from sentinel.services.discord.delivery import send_test_messages

    if not config.discord_settings.enabled:
        print("Discord is disabled in the config (discord_settings.enabled); sending the test anyway")
    results = send_test_messages(config)
    for kind, ok, detail in results:
        print(f"{kind:12s} {'OK  ' if ok else 'FAIL'} {detail}")
    configured = [ok for kind, ok, detail in results if getattr(config.discord_settings, f"webhook_{kind}")]
    return EXIT_OK if configured and all(configured) else EXIT_PROBLEMS


def report_command(args: argparse.Namespace) -> int:
    """--report PERIOD [--out PATH]: read-only on the records, so it works while the monitor runs."""
    from sentinel.services.recording.report import default_report_path, parse_period, write_report

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
        atomic_write(data.last_good_config, raw)
        return config, ()
    try:
        fallback, fallback_problems = parse_config(data.last_good_config.read_bytes())
    except OSError:
        fallback, fallback_problems = None, [("", "no last good config")]
    if fallback_problems:
        raise ConfigError(problems)
    return fallback, tuple(problems)


class Sentinel:
    """Every part of a running app, built and wired in one place; start(), run(), stop()."""

    def __init__(self, args: argparse.Namespace, config: Config, config_path: Path | None, data: DataDir,
                 raw_config: bytes):
        from sentinel.monitor import core
        from sentinel.monitor.engine import Clock, Monitor
        from sentinel.config.watch import ConfigWatcher
        from sentinel.services.discord.notifier import Notifier, NotifierTimer
        from sentinel.services.screens.privacy import PrivacyMode
        from sentinel.services.screens.screenshots import Screenshotter
        from sentinel.services.web.status import StatusBoard
        from sentinel.services.recording.evidence import EvidenceKeeper
        from sentinel.services.recording.storage import Storage

        self.args, self.config, self.config_path, self.data = args, config, config_path, data
        self.demo = args.demo
        self.headless = args.headless or not has_display()
        self.bus = bus = EventBus()
        self.stopper = Stopper()
        self.lock = None
        if not self.demo:
            from sentinel import platform

            self.lock = platform.InstanceLock("App", data.root)
            self.lock.acquire()
        self.storage = Storage(data.db, data.incidents_csv, data.sessions_csv,
                               Schedule.from_settings(config.schedule_settings))
        if self.demo:
            from sentinel.monitor.demo import DemoClock, DemoNetwork
            from sentinel.services.discord.folder_sink import FolderSink

            self.clock = DemoClock()
            prober, link_up = DemoNetwork(self.clock), None
            self.delivery = None
            sink = FolderSink(data.demo_outbox, config.discord_settings.shop_name)
            print(f"Discord messages are written to {data.demo_outbox}", flush=True)
        else:
            from sentinel.monitor.link import lan_link_up
            from sentinel.monitor.probe import Prober
            from sentinel.services.discord.delivery import Delivery

            self.clock = Clock()
            prober, link_up = Prober.create(), lan_link_up
            log.info("ICMP: %s sockets", "raw (privileged)" if prober.privileged else "datagram (unprivileged)")
            self.delivery = sink = Delivery(data.db, config.discord_settings, publish=bus.publish)
        state = core.restore(self.storage.open_incidents(), self.storage.open_sessions(),
                             self.clock.mono(), self.clock.wall())
        self.monitor = Monitor(config, prober, bus, state, self.clock, link_up)
        shots = config.screenshot_settings
        occupancy = config.occupancy_settings
        self.privacy = PrivacyMode(bus, default_minutes=shots.privacy_minutes)
        self.notifier = Notifier(sink, batch_delay_seconds=occupancy.batch_delay_seconds,
                                 evidence=lambda: self.screenshots.evidence(), wall_clock=self.clock.wall,
                                 occupancy_enabled=occupancy.enabled, history=self.storage.snapshots_since,
                                 quiet=self._quiet)
        self.screenshots = Screenshotter(shots, self.privacy, deliver=self.notifier.send_screenshot)
        self.evidence = EvidenceKeeper(data.evidence, self.storage, lambda: self.screenshots.evidence(),
                                       retention_days=config.report_settings.evidence_retention_days,
                                       wall_clock=self.clock.wall)
        self._timer_stop = threading.Event()
        self.notifier_timer = NotifierTimer(self.notifier, self._timer_stop)
        self.board = StatusBoard()
        self.watcher = None
        if config_path is not None:
            self.watcher = ConfigWatcher(config_path, config, bus, raw_config, data.last_good_config)
        self.api = self._build_api()
        self.vault = None
        self.heartbeat = self.guard_watcher = None
        if not self.demo:
            self._build_keeping_alive()
        for subscriber in (self.storage.on_event, self.monitor.on_event, self.notifier.on_event,
                           self.board.on_event, self.evidence.on_event, self._on_config):
            bus.subscribe(subscriber)
        if self.headless:
            from sentinel.console import StatusPrinter

            bus.subscribe(StatusPrinter(self.clock.wall).on_event)
        self.desktop = None

    def _build_api(self):
        if self.demo or self.config_path is None:
            return None
        from sentinel.services.web.api import ApiServer, ensure_api_token

        return ApiServer(self.config.api_settings, ensure_api_token(self.data.root), status=self.board.as_dict,
                         incidents=self.storage.recent_incidents, sessions=self.storage.recent_sessions,
                         current_config=lambda: self.config, config_path=self.config_path,
                         backup_dir=self.data.config_backups)

    def _build_keeping_alive(self) -> None:
        from sentinel.guard import GUARD_FILE
        from sentinel.services.keepalive.partner import GuardWatcher, Heartbeat, default_guard_command
        from sentinel.services.access.vault import Vault

        self.vault = Vault(self.data.root)
        check = self.vault.check(time.time(), config_configured=self.config.is_configured)
        self.vault_check = check
        if check.tamper is not None:
            log.error("vault: %s", check.tamper.text())
            self.notifier.report("Setup tampered with", check.tamper.text())
        self.heartbeat = Heartbeat(self.data.root)
        # The guard is part of an installation once it has run for this data dir (guard.json);
        # an app started by hand (tests, a quick look) does not summon one.
        if (self.data.root / GUARD_FILE).exists():
            self.guard_watcher = GuardWatcher(default_guard_command(self.config_path, self.data.root),
                                              self.data.root, lambda text: self.notifier.report("Guard", text))

    def _quiet(self, event) -> bool:
        """Alerts outside opening hours stay unsent unless closed_hours_alerts (both hot-reloaded)."""
        config = self.config
        return is_quiet(event, Schedule.from_settings(config.schedule_settings),
                        config.alert_settings.closed_hours_alerts)

    def _on_config(self, event) -> None:
        """A reloaded config applies to every part (the monitor subscribes on its own)."""
        if not isinstance(event, ConfigReloaded):
            return
        config: Config = event.config
        self.config = config
        if self.delivery is not None:
            self.delivery.reconfigure(config.discord_settings)
        occupancy = config.occupancy_settings
        self.notifier.reconfigure(occupancy.batch_delay_seconds, occupancy.enabled)
        self.screenshots.reconfigure(config.screenshot_settings)
        if self.api is not None:
            self.api.reconfigure(config.api_settings)

    def start(self) -> None:
        if self.delivery is not None:
            self.delivery.start()
        self.notifier_timer.start()
        self.screenshots.start()
        self.evidence.start()
        if self.watcher is not None:
            self.watcher.start()
        if self.api is not None and self.config.api_settings.enabled:
            self.api.start()
        if self.heartbeat is not None:
            self.heartbeat.start()
        if self.guard_watcher is not None:
            self.guard_watcher.start()
        self.monitor.start()
        log.info("CafeSentinel %s running (data in %s)", __version__, self.data.root)

    def run(self) -> None:
        """Until SIGINT/SIGTERM, or (with a desktop) until the password Exit."""
        if self.headless:
            self.stopper.install(self.stopper.event.set)
            while not self.stopper.event.wait(0.5):
                pass
            return
        from sentinel.gui.shell import DesktopShell

        shell = DesktopShell(self)
        self.stopper.install(shell.request_stop)
        try:
            shell.run()
        finally:
            # Free Tk here, on its own thread. Left in a cycle for the collector, it would be freed
            # on whichever thread collects next, and Tcl then aborts the process (exit 134).
            self.stopper.install(self.stopper.event.set)
            del shell
            gc.collect()

    def password_exit(self) -> None:
        """The only way that also stops the guard: a signed shutdown intent, then a normal stop."""
        from sentinel.services.keepalive.partner import write_shutdown_intent

        if self.guard_watcher is not None:
            self.guard_watcher.stop()
        if not self.demo:
            write_shutdown_intent(self.data.root)

    def stop(self) -> None:
        log.info("stopping")
        self.monitor.stop(1.5)
        for part in (self.watcher, self.screenshots, self.evidence, self.api, self.guard_watcher):
            if part is not None:
                part.stop()
        self._timer_stop.set()
        self.notifier_timer.join(1.0)
        if self.delivery is not None:
            self.delivery.stop(0.5)
            self.delivery.close()
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.storage.close()
        if self.lock is not None:
            self.lock.release()
        log.info("stopped cleanly")


def build_and_run(args: argparse.Namespace, config: Config, config_path: Path | None, data: DataDir,
                  raw_config: bytes, rejected: tuple = ()) -> int:
    sentinel = Sentinel(args, config, config_path, data, raw_config)
    try:
        if rejected:
            log.error("config.json is invalid; running on the last good config")
            sentinel.bus.publish(ConfigRejected(rejected))
        sentinel.start()
        sentinel.run()
    finally:
        sentinel.stop()
    return EXIT_OK


def has_display() -> bool:
    if os.name == "nt" or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    from sentinel.stdio import redirect_if_missing

    redirect_if_missing(default_data_dir() / "logs" / "console.log")  # windowed builds have no console
    try:
        args = parse_args(argv)
        config_path = (args.config or default_config_path()).resolve()
        if args.out and args.report is None:
            raise UserError("sentinel_app.py: --out goes with --report")
        if args.report is not None:
            return report_command(args)
        if args.check_config:
            return check_config(config_path)
        if args.exit and not args.verify_admin:
            raise UserError("sentinel_app.py: --exit goes with --verify-admin")
        if args.verify_admin:
            return verify_admin(prepare_data_dir(args.data_dir or default_data_dir()), args.exit)
        if args.demo:
            from sentinel.monitor.demo import demo_config

            root = args.data_dir or Path(tempfile.mkdtemp(prefix="cafesentinel-demo-"))
            data = prepare_data_dir(root)
            config, raw, watched, rejected = demo_config(), b"", None, ()
            print(f"CafeSentinel demo: a simulated cafe, no packets sent. Data in {data.root}", flush=True)
        else:
            raw = read_config_file(config_path)
            data = prepare_data_dir(args.data_dir or default_data_dir())
            config, rejected = startup_config(raw, data)
            watched = config_path
            if args.send_test:
                return send_test(config)
        setup_logging(data, config.system_settings.log_retention_days)
        return build_and_run(args, config, watched, data, raw, rejected)
    except AlreadyRunningError as exc:
        print(f"sentinel_app.py: {exc}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    except ConfigError as exc:
        print(f"sentinel_app.py: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as exc:
        print(str(exc) if str(exc).startswith("sentinel_app.py") else f"sentinel_app.py: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SentinelError as exc:
        log.error("%s", exc)
        print(f"sentinel_app.py: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
