"""config.json: parse -> validate -> (Config | problems), atomic writes with backups.

The sections and key names are the seed's, so an owner's existing file keeps working; every
key has a safe default. Validation never raises on bad input: it returns every problem with
its JSON path.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import math
import os
import re
import tempfile
import unicodedata
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


MAX_BACKUPS = 10
MAX_PC_NAME_LEN = 32


class _Check:
    """Validates one raw JSON value; returns (value, problem-or-None)."""

    def __call__(self, raw: Any) -> tuple[Any, str | None]:
        raise NotImplementedError


@dataclass(frozen=True)
class HugeNumber:
    """Stands in for a JSON integer too long to be any setting (Python refuses 4301+ digits)."""

    digits: int


MAX_NUMBER_DIGITS = 30


def _parse_int(text: str) -> int | HugeNumber:
    return HugeNumber(len(text)) if len(text) > MAX_NUMBER_DIGITS else int(text)


def _describe(raw: Any) -> str:
    """A short, safe rendering of a bad value for a problem message (never raises)."""
    if isinstance(raw, HugeNumber) or (isinstance(raw, int) and not isinstance(raw, bool) and
                                       abs(raw) > 10**12):
        return "a huge number"
    if isinstance(raw, dict):
        return "an object"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, float) and not math.isfinite(raw):
        return str(raw)
    text = json.dumps(raw)  # str, bool, None or a small number: escapes control and lone surrogates
    return text if len(text) <= 40 else text[:37] + "..."


def _printable_key(key: str) -> str:
    """A JSON key as it can be shown in a path: control characters and broken text escaped, clipped."""
    shown = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cs") else c for c in key)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _unprintable(text: str) -> str | None:
    """The first character of `text` that cannot be shown or sent (control, lone surrogate), as U+XXXX."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


@dataclass(frozen=True)
class Number(_Check):
    lo: float
    hi: float
    whole: bool = False

    def __call__(self, raw):
        kind = "a whole number" if self.whole else "a number"
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (
                isinstance(raw, float) and not math.isfinite(raw)):
            return None, f"must be {kind} from {self.lo:g} to {self.hi:g} (got {_describe(raw)})"
        if self.whole and raw != int(raw):
            return None, f"must be {kind} (got {_describe(raw)})"
        if not self.lo <= raw <= self.hi:
            return None, f"must be from {self.lo:g} to {self.hi:g} (got {_describe(raw)})"
        return (int(raw) if self.whole else float(raw)), None


@dataclass(frozen=True)
class Flag(_Check):
    def __call__(self, raw):
        if not isinstance(raw, bool):
            return None, f"must be true or false (got {_describe(raw)})"
        return raw, None


@dataclass(frozen=True)
class Text(_Check):
    max_len: int = 100
    choices: tuple[str, ...] = ()

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f"must be a string (got {_describe(raw)})"
        if self.choices and raw not in self.choices:
            return None, f"must be one of {', '.join(map(repr, self.choices))} (got {_describe(raw)})"
        if len(raw) > self.max_len:
            return None, f"must be at most {self.max_len} characters"
        bad = _unprintable(raw)
        if bad:
            return None, f"contains a control character or broken text ({bad}); type it again"
        return raw, None


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_host(text: str) -> bool:
    """An IPv4/IPv6 address or an RFC 1123 host name."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    if len(text) > 253 or not text or text.replace(".", "").isdigit():
        return False
    return all(_HOST_LABEL.match(label) for label in text.rstrip(".").split("."))


@dataclass(frozen=True)
class Host(_Check):
    """A target address; empty means not configured."""

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f"must be an IP address or host name (got {_describe(raw)})"
        value = raw.strip()
        if value and not is_host(value):
            return None, f"is not an IP address or host name (got {_describe(raw)})"
        unusable = _unusable_target(value)
        if unusable:
            return None, f"{value} {unusable}: give the address of one device"
        return value, None


def _unusable_target(value: str) -> str | None:
    """Why an address can never be one device to ping (broadcast, multicast, "any"), or None."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return 'is the "any address", not a device'
    if address.is_multicast:
        return "is a multicast group, not a device"
    if address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"):
        return "is the broadcast address, not a device"
    return None


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


@dataclass(frozen=True)
class Subnet(_Check):
    """The first three octets of the PCs' IPv4 addresses, like the seed's "192.168.1"."""

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f'must be the first three octets, like "192.168.1" (got {_describe(raw)})'
        value = raw.strip().rstrip(".")
        parts = value.split(".")
        if len(parts) != 3 or not all(p.isdigit() and int(p) <= 255 and str(int(p)) == p for p in parts):
            return None, f'must be the first three octets, like "192.168.1" (got {_describe(raw)})'
        first = int(parts[0])
        if first in (0, 127) or first >= 224:
            return None, (f"{value} is not a network of PCs ({'loopback' if first == 127 else 'reserved'}); "
                          f'use your LAN, like "192.168.1"')
        return value, None


@dataclass(frozen=True)
class Bind(_Check):
    """One address of this PC to listen on. "Every address" (0.0.0.0, ::) would put the API and
    dashboard on the cafe's LAN where staff and customers sit, so it is refused."""

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f'must be an IP address in quotes, like "127.0.0.1" (got {_describe(raw)})'
        try:
            address = ipaddress.ip_address(raw.strip())
        except ValueError:
            return None, f"must be an IP address to listen on (got {_describe(raw)})"
        if address.is_unspecified:
            return None, (f"{address} listens on every network, the cafe's LAN included; give the one "
                          f"address to listen on (127.0.0.1, or e.g. your Tailscale address)")
        if address.is_multicast or str(address) == "255.255.255.255":
            return None, f"{address} is not an address of this PC"
        return str(address), None


