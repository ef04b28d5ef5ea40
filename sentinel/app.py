"""The composition root: parse the command line, build every part, wire them, run, stop cleanly."""

from __future__ import annotations

import argparse
import gc
import logging
import logging.handlers
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sentinel import __version__
from sentinel.bus import EventBus
from sentinel.cli import (EXIT_ALREADY_RUNNING, EXIT_CRASHED, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, check_config,
                          has_display, parse_args, prepare_data_dir, read_config_file, report_command, send_test,
                          setup_on_console, startup_config, verify_admin)
from sentinel.config.model import Config
from sentinel.errors import AlreadyRunningError, ConfigError, SentinelError, UserError
from sentinel.events import ConfigRejected, ConfigReloaded, DatabaseReplaced
from sentinel.logfiles import apply_log_retention, setup_logging
from sentinel.paths import DataDir, default_config_path, default_data_dir
from sentinel.schedule import Schedule, is_quiet

log = logging.getLogger("sentinel")

STOP_DEADLINE_S = 2.5  # every part stopped within this (README: a clean stop within 3 s)
BUS_FLUSH_S = 1.0  # of that, for the bus's workers to finish what the monitor published


class Stopper:
    """SIGINT/SIGTERM (and Ctrl+C, Ctrl+Break) call one stop function."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self, stop: Callable[[], None]) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)):
            if sig is not None:
                signal.signal(sig, lambda *_: stop())


def monitor_allowance(config: Config) -> float:
    """Twice the longest normal gap between two monitor ticks: the wait plus a tick that times
    out, waits retry_delay and times out again. The guard waits at least --hang-seconds anyway."""
    m, v = config.monitor_settings, config.verification_settings
    return 2 * (m.interval_seconds + 2 * m.ping_timeout_seconds + v.retry_delay_seconds)


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a running app as the root sees it.

    start(): begin work (threads, sockets). stop(seconds): end that work within that many
    seconds (only called after start). close(): release what building it took (files, locks).
    apply(config): take a reloaded Config; every part takes the whole Config the same way.
    """

    name: str
    start: Callable[[], None] | None = None
    stop: Callable[[float], None] | None = None
    close: Callable[[], None] | None = None
    apply: Callable[[Config], None] | None = None


