"""Pure guard decisions: backoff, restart policy, heartbeat staleness, intent verification."""

import json
import time

import pytest

from sentinel.platform import ProcessId
from sentinel.services.keepalive.pact import (
    MAX_ALLOW_S,
    HeartbeatWatch,
    hang_verdict,
    heartbeat_record,
    observe_heartbeat,
    restart_grace,
    sign_intent,
    start_heartbeat_watch,
    verify_intent,
)
from sentinel.services.keepalive.watch import (
    RestartState,
    backoff_delay,
    decide_restart,
    mark_stable,
    restart_message,
)

APP = ProcessId(4242, 1_700_000_000.25)
KEY = b"k" * 32


@pytest.mark.parametrize("quick_exits, delay", [
    (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 4), (6, 8), (7, 16), (8, 32), (9, 60), (20, 60),
])
def test_backoff_table(quick_exits, delay):
    assert backoff_delay(quick_exits) == delay


def test_crash_loop_reported_once_and_cleared_by_a_stable_run():
    state, delays, loop_reports = RestartState(), [], 0
    for _ in range(8):  # eight runs of 0.1 s with stable_s = 10, dead before doing any work
        decision = decide_restart(state, run_s=0.1, stable_s=10, ran_fine=False)
        state = decision.state
        delays.append(decision.delay_s)
        loop_reports += decision.report_loop
    assert delays == [0, 0, 1, 2, 4, 8, 16, 32]
    assert loop_reports == 1
    state, ended = mark_stable(state)
    assert ended and state == RestartState()
    decision = decide_restart(state, run_s=0.1, stable_s=10, ran_fine=False)
    assert decision.delay_s == 0 and not decision.in_loop


def test_a_long_run_resets_the_count():
    state = RestartState(quick_exits=5, loop_reported=True)
    decision = decide_restart(state, run_s=11, stable_s=10, ran_fine=False)
    assert decision.delay_s == 0 and decision.state.quick_exits == 0 and not decision.report_loop


def test_killing_an_app_that_ran_fine_never_backs_off():
    """Staff killing the app on sight, nine times within seconds: each one restarts at once."""
    state, delays = RestartState(), []
    for _ in range(9):
        decision = decide_restart(state, run_s=0.4, stable_s=10, ran_fine=True)
        state = decision.state
        delays.append(decision.delay_s)
    assert delays == [0] * 9 and not state.loop_reported


def test_a_run_that_got_going_ends_a_crash_loop():
    state = RestartState(quick_exits=6, loop_reported=True)
    decision = decide_restart(state, run_s=0.5, stable_s=10, ran_fine=True)
    assert decision.delay_s == 0 and decision.state == RestartState()


def test_each_restart_message_names_the_time_of_the_death():
    died = time.mktime((2026, 12, 1, 14, 2, 11, 0, 0, -1))
    calm = decide_restart(RestartState(), run_s=50, stable_s=10, ran_fine=True)
    assert restart_message("monitor was terminated", died, 0.6, calm) == \
        "monitor was terminated at 14:02:11, restarted in 0.60 s"
    looping = decide_restart(RestartState(quick_exits=4), run_s=0.2, stable_s=10, ran_fine=False)
    text = restart_message("monitor was terminated", died, 4.1, looping)
    assert text.startswith("monitor was terminated at 14:02:11, restarted in 4.10 s")
    assert "5 exits in a row" in text and "waited 4 s" in text


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
    assert (hang_verdict(watch, now, hang_s=30) is not None) is hung


def parts_beat(seq, **parts):
    """A heartbeat whose courier wrote `seq` with each part's (beats, allow_s)."""
    return heartbeat_record(APP, seq, 0.0, parts)


@pytest.mark.parametrize("records, now, verdict", [
    # The courier writes every 2 s; the monitor ticks, the window drains: alive.
    ([(t, parts_beat(t, monitor=(t, 0.0), window=(10 * t, 0.0))) for t in range(1, 40)], 40.0, None),
    # The monitor is stuck at 3 ticks from t=3 on while the courier and the window go on.
    ([(t, parts_beat(t, monitor=(min(t, 3), 0.0), window=(10 * t, 0.0))) for t in range(1, 34)], 33.0,
     "its monitor made no progress for 30 s"),
    # The window is stuck: same for the window.
    ([(t, parts_beat(t, monitor=(t, 0.0), window=(50, 0.0))) for t in range(1, 40)], 39.0,
     "its window made no progress for 38 s"),
    # A slow tick rate asks for more: 100 s between ticks is normal for this app.
    ([(t, parts_beat(t, monitor=(1, 100.0))) for t in range(1, 60)], 60.0, None),
    ([(t, parts_beat(t, monitor=(1, 100.0))) for t in range(1, 120)], 102.0,
     "its monitor made no progress for 101 s"),
    # ... but not without end: a record cannot switch hang detection off.
    ([(t, parts_beat(t, monitor=(1, 1e9))) for t in range(1, 400)], 1 + MAX_ALLOW_S, "made no progress"),
    # The whole heartbeat stopped (the courier or the process is stuck).
    ([(1, parts_beat(1, monitor=(1, 0.0)))], 31.0, "no heartbeat for 30 s"),
])
def test_each_part_must_make_progress(records, now, verdict):
    watch = start_heartbeat_watch(APP, now=0.0)
    for at, record in records:
        watch = observe_heartbeat(watch, record, float(at))
    got = hang_verdict(watch, now, hang_s=30)
    assert got == verdict if verdict is None else verdict in got


def test_after_the_guard_itself_slept_the_grace_starts_again():
    """A machine that slept an hour: on wake the guard must not take the app for hung."""
    watch = observe_heartbeat(start_heartbeat_watch(APP, 0.0), parts_beat(1, monitor=(5, 0.0)), 1.0)
    assert hang_verdict(watch, 3600.0, hang_s=30) is not None
    woken = restart_grace(watch, 3600.0)
    assert hang_verdict(woken, 3629.0, hang_s=30) is None
    assert "no heartbeat for 30 s" in hang_verdict(woken, 3630.0, hang_s=30)


@pytest.mark.parametrize("parts, progressed", [
    ({}, False),                                    # an app that never declared a part
    ({"monitor": (0, 0.0)}, False),                 # started, never ticked
    ({"monitor": (1, 0.0), "window": (0, 0.0)}, False),
    ({"monitor": (1, 0.0), "window": (7, 0.0)}, True),
])
def test_progressed_means_every_part_beat(parts, progressed):
    watch = observe_heartbeat(start_heartbeat_watch(APP, 0.0), parts_beat(1, **parts), 1.0)
    assert watch.progressed is progressed


def test_heartbeat_watch_is_a_value():
    watch = start_heartbeat_watch(APP, 0.0)
    assert observe_heartbeat(watch, beat(1), 1.0) == HeartbeatWatch(APP, 1, 1.0, ())
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
