"""A test cafe built from network namespaces and veth pairs (root only, Linux).

Layout (every address is a documentation range and lives only inside these namespaces)::

    <base>-mon   the monitor PC      mon0 198.51.100.50/24, 2001:db8:100::50/64,
                                     default route via the router 198.51.100.1
        | veth
    <base>-lan   switch + LAN hosts  lan0 198.51.100.2/24 (the permanent "switch" address,
                                     keeps the subnet route), 2001:db8:100::2/64, and as /32
                                     (/128) extras: router .1, server .10, PCs .110, .111, ...
                                     Forwards to the internet through up0 192.0.2.1/30.
        | veth
    <base>-wan   the internet        wan0 192.0.2.2/30; hosts 203.0.113.1 and .2 on lo.
    <base>-pcN   (optional) PC N in a namespace of its own, eth0 with its address/24, joined to
                 the LAN by a bridge br0 in <base>-lan (lan0 and the pcN veths are its ports;
                 the LAN addresses then live on br0). Its own sysctls, e.g. dropping echo
                 requests while still answering ARP, as Windows' default firewall does:
                 `Cafe.create(own_namespace_pcs=(6,))`, `cafe.set_echo_ignored(6, True)`.

The monitor reaches the internet only through the router address: `set_up(ROUTER, False)`
removes 198.51.100.1 and flushes the monitor's neighbour entry, so the internet really
goes away for the monitor, as in a cafe.  `set_internet(False)` cuts the uplink instead.

Name lookups inside the monitor namespace use /etc/netns/<base>-mon/{hosts,resolv.conf,
nsswitch.conf}: the names in `HOSTS` resolve from the hosts file and DNS goes to the
namespace's own loopback (nothing listens), so no lookup ever leaves the namespace.

Usage from a test module (the fixture skips loudly when not root or `ip` is missing)::

    from tests.helpers.netns import cafe_fixture  # noqa: F401  (provides the `cafe` fixture)

    @pytest.mark.needs_root
    def test_something(cafe):
        cafe.set_up(netns.SERVER, False)
        result = cafe.python_json_in_mon("import json; print(json.dumps(...))")

or without pytest::

    with Cafe.create("demo", pcs=5) as cafe:
        proc = cafe.run_in_mon(["python3", "-m", "sentinel", "--headless"])
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PC_SUBNET = "198.51.100"
MONITOR = "198.51.100.50"
SWITCH = "198.51.100.2"
ROUTER = "198.51.100.1"
SERVER = "198.51.100.10"
INTERNET = ("203.0.113.1", "203.0.113.2")
PC_START = 110
MONITOR_V6 = "2001:db8:100::50"
SWITCH_V6 = "2001:db8:100::2"
SERVER_V6 = "2001:db8:100::10"
UPLINK_LAN = "192.0.2.1"
UPLINK_WAN = "192.0.2.2"

LAN_V4 = ipaddress.ip_network("198.51.100.0/24")
LAN_V6 = ipaddress.ip_network("2001:db8:100::/64")
WAN_V4 = ipaddress.ip_network("203.0.113.0/24")

PING_GROUP_ALL = "0 2147483647"
PING_GROUP_NONE = "1 0"  # a new namespace's default: nobody may open datagram ICMP sockets

# Names the monitor namespace can resolve without DNS.
HOSTS = {
    "router.cafe.test": ROUTER,
    "server.cafe.test": SERVER,
    "server6.cafe.test": SERVER_V6,
    "internet-a.test": INTERNET[0],
    "internet-b.test": INTERNET[1],
}

COMMAND_TIMEOUT_S = 10.0
BRIDGE_READY_S = 5.0
_counter = itertools.count(1)


def pc_address(n: int) -> str:
    """PC n (1-based) of the test cafe."""
    return f"{PC_SUBNET}.{PC_START + n - 1}"


def netns_unavailable_reason() -> str | None:
    """Why a namespace cafe cannot be built here, or None when it can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespace tests need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return None


