"""Pure guard decisions: backoff, restart policy, heartbeat staleness, intent verification."""

import json

import pytest

from sentinel.guard import (
    HeartbeatWatch,
    RestartState,
    backoff_delay,
    decide_restart,
    is_hung,
    mark_stable,
    observe_heartbeat,
    sign_intent,
    start_heartbeat_watch,
    verify_intent,
)
from sentinel.platform import ProcessId

APP = ProcessId(4242, 1_700_000_000.25)
KEY = b"k" * 32


@pytest.mark.parametrize("quick_exits, delay", [
    (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 4), (6, 8), (7, 16), (8, 32), (9, 60), (20, 60),
])
def test_backoff_table(quick_exits, delay):
    assert backoff_delay(quick_exits) == delay


def test_crash_loop_reported_once_and_cleared_by_a_stable_run():
    state, delays, loop_reports = RestartState(), [], 0
    for _ in range(8):  # eight runs of 0.1 s with stable_s = 10
        decision = decide_restart(state, run_s=0.1, stable_s=10)
        state = decision.state
        delays.append(decision.delay_s)
        loop_reports += decision.report_loop
    assert delays == [0, 0, 1, 2, 4, 8, 16, 32]
    assert loop_reports == 1
    state, ended = mark_stable(state)
    assert ended and state == RestartState()
    decision = decide_restart(state, run_s=0.1, stable_s=10)
    assert decision.delay_s == 0 and not decision.in_loop


def test_a_long_run_resets_the_count():
    state = RestartState(quick_exits=5, loop_reported=True)
    decision = decide_restart(state, run_s=11, stable_s=10)
    assert decision.delay_s == 0 and decision.state.quick_exits == 0 and not decision.report_loop


def beat(seq, pid_id=APP):
    return {**pid_id.to_json(), "seq": seq, "wall": 0.0}


@pytest.mark.parametrize("records, now, hung", [
    ([], 29.9, False),                         # grace from the start of watching
    ([], 30.0, True),                          # never beat at all
    ([(1, beat(1)), (20, beat(2))], 49.9, False),
    ([(1, beat(1)), (20, beat(2))], 50.0, True),
    ([(1, beat(1)), (20, beat(1))], 31.0, True),       # counter stuck: file rewritten, no progress
    ([(25, beat(9, ProcessId(4242, 1.0)))], 30.0, True),  # PID reused by another process
    ([(25, beat(9, ProcessId(999, APP.create_time)))], 30.0, True),  # someone else's heartbeat
    ([(25, {"pid": "x"}), (26, None)], 30.0, True),     # garbage
])
def test_heartbeat_staleness(records, now, hung):
    watch = start_heartbeat_watch(APP, now=0.0)
    for at, record in records:
        watch = observe_heartbeat(watch, record, at)
    assert is_hung(watch, now, hang_s=30) is hung


def test_heartbeat_watch_is_a_value():
    watch = start_heartbeat_watch(APP, 0.0)
    assert observe_heartbeat(watch, beat(1), 1.0) == HeartbeatWatch(APP, 1, 1.0)
    assert watch == HeartbeatWatch(APP, None, 0.0)


def good(issued=1000.0, pid_id=APP, key=KEY, nonce="n1"):
    return sign_intent(key, pid_id, issued, nonce)


def tampered(field, value):
    data = json.loads(good())
    data[field] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize("raw, now, ok, why", [
    (good(), 1000.0, True, "ok"),
    (good(), 1059.0, True, "ok"),
    (good(), 1061.0, False, "stale"),
    (good(), 990.0, False, "future"),
    (good(key=b"x" * 32), 1000.0, False, "bad signature"),
    (good(pid_id=ProcessId(4243, APP.create_time)), 1000.0, False, "names process 4243"),
    (good(pid_id=ProcessId(4242, 5.0)), 1000.0, False, "names process 4242"),
    (tampered("issued_wall", 1050.0), 1060.0, False, "bad signature"),
    (tampered("pid", 1), 1000.0, False, "bad signature"),
    (tampered("mac", "00"), 1000.0, False, "bad signature"),
    (b"{}", 1000.0, False, "malformed"),
    (b"[1]", 1000.0, False, "not a JSON object"),
    (b"\xff\xfe", 1000.0, False, "not JSON"),
])
def test_intent_verification(raw, now, ok, why):
    result, reason = verify_intent(raw, KEY, APP, now)
    assert result is ok
    assert why in reason
