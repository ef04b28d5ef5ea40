"""Prober: fast tests with a fake icmplib in-process, real ICMP inside a namespace cafe."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import icmplib
import pytest

from sentinel.errors import PingPermissionError
from sentinel.monitor.probe import Prober, ProbeResult
from tests.helpers import netns
from tests.helpers.netns import cafe_fixture  # noqa: F401  (provides the `cafe` fixture)

# ---- in-process, no network: icmplib.async_ping replaced by a fake returning real Hosts


class FakePing:
    """Stands in for icmplib.async_ping: `alive` answer after `delay`, others time out."""

    def __init__(self, alive=(), delay=0.01, raises=None):
        self.alive = set(alive)
        self.delay = delay
        self.raises = raises or {}
        self.calls = []

    async def __call__(self, address, count, timeout, privileged):
        self.calls.append((address, count, timeout, privileged))
        if address in self.raises:
            raise self.raises[address]
        if address in self.alive:
            await asyncio.sleep(self.delay)
            return icmplib.Host(address, 1, [self.delay * 1000])
        await asyncio.sleep(timeout)
        return icmplib.Host(address, 1, [])


@pytest.fixture
def fake_ping(monkeypatch):
    fake = FakePing(alive={"198.51.100.1", "198.51.100.10", "2001:db8:100::10"})
    monkeypatch.setattr(icmplib, "async_ping", fake)
    return fake


def test_empty_list_returns_empty_without_probing(fake_ping):
    assert asyncio.run(Prober(True).probe([], 1.0)) == {}
    assert fake_ping.calls == []


def test_alive_and_silent_hosts_are_data(fake_ping):
    results = Prober(True).probe_sync(["198.51.100.1", "198.51.100.99", "2001:db8:100::10"], 0.2)
    assert results["198.51.100.1"] == ProbeResult("198.51.100.1", True, 10.0)
    assert results["198.51.100.99"] == ProbeResult("198.51.100.99", False, None)
    assert results["2001:db8:100::10"].is_alive
    assert all(call[1] == 1 for call in fake_ping.calls), "exactly one echo per address"


def test_duplicates_are_probed_once(fake_ping):
    results = Prober(False).probe_sync(["198.51.100.1", "198.51.100.1", "198.51.100.10"], 0.2)
    assert sorted(results) == ["198.51.100.1", "198.51.100.10"]
    assert sorted(call[0] for call in fake_ping.calls) == ["198.51.100.1", "198.51.100.10"]
    assert {call[3] for call in fake_ping.calls} == {False}, "the chosen backend is used"


def test_all_addresses_are_probed_concurrently(fake_ping):
    silent = [f"198.51.100.{n}" for n in range(100, 150)]
    started = time.monotonic()
    results = Prober(True).probe_sync(silent, 0.3)
    elapsed = time.monotonic() - started
    assert not any(r.is_alive for r in results.values())
    assert elapsed < 1.0, f"50 silent hosts at 0.3 s each took {elapsed:.2f} s: not concurrent"


def test_per_host_errors_become_not_alive(monkeypatch):
    fake = FakePing(
        alive={"198.51.100.1"},
        raises={
            "198.51.100.7": icmplib.ICMPSocketError("Network is unreachable"),
            "198.51.100.8": OSError(101, "Network is unreachable"),
            "2001:db8:100::7": icmplib.SocketAddressError("2001:db8:100::7"),
        },
    )
    monkeypatch.setattr(icmplib, "async_ping", fake)
    results = Prober(True).probe_sync(["198.51.100.1", "198.51.100.7", "198.51.100.8", "2001:db8:100::7"], 0.2)
    assert results["198.51.100.1"].is_alive
    assert [results[a].is_alive for a in ("198.51.100.7", "198.51.100.8", "2001:db8:100::7")] == [False] * 3


def test_host_name_is_resolved_and_keyed_by_name(monkeypatch, fake_ping):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        assert host == "server.cafe.test"
        return [
            (socket.AF_INET6, socket.SOCK_DGRAM, 17, "", ("2001:db8:100::10", 0, 0, 0)),
            (socket.AF_INET, socket.SOCK_DGRAM, 17, "", ("198.51.100.10", 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    results = Prober(True).probe_sync(["server.cafe.test"], 0.2)
    assert results == {"server.cafe.test": ProbeResult("server.cafe.test", True, 10.0)}
    assert [call[0] for call in fake_ping.calls] == ["198.51.100.10"], "IPv4 preferred"


def test_hung_name_lookup_is_bounded_by_the_timeout(monkeypatch, fake_ping):
    release = threading.Event()

    def hung_getaddrinfo(*args, **kwargs):
        release.wait(10)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hung_getaddrinfo)
    try:
        started = time.monotonic()
        results = Prober(True).probe_sync(["slow.cafe.test", "198.51.100.1"], 0.3)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert results["slow.cafe.test"] == ProbeResult("slow.cafe.test", False, None)
    assert results["198.51.100.1"].is_alive
    assert elapsed < 0.8, f"a hung resolver held the probe for {elapsed:.2f} s"


def test_create_falls_back_to_unprivileged_then_raises(monkeypatch):
    allowed = set()

    class FakeSocket:
        def __init__(self, privileged=True):
            if privileged not in allowed:
                raise icmplib.SocketPermissionError(privileged)

        def close(self):
            pass

    monkeypatch.setattr(icmplib, "ICMPv4Socket", FakeSocket)
    allowed.update({True, False})
    assert Prober.create().privileged is True
    allowed.discard(True)
    assert Prober.create().privileged is False
    with pytest.raises(PingPermissionError):
        Prober.create(privileged=True)
    allowed.clear()
    with pytest.raises(PingPermissionError) as info:
        Prober.create()
    message = str(info.value)
    assert "\n" not in message
    assert "root" in message and "ping_group_range" in message


# ---- real ICMP inside a namespace cafe (root)

PROBE_CODE = """
import json, time
from sentinel.monitor.probe import Prober
prober = Prober.create({privileged!r})
started = time.monotonic()
results = prober.probe_sync({addresses!r}, {timeout!r})
print(json.dumps({{
    "privileged": prober.privileged,
    "elapsed": time.monotonic() - started,
    "alive": {{a: r.is_alive for a, r in results.items()}},
    "rtt": {{a: r.rtt_ms for a, r in results.items()}},
}}))
"""


def probe_in_mon(cafe, addresses, timeout=1.0, privileged=None, unprivileged_process=False):
    code = PROBE_CODE.format(privileged=privileged, addresses=list(addresses), timeout=timeout)
    return cafe.python_json_in_mon(code, timeout=30, unprivileged=unprivileged_process)


SILENT = "198.51.100.200"
LAN_HOSTS = [netns.ROUTER, netns.SERVER, netns.pc_address(1), netns.pc_address(5)]


@pytest.mark.needs_root
def test_real_alive_silent_and_internet(cafe):
    out = probe_in_mon(cafe, [*LAN_HOSTS, SILENT, *netns.INTERNET])
    assert out["privileged"] is True, "root picks raw sockets"
    assert out["alive"] == {**{a: True for a in LAN_HOSTS}, SILENT: False, **{a: True for a in netns.INTERNET}}
    assert all(isinstance(out["rtt"][a], float) and out["rtt"][a] >= 0 for a in LAN_HOSTS)
    assert out["rtt"][SILENT] is None
    assert out["elapsed"] < 1.5


@pytest.mark.needs_root
def test_real_host_going_down_and_back(cafe):
    pc = netns.pc_address(2)
    cafe.set_up(pc, False)
    assert probe_in_mon(cafe, [pc, netns.SERVER], timeout=0.5)["alive"] == {pc: False, netns.SERVER: True}
    cafe.set_up(pc, True)
    assert probe_in_mon(cafe, [pc], timeout=1.0)["alive"] == {pc: True}


@pytest.mark.needs_root
def test_real_router_down_takes_the_internet_with_it(cafe):
    cafe.set_up(netns.ROUTER, False)
    out = probe_in_mon(cafe, [netns.ROUTER, netns.SERVER, *netns.INTERNET], timeout=0.5)
    assert out["alive"] == {netns.ROUTER: False, netns.SERVER: True, **{a: False for a in netns.INTERNET}}


@pytest.mark.needs_root
def test_real_unreachable_and_unresolvable_are_not_alive(cafe):
    cafe.set_internet(False)  # the router answers "network unreachable" for the internet
    unroutable = "192.0.2.99"  # no route anywhere in the cafe
    names = ["nosuch.cafe.test", "not a host!", ""]
    out = probe_in_mon(cafe, [netns.INTERNET[0], unroutable, *names, netns.ROUTER], timeout=1.0)
    assert out["alive"] == {netns.INTERNET[0]: False, unroutable: False, **{n: False for n in names}, netns.ROUTER: True}


@pytest.mark.needs_root
def test_real_monitor_link_pulled_gives_not_alive_not_errors(cafe):
    cafe.set_link(False)  # no route at all: the send itself fails
    out = probe_in_mon(cafe, [netns.ROUTER, netns.SERVER_V6, netns.INTERNET[0]], timeout=0.5)
    assert out["alive"] == {netns.ROUTER: False, netns.SERVER_V6: False, netns.INTERNET[0]: False}
    cafe.set_link(True)
    assert probe_in_mon(cafe, [netns.ROUTER], timeout=1.0)["alive"] == {netns.ROUTER: True}


@pytest.mark.needs_root
def test_real_ipv6_literals_and_host_names(cafe):
    silent_v6 = "2001:db8:100::99"
    addresses = [netns.SERVER_V6, silent_v6, "server.cafe.test", "server6.cafe.test", "internet-a.test"]
    out = probe_in_mon(cafe, addresses, timeout=1.0)
    assert out["alive"] == {netns.SERVER_V6: True, silent_v6: False, "server.cafe.test": True,
                            "server6.cafe.test": True, "internet-a.test": True}
    cafe.set_up(netns.SERVER_V6, False)
    assert probe_in_mon(cafe, ["server6.cafe.test"], timeout=0.5)["alive"] == {"server6.cafe.test": False}


@pytest.mark.needs_root
def test_real_unprivileged_backend(cafe):
    addresses = [netns.ROUTER, netns.SERVER_V6, SILENT, netns.INTERNET[1]]
    expected = {netns.ROUTER: True, netns.SERVER_V6: True, SILENT: False, netns.INTERNET[1]: True}
    out = probe_in_mon(cafe, addresses, unprivileged_process=True)
    assert out["privileged"] is False, "without CAP_NET_RAW the datagram backend is chosen"
    assert out["alive"] == expected
    forced = probe_in_mon(cafe, addresses, privileged=False)
    assert forced["privileged"] is False and forced["alive"] == expected


PERMISSION_CODE = """
import json
from sentinel.errors import PingPermissionError
from sentinel.monitor.probe import Prober
try:
    prober = Prober.create({privileged!r})
    print(json.dumps({{"privileged": prober.privileged}}))
except PingPermissionError as exc:
    print(json.dumps({{"error": str(exc)}}))
"""


@pytest.mark.needs_root
def test_real_permission_error_when_no_backend_is_allowed(cafe):
    cafe.set_ping_group_range(netns.PING_GROUP_NONE)
    no_caps = cafe.python_json_in_mon(PERMISSION_CODE.format(privileged=None), unprivileged=True)
    assert "ping_group_range" in no_caps.get("error", ""), no_caps
    dgram_only = cafe.python_json_in_mon(PERMISSION_CODE.format(privileged=False))
    assert "error" in dgram_only, dgram_only
    raw_ok = cafe.python_json_in_mon(PERMISSION_CODE.format(privileged=None))
    assert raw_ok == {"privileged": True}
    cafe.set_ping_group_range(netns.PING_GROUP_ALL)
    assert cafe.python_json_in_mon(PERMISSION_CODE.format(privileged=None), unprivileged=True) == {"privileged": False}
