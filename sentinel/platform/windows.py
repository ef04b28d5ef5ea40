"""Windows backend: named mutexes, process handles, detached CreateProcess, DPAPI sealing, ARP.

This module (with posix.py) is the only place that talks to the OS through ctypes. Every
Win32 call names the Microsoft Learn page its signature and constants were checked against.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Sequence
from ctypes import wintypes
from pathlib import Path

from sentinel.errors import AlreadyRunningError
from sentinel.platform._common import (
    ArpUnavailableError,
    InstanceLockBase,
    ProcessId,
    TamperError,
    arp_interface,
    psutil_alive,
    psutil_create_time,
    psutil_kill,
)

SEAL_METHOD = "dpapi"
_SEAL_MAGIC = b"CSD1"
_SEAL_DESCRIPTION = "CafeSentinel"

# https://learn.microsoft.com/windows/win32/debug/system-error-codes--0-499-
ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_PARAMETER = 87
ERROR_NOT_SUPPORTED = 50
ERROR_BAD_NET_NAME = 67
ERROR_ALREADY_EXISTS = 183
# https://learn.microsoft.com/windows/win32/procthread/process-security-and-access-rights
SYNCHRONIZE = 0x00100000
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
# https://learn.microsoft.com/windows/win32/api/synchapi/nf-synchapi-waitforsingleobject
WAIT_OBJECT_0 = 0x00000000
WAIT_TIMEOUT = 0x00000102
WAIT_FAILED = 0xFFFFFFFF
INFINITE = 0xFFFFFFFF
# https://learn.microsoft.com/windows/win32/procthread/process-creation-flags
DETACHED_PROCESS = 0x00000008
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
# https://learn.microsoft.com/windows/win32/api/dpapi/nf-dpapi-cryptprotectdata
CRYPTPROTECT_UI_FORBIDDEN = 0x1

# FILETIME counts 100 ns ticks since 1601-01-01 UTC; the Unix epoch is this many ticks later.
_FILETIME_UNIX_EPOCH = 116444736000000000
_POLL_FALLBACK_S = 0.01
# Longest single WaitForSingleObject, so a caller's timeout=None still wakes now and then.
_MAX_WAIT_MS = 0x7FFFFFFF

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_crypt32 = ctypes.WinDLL("crypt32", use_last_error=True)
_iphlpapi = ctypes.WinDLL("iphlpapi", use_last_error=True)

# CreateMutexW(LPSECURITY_ATTRIBUTES, BOOL bInitialOwner, LPCWSTR lpName) -> HANDLE
# https://learn.microsoft.com/windows/win32/api/synchapi/nf-synchapi-createmutexw
_CreateMutexW = _kernel32.CreateMutexW
_CreateMutexW.argtypes = (wintypes.LPVOID, wintypes.BOOL, wintypes.LPCWSTR)
_CreateMutexW.restype = wintypes.HANDLE

# OpenMutexW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName) -> HANDLE
# https://learn.microsoft.com/windows/win32/api/synchapi/nf-synchapi-openmutexw
_OpenMutexW = _kernel32.OpenMutexW
_OpenMutexW.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.LPCWSTR)
_OpenMutexW.restype = wintypes.HANDLE

# CloseHandle(HANDLE hObject) -> BOOL
# https://learn.microsoft.com/windows/win32/api/handleapi/nf-handleapi-closehandle
_CloseHandle = _kernel32.CloseHandle
_CloseHandle.argtypes = (wintypes.HANDLE,)
_CloseHandle.restype = wintypes.BOOL

# OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId) -> HANDLE
# https://learn.microsoft.com/windows/win32/api/processthreadsapi/nf-processthreadsapi-openprocess
_OpenProcess = _kernel32.OpenProcess
_OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
_OpenProcess.restype = wintypes.HANDLE

# WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds) -> DWORD
# https://learn.microsoft.com/windows/win32/api/synchapi/nf-synchapi-waitforsingleobject
_WaitForSingleObject = _kernel32.WaitForSingleObject
_WaitForSingleObject.argtypes = (wintypes.HANDLE, wintypes.DWORD)
_WaitForSingleObject.restype = wintypes.DWORD

# GetProcessTimes(HANDLE, LPFILETIME creation, LPFILETIME exit, LPFILETIME kernel, LPFILETIME user)
# -> BOOL; the handle needs PROCESS_QUERY_LIMITED_INFORMATION.
# https://learn.microsoft.com/windows/win32/api/processthreadsapi/nf-processthreadsapi-getprocesstimes
_GetProcessTimes = _kernel32.GetProcessTimes
_GetProcessTimes.argtypes = (wintypes.HANDLE,) + (ctypes.POINTER(wintypes.FILETIME),) * 4
_GetProcessTimes.restype = wintypes.BOOL

# LocalFree(HLOCAL hMem) -> HLOCAL (NULL on success)
# https://learn.microsoft.com/windows/win32/api/winbase/nf-winbase-localfree
_LocalFree = _kernel32.LocalFree
_LocalFree.argtypes = (wintypes.HLOCAL,)
_LocalFree.restype = wintypes.HLOCAL


class DATA_BLOB(ctypes.Structure):
    """typedef struct _CRYPTOAPI_BLOB { DWORD cbData; BYTE *pbData; } DATA_BLOB;
    https://learn.microsoft.com/windows/win32/api/dpapi/ns-dpapi-crypt_integer_blob"""

    _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]


