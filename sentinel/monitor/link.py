"""Is the monitor PC's own LAN link up? (An interface that is up with an address on the PC subnet.)"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from typing import Any

import psutil


def link_up_from(
    addrs: Mapping[str, Sequence[Any]], stats: Mapping[str, Any], pc_subnet: str
) -> bool:
    """Pure form of `lan_link_up` over psutil-shaped data.

    addrs: like psutil.net_if_addrs(), {nic: [item with .family and .address]};
    stats: like psutil.net_if_stats(), {nic: item with .isup}.
    pc_subnet: the first three octets, "198.51.100".
    """
    wanted = pc_subnet.strip().rstrip(".").split(".")
    for nic, items in addrs.items():
        nic_stats = stats.get(nic)
        if nic_stats is None or not nic_stats.isup:
            continue
        for item in items:
            if item.family == socket.AF_INET and item.address.split(".")[:3] == wanted:
                return True
    return False


def lan_link_up(pc_subnet: str) -> bool:
    """True when some interface is up and holds an IPv4 address on `pc_subnet`."""
    return link_up_from(psutil.net_if_addrs(), psutil.net_if_stats(), pc_subnet)
