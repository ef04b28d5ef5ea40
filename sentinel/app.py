"""The composition root: parse the command line, build every part, wire them, run, stop cleanly."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

from sentinel import __version__
from sentinel.bus import EventBus
from sentinel.config import Config, atomic_write, parse_config
from sentinel.events import ConfigRejected
from sentinel.errors import ConfigError, SentinelError, UserError
from sentinel.paths import DataDir, default_config_path, default_data_dir

log = logging.getLogger("sentinel")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
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
    """SIGINT/SIGTERM (and Ctrl+C) set one event the main thread waits on."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)):
            if sig is not None:
                signal.signal(sig, lambda *_: self.event.set())


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


def build_and_run(args: argparse.Namespace, config: Config, config_path: Path | None, data: DataDir,
                  raw_config: bytes, rejected: tuple = ()) -> int:
    from sentinel.monitor import core
    from sentinel.monitor.engine import Clock, Monitor
    from sentinel.services.config_watch import ConfigWatcher
    from sentinel.services.console import StatusPrinter
    from sentinel.services.storage import Storage

    bus = EventBus()
    storage = Storage(data.db, data.incidents_csv, data.sessions_csv)
    stoppables = []
    if args.demo:
        from sentinel.monitor.demo import DemoClock, DemoNetwork

        clock = DemoClock()
        prober = DemoNetwork(clock)
        link_up = None
    else:
        from sentinel.monitor.link import lan_link_up
        from sentinel.monitor.probe import Prober

        clock = Clock()
        prober = Prober.create()
        link_up = lan_link_up
        log.info("ICMP: %s sockets", "raw (privileged)" if prober.privileged else "datagram (unprivileged)")
    state = core.restore(storage.open_incidents(), storage.open_sessions(), clock.mono(), clock.wall())
    monitor = Monitor(config, prober, bus, state, clock, link_up)

    bus.subscribe(storage.on_event)
    bus.subscribe(monitor.on_event)
    headless = args.headless or not _has_display()
    if headless:
        bus.subscribe(StatusPrinter(clock.wall).on_event)
    if config_path is not None:
        watcher = ConfigWatcher(config_path, config, bus, raw_config, data.last_good_config)
        watcher.start()
        stoppables.append(watcher)
    if rejected:
        log.error("config.json is invalid; running on the last good config")
        bus.publish(ConfigRejected(rejected))

    stopper = Stopper()
    stopper.install()
    monitor.start()
    log.info("CafeSentinel %s running (data in %s)", __version__, data.root)
    try:
        while not stopper.event.wait(0.5):
            pass
    finally:
        log.info("stopping")
        monitor.stop(STOP_TIMEOUT_S)
        for part in stoppables:
            part.stop()
        storage.close()
        log.info("stopped cleanly")
    return EXIT_OK


def _has_display() -> bool:
    if os.name == "nt" or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        config_path = (args.config or default_config_path()).resolve()
        if args.check_config:
            return check_config(config_path)
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
        setup_logging(data, config.system_settings.log_retention_days)
        return build_and_run(args, config, watched, data, raw, rejected)
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