# CryptProtectData(DATA_BLOB *pDataIn, LPCWSTR szDataDescr, DATA_BLOB *pOptionalEntropy,
#   PVOID pvReserved, CRYPTPROTECT_PROMPTSTRUCT *pPromptStruct, DWORD dwFlags, DATA_BLOB *pDataOut)
# -> BOOL; pDataOut->pbData must be released with LocalFree.
# https://learn.microsoft.com/windows/win32/api/dpapi/nf-dpapi-cryptprotectdata
_CryptProtectData = _crypt32.CryptProtectData
_CryptProtectData.argtypes = (
    ctypes.POINTER(DATA_BLOB),
    wintypes.LPCWSTR,
    ctypes.POINTER(DATA_BLOB),
    wintypes.LPVOID,
    wintypes.LPVOID,
    wintypes.DWORD,
    ctypes.POINTER(DATA_BLOB),
)
_CryptProtectData.restype = wintypes.BOOL

# CryptUnprotectData(DATA_BLOB *pDataIn, LPWSTR *ppszDataDescr, DATA_BLOB *pOptionalEntropy,
#   PVOID pvReserved, CRYPTPROTECT_PROMPTSTRUCT *pPromptStruct, DWORD dwFlags, DATA_BLOB *pDataOut)
# -> BOOL; decrypts and checks integrity; pDataOut->pbData is released with LocalFree.
# https://learn.microsoft.com/windows/win32/api/dpapi/nf-dpapi-cryptunprotectdata
_CryptUnprotectData = _crypt32.CryptUnprotectData
_CryptUnprotectData.argtypes = (
    ctypes.POINTER(DATA_BLOB),
    wintypes.LPVOID,
    ctypes.POINTER(DATA_BLOB),
    wintypes.LPVOID,
    wintypes.LPVOID,
    wintypes.DWORD,
    ctypes.POINTER(DATA_BLOB),
)
_CryptUnprotectData.restype = wintypes.BOOL


