"""ICMP echo probes: one echo per address, all at once. A silent host is data, not an error."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import icmplib

from sentinel.errors import PingPermissionError

log = logging.getLogger(__name__)

PERMISSION_HELP = (
    "cannot send pings: this process may open neither raw ICMP sockets nor unprivileged "
    "ICMP sockets; run CafeSentinel as root/Administrator, or on Linux allow its group with "
    "`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`"
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    address: str  # as asked for (a host name stays a host name)
    is_alive: bool
    rtt_ms: float | None  # None when not alive


def _can_open_socket(privileged: bool) -> bool:
    try:
        icmplib.ICMPv4Socket(privileged=privileged).close()
    except icmplib.SocketPermissionError:
        return False
    return True


class Prober:
    """Pings with the ICMP backend chosen once by `create()`."""

    def __init__(self, privileged: bool) -> None:
        self.privileged = privileged

    @classmethod
    def create(cls, privileged: bool | None = None) -> Prober:
        """Raw sockets if allowed, else datagram sockets; None tries both, True/False only that one.

        Raises PingPermissionError when no allowed backend can open a socket.
        """
        choices = [True, False] if privileged is None else [privileged]
        for choice in choices:
            if _can_open_socket(choice):
                log.info("pinging with %s ICMP sockets", "raw" if choice else "unprivileged datagram")
                return cls(choice)
        raise PingPermissionError(PERMISSION_HELP)

    async def probe(self, addresses: Sequence[str], timeout: float) -> dict[str, ProbeResult]:
        """One echo to each distinct address, concurrently; returns within about `timeout`.

        Name lookup and the echo share the `timeout` budget, so a slow resolver counts
        against its host rather than delaying the whole tick.
        """
        unique = list(dict.fromkeys(addresses))
        if not unique:
            return {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        results = await asyncio.gather(*(self._probe_one(a, deadline) for a in unique))
        return {result.address: result for result in results}

    async def _probe_one(self, address: str, deadline: float) -> ProbeResult:
        loop = asyncio.get_running_loop()
        try:
            target = await _resolve(address, deadline - loop.time())
            remaining = deadline - loop.time()
            if target is None or remaining <= 0:
                return ProbeResult(address, False, None)
            host = await icmplib.async_ping(
                target, count=1, timeout=remaining, privileged=self.privileged
            )
        except (icmplib.ICMPLibError, OSError, ValueError) as exc:
            log.debug("probe of %s failed: %s", address, exc)
            return ProbeResult(address, False, None)
        if not host.is_alive:
            return ProbeResult(address, False, None)
        return ProbeResult(address, True, round(host.min_rtt, 3))

    def probe_sync(self, addresses: Sequence[str], timeout: float) -> dict[str, ProbeResult]:
        """`probe` for callers without an event loop (setup wizard, CLI checks)."""
        return asyncio.run(self.probe(addresses, timeout))


async def _resolve(address: str, timeout: float) -> str | None:
    """An IP literal as is; a host name's first IPv4 address (else IPv6), or None."""
    try:
        ipaddress.ip_address(address)  # also takes IPv6 scopes: fe80::1%eth0
        return address
    except ValueError:
        pass
    if not address.strip() or timeout <= 0:
        return None
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list] = loop.create_future()

    def lookup() -> None:
        # A plain daemon thread: getaddrinfo cannot be cancelled, and a hung resolver
        # must neither block the event loop's executor shutdown nor the process exit.
        try:
            outcome: list | BaseException = socket.getaddrinfo(address, None, type=socket.SOCK_DGRAM)
        except OSError as exc:
            outcome = exc
        try:
            loop.call_soon_threadsafe(_settle, future, outcome)
        except RuntimeError:  # the loop closed while we were waiting
            pass

    threading.Thread(target=lookup, name=f"resolve {address}", daemon=True).start()
    try:
        infos = await asyncio.wait_for(future, timeout)
    except asyncio.TimeoutError:  # noqa: UP041  (not the builtin TimeoutError on Python 3.10)
        log.debug("name lookup of %s took longer than %.2f s", address, timeout)
        return None
    except OSError as exc:
        log.debug("name lookup of %s failed: %s", address, exc)
        return None
    for family in (socket.AF_INET, socket.AF_INET6):
        for info in infos:
            if info[0] == family:
                return info[4][0]
    return None


def _settle(future: asyncio.Future, outcome: object) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