class Sentinel:
    """Every part of a running app, built and wired in one place; start(), run(), stop(deadline).

    Parts are registered as they are built (`_add`), so a part that fails to build leaves
    nothing behind: what was built before it is stopped and closed again. `clock` is the one
    clock every part gets (the demo's runs fast); `prober` replaces the ICMP prober.
    """

    def __init__(self, args: argparse.Namespace, config: Config, config_path: Path | None, data: DataDir,
                 raw_config: bytes, *, clock=None, prober=None, stopper: Stopper | None = None):
        self.args, self.config, self.config_path, self.data = args, config, config_path, data
        self.demo = args.demo
        self.headless = args.headless or not has_display()
        self.bus = EventBus()
        self.stopper = stopper or Stopper()
        self._parts: list[Part] = []
        self._started = 0  # parts[:_started] have been started
        try:
            self._build(raw_config, clock, prober)
        except BaseException:
            self.stop(STOP_DEADLINE_S)
            raise

    def _add(self, part: Part) -> None:
        self._parts.append(part)

    def _build(self, raw_config: bytes, clock, prober) -> None:
        from sentinel.config.watch import ConfigWatcher
        from sentinel.monitor import core
        from sentinel.monitor.engine import Clock, Monitor
        from sentinel.services.discord.notifier import Notifier, NotifierTimer
        from sentinel.services.recording.digest import Reports
        from sentinel.services.recording.evidence import EvidenceKeeper
        from sentinel.services.recording.storage import Storage
        from sentinel.services.screens.privacy import PrivacyMode
        from sentinel.services.screens.screenshots import Screenshotter
        from sentinel.services.web.status import StatusBoard

        config, data, bus = self.config, self.data, self.bus
        self._add(Part("logging", apply=apply_log_retention))
        if not self.demo:
            from sentinel import platform

            lock = platform.InstanceLock("App", data.root)
            lock.acquire()
            self._add(Part("instance lock", close=lock.release))
        # Before anything opens sentinel.db (storage here, the Discord outbox below).
        self.notices = _database_notices(data.db)
        self.storage = Storage(data.db, data.incidents_csv, data.sessions_csv,
                               Schedule.from_settings(config.schedule_settings), publish=bus.publish)
        self._add(Part("storage", close=self.storage.close))
        self.delivery = None
        if self.demo:
            from sentinel.monitor.demo import DemoClock, DemoNetwork
            from sentinel.services.discord.folder_sink import FolderSink

            self.clock = clock or DemoClock()
            prober, link_up = prober or DemoNetwork(self.clock), None
            arp = getattr(prober, "arp", None)
            sink = FolderSink(data.demo_outbox, config.discord_settings.shop_name)
            print(f"Discord messages are written to {data.demo_outbox}", flush=True)
        else:
            from sentinel.monitor.link import lan_link_up
            from sentinel.monitor.probe import Prober
            from sentinel.services.discord.delivery import Delivery
            from sentinel.services.discord.outbox import Outbox

            self.clock = clock or Clock()
            # An injected prober (tests) brings its own ARP sweep, if any.
            arp = getattr(prober, "arp", None) if prober is not None else platform.arp_seen
            prober, link_up = prober or Prober.create(), lan_link_up
            log.info("ICMP: %s sockets", "raw (privileged)" if getattr(prober, "privileged", False)
                     else "datagram (unprivileged)")
            self.delivery = sink = Delivery(Outbox(data.db), config.discord_settings, publish=bus.publish)
            delivery = self.delivery
            self._add(Part("delivery", start=delivery.start, stop=delivery.stop, close=delivery.close,
                           apply=lambda c: delivery.reconfigure(c.discord_settings)))
        self.heartbeat = None
        if not self.demo:
            from sentinel.services.keepalive.partner import Heartbeat

            self.heartbeat = heartbeat = Heartbeat(data.root, wall=self.clock.wall)
            self._add(Part("heartbeat", start=heartbeat.start, stop=heartbeat.stop,
                           apply=lambda c: heartbeat.allow("monitor", monitor_allowance(c))))
        state = core.restore(self.storage.open_incidents(), self.storage.open_sessions(),
                             self.clock.mono(), self.clock.wall())
        self.monitor = Monitor(config, prober, bus, state, self.clock, link_up, arp,
                               on_progress=self.progress("monitor", monitor_allowance(config)))
        shots, occupancy = config.screenshot_settings, config.occupancy_settings
        self.privacy = PrivacyMode(bus, default_minutes=shots.privacy_minutes)
        self.notifier = Notifier(sink, batch_delay_seconds=occupancy.batch_delay_seconds,
                                 evidence=self._restored_evidence, wall_clock=self.clock.wall,
                                 occupancy_enabled=occupancy.enabled, history=self.storage.snapshots_since,
                                 quiet=self._quiet, status_board=config.discord_settings.status_board)
        notifier = self.notifier
        timer_stop = threading.Event()
        timer = NotifierTimer(notifier, timer_stop)

        def stop_timer(seconds: float) -> None:
            timer_stop.set()
            timer.join(seconds)

        self._add(Part("notifier", start=timer.start, stop=stop_timer,
                       apply=lambda c: notifier.reconfigure(c.occupancy_settings.batch_delay_seconds,
                                                            c.occupancy_settings.enabled,
                                                            c.discord_settings.status_board)))
        # Stopped after every publisher above it and before the notifier's final flush and the
        # storage's close: what the monitor published reaches the database and Discord.
        self._add(Part("bus workers", close=lambda: bus.close(BUS_FLUSH_S)))
        self.screenshots = Screenshotter(shots, self.privacy, deliver=notifier.send_screenshot)
        screenshots = self.screenshots
        self._add(Part("screenshots", start=screenshots.start, stop=screenshots.stop,
                       apply=lambda c: screenshots.reconfigure(c.screenshot_settings)))
        self.evidence = EvidenceKeeper(data.evidence, self.storage, screenshots.evidence,
                                       retention_days=config.report_settings.evidence_retention_days,
                                       wall_clock=self.clock.wall)
        self._add(Part("evidence", start=self.evidence.start, stop=self.evidence.stop))
        reports = Reports(self.storage, data.db, data.evidence, data.reports, bus.publish, config,
                          wall_clock=self.clock.wall)
        self._add(Part("reports", start=reports.start, stop=reports.stop, apply=reports.reconfigure))
        self.board = StatusBoard(self.clock.wall)
        if self.config_path is not None:
            watcher = ConfigWatcher(self.config_path, config, bus, raw_config, data.last_good_config)
            self._add(Part("config watcher", start=watcher.start, stop=lambda _s: watcher.stop()))
        self._build_api()
        self.vault = self.vault_check = None
        self.guard_watcher = None
        if not self.demo:
            self._build_keeping_alive()
        # The monitor thread only publishes: disk, image and stdout work runs on the bus's workers.
        for subscriber in (self.storage.on_event, notifier.on_event):
            bus.subscribe(subscriber, worker=True)
        for subscriber in (self.board.on_event, self.evidence.on_event, self._on_config):
            bus.subscribe(subscriber)
        if self.headless:
            from sentinel.console import StatusPrinter

            bus.subscribe(StatusPrinter(self.clock.wall).on_event, worker=True)
        # Last to start, first to stop: nothing is published before the consumers run.
        self._add(Part("monitor", start=self.monitor.start, stop=self.monitor.stop, apply=self.monitor.reconfigure))

    def _announce(self) -> None:
        """What the owner must hear about the start itself, once every subscriber (the window too) listens."""
        for notice in self.notices:
            self.bus.publish(notice)

    def _build_api(self) -> None:
        if self.demo or self.config_path is None:
            return
        from sentinel.services.web.api import ApiServer, ensure_api_token
        from sentinel.services.web.metrics import Metrics

        self.metrics = Metrics(__version__, lambda: self.config.discord_settings.shop_name)
        self.bus.subscribe(self.metrics.on_event)
        api = ApiServer(self.config.api_settings, ensure_api_token(self.data.root), status=self.board.as_dict,
                        incidents=self.storage.recent_incidents, sessions=self.storage.recent_sessions,
                        current_config=lambda: self.config, config_path=self.config_path,
                        backup_dir=self.data.config_backups, today=self.board.today,
                        metrics=self.metrics.render, verify_admin=self._verify_admin_password,
                        log_path=self.data.log_file, settings_form=settings_form, explain=explain_problem)
        self.board.listen(api.notify)

        def start() -> None:
            if self.config.api_settings.enabled:
                api.start()

        self._add(Part("api", start=start, stop=lambda _s: api.stop(),
                       apply=lambda c: api.reconfigure(c.api_settings)))

    def _verify_admin_password(self, password: str):
        """The web login: the vault's admin password and its lockout, shared with the desktop."""
        vault = self.vault
        if vault is None or self.vault_check.needs_setup:
            return None
        attempt = vault.verify("admin", password, self.clock.wall(), action="web login")
        if attempt.alert is not None:
            self.notifier.report("Wrong passwords", attempt.alert.text())
        return attempt

    def _build_keeping_alive(self) -> None:
        from sentinel.services.access.vault import Vault
        from sentinel.services.keepalive.pact import GUARD_FILE
        from sentinel.services.keepalive.partner import (
            GuardWatcher,
            default_guard_command,
        )

        self.vault = Vault(self.data.root)
        check = self.vault.check(self.clock.wall(), config_configured=self.config.is_configured)
        self.vault_check = check
        if check.tamper is not None:
            log.error("vault: %s", check.tamper.text())
            self.notifier.report("Setup tampered with", check.tamper.text())
        # The guard is part of an installation once it has run for this data dir (guard.json);
        # an app started by hand (tests, a quick look) does not summon one.
        if (self.data.root / GUARD_FILE).exists():
            self.guard_watcher = GuardWatcher(default_guard_command(self.config_path, self.data.root),
                                              self.data.root, lambda text: self.notifier.report("Guard", text))
            self._add(Part("guard watcher", start=self.guard_watcher.start, stop=self.guard_watcher.stop))

    def progress(self, part: str, allow_s: float = 0.0) -> Callable[[], None]:
        """The beat function for a part that must keep moving (monitor tick, Tk drain): while
        the guard sees it stall for --hang-seconds (or allow_s), it replaces the app."""
        if self.heartbeat is None:  # the demo has no guard
            return lambda: None
        return self.heartbeat.part(part, allow_s)

    def _restored_evidence(self, ended) -> bytes | None:
        """The screenshot kept when the incident was confirmed (the window red); else one taken now.
        Nothing while privacy mode is on, not even a screenshot taken before it was turned on."""
        if self.privacy.is_on(self.clock.wall()):
            return None
        return self.evidence.shot(ended.key) or self.screenshots.evidence()

    def _quiet(self, event) -> bool:
        """Alerts outside opening hours stay unsent unless closed_hours_alerts (both hot-reloaded)."""
        config = self.config
        return is_quiet(event, Schedule.from_settings(config.schedule_settings),
                        config.alert_settings.closed_hours_alerts)

    def _on_config(self, event) -> None:
        """A reloaded config goes to every part, each isolated from the others' failures."""
        if not isinstance(event, ConfigReloaded):
            return
        self.config = event.config
        for part in self._parts:
            if part.apply is None:
                continue
            try:
                part.apply(event.config)
            except Exception:
                log.exception("%s could not apply the new config", part.name)

    def start(self) -> None:
        for part in self._parts[self._started:]:
            if part.start is not None:
                part.start()
            self._started += 1
        log.info("CafeSentinel %s running (data in %s)", __version__, self.data.root)

    def run(self) -> None:
        """Until SIGINT/SIGTERM, or (with a desktop) until the password Exit."""
        if self.headless:
            self.stopper.install(self.stopper.event.set)
            self._announce()
            while not self.stopper.event.wait(0.5):
                pass
            return
        from sentinel import platform
        from sentinel.gui.shell import DesktopShell, ShellParts
        from sentinel.services.discord.webhook import send_test_messages

        shell = DesktopShell(ShellParts(
            self.bus, self.config, self.clock.wall, self.privacy, self.notifier.report, self.storage.recent_incidents,
            send_test_messages, self.password_exit, platform.open_folder, self.data.root, vault=self.vault,
            vault_check=self.vault_check, config_path=self.config_path, backup_dir=self.data.config_backups,
            show_window=self.demo, on_progress=self.progress("window")))
        self.stopper.install(shell.request_stop)
        self._announce()
        if self.stopper.event.is_set():  # a signal while starting up
            shell.request_stop()
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
        from sentinel.services.keepalive.pact import write_shutdown_intent

        if self.guard_watcher is not None:
            self.guard_watcher.stop()
        if not self.demo:
            write_shutdown_intent(self.data.root, wall=self.clock.wall)

    def stop(self, deadline_s: float = STOP_DEADLINE_S) -> bool:
        """Stop every part, last built first, all within `deadline_s` real seconds; True if they did.

        Safe after a failed build (only what was built is stopped) and idempotent.
        """
        log.info("stopping")
        began = time.monotonic()
        late = []
        while self._parts:
            part = self._parts.pop()
            started = len(self._parts) < self._started
            self._started = min(self._started, len(self._parts))
            left = max(0.05, deadline_s - (time.monotonic() - began))
            if started and part.stop is not None:
                _logged(part.name, part.stop, left)
            if part.close is not None:
                _logged(part.name, part.close)
            if time.monotonic() - began > deadline_s:
                late.append(part.name)
        took = time.monotonic() - began
        if late:
            log.warning("stop took %.2f s (over %.1f s at: %s)", took, deadline_s, ", ".join(late))
        else:
            log.info("stopped cleanly in %.2f s", took)
        return not late