def skip_unless_netns() -> None:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"SKIPPED LOUDLY: {reason}")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def remove_stale(prefix: str) -> list[str]:
    """Delete namespaces `<prefix>-<pid>-*` left by runs whose process is gone."""
    removed = []
    listing = _ip("netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if not name.startswith(prefix + "-") or len(parts) < 4 or not parts[-3].isdigit():
            continue
        if psutil.pid_exists(int(parts[-3])):
            continue
        _ip("netns", "del", name, check=False)
        shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)
        removed.append(name)
    return removed


@dataclass
class Cafe:
    base: str
    pcs: int
    own_namespace_pcs: tuple[int, ...] = ()
    _children: list[subprocess.Popen] = field(default_factory=list)
    _destroyed: bool = False

    @property
    def mon(self) -> str:
        return f"{self.base}-mon"

    @property
    def lan(self) -> str:
        return f"{self.base}-lan"

    @property
    def wan(self) -> str:
        return f"{self.base}-wan"

    def pc_namespace(self, n: int) -> str:
        return f"{self.base}-pc{n}"

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (self.mon, self.lan, self.wan, *(self.pc_namespace(n) for n in self.own_namespace_pcs))

    @property
    def _lan_dev(self) -> str:
        return "br0" if self.own_namespace_pcs else "lan0"

    @property
    def pc_addresses(self) -> list[str]:
        return [pc_address(n) for n in range(1, self.pcs + 1)]

    @classmethod
    def create(
        cls,
        prefix: str = "cst",
        pcs: int = 5,
        ping_group_range: str = PING_GROUP_ALL,
        extra_lan_hosts: Sequence[str] = (),
        own_namespace_pcs: Sequence[int] = (),
    ) -> Cafe:
        """Build the cafe; every host starts up. Names are `<prefix>-<pid>-<n>-{mon,lan,wan,pcN}`."""
        reason = netns_unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        remove_stale(prefix)
        cafe = cls(base=f"{prefix}-{os.getpid()}-{next(_counter)}", pcs=pcs,
                   own_namespace_pcs=tuple(own_namespace_pcs))
        try:
            cafe._build(ping_group_range)
            for address in [ROUTER, SERVER, SERVER_V6, *INTERNET, *cafe.pc_addresses]:
                cafe.set_up(address, True)
            for address in extra_lan_hosts:
                cafe.set_up(address, True)
            if cafe.own_namespace_pcs:
                cafe._wait_bridge_forwarding()
        except BaseException:
            cafe.destroy()
            raise
        return cafe

    def _build(self, ping_group_range: str) -> None:
        mon, lan, wan = self.mon, self.lan, self.wan
        for ns in self.namespaces:
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", "mon0", "netns", mon, "type", "veth", "peer", "name", "lan0", "netns", lan)
        _ip("link", "add", "up0", "netns", lan, "type", "veth", "peer", "name", "wan0", "netns", wan)

        self._sysctl(mon, "net.ipv6.conf.all.keep_addr_on_down", "1")
        self._sysctl(mon, "net.ipv4.ping_group_range", ping_group_range)
        self._sysctl(lan, "net.ipv4.ip_forward", "1")

        _ip("-n", mon, "addr", "add", f"{MONITOR}/24", "dev", "mon0")
        _ip("-n", mon, "addr", "add", f"{MONITOR_V6}/64", "dev", "mon0", "nodad")
        _ip("-n", mon, "link", "set", "mon0", "up")
        _ip("-n", mon, "route", "replace", "default", "via", ROUTER, "dev", "mon0", "onlink")

        if self.own_namespace_pcs:
            _ip("-n", lan, "link", "add", "br0", "type", "bridge")
            _ip("-n", lan, "link", "set", "lan0", "master", "br0")
            _ip("-n", lan, "link", "set", "br0", "up")
            for n in self.own_namespace_pcs:
                pc = self.pc_namespace(n)
                _ip("link", "add", "eth0", "netns", pc, "type", "veth", "peer", "name", f"pc{n}", "netns", lan)
                _ip("-n", lan, "link", "set", f"pc{n}", "master", "br0")
                _ip("-n", lan, "link", "set", f"pc{n}", "up")
                _ip("-n", pc, "link", "set", "eth0", "up")
        _ip("-n", lan, "addr", "add", f"{SWITCH}/24", "dev", self._lan_dev)
        _ip("-n", lan, "addr", "add", f"{SWITCH_V6}/64", "dev", self._lan_dev, "nodad")
        _ip("-n", lan, "link", "set", "lan0", "up")
        _ip("-n", lan, "addr", "add", f"{UPLINK_LAN}/30", "dev", "up0")
        _ip("-n", lan, "link", "set", "up0", "up")
        _ip("-n", lan, "route", "add", str(WAN_V4), "via", UPLINK_WAN)

        _ip("-n", wan, "addr", "add", f"{UPLINK_WAN}/30", "dev", "wan0")
        _ip("-n", wan, "link", "set", "wan0", "up")
        _ip("-n", wan, "route", "add", "default", "via", UPLINK_LAN)

        etc = Path("/etc/netns") / mon
        etc.mkdir(parents=True, exist_ok=True)
        hosts = ["127.0.0.1 localhost", "::1 localhost"]
        hosts += [f"{address} {name}" for name, address in HOSTS.items()]
        (etc / "hosts").write_text("\n".join(hosts) + "\n")
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        (etc / "nsswitch.conf").write_text("hosts: files dns\n")

    def _wait_bridge_forwarding(self) -> None:
        """A bridge port forwards once the kernel has seen its carrier (linkwatch: up to ~1 s)."""
        deadline = time.monotonic() + BRIDGE_READY_S
        while True:
            ports = json.loads(_ip("-n", self.lan, "-j", "-d", "link", "show", "master", "br0").stdout)
            states = {port.get("linkinfo", {}).get("info_slave_data", {}).get("state") for port in ports}
            if states == {"forwarding"}:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"bridge ports of {self.lan} not forwarding after {BRIDGE_READY_S} s: {ports}")
            threading.Event().wait(0.02)

    @staticmethod
    def _sysctl(ns: str, key: str, value: str) -> None:
        _ip("netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}")

    def _place(self, address: str) -> tuple[str, str, str]:
        """(namespace, device, prefix) where a simulated host address lives."""
        ip = ipaddress.ip_address(address)
        for n in self.own_namespace_pcs:
            if address == pc_address(n):
                return self.pc_namespace(n), "eth0", f"{ip}/24"
        if ip in LAN_V4:
            return self.lan, self._lan_dev, f"{ip}/32"
        if ip in LAN_V6:
            return self.lan, self._lan_dev, f"{ip}/128"
        if ip in WAN_V4:
            return self.wan, "lo", f"{ip}/32"
        raise ValueError(f"{address} is outside the test cafe's ranges")

    def set_up(self, address: str, up: bool) -> None:
        """Make a simulated host answer (add its address) or go silent (remove it)."""
        if address in (MONITOR, SWITCH, MONITOR_V6, SWITCH_V6):
            raise ValueError(f"{address} is part of the cafe's wiring, not a simulated host")
        ns, dev, prefix = self._place(address)
        if up:
            extra = ["nodad"] if ":" in address else []
            proc = _ip("-n", ns, "addr", "add", prefix, "dev", dev, *extra, check=False)
            if proc.returncode != 0 and "File exists" not in proc.stderr:
                raise RuntimeError(f"cannot add {address}: {proc.stderr.strip()}")
        else:
            _ip("-n", ns, "addr", "del", prefix, "dev", dev, check=False)
        # A stale (or still REACHABLE) neighbour entry would make the monitor miss the change.
        _ip("-n", self.mon, "neigh", "flush", "to", address, check=False)

    def set_power(self, n: int, on: bool) -> None:
        """Switch PC n (in a namespace of its own) on or off: its link goes up or down. Unlike
        set_up, the monitor's neighbour entry for it is left alone (REACHABLE, then STALE), as
        when a real PC is switched off."""
        _ip("-n", self.pc_namespace(n), "link", "set", "eth0", "up" if on else "down")

    def set_echo_ignored(self, n: int, ignored: bool) -> None:
        """PC n (in a namespace of its own) drops echo requests, yet still answers ARP."""
        self._sysctl(self.pc_namespace(n), "net.ipv4.icmp_echo_ignore_all", "1" if ignored else "0")

    def set_ping_group_range(self, value: str) -> None:
        """Which groups may open unprivileged (datagram) ICMP sockets in the monitor namespace."""
        self._sysctl(self.mon, "net.ipv4.ping_group_range", value)

    def set_link(self, up: bool) -> None:
        """Pull (or plug back) the monitor PC's own cable."""
        _ip("-n", self.mon, "link", "set", "mon0", "up" if up else "down")
        if up:
            # The kernel drops the default route with the link; a DHCP client would restore it.
            _ip("-n", self.mon, "route", "replace", "default", "via", ROUTER, "dev", "mon0", "onlink")

    def set_internet(self, up: bool) -> None:
        """Cut (or restore) the cafe's uplink behind the router."""
        _ip("-n", self.lan, "link", "set", "up0", "up" if up else "down")
        if up:
            _ip("-n", self.lan, "route", "replace", str(WAN_V4), "via", UPLINK_WAN)

    def _in_mon(self, argv: Sequence[str], unprivileged: bool) -> list[str]:
        prefix = ["ip", "netns", "exec", self.mon]
        if unprivileged:
            # Still uid 0, but with no capabilities: no raw sockets (CAP_NET_RAW), while
            # datagram ICMP is governed by ping_group_range for gid 0.
            prefix += ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]
        return [*prefix, *argv]

    def run_in_mon(
        self, argv: Sequence[str], *, unprivileged: bool = False, **popen_kwargs: Any
    ) -> subprocess.Popen:
        """Start a process inside the monitor namespace; destroy() kills it if still running."""
        proc = subprocess.Popen(self._in_mon(argv, unprivileged), **popen_kwargs)
        self._children.append(proc)
        return proc

    def exec_python_in_mon(
        self, code: str, *, timeout: float = 30.0, unprivileged: bool = False, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run `python -c code` in the monitor namespace with the repo importable."""
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run(
            self._in_mon([sys.executable, "-c", code], unprivileged),
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"python in {self.mon} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def python_json_in_mon(self, code: str, **kwargs: Any) -> Any:
        """Run code that prints one JSON document as its last stdout line; return it parsed."""
        proc = self.exec_python_in_mon(code, **kwargs)
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise RuntimeError(f"no output from python in {self.mon}; stderr:\n{proc.stderr}")
        return json.loads(lines[-1])

    def destroy(self) -> None:
        """Kill the processes run_in_mon started, delete the namespaces; safe to call twice."""
        if self._destroyed:
            return
        self._destroyed = True
        for proc in self._children:
            if proc.poll() is None:
                proc.kill()
                try:
                    proc.wait(timeout=COMMAND_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
        for ns in self.namespaces:
            _ip("netns", "del", ns, check=False)
        shutil.rmtree(Path("/etc/netns") / self.mon, ignore_errors=True)

    def __enter__(self) -> Cafe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


@pytest.fixture(name="cafe")
def cafe_fixture():
    """A fresh five-PC cafe per test, torn down even when the test fails."""
    skip_unless_netns()
    with Cafe.create("cst", pcs=5) as built:
        yield built
