"""lan_link_up: table tests of the pure helper, one real check with the monitor's cable pulled."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import psutil
import pytest

from sentinel.monitor.link import link_up_from
from tests.helpers import netns
from tests.helpers.netns import cafe_fixture  # noqa: F401  (provides the `cafe` fixture)


def addr(family, address):
    return SimpleNamespace(family=family, address=address, netmask=None, broadcast=None, ptp=None)


def v4(address):
    return addr(socket.AF_INET, address)


def stat(isup):
    return SimpleNamespace(isup=isup, duplex=0, speed=1000, mtu=1500, flags="")


LO = {"lo": [v4("127.0.0.1"), addr(socket.AF_INET6, "::1")]}
LO_STATS = {"lo": stat(True)}

CASES = [
    ("up, on subnet", {"eth0": [v4("198.51.100.50")]}, {"eth0": stat(True)}, "198.51.100", True),
    ("down, on subnet", {"eth0": [v4("198.51.100.50")]}, {"eth0": stat(False)}, "198.51.100", False),
    ("up, other subnet", {"eth0": [v4("198.51.101.50")]}, {"eth0": stat(True)}, "198.51.100", False),
    ("prefix is not a match", {"eth0": [v4("198.51.10.5")]}, {"eth0": stat(True)}, "198.51.1", False),
    ("no stats for the nic", {"eth0": [v4("198.51.100.50")]}, {}, "198.51.100", False),
    ("only IPv6", {"eth0": [addr(socket.AF_INET6, "2001:db8:100::50")]}, {"eth0": stat(True)}, "198.51.100", False),
    ("mac address entry only", {"eth0": [addr(psutil.AF_LINK, "02:00:00:00:00:01")]}, {"eth0": stat(True)},
     "198.51.100", False),
    ("second nic carries it", {"wlan0": [v4("10.0.0.5")], "eth1": [v4("198.51.100.7")]},
     {"wlan0": stat(True), "eth1": stat(True)}, "198.51.100", True),
    ("up nic elsewhere, down nic on subnet", {"wlan0": [v4("10.0.0.5")], "eth1": [v4("198.51.100.7")]},
     {"wlan0": stat(True), "eth1": stat(False)}, "198.51.100", False),
    ("secondary address on subnet", {"eth0": [v4("10.0.0.5"), v4("198.51.100.9")]}, {"eth0": stat(True)},
     "198.51.100", True),
    ("trailing dot in setting", {"eth0": [v4("198.51.100.50")]}, {"eth0": stat(True)}, "198.51.100.", True),
    ("nothing at all", {}, {}, "198.51.100", False),
]


@pytest.mark.parametrize(("addrs", "stats", "subnet", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_link_up_from(addrs, stats, subnet, expected):
    assert link_up_from({**LO, **addrs}, {**LO_STATS, **stats}, subnet) is expected


LINK_CODE = f"""
import json
from sentinel.monitor.link import lan_link_up
print(json.dumps([lan_link_up({netns.PC_SUBNET!r}), lan_link_up("198.51.101")]))
"""


@pytest.mark.needs_root
def test_lan_link_up_follows_the_monitors_cable(cafe):
    assert cafe.python_json_in_mon(LINK_CODE) == [True, False]
    cafe.set_link(False)
    assert cafe.python_json_in_mon(LINK_CODE) == [False, False]
    cafe.set_link(True)
    assert cafe.python_json_in_mon(LINK_CODE) == [True, False]