_WEBHOOK_PATH = re.compile(r"^/api(?:/v(\d+))?/webhooks/(\d{1,25})/([A-Za-z0-9._-]{1,200})/?$")
_DISCORD_HOSTS = {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com",
                  "ptb.discordapp.com", "canary.discordapp.com"}


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_webhook(url: str) -> str:
    """Discord webhook URLs -> https://discord.com/api/v10/webhooks/{id}/{token}.

    Loopback URLs (tests, local relays) keep their scheme, host and API version: a relay may
    speak the legacy unversioned API. Raises ValueError with the reason for anything else.
    """
    url = url.strip()
    if _unprintable(url) or any(char in url for char in "\\ \t"):
        raise ValueError("must not contain spaces, backslashes or control characters")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password before the host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a bad port number") from None
    host = (parts.hostname or "").lower()
    match = _WEBHOOK_PATH.match(parts.path)
    if not match:
        raise ValueError("is not a Discord webhook URL (…/api/webhooks/{id}/{token})")
    _, hook_id, token = match.groups()
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    if host in _DISCORD_HOSTS:
        if parts.scheme != "https":
            raise ValueError("must use https://")
        return f"https://discord.com/api/v10/webhooks/{hook_id}/{token}"
    if parts.scheme in ("http", "https") and is_loopback_host(host):
        # Rebuilt from the parsed parts, so the HTTP library connects to exactly the host checked here.
        netloc = f"[{host}]" if ":" in host else host
        return f"{parts.scheme}://{netloc}{f':{port}' if port else ''}{parts.path.rstrip('/')}"
    raise ValueError("must be on discord.com (https), or on a loopback host for a local relay")


def mask_webhook(url: str) -> str:
    """The URL with its token hidden: safe for logs, the API and the window."""
    if not url:
        return ""
    return re.sub(r"(/webhooks/\d+/)[^/?#]+", r"\1***", url)


@dataclass(frozen=True)
class Webhook(_Check):
    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f"must be a webhook URL string (got {type(raw).__name__})"
        if not raw.strip():
            return "", None
        try:
            return normalise_webhook(raw), None
        except ValueError as exc:
            shown = mask_webhook(raw)
            return None, f"{exc} (got {shown[:60] + '...' if len(shown) > 60 else shown!r})"


@dataclass(frozen=True)
class PcNames(_Check):
    def __call__(self, raw):
        if not isinstance(raw, dict):
            return None, 'must be an object like {"192.168.1.110": "VIP-1"}'
        names = {}
        for ip, name in raw.items():
            try:
                ipaddress.IPv4Address(ip)
            except ValueError:
                return None, f"key {_describe(ip)} is not an IPv4 address"
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_PC_NAME_LEN:
                return None, f"name for {ip} must be 1 to {MAX_PC_NAME_LEN} characters"
            if _unprintable(name):
                return None, f"name for {ip} contains a control character or broken text ({_unprintable(name)})"
            names[ip] = name.strip()
        return names, None


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class OpeningDays(_Check):
    """{"mon": "10:00-02:00", ..., "sun": "closed"}: a range past midnight belongs to the day it
    opens; "00:00-24:00" is open all day. A day left out is open all day."""

    def __call__(self, raw):
        if not isinstance(raw, dict):
            return None, 'must be an object like {"mon": "10:00-02:00", "sun": "closed"}'
        days = {}
        for day, hours in raw.items():
            if day not in DAYS:
                return None, f"{_describe(day)} is not a day (use {', '.join(DAYS)})"
            if not isinstance(hours, str):
                return None, f'{day} must be "HH:MM-HH:MM" or "closed" (got {_describe(hours)})'
            hours = hours.strip().lower()
            match = _HOURS.match(hours)
            if hours != "closed" and (not match or match.group(3) == "24" and match.group(4) != "00"):
                return None, f'{day} must be "HH:MM-HH:MM" or "closed" (got {_describe(hours)})'
            if match and hours[:5] == hours[6:]:
                return None, f"{day} opens and closes at the same time (use 00:00-24:00 for all day)"
            days[day] = hours
        return {day: days.get(day, "00:00-24:00") for day in DAYS}, None


@dataclass(frozen=True)
class DateList(_Check):
    """["2026-12-25", ...]: days the shop is closed."""

    def __call__(self, raw):
        if not isinstance(raw, list):
            return None, 'must be a list of dates like ["2026-12-25"]'
        dates = []
        for item in raw:
            try:
                dates.append(datetime.date.fromisoformat(item).isoformat() if isinstance(item, str) and
                             len(item) == 10 else None)
            except ValueError:
                dates.append(None)
            if dates[-1] is None:
                return None, f"{_describe(item)} is not a date like \"2026-12-25\""
        return tuple(sorted(set(dates))), None


def _opt(default, check: _Check):
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
        problems.append((path, f"must be an object (got {_describe(raw)})"))
        return cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            shown = _printable_key(key)
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
        raw = json.loads(text, parse_constant=lambda name: float("nan"), parse_int=_parse_int)
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


def _fsync_dir(directory: Path) -> None:
    if os.name == "posix":
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


REPLACE_RETRY_S = 2.0


def _replace(tmp: str, path: Path) -> None:
    """os.replace. On Windows it fails with access denied while another process has `path` open
    (CPython opens files without FILE_SHARE_DELETE); readers of guard.json / heartbeat.json hold
    them for microseconds, so try again until REPLACE_RETRY_S has passed."""
    deadline = time.monotonic() + REPLACE_RETRY_S
    while True:
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if os.name != "nt" or time.monotonic() >= deadline:
                raise
            time.sleep(0.002)


def atomic_write(path: Path, data: bytes) -> None:
    """temp file in the same folder + fsync + rename: readers see the old or the new file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


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
