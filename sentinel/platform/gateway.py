"""Find the default gateway to suggest as the router, by reading the routing table only.

No packet is sent: Linux reads /proc/net/route; Windows reads the output of `route print -4`
(falling back to `ipconfig`). The parsers are pure functions of text.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import struct
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PROC_NET_ROUTE = Path("/proc/net/route")
COMMAND_TIMEOUT_S = 5.0
_RTF_UP = 0x1
_RTF_GATEWAY = 0x2


def _ipv4(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def parse_proc_net_route(text: str) -> str | None:
    """The default route's gateway from /proc/net/route (lowest metric wins)."""
    best: tuple[int, str] | None = None
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        try:
            dest, gateway, flags, metric, mask = (int(cols[1], 16), int(cols[2], 16), int(cols[3], 16),
                                                  int(cols[6]), int(cols[7], 16))
        except ValueError:
            continue
        if dest or mask or not flags & _RTF_UP or not flags & _RTF_GATEWAY or not gateway:
            continue
        address = socket.inet_ntoa(struct.pack("<L", gateway))  # the kernel prints it little-endian
        if best is None or metric < best[0]:
            best = (metric, address)
    return best[1] if best else None


def parse_route_print(text: str) -> str | None:
    """The default gateway from Windows `route print -4` (active routes; lowest metric wins).

    Only the numeric rows are read, so localized headers do not matter: an active route row is
    `destination netmask gateway interface metric`; persistent-route rows have four columns.
    """
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        cols = line.split()
        if len(cols) != 5 or cols[0] != "0.0.0.0" or cols[1] != "0.0.0.0":
            continue
        gateway, interface = _ipv4(cols[2]), _ipv4(cols[3])
        if gateway is None or interface is None or gateway == "0.0.0.0" or not cols[4].isdigit():
            continue
        if best is None or int(cols[4]) < best[0]:
            best = (int(cols[4]), gateway)
    return best[1] if best else None


_GATEWAY_LINE = re.compile(r"gateway[ .]*:\s*(.*)$", re.IGNORECASE)


def parse_ipconfig(text: str) -> str | None:
    """The first IPv4 "Default Gateway" in `ipconfig` output (IPv6 gateways may come first,
    with the IPv4 one on the continuation line)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _GATEWAY_LINE.search(line)
        if not match:
            continue
        values = [match.group(1).strip()]
        for follow in lines[i + 1:]:  # continuation lines hold one more address each
            stripped = follow.strip()
            if not stripped or " " in stripped or not follow[:1].isspace():
                break
            values.append(stripped)
        for value in values:
            address = _ipv4(value)
            if address and address != "0.0.0.0":
                return address
    return None


def _run(argv: list[str]) -> str:
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    done = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, creationflags=flags, check=False)
    return done.stdout.decode(errors="replace")


def detect_default_gateway() -> str | None:
    """The default gateway of this PC, or None. Reads the routing table; never sends a packet."""
    try:
        if sys.platform == "win32":
            return parse_route_print(_run(["route", "print", "-4"])) or parse_ipconfig(_run(["ipconfig"]))
        if PROC_NET_ROUTE.exists():
            return parse_proc_net_route(PROC_NET_ROUTE.read_text())
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("default gateway not detected: %s", exc)
    return None


def subnet_of(address: str | None) -> str | None:
    """"192.168.1.1" -> "192.168.1" (the config's pc_subnet form)."""
    if not address or _ipv4(address) is None:
        return None
    return address.rsplit(".", 1)[0]