class InstanceLock(InstanceLockBase):
    """Named mutex `Global\\CafeSentinel.<name>`, or `Local\\` when Global is not ours to create.

    CreateMutexW returns a handle plus ERROR_ALREADY_EXISTS when another process made the
    mutex first: that is the second instance. The handle is not inheritable (no security
    attributes), and Windows closes it when the holder dies, so a killed holder frees the name.
    `lock_dir` is unused here; it keeps the signature of the POSIX lock.
    """

    def __init__(self, name: str, lock_dir: Path | None = None):
        self.name = name
        self.mutex_name: str | None = None

    def acquire(self) -> "InstanceLock":
        if self._held is not None:
            return self
        for namespace in ("Global", "Local"):
            full = f"{namespace}\\CafeSentinel.{self.name}"
            handle = _CreateMutexW(None, False, full)
            error = ctypes.get_last_error()
            if handle:
                if error == ERROR_ALREADY_EXISTS:
                    _CloseHandle(handle)
                    raise AlreadyRunningError(f"CafeSentinel {self.name} is already running ({full})")
                self._held, self.mutex_name = handle, full
                return self
            if error != ERROR_ACCESS_DENIED:
                raise OSError(error, f"CreateMutexW({full}) failed", None, error)
            # CreateMutexW's page: ACCESS_DENIED can mean the mutex exists with a stricter DACL
            # (e.g. made by an elevated process). Only fall back to Local if it does not exist.
            if _mutex_exists(full):
                raise AlreadyRunningError(
                    f"CafeSentinel {self.name} is already running ({full}, other privileges)"
                )
        raise OSError(ERROR_ACCESS_DENIED, f"cannot create mutex CafeSentinel.{self.name}")

    def _close(self, handle: int) -> None:
        _CloseHandle(handle)


def _mutex_exists(full_name: str) -> bool:
    handle = _OpenMutexW(SYNCHRONIZE, False, full_name)
    error = ctypes.get_last_error()
    if handle:
        _CloseHandle(handle)
        return True
    return error != ERROR_FILE_NOT_FOUND


def _filetime_to_epoch(ft: wintypes.FILETIME) -> float:
    ticks = (ft.dwHighDateTime << 32) | ft.dwLowDateTime
    return (ticks - _FILETIME_UNIX_EPOCH) / 10_000_000


def _open_process(pid: int) -> tuple[int | None, int]:
    handle = _OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    return (handle or None), ctypes.get_last_error()


def _handle_create_time(handle: int) -> float | None:
    created, exited, kernel, user = (wintypes.FILETIME() for _ in range(4))
    if not _GetProcessTimes(handle, ctypes.byref(created), ctypes.byref(exited),
                            ctypes.byref(kernel), ctypes.byref(user)):
        return None
    return _filetime_to_epoch(created)


def process_id(pid: int) -> ProcessId | None:
    created = psutil_create_time(pid)
    if created is None:
        return None
    pid_id = ProcessId(pid, created)
    return pid_id if is_alive(pid_id) else None


def is_alive(pid_id: ProcessId) -> bool:
    return not wait_exit(pid_id, 0)


def kill(pid_id: ProcessId) -> bool:
    return psutil_kill(pid_id)


def wait_exit(pid_id: ProcessId, timeout: float | None) -> bool:
    """Block until the process exits (True) or `timeout` seconds pass (False).

    OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION) + WaitForSingleObject: the
    kernel signals the handle the moment the process ends, so watchers react in
    milliseconds. GetProcessTimes' creation time must match, so a reused PID is not waited on.
    """
    handle, error = _open_process(pid_id.pid)
    if handle is None:
        if error == ERROR_INVALID_PARAMETER:  # no such process
            return True
        return _wait_polling(pid_id, timeout)
    try:
        created = _handle_create_time(handle)
        if created is not None and not pid_id.same_start(created):
            return True
        remaining_ms = None if timeout is None else max(0, int(timeout * 1000))
        while True:
            chunk = _MAX_WAIT_MS if remaining_ms is None else min(remaining_ms, _MAX_WAIT_MS)
            result = _WaitForSingleObject(handle, chunk)
            if result == WAIT_OBJECT_0:
                return True
            if result == WAIT_TIMEOUT:
                if remaining_ms is None:
                    continue
                remaining_ms -= chunk
                if remaining_ms <= 0:
                    return False
                continue
            return _wait_polling(pid_id, timeout)  # WAIT_FAILED
    finally:
        _CloseHandle(handle)


def _wait_polling(pid_id: ProcessId, timeout: float | None) -> bool:
    pause = threading.Event()
    waited = 0.0
    while psutil_alive(pid_id, zombie_is_dead=False):
        if timeout is not None and waited >= timeout:
            return False
        pause.wait(_POLL_FALLBACK_S)
        waited += _POLL_FALLBACK_S
    return True


