"""The Windows backend, run by a Windows CPython (under Wine here: tests/packaging/test_wine.py).

Skipped on other platforms: the Linux pytest never imports the ctypes code.
"""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

if sys.platform != "win32":
    pytest.skip("Windows-only; run with a Windows CPython (tests/packaging/test_wine.py)",
                allow_module_level=True)

from sentinel import platform  # noqa: E402
from sentinel.errors import AlreadyRunningError  # noqa: E402
from sentinel.platform import ProcessId, TamperError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def hold_mutex_in_child(name):
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from sentinel.platform import InstanceLock
        lock = InstanceLock({name!r}).acquire()
        print("READY", lock.mutex_name, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline().split()
    assert line[0] == "READY", line
    return child, line[1]


def test_named_mutex_second_instance_refused_and_freed_by_kill():
    name = f"Test{int(time.time() * 1000)}"
    holder, mutex_name = hold_mutex_in_child(name)
    try:
        assert mutex_name.endswith(f"\\CafeSentinel.{name}")
        with pytest.raises(AlreadyRunningError):
            platform.InstanceLock(name).acquire()
        holder.kill()
        holder.wait(10)
        deadline = time.monotonic() + 2
        while True:
            try:
                platform.InstanceLock(name).acquire().release()
                break
            except AlreadyRunningError:
                assert time.monotonic() < deadline, "mutex not freed after the holder died"
                time.sleep(0.01)
    finally:
        holder.kill()


def test_same_process_second_mutex_refused():
    name = f"Self{int(time.time() * 1000)}"
    with platform.InstanceLock(name):
        with pytest.raises(AlreadyRunningError):
            platform.InstanceLock(name).acquire()


def test_process_identity_and_handle_wait():
    child = platform.spawn([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert platform.is_alive(child)
        assert platform.process_id(child.pid) == child or \
            platform.process_id(child.pid).same_start(child.create_time)
        assert not platform.is_alive(ProcessId(child.pid, child.create_time - 5))
        assert platform.wait_exit(child, 0.05) is False
        t0 = time.monotonic()
        assert platform.kill(child)
        assert platform.wait_exit(child, 10) is True
        print(f"\nwait_exit woke {1000 * (time.monotonic() - t0):.0f} ms after the kill")
        assert not platform.is_alive(child)
    finally:
        platform.kill(child)


def test_killed_partner_is_seen_and_restarted(tmp_path):
    """PartnerWatch over the handle-based waiter: kill the partner, a new one is running."""
    import threading

    from sentinel.services.keepalive.watch import PartnerWatch

    reports = []
    watch = PartnerWatch(label="partner", command=lambda: [sys.executable, "-c",
                                                           "import time; time.sleep(60)"],
                         locate=lambda: None, report=reports.append, stable_s=0.0)
    stop = threading.Event()
    runner = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while watch.current is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        latencies = []
        for _ in range(3):
            first = watch.current
            t0 = time.monotonic()
            assert platform.kill(first)
            while watch.current == first:
                assert time.monotonic() - t0 < 10, "partner not restarted"
                time.sleep(0.005)
            latencies.append(time.monotonic() - t0)
            assert platform.is_alive(watch.current)
        print(f"\nrestart latencies under this Windows: {[round(x, 3) for x in latencies]}")
        assert len(reports) == 3 and all("partner was terminated at" in r for r in reports)
        assert max(latencies) < 1.0
    finally:
        stop.set()
        runner.join(5)
        if watch.current is not None:
            platform.kill(watch.current)


def test_dpapi_seal_round_trip(tmp_path):
    assert platform.SEAL_METHOD == "dpapi"
    try:
        blob = platform.seal(b"secret", tmp_path)
    except OSError as exc:
        pytest.skip(f"DPAPI CryptProtectData unavailable here (Wine?): {exc}")
    assert b"secret" not in blob
    try:
        assert platform.unseal(blob, tmp_path) == b"secret"
    except TamperError as exc:
        pytest.skip(f"DPAPI CryptUnprotectData does not round-trip here (Wine?): {exc}")
    edited = bytearray(blob)
    edited[len(edited) // 2] ^= 0x01
    with pytest.raises(TamperError):
        platform.unseal(bytes(edited), tmp_path)
    with pytest.raises(TamperError):
        platform.unseal(b"not a blob", tmp_path)


def test_atomic_write_waits_for_a_reader_that_holds_the_file_open(tmp_path):
    """Windows refuses to replace a file that another process has open (CPython opens without
    FILE_SHARE_DELETE). The guard and the app read each other's JSON files all the time, so a
    write must wait for the reader to close instead of failing (it once killed the guard's
    watcher thread, and no restart followed)."""
    import threading

    from sentinel.files import atomic_write

    target = tmp_path / "guard.json"
    target.write_bytes(b"old")
    code = f"f = open({str(target)!r}, 'rb'); print('OPEN', flush=True); input(); f.close()"
    reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert reader.stdout.readline().strip() == "OPEN"
    outcome = []

    def write():
        try:
            atomic_write(target, b"new")
            outcome.append("written")
        except OSError as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(0.3)  # long enough for an unpatched replace to have failed already
    reader.communicate("\n", timeout=30)
    writer.join(10)
    assert outcome == ["written"]
    assert target.read_bytes() == b"new"
    assert not list(tmp_path.glob("*.tmp"))


def test_arp_row_matches_the_sdk_layout():
    import ctypes

    from sentinel.platform import windows

    row = windows.MIB_IPNET_ROW2
    assert ctypes.sizeof(windows.SOCKADDR_INET) == 28
    assert ctypes.sizeof(row) == 88
    assert [(name, getattr(row, name).offset) for name in (
        "InterfaceIndex", "InterfaceLuid", "PhysicalAddress", "PhysicalAddressLength", "State", "Flags",
        "ReachabilityTime")] == [("InterfaceIndex", 28), ("InterfaceLuid", 32), ("PhysicalAddress", 40),
                                 ("PhysicalAddressLength", 72), ("State", 76), ("Flags", 80),
                                 ("ReachabilityTime", 84)]


def test_arp_calls_load_and_nothing_leaves_loopback(monkeypatch):
    """Only loopback is asked here (the test box's own LAN is out of bounds). On Windows
    ResolveIpNetEntry2 refuses a loopback address, so nothing is seen and nothing is sent;
    Wine 8's iphlpapi has no ResolveIpNetEntry2, and the backend then says ARP is unavailable
    (the engine goes by ping alone)."""
    import ctypes
    from ctypes import wintypes

    from sentinel.platform import ArpUnavailableError, windows

    index = wintypes.DWORD()
    assert windows._GetBestInterface(windows._ip_dword("127.0.0.1"), ctypes.byref(index)) == 0
    print(f"\nGetBestInterface(127.0.0.1) -> interface {index.value}; "
          f"ResolveIpNetEntry2 {'present' if windows._ResolveIpNetEntry2 else 'missing'}")
    assert platform.arp_seen(["127.0.0.9", "not an address"], 0.2) == set()  # on no network of ours
    monkeypatch.setattr(windows, "arp_interface", lambda addresses: ("loopback", "127.0.0.1", ["127.0.0.2"]))
    if windows._ResolveIpNetEntry2 is None:
        with pytest.raises(ArpUnavailableError):
            platform.arp_seen(["127.0.0.2"], 0.2)
    else:
        assert platform.arp_seen(["127.0.0.2"], 0.2) == set()
    assert windows._arp_in_flight == set()
