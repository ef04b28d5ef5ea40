"""Linux (POSIX) backend: flock instance locks, pidfd waits, detached spawn, key-file sealing."""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sentinel.errors import AlreadyRunningError
from sentinel.platform._common import (
    ArpUnavailableError,
    InsecureKeyError,
    InstanceLockBase,
    ProcessId,
    TamperError,
    arp_interface,
    psutil_alive,
    psutil_create_time,
    psutil_kill,
)

SEAL_METHOD = "keyfile"
KEY_FILE_NAME = "machine.key"
KEY_BYTES = 32
_SEAL_MAGIC = b"CSK1"
_SEAL_AAD = b"CafeSentinel seal v1"
_NONCE_BYTES = 12
_POLL_FALLBACK_S = 0.01


class InstanceLock(InstanceLockBase):
    """`<lock_dir>/<name>.lock` held with flock(LOCK_EX|LOCK_NB) for the life of the process.

    The kernel drops the lock when the holder dies (even by SIGKILL); the fd is
    non-inheritable so a spawned child never keeps it alive.
    """

    def __init__(self, name: str, lock_dir: Path):
        self.name = name
        self.path = Path(lock_dir) / f"{name}.lock"

    def acquire(self) -> "InstanceLock":
        if self._held is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.set_inheritable(fd, False)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise AlreadyRunningError(
                    f"CafeSentinel {self.name} is already running (lock {self.path})"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._held = fd
        return self

    def _close(self, fd: int) -> None:
        os.close(fd)  # closing drops the flock


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def process_id(pid: int) -> ProcessId | None:
    created = psutil_create_time(pid)
    if created is None:
        return None
    pid_id = ProcessId(pid, created)
    return pid_id if psutil_alive(pid_id, zombie_is_dead=True) else None


def is_alive(pid_id: ProcessId) -> bool:
    alive = psutil_alive(pid_id, zombie_is_dead=True)
    if not alive:
        _reap(pid_id.pid)
    return alive


def kill(pid_id: ProcessId) -> bool:
    return psutil_kill(pid_id)


def wait_exit(pid_id: ProcessId, timeout: float | None) -> bool:
    """Block until the process exits (True) or `timeout` seconds pass (False).

    Event-driven through a pidfd (Linux 5.3+): poll() wakes the moment the process
    dies. The identity is checked after the pidfd is open, so a reused PID is
    never waited on.
    """
    try:
        fd = os.pidfd_open(pid_id.pid)
    except ProcessLookupError:
        _reap(pid_id.pid)
        return True
    except (AttributeError, OSError):
        return _wait_polling(pid_id, timeout)
    try:
        if not is_alive(pid_id):
            return True
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        ready = poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
        if ready:
            _reap(pid_id.pid)
            return True
        return not is_alive(pid_id)
    finally:
        os.close(fd)


def _wait_polling(pid_id: ProcessId, timeout: float | None) -> bool:
    pause = threading.Event()
    waited = 0.0
    while is_alive(pid_id):
        if timeout is not None and waited >= timeout:
            return False
        pause.wait(_POLL_FALLBACK_S)
        waited += _POLL_FALLBACK_S
    return True


def spawn(argv: list[str], env: dict | None = None, log_path: Path | None = None) -> ProcessId:
    """Start argv in its own session (no controlling terminal, not in our process group).

    stdin is /dev/null, stdout+stderr go to log_path (appended) or /dev/null, and no fd
    but 0-2 is inherited (close_fds), so our lock files stay ours.
    """
    if env is None and getattr(sys, "frozen", False):
        # A frozen process runs with the bundle's LD_LIBRARY_PATH; give the child the original
        # (PyInstaller keeps it in LD_LIBRARY_PATH_ORIG), so any program starts with its own libraries.
        env = dict(os.environ)
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if original is None:
            env.pop("LD_LIBRARY_PATH", None)
        else:
            env["LD_LIBRARY_PATH"] = original
    log = open(log_path, "ab") if log_path is not None else None
    try:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
    finally:
        if log is not None:
            log.close()
    created = psutil_create_time(child.pid)
    # A child that died before we could look gets create_time 0: it never matches, reads as dead.
    return ProcessId(child.pid, created if created is not None else 0.0)


def _load_or_create_key(key_dir: Path) -> bytes:
    key_dir = Path(key_dir)
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = key_dir / KEY_FILE_NAME
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    # Write a complete temp file, then link it into place: the key appears whole or not at
    # all, and of two racing creators exactly one wins (link fails with EEXIST).
    tmp = key_dir / f".{KEY_FILE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InsecureKeyError(f"{path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise InsecureKeyError(f"{path} is owned by uid {info.st_uid}, not by us")
        if info.st_mode & 0o077:
            raise InsecureKeyError(
                f"{path} has mode {stat.S_IMODE(info.st_mode):04o}; it must be 0600"
            )
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise TamperError(f"{path} does not hold a {KEY_BYTES}-byte key")
    return key


def seal(data: bytes, key_dir: Path) -> bytes:
    """AES-256-GCM with the machine key from `<key_dir>/machine.key` (created 0600)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    return _SEAL_MAGIC + nonce + AESGCM(_load_or_create_key(key_dir)).encrypt(nonce, data, _SEAL_AAD)


def unseal(blob: bytes, key_dir: Path) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    head = len(_SEAL_MAGIC) + _NONCE_BYTES
    if not blob.startswith(_SEAL_MAGIC) or len(blob) < head + 16:
        raise TamperError("sealed data is not a CafeSentinel key-file blob")
    try:
        key = _read_key(Path(key_dir) / KEY_FILE_NAME)
    except FileNotFoundError:
        raise TamperError(f"machine key {Path(key_dir) / KEY_FILE_NAME} is missing") from None
    try:
        return AESGCM(key).decrypt(blob[len(_SEAL_MAGIC) : head], blob[head:], _SEAL_AAD)
    except InvalidTag:
        raise TamperError("sealed data was edited or sealed with another machine key") from None


ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARP_REQUEST = 1
ARP_REPLY = 2
PACKET_OUTGOING = 4  # linux/if_packet.h: a frame we sent, looped back to our own socket
_BROADCAST = b"\xff" * 6


def arp_request_frame(src_mac: bytes, src_ip: str, target_ip: str) -> bytes:
    """An Ethernet broadcast frame asking who has `target_ip` (RFC 826)."""
    return (_BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP)
            + struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, ARP_REQUEST)
            + src_mac + socket.inet_aton(src_ip) + b"\x00" * 6 + socket.inet_aton(target_ip))


def arp_reply_sender(frame: bytes, own_ip: str) -> str | None:
    """The IPv4 address that sent this ARP reply to `own_ip`, or None for any other frame."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    _, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if ptype != ETH_P_IP or hlen != 6 or plen != 4 or op != ARP_REPLY:
        return None
    if frame[38:42] != socket.inet_aton(own_ip):
        return None
    return socket.inet_ntoa(frame[28:32])


def arp_seen(addresses: Sequence[str], timeout: float) -> set[str]:
    """The addresses that answer an ARP request we broadcast now, within `timeout` seconds.

    Our own requests on a raw packet socket, so only fresh answers count: the kernel's
    neighbour table (REACHABLE for ~30 s after the last answer, then STALE) is never read.
    Only addresses on the network of one of our interfaces are asked. Needs CAP_NET_RAW
    (root), like raw ICMP; without it raises ArpUnavailableError.
    """
    found = arp_interface(addresses)
    if found is None:
        return set()
    nic, own_ip, wanted = found
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except PermissionError as exc:
        raise ArpUnavailableError(f"raw packet sockets need root (CAP_NET_RAW): {exc}") from None
    seen: set[str] = set()
    try:
        sock.bind((nic, ETH_P_ARP))
        src_mac = sock.getsockname()[4][:6]
        deadline = time.monotonic() + timeout
        for address in wanted:
            sock.send(arp_request_frame(src_mac, own_ip, address))
        sock.setblocking(False)
        while len(seen) < len(wanted):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                break
            while True:
                try:
                    frame, addr = sock.recvfrom(128)
                except BlockingIOError:
                    break
                sender = None if addr[2] == PACKET_OUTGOING else arp_reply_sender(frame, own_ip)
                if sender in wanted:
                    seen.add(sender)
    except OSError:  # the link went away under us (ENETDOWN, ENXIO): nobody answered
        pass
    finally:
        sock.close()
    return seen


def open_folder(path: Path) -> None:
    """Show a folder in the desktop's file manager (xdg-open); OSError if there is none."""
    subprocess.Popen(["xdg-open", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
