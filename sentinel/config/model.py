"""config.json: the sections and their keys, parse -> validate -> (Config | problems), saving with backups.

The sections and key names are the seed's, so an owner's existing file keeps working; every
key has a safe default. Validation never raises on bad input: it returns every problem with
its JSON path.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel.config.checks import (DAYS, Bind, Check, DateList, Flag, Host, Number, OpeningDays, PcNames, Subnet,
                                    Text, Webhook, describe, mask_webhook, parse_int, printable_key)
from sentinel.files import atomic_write

MAX_BACKUPS = 10


def _opt(default, check: Check):
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


@dataclass(frozen=True)
class Targets:
    router: str = _opt("", Host())
    server: str = _opt("", Host())
    internet: str = _opt("", Host())


@dataclass(frozen=True)
class MonitorSettings:
    interval_seconds: float = _opt(2.0, Number(0.5, 60))
    pc_subnet: str = _opt("192.168.1", Subnet())
    pc_start_range: int = _opt(110, Number(1, 254, whole=True))
    pc_count: int = _opt(20, Number(0, 254, whole=True))
    ping_timeout_seconds: float = _opt(1.0, Number(0.1, 10))
    pc_names: dict = _opt({}, PcNames())
    arp_presence: bool = _opt(True, Flag())  # a PC that drops pings but answers ARP is seen

    def pc_addresses(self) -> list[tuple[int, str, str]]:
        """(n, ip, name) for PC n = 1..pc_count."""
        out = []
        for n in range(1, self.pc_count + 1):
            ip = f"{self.pc_subnet}.{self.pc_start_range + n - 1}"
            out.append((n, ip, self.pc_names.get(ip, f"PC-{n}")))
        return out


@dataclass(frozen=True)
class VerificationSettings:
    retry_delay_seconds: float = _opt(1.0, Number(0, 30))
    secondary_target: str = _opt("1.1.1.1", Host())
    min_incident_duration_seconds: float = _opt(10.0, Number(0, 3600))


@dataclass(frozen=True)
class ScreenshotSettings:
    enabled: bool = _opt(True, Flag())
    interval_minutes: float = _opt(60.0, Number(0.1, 1440))
    quality: int = _opt(80, Number(1, 100, whole=True))
    resize_ratio: float = _opt(1.0, Number(0.1, 1.0))
    privacy_minutes: float = _opt(60.0, Number(1, 1440))


@dataclass(frozen=True)
class OccupancySettings:
    enabled: bool = _opt(True, Flag())
    mode: str = _opt("session", Text(choices=("session",)))
    min_session_minutes: float = _opt(3.0, Number(0, 240))
    batch_delay_seconds: float = _opt(30.0, Number(0, 3600))
    hourly_snapshot_enabled: bool = _opt(True, Flag())
    snapshot_interval_minutes: float = _opt(60.0, Number(1, 1440))


@dataclass(frozen=True)
class DiscordSettings:
    enabled: bool = _opt(False, Flag())
    shop_name: str = _opt("My Cafe", Text(max_len=80))
    webhook_alerts: str = _opt("", Webhook())
    webhook_occupancy: str = _opt("", Webhook())
    webhook_screenshots: str = _opt("", Webhook())
    status_board: bool = _opt(True, Flag())  # one alerts-channel message edited in place


@dataclass(frozen=True)
class AlertSettings:
    reminder_minutes: float = _opt(60.0, Number(0, 1440))  # "X still DOWN" every N minutes; 0 = off
    flap_blips: int = _opt(3, Number(2, 1000, whole=True))  # this many blips in the window = UNSTABLE
    flap_window_minutes: float = _opt(10.0, Number(1, 1440))
    closed_hours_alerts: bool = _opt(False, Flag())  # alert outside opening hours too


@dataclass(frozen=True)
class ScheduleSettings:
    enabled: bool = _opt(False, Flag())
    days: dict = _opt({day: "00:00-24:00" for day in DAYS}, OpeningDays())
    closed_dates: tuple = _opt((), DateList())


@dataclass(frozen=True)
class ReportSettings:
    daily_digest: bool = _opt(True, Flag())  # posted at closing time (midnight without a schedule)
    monthly_report: bool = _opt(True, Flag())  # last month's ISP report, posted on the 1st
    evidence_retention_days: int = _opt(400, Number(1, 3650, whole=True))


@dataclass(frozen=True)
class TrayVisibility:
    router: bool = _opt(True, Flag())
    server: bool = _opt(True, Flag())
    internet: bool = _opt(True, Flag())
    clients: bool = _opt(True, Flag())


@dataclass(frozen=True)
class SystemSettings:
    log_retention_days: int = _opt(30, Number(1, 3650, whole=True))
    tray_visibility: TrayVisibility = field(default_factory=TrayVisibility)


@dataclass(frozen=True)
class ApiSettings:
    enabled: bool = _opt(True, Flag())
    bind: str = _opt("127.0.0.1", Bind())
    port: int = _opt(5000, Number(1, 65535, whole=True))


@dataclass(frozen=True)
class Config:
    targets: Targets = field(default_factory=Targets)
    monitor_settings: MonitorSettings = field(default_factory=MonitorSettings)
    verification_settings: VerificationSettings = field(default_factory=VerificationSettings)
    screenshot_settings: ScreenshotSettings = field(default_factory=ScreenshotSettings)
    occupancy_settings: OccupancySettings = field(default_factory=OccupancySettings)
    discord_settings: DiscordSettings = field(default_factory=DiscordSettings)
    system_settings: SystemSettings = field(default_factory=SystemSettings)
    api_settings: ApiSettings = field(default_factory=ApiSettings)
    alert_settings: AlertSettings = field(default_factory=AlertSettings)
    schedule_settings: ScheduleSettings = field(default_factory=ScheduleSettings)
    report_settings: ReportSettings = field(default_factory=ReportSettings)

    @property
    def is_configured(self) -> bool:
        """Setup is complete once any target is set; until then nothing is pinged."""
        t = self.targets
        return bool(t.router or t.server or t.internet)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def masked_dict(self) -> dict:
        """to_dict() with webhook tokens hidden (API output, logs)."""
        data = self.to_dict()
        for key, value in data["discord_settings"].items():
            if key.startswith("webhook_"):
                data["discord_settings"][key] = mask_webhook(value)
        return data


def _build(cls, raw: Any, path: str, problems: list) -> Any:
    """Build dataclass `cls` from raw JSON, appending (path, message) for every problem."""
    if not isinstance(raw, dict):
        problems.append((path, f"must be an object (got {describe(raw)})"))
        return cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            shown = printable_key(key)
            problems.append((f"{path}.{shown}" if path else shown, "unknown key"))
    values = {}
    for name, f in fields.items():
        if name not in raw:
            continue
        sub_path = f"{path}.{name}" if path else name
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
            values[name] = _build(f.default_factory, raw[name], sub_path, problems)
            continue
        value, problem = f.metadata["check"](raw[name])
        if problem:
            problems.append((sub_path, problem))
        else:
            values[name] = value
    return cls(**values)


def _cross_checks(config: Config) -> list[tuple[str, str]]:
    problems = []
    m = config.monitor_settings
    last = m.pc_start_range + m.pc_count - 1
    if m.pc_count and last > 254:
        problems.append(("monitor_settings.pc_count",
                         f"PC range {m.pc_subnet}.{m.pc_start_range} + {m.pc_count} PCs ends at .{last}, "
                         f"past .254 (at most {255 - m.pc_start_range} PCs from .{m.pc_start_range})"))
    d = config.discord_settings
    if d.enabled and not (d.webhook_alerts or d.webhook_occupancy or d.webhook_screenshots):
        problems.append(("discord_settings.enabled", "Discord is enabled but no webhook is set"))
    return problems


def config_warnings(config: Config) -> list[tuple[str, str]]:
    """What is valid but worth telling the owner: (JSON path, plain message)."""
    warnings = []
    t, v = config.targets, config.verification_settings
    if t.internet and (not v.secondary_target or v.secondary_target == t.internet):
        warnings.append(("verification_settings.secondary_target",
                         f"the internet is judged on one target only ({t.internet}): if that one server "
                         "stops answering, it is recorded as an ISP outage; set a second target"))
    return warnings


def parse_config(data: bytes) -> tuple[Config | None, list[tuple[str, str]]]:
    """Bytes of a config file -> (Config, []) or (None, every problem)."""
    if not data.strip():
        return None, [("", "the file is empty")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [("", f"the file is not UTF-8 text (bad byte at offset {exc.start})")]
    try:
        raw = json.loads(text, parse_constant=lambda name: float("nan"), parse_int=parse_int)
    except json.JSONDecodeError as exc:
        return None, [("", f"broken JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
    except RecursionError:
        return None, [("", "broken JSON: nested too deeply")]
    except ValueError as exc:  # a number Python refuses to read
        return None, [("", f"broken JSON: {str(exc)[:80]}")]
    try:
        return _validate(raw)
    except RecursionError:
        return None, [("", "nested too deeply")]


def _validate(raw: Any) -> tuple[Config | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    config = _build(Config, raw, "", problems)
    listed = {path for path, _ in problems}
    problems += [p for p in _cross_checks(config) if p[0] not in listed]
    return (None, problems) if problems else (config, [])


def config_from_dict(raw: Any) -> tuple[Config | None, list[tuple[str, str]]]:
    """Same as parse_config for an already-decoded JSON value (the API's POST body, a form)."""
    try:
        data = json.dumps(raw, allow_nan=True).encode()
    except (ValueError, TypeError, RecursionError) as exc:  # huge ints, odd types, deep nesting
        return None, [("", f"not a config: {str(exc)[:80]}")]
    return parse_config(data)


def changed_sections(old: Config, new: Config) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Config) if getattr(old, f.name) != getattr(new, f.name))