def _logged(name: str, fn: Callable, *args) -> None:
    """Run one stop step; a failing part is logged and the others still stop."""
    try:
        fn(*args)
    except Exception:
        log.exception("stopping %s failed", name)


def _database_notices(db: Path) -> tuple[DatabaseReplaced, ...]:
    """Check sentinel.db (moved aside when damaged); the notice for the owner, if any."""
    from sentinel import database

    now = time.time()
    problem = database.prepare(db, now)
    if problem is None:
        return ()
    kept_as = problem.kept_as.name if problem.kept_as is not None else ""
    return (DatabaseReplaced(problem.reason, kept_as, problem.text(), now),)


def build_and_run(args: argparse.Namespace, config: Config, config_path: Path | None, data: DataDir,
                  raw_config: bytes, rejected: tuple = (), prober=None, stopper: Stopper | None = None) -> int:
    sentinel = Sentinel(args, config, config_path, data, raw_config, prober=prober, stopper=stopper)
    try:
        if rejected:
            log.error("config.json is invalid; running on the last good config")
            sentinel.bus.publish(ConfigRejected(rejected))
        sentinel.start()
        sentinel.run()
    finally:
        sentinel.stop()
    return EXIT_OK


def settings_form() -> dict | None:
    """The desktop Settings' tabs, groups and fields, for the web settings page (None without Tk)."""
    try:
        from sentinel.gui.configform import GROUPS
        from sentinel.gui.settings import TABS
    except ImportError:  # no Tk on this machine: the web page lists every key as config.json has it
        return None
    groups = dict(GROUPS)
    return {"tabs": [{"title": tab, "groups": [
        {"title": group, "fields": [{"path": f.path, "label": f.label, "kind": f.kind, "hint": f.hint,
                                     "choices": list(f.choices)} for f in groups[group]]} for group in names]}
        for tab, names in TABS]}


def explain_problem(path: str, message: str) -> str:
    """A config problem in the words the desktop Settings shows under a field."""
    try:
        from sentinel.gui.configform import plain_problem
    except ImportError:
        return message
    return plain_problem(path, message)


def main(argv: list[str] | None = None, prober=None) -> int:
    """The app's entry point; returns the exit code. `prober` replaces the ICMP prober."""
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
        if args.setup:
            return setup_on_console(config_path, prepare_data_dir(args.data_dir or default_data_dir()))
        stopper = Stopper()
        if args.demo:
            from sentinel.monitor.demo import demo_config

            stopper.install(stopper.event.set)  # a signal while starting up stops right after
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
            stopper.install(stopper.event.set)
        setup_logging(data, config.system_settings.log_retention_days)
        return build_and_run(args, config, watched, data, raw, rejected, prober=prober, stopper=stopper)
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
    except Exception as exc:
        # Into the log file once logging is set up (before that, logging's last resort: stderr).
        log.critical("unexpected failure, exiting with code %d", EXIT_CRASHED, exc_info=True)
        print(f"sentinel_app.py: unexpected failure: {type(exc).__name__}: {exc} "
              "(traceback in logs/sentinel.log)", file=sys.stderr)
        return EXIT_CRASHED