def spawn(argv: list[str], env: dict | None = None, log_path: Path | None = None) -> ProcessId:
    """CreateProcess with DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP.

    DETACHED_PROCESS: the child gets no console at all, so a console-subsystem child (python.exe,
    a console build) never flashes a window, whether we are a console or a windowed build.
    CREATE_NO_WINDOW is not added: Microsoft's flag table says it is ignored together with
    DETACHED_PROCESS. CREATE_NEW_PROCESS_GROUP keeps our Ctrl+C/Ctrl+Break away from the child.
    close_fds=True makes CPython pass only the three std handles (PROC_THREAD_ATTRIBUTE_HANDLE_LIST),
    and the mutex handle is not inheritable anyway.
    """
    log = open(log_path, "ab") if log_path is not None else None
    try:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
            env=env,
            close_fds=True,
            creationflags=DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP,
        )
    finally:
        if log is not None:
            log.close()
    created = psutil_create_time(child.pid)
    if created is None:
        created = _handle_create_time(int(child._handle))  # noqa: SLF001 - still open here
    return ProcessId(child.pid, created if created is not None else 0.0)


def _blob_out(out: DATA_BLOB) -> bytes:
    try:
        return ctypes.string_at(out.pbData, out.cbData)
    finally:
        _LocalFree(ctypes.cast(out.pbData, wintypes.HLOCAL))


def _blob_in(data: bytes) -> tuple[DATA_BLOB, object]:
    buffer = ctypes.create_string_buffer(data, len(data))
    return DATA_BLOB(len(data), ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char))), buffer


def seal(data: bytes, key_dir: Path | None = None) -> bytes:
    """DPAPI (current user on this machine), never prompting. `key_dir` is unused on Windows."""
    blob_in, _keep = _blob_in(data)
    out = DATA_BLOB()
    if not _CryptProtectData(ctypes.byref(blob_in), _SEAL_DESCRIPTION, None, None, None,
                             CRYPTPROTECT_UI_FORBIDDEN, ctypes.byref(out)):
        error = ctypes.get_last_error()
        raise OSError(error, "CryptProtectData failed", None, error)
    return _SEAL_MAGIC + _blob_out(out)


def unseal(blob: bytes, key_dir: Path | None = None) -> bytes:
    if not blob.startswith(_SEAL_MAGIC) or len(blob) <= len(_SEAL_MAGIC):
        raise TamperError("sealed data is not a CafeSentinel DPAPI blob")
    blob_in, _keep = _blob_in(blob[len(_SEAL_MAGIC):])
    out = DATA_BLOB()
    if not _CryptUnprotectData(ctypes.byref(blob_in), None, None, None, None,
                               CRYPTPROTECT_UI_FORBIDDEN, ctypes.byref(out)):
        error = ctypes.get_last_error()
        raise TamperError(f"DPAPI refused the sealed data (error {error}): edited, or another user/machine")
    return _blob_out(out)


class SOCKADDR_INET(ctypes.Structure):
    """The IPv4 arm of the SOCKADDR_INET union (SOCKADDR_IN), padded to the union's 28 bytes.
    https://learn.microsoft.com/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_inet"""

    _fields_ = [("si_family", wintypes.USHORT), ("sin_port", wintypes.USHORT),
                ("sin_addr", ctypes.c_ubyte * 4), ("_rest", ctypes.c_ubyte * 20)]


class MIB_IPNET_ROW2(ctypes.Structure):
    """One neighbour (ARP) entry; 88 bytes on x64 (the IsRouter/IsUnreachable bits share `Flags`).
    https://learn.microsoft.com/windows/win32/api/netioapi/ns-netioapi-mib_ipnet_row2"""

    _fields_ = [("Address", SOCKADDR_INET), ("InterfaceIndex", wintypes.ULONG),
                ("InterfaceLuid", ctypes.c_uint64), ("PhysicalAddress", ctypes.c_ubyte * 32),
                ("PhysicalAddressLength", wintypes.ULONG), ("State", ctypes.c_int),
                ("Flags", ctypes.c_ubyte), ("ReachabilityTime", wintypes.ULONG)]