def backup_config(path: Path, backup_dir: Path) -> Path | None:
    """Copy the current file to backup_dir with a unique name; keep the MAX_BACKUPS newest."""
    path, backup_dir = Path(path), Path(backup_dir)
    if not path.exists():
        return None
    # Backups hold webhook tokens: only the owner's account may read them.
    backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        backup_dir.chmod(0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # Continue after the highest number of this second, even one already pruned away, so the
    # newest backup always sorts last.
    used = [int(p.stem.rsplit("-", 1)[1]) for p in backup_dir.glob(f"config-{stamp}-*.json")
            if p.stem.rsplit("-", 1)[1].isdigit()]
    for n in range(max(used, default=-1) + 1, 100000):
        target = backup_dir / f"config-{stamp}-{n:05d}.json"
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(path.read_bytes())
            break
        except FileExistsError:
            continue
    backups = sorted(backup_dir.glob("config-*.json"))
    for old in backups[:-MAX_BACKUPS]:
        old.unlink(missing_ok=True)
    if os.name == "posix":
        for kept in backups[-MAX_BACKUPS:]:  # made readable to all by an older version
            kept.chmod(0o600)
    return target


def list_backups(backup_dir: Path) -> list[Path]:
    return sorted(Path(backup_dir).glob("config-*.json"), reverse=True)


def save_config(config: Config, path: Path, backup_dir: Path) -> None:
    """Back up the current file, then write `config` atomically."""
    backup_config(path, backup_dir)
    atomic_write(path, (json.dumps(config.to_dict(), indent=2) + "\n").encode())
