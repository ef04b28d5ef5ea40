"""The POSIX backend for real: flock locks across processes, PID-reuse-proof identity,
detached spawn, pidfd waits, key-file sealing."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from sentinel import platform
from sentinel.errors import AlreadyRunningError
from sentinel.platform import InsecureKeyError, ProcessId, TamperError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX backend")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hold_lock_in_child(lock_dir, name="App"):
    """A child process that takes the lock, says READY, and sleeps."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {REPO!r})
        from sentinel.platform import InstanceLock
        InstanceLock({name!r}, {str(lock_dir)!r}).acquire()
        print("READY", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "READY"
    return child


def acquire_within(lock, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return lock.acquire()
        except AlreadyRunningError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def test_second_acquire_is_refused_and_freed_by_sigkill(tmp_path):
    holder = hold_lock_in_child(tmp_path)
    try:
        with pytest.raises(AlreadyRunningError, match="already running"):
            platform.InstanceLock("App", tmp_path).acquire()
        platform.InstanceLock("Guard", tmp_path).acquire().release()  # other role: independent
        t0 = time.monotonic()
        holder.send_signal(signal.SIGKILL)
        lock = acquire_within(platform.InstanceLock("App", tmp_path), 1.0)
        freed = time.monotonic() - t0
        lock.release()
        assert freed < 1.0
    finally:
        holder.kill()
        holder.wait(5)


def test_same_process_second_lock_object_is_refused(tmp_path):
    with platform.InstanceLock("App", tmp_path):
        with pytest.raises(AlreadyRunningError):
            platform.InstanceLock("App", tmp_path).acquire()
    platform.InstanceLock("App", tmp_path).acquire().release()


def test_lock_is_not_inherited_by_spawned_children(tmp_path):
    lock = platform.InstanceLock("App", tmp_path).acquire()
    child = platform.spawn([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        fds = os.listdir(f"/proc/{child.pid}/fd")
        lock_targets = [os.readlink(f"/proc/{child.pid}/fd/{fd}") for fd in fds]
        assert str(lock.path) not in lock_targets
        lock.release()
        # The child lives on, yet the lock is free: it never held a copy.
        assert platform.is_alive(child)
        platform.InstanceLock("App", tmp_path).acquire().release()
    finally:
        platform.kill(child)
        platform.wait_exit(child, 5)


def test_process_id_rejects_a_reused_pid():
    me = platform.process_id(os.getpid())
    assert me is not None and platform.is_alive(me)
    assert not platform.is_alive(ProcessId(me.pid, me.create_time - 5.0))  # same PID, older process
    assert not platform.is_alive(ProcessId(me.pid, me.create_time + 0.5))
    assert not platform.kill(ProcessId(me.pid, me.create_time - 5.0))  # would kill us otherwise
    assert platform.wait_exit(ProcessId(me.pid, me.create_time - 5.0), 1.0) is True


def test_spawn_detaches_and_wait_exit_is_event_driven(tmp_path):
    log_path = tmp_path / "child.log"
    child = platform.spawn([sys.executable, "-c",
                            "import os, sys, time; print(os.getsid(0), os.getpgrp(), "
                            "sys.stdin.read() == ''); sys.stdout.flush(); time.sleep(30)"],
                           log_path=log_path)
    try:
        assert platform.wait_exit(child, 0.05) is False
        deadline = time.monotonic() + 5
        while not log_path.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.01)
        sid, pgrp, stdin_empty = log_path.read_text().split()
        assert int(sid) == child.pid and int(pgrp) == child.pid  # own session and group
        assert os.getsid(0) != child.pid
        assert stdin_empty == "True"
        t0 = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        assert platform.wait_exit(child, 5) is True
        assert time.monotonic() - t0 < 0.2
        assert not platform.is_alive(child)
        assert not psutil.pid_exists(child.pid) or \
            psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE  # reaped
    finally:
        platform.kill(child)


def test_seal_round_trip_and_tamper(tmp_path):
    assert platform.SEAL_METHOD == "keyfile"
    blob = platform.seal(b"secret webhook token", tmp_path)
    assert b"secret" not in blob
    assert platform.unseal(blob, tmp_path) == b"secret webhook token"
    assert platform.seal(b"x", tmp_path) != platform.seal(b"x", tmp_path)  # fresh nonce
    for i in (0, 5, len(blob) // 2, len(blob) - 1):
        edited = bytearray(blob)
        edited[i] ^= 0x01
        with pytest.raises(TamperError):
            platform.unseal(bytes(edited), tmp_path)
    with pytest.raises(TamperError):
        platform.unseal(blob[:-1], tmp_path)
    other = tmp_path / "other-machine"
    with pytest.raises(TamperError):  # another machine key (or a missing one)
        platform.unseal(blob, other)
    platform.seal(b"y", other)
    with pytest.raises(TamperError):
        platform.unseal(blob, other)


def test_key_file_is_0600_and_loose_or_foreign_keys_are_refused(tmp_path):
    blob = platform.seal(b"data", tmp_path)
    key = tmp_path / "machine.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert key.stat().st_size == 32
    os.chmod(key, 0o644)
    with pytest.raises(InsecureKeyError, match="0644"):
        platform.unseal(blob, tmp_path)
    with pytest.raises(InsecureKeyError):
        platform.seal(b"more", tmp_path)
    os.chmod(key, 0o600)
    assert platform.unseal(blob, tmp_path) == b"data"
    if os.geteuid() == 0:
        os.chown(key, 65534, 65534)
        with pytest.raises(InsecureKeyError, match="owned by uid 65534"):
            platform.unseal(blob, tmp_path)


def test_key_creation_race_yields_one_key(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {REPO!r})
        from sentinel import platform
        sys.stdout.buffer.write(platform.seal(b"same", {str(tmp_path)!r}))
    """)
    children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
                for _ in range(6)]
    blobs = [child.communicate(timeout=30)[0] for child in children]
    assert all(platform.unseal(blob, tmp_path) == b"same" for blob in blobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["machine.key"]


# ---- ARP frames (the raw-socket sweep in arp_seen; real ARP runs in tests/monitor/test_timing_netns.py)

def test_arp_request_frame_and_reply_parsing():
    from sentinel.platform import posix

    mac, pc_mac = bytes.fromhex("020000000050"), bytes.fromhex("0200000000aa")
    request = posix.arp_request_frame(mac, "198.51.100.50", "198.51.100.111")
    assert len(request) == 42 and request[:6] == b"\xff" * 6 and request[12:14] == b"\x08\x06"
    assert posix.arp_reply_sender(request, "198.51.100.50") is None, "our own request is not an answer"
    # the PC's answer: swap the addresses, opcode 2
    reply = (mac + pc_mac + b"\x08\x06" + bytes.fromhex("000108000604") + b"\x00\x02" + pc_mac
             + bytes([198, 51, 100, 111]) + mac + bytes([198, 51, 100, 50]))
    assert posix.arp_reply_sender(reply, "198.51.100.50") == "198.51.100.111"
    assert posix.arp_reply_sender(reply, "198.51.100.51") is None, "an answer to someone else"
    assert posix.arp_reply_sender(reply[:40], "198.51.100.50") is None
    ip_frame = reply[:12] + b"\x08\x00" + reply[14:]
    assert posix.arp_reply_sender(ip_frame, "198.51.100.50") is None


def test_arp_asks_nothing_off_our_networks():
    from sentinel.platform import posix

    assert posix.arp_seen(["127.0.0.9", "not an address"], 0.05) == set()