# GetBestInterface(IPAddr dwDestAddr, PDWORD pdwBestIfIndex) -> DWORD (NO_ERROR = 0)
# https://learn.microsoft.com/windows/win32/api/iphlpapi/nf-iphlpapi-getbestinterface
_GetBestInterface = _iphlpapi.GetBestInterface
_GetBestInterface.argtypes = (wintypes.ULONG, ctypes.POINTER(wintypes.DWORD))
_GetBestInterface.restype = wintypes.DWORD

# ResolveIpNetEntry2(PMIB_IPNET_ROW2 Row, const SOCKADDR_INET *SourceAddress) -> NETIO_STATUS
# "flushes any existing neighbor entry that matches the IP address on the interface and then
# resolves the physical address by sending ARP requests": a fresh answer, never the cache.
# ERROR_BAD_NET_NAME when nobody answered. Blocks until resolved or given up.
# https://learn.microsoft.com/windows/win32/api/netioapi/nf-netioapi-resolveipnetentry2
_ResolveIpNetEntry2 = getattr(_iphlpapi, "ResolveIpNetEntry2", None)
if _ResolveIpNetEntry2 is not None:
    _ResolveIpNetEntry2.argtypes = (ctypes.POINTER(MIB_IPNET_ROW2), ctypes.POINTER(SOCKADDR_INET))
    _ResolveIpNetEntry2.restype = wintypes.DWORD

# One resolution per address at a time: an unanswered one can outlast a tick, and a second
# would flush the first one's entry.
_arp_lock = threading.Lock()
_arp_in_flight: set[str] = set()


def _ip_dword(address: str) -> int:
    """An IPAddr: the four bytes in network order, read as the ULONG in memory."""
    return struct.unpack("<I", socket.inet_aton(address))[0]


def _resolve_arp(address: str, interface: int, results: dict) -> None:
    row = MIB_IPNET_ROW2()
    row.Address.si_family = socket.AF_INET
    row.Address.sin_addr[:] = list(socket.inet_aton(address))
    row.InterfaceIndex = interface
    try:
        results[address] = _ResolveIpNetEntry2(ctypes.byref(row), None)
    finally:
        with _arp_lock:
            _arp_in_flight.discard(address)


def arp_seen(addresses: Sequence[str], timeout: float) -> set[str]:
    """The addresses that answer an ARP request sent now (ResolveIpNetEntry2), within `timeout`.

    Only addresses on the network of one of our interfaces are asked; each is resolved on its
    own thread (the call blocks), and an answer that comes after `timeout` counts next time.
    """
    found = arp_interface(addresses)
    if found is None:
        return set()
    if _ResolveIpNetEntry2 is None:
        raise ArpUnavailableError("this Windows has no ResolveIpNetEntry2 (iphlpapi)")
    _, _, wanted = found
    interface = wintypes.DWORD()
    if _GetBestInterface(_ip_dword(wanted[0]), ctypes.byref(interface)) != 0:
        return set()
    results: dict[str, int] = {}
    threads = []
    for address in wanted:
        with _arp_lock:
            if address in _arp_in_flight:
                continue
            _arp_in_flight.add(address)
        thread = threading.Thread(target=_resolve_arp, args=(address, interface.value, results),
                                  name=f"arp {address}", daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    codes = dict(results)
    if codes and all(code == ERROR_NOT_SUPPORTED for code in codes.values()):
        raise ArpUnavailableError("ResolveIpNetEntry2 is not supported here (ERROR_NOT_SUPPORTED)")
    return {address for address, code in codes.items() if code == 0}


def open_folder(path: Path) -> None:
    """Show a folder in Explorer. os.startfile calls ShellExecuteW with the "open" verb:
    https://learn.microsoft.com/windows/win32/api/shellapi/nf-shellapi-shellexecutew"""
    os.startfile(str(path))
