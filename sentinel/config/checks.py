"""The checks behind config.json: one small validator per kind of value, each returning
(value, problem-or-None) and never raising, whatever JSON it is handed."""

from __future__ import annotations

import datetime
import ipaddress
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_PC_NAME_LEN = 32


class Check:
    """Validates one raw JSON value; returns (value, problem-or-None)."""

    def __call__(self, raw: Any) -> tuple[Any, str | None]:
        raise NotImplementedError


@dataclass(frozen=True)
class HugeNumber:
    """Stands in for a JSON integer too long to be any setting (Python refuses 4301+ digits)."""

    digits: int


MAX_NUMBER_DIGITS = 30


def parse_int(text: str) -> int | HugeNumber:
    return HugeNumber(len(text)) if len(text) > MAX_NUMBER_DIGITS else int(text)


def describe(raw: Any) -> str:
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


def printable_key(key: str) -> str:
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
class Number(Check):
    lo: float
    hi: float
    whole: bool = False

    def __call__(self, raw):
        kind = "a whole number" if self.whole else "a number"
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (
                isinstance(raw, float) and not math.isfinite(raw)):
            return None, f"must be {kind} from {self.lo:g} to {self.hi:g} (got {describe(raw)})"
        if self.whole and raw != int(raw):
            return None, f"must be {kind} (got {describe(raw)})"
        if not self.lo <= raw <= self.hi:
            return None, f"must be from {self.lo:g} to {self.hi:g} (got {describe(raw)})"
        return (int(raw) if self.whole else float(raw)), None


@dataclass(frozen=True)
class Flag(Check):
    def __call__(self, raw):
        if not isinstance(raw, bool):
            return None, f"must be true or false (got {describe(raw)})"
        return raw, None


@dataclass(frozen=True)
class Text(Check):
    max_len: int = 100
    choices: tuple[str, ...] = ()

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f"must be a string (got {describe(raw)})"
        if self.choices and raw not in self.choices:
            return None, f"must be one of {', '.join(map(repr, self.choices))} (got {describe(raw)})"
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
class Host(Check):
    """A target address; empty means not configured."""

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f"must be an IP address or host name (got {describe(raw)})"
        value = raw.strip()
        if value and not is_host(value):
            return None, f"is not an IP address or host name (got {describe(raw)})"
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
class Subnet(Check):
    """The first three octets of the PCs' IPv4 addresses, like the seed's "192.168.1"."""

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f'must be the first three octets, like "192.168.1" (got {describe(raw)})'
        value = raw.strip().rstrip(".")
        parts = value.split(".")
        if len(parts) != 3 or not all(p.isdigit() and int(p) <= 255 and str(int(p)) == p for p in parts):
            return None, f'must be the first three octets, like "192.168.1" (got {describe(raw)})'
        first = int(parts[0])
        if first in (0, 127) or first >= 224:
            return None, (f"{value} is not a network of PCs ({'loopback' if first == 127 else 'reserved'}); "
                          f'use your LAN, like "192.168.1"')
        return value, None


@dataclass(frozen=True)
class Bind(Check):
    """One address of this PC to listen on. "Every address" (0.0.0.0, ::) would put the API and
    dashboard on the cafe's LAN where staff and customers sit, so it is refused."""

    def __call__(self, raw):
        if not isinstance(raw, str):
            return None, f'must be an IP address in quotes, like "127.0.0.1" (got {describe(raw)})'
        try:
            address = ipaddress.ip_address(raw.strip())
        except ValueError:
            return None, f"must be an IP address to listen on (got {describe(raw)})"
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
class Webhook(Check):
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
class PcNames(Check):
    def __call__(self, raw):
        if not isinstance(raw, dict):
            return None, 'must be an object like {"192.168.1.110": "VIP-1"}'
        names = {}
        for ip, name in raw.items():
            try:
                ipaddress.IPv4Address(ip)
            except ValueError:
                return None, f"key {describe(ip)} is not an IPv4 address"
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_PC_NAME_LEN:
                return None, f"name for {ip} must be 1 to {MAX_PC_NAME_LEN} characters"
            if _unprintable(name):
                return None, f"name for {ip} contains a control character or broken text ({_unprintable(name)})"
            names[ip] = name.strip()
        return names, None


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class OpeningDays(Check):
    """{"mon": "10:00-02:00", ..., "sun": "closed"}: a range past midnight belongs to the day it
    opens; "00:00-24:00" is open all day. A day left out is open all day."""

    def __call__(self, raw):
        if not isinstance(raw, dict):
            return None, 'must be an object like {"mon": "10:00-02:00", "sun": "closed"}'
        days = {}
        for day, hours in raw.items():
            if day not in DAYS:
                return None, f"{describe(day)} is not a day (use {', '.join(DAYS)})"
            if not isinstance(hours, str):
                return None, f'{day} must be "HH:MM-HH:MM" or "closed" (got {describe(hours)})'
            hours = hours.strip().lower()
            match = _HOURS.match(hours)
            if hours != "closed" and (not match or match.group(3) == "24" and match.group(4) != "00"):
                return None, f'{day} must be "HH:MM-HH:MM" or "closed" (got {describe(hours)})'
            if match and hours[:5] == hours[6:]:
                return None, f"{day} opens and closes at the same time (use 00:00-24:00 for all day)"
            days[day] = hours
        return {day: days.get(day, "00:00-24:00") for day in DAYS}, None


@dataclass(frozen=True)
class DateList(Check):
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
                return None, f"{describe(item)} is not a date like \"2026-12-25\""
        return tuple(sorted(set(dates))), None
