"""The one door to the operating system: instance locks, process identity and waits, detached
spawning, and machine-bound sealing of secrets.

`windows.py` (ctypes: kernel32, crypt32) or `posix.py` (flock, pidfd, a 0600 key file) is
chosen once, here. Nothing else in CafeSentinel imports ctypes or calls Win32.

    InstanceLock(name, lock_dir)   .acquire() raises AlreadyRunningError; .release(); `with`
    ProcessId(pid, create_time)    a process as observed; PID reuse never matches it
    process_id(pid) -> ProcessId | None
    is_alive(pid_id) -> bool       same pid AND same create_time, not exited (zombies are dead)
    wait_exit(pid_id, timeout) -> bool   event-driven (WaitForSingleObject / pidfd)
    kill(pid_id) -> bool           kills only if still the same process
    spawn(argv, env=None, log_path=None) -> ProcessId   detached, stdin devnull, no fds leak
    seal(data, key_dir) / unseal(blob, key_dir); SEAL_METHOD "dpapi" | "keyfile"
    TamperError (InsecureKeyError for a key file with loose permissions or a foreign owner)
    open_folder(path)              shows a folder in the file manager (Explorer, xdg-open)
    arp_seen(addresses, timeout) -> set   who answers an ARP request sent now (fresh answers only);
                                   ArpUnavailableError when this process cannot send one
"""

from __future__ import annotations

import sys

from sentinel.platform._common import ArpUnavailableError, InsecureKeyError, ProcessId, TamperError

if sys.platform == "win32":
    from sentinel.platform import windows as _backend
else:
    from sentinel.platform import posix as _backend

SEAL_METHOD = _backend.SEAL_METHOD
arp_seen = _backend.arp_seen
InstanceLock = _backend.InstanceLock
is_alive = _backend.is_alive
kill = _backend.kill
open_folder = _backend.open_folder
process_id = _backend.process_id
seal = _backend.seal
spawn = _backend.spawn
unseal = _backend.unseal
wait_exit = _backend.wait_exit

__all__ = [
    "SEAL_METHOD",
    "ArpUnavailableError",
    "InsecureKeyError",
    "InstanceLock",
    "ProcessId",
    "TamperError",
    "arp_seen",
    "is_alive",
    "kill",
    "open_folder",
    "process_id",
    "seal",
    "spawn",
    "unseal",
    "wait_exit",
]
