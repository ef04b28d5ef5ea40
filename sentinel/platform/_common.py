"""Values and psutil-based helpers shared by the Windows and POSIX backends."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from sentinel.errors import SentinelError

# Two create_time readings of the same process agree to the tick; a different process that
# reused the PID was created later. 10 ms covers float rounding between psutil versions.
SAME_START_TOLERANCE_S = 0.01


class TamperError(SentinelError):
    """Sealed data (or its key) was edited, swapped, or comes from another machine/user."""


class InsecureKeyError(TamperError):
    """The machine key file is readable by others or owned by another user: refused."""


class ArpUnavailableError(SentinelError):
    """ARP requests cannot be sent by this process (no raw packet socket, no API)."""


def arp_interface(addresses: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """(interface, our IPv4 on it, the addresses on its network) for the first address that is on
    one of our up interfaces' networks, or None when none is."""
    stats = psutil.net_if_stats()
    for nic, items in psutil.net_if_addrs().items():
        if nic not in stats or not stats[nic].isup:
            continue
        for item in items:
            if item.family != socket.AF_INET or not item.netmask or item.address.startswith("127."):
                continue
            network = ipaddress.IPv4Network(f"{item.address}/{item.netmask}", strict=False)
            wanted = [a for a in dict.fromkeys(addresses) if _in(a, network) and a != item.address]
            if wanted:
                return nic, item.address, wanted
    return None


def _in(address: str, network: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.IPv4Address(address) in network
    except ValueError:
        return False


class InstanceLockBase:
    """What both single-instance locks share: `_held` is the OS object (fd or mutex handle)
    while the lock is ours; a backend supplies acquire() and _close()."""

    _held: int | None = None

    def _close(self, held: int) -> None:
        raise NotImplementedError

    def release(self) -> None:
        if self._held is not None:
            self._close(self._held)
            self._held = None

    @property
    def held(self) -> bool:
        return self._held is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass(frozen=True, slots=True)
class ProcessId:
    """A process as it was when observed: PID reuse cannot make another process match."""

    pid: int
    create_time: float  # epoch seconds, as psutil reports it

    def to_json(self) -> dict:
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_json(cls, raw: object) -> "ProcessId | None":
        """None for anything that is not a {pid:int, create_time:number} mapping."""
        if not isinstance(raw, dict):
            return None
        pid, created = raw.get("pid"), raw.get("create_time")
        if type(pid) is not int or pid <= 0 or type(created) not in (int, float):
            return None
        return cls(pid, float(created))

    def same_start(self, create_time: float) -> bool:
        return abs(self.create_time - create_time) <= SAME_START_TOLERANCE_S


def psutil_create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError, ValueError):
        return None


def psutil_alive(pid_id: ProcessId, zombie_is_dead: bool) -> bool:
    try:
        proc = psutil.Process(pid_id.pid)
        if not pid_id.same_start(proc.create_time()):
            return False
        if zombie_is_dead and proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return proc.is_running()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        # Exists but we may not look closer: trust the PID table only.
        return psutil.pid_exists(pid_id.pid)


def psutil_kill(pid_id: ProcessId) -> bool:
    """Kill the process if it is still the one named. True if a kill was sent."""
    try:
        proc = psutil.Process(pid_id.pid)
        if not pid_id.same_start(proc.create_time()):
            return False
        proc.kill()
        return True
    except psutil.Error:
        return False
