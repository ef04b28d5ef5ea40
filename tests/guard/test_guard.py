"""The guard with REAL processes: a guard and a dummy app (partner.Heartbeat + GuardWatcher)
watch each other in a temp data dir. Every process is killed by PID in teardown."""

import os
import signal
import statistics
import subprocess
import sys
import threading
import time

import psutil
import pytest

from sentinel.services.keepalive.pact import load_or_create_intent_key, sign_intent
from sentinel.platform import ProcessId
from tests.helpers.guard_cluster import Cluster, gone, summary, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals; see tests/windows")

KILLS = 20


@pytest.fixture
def make_cluster(tmp_path):
    made = []

    def make(**kwargs):
        cluster = Cluster(tmp_path / f"data{len(made)}", **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.kill_all()
        assert cluster.ours() == [], "a test process survived teardown"


@pytest.mark.timeout(120)
def test_every_kill_of_either_side_is_restarted_within_a_second(make_cluster):
    cluster = make_cluster()
    cluster.start()
    app_latencies = [cluster.kill_app() for _ in range(KILLS)]
    guard_times = [cluster.kill_guard() for _ in range(KILLS)]
    spawn_latencies = [spawned for spawned, _ready in guard_times]
    ready_latencies = [ready for _spawned, ready in guard_times]
    print(f"\napp restarts:   {summary(app_latencies)}"
          f"\nguard restarts: {summary(spawn_latencies)} (process running)"
          f"\nguard ready:    {summary(ready_latencies)} (guard.json rewritten)")
    assert len(app_latencies) == KILLS and len(guard_times) == KILLS
    assert max(app_latencies) < 1.0
    assert max(spawn_latencies) < 1.0
    assert statistics.median(ready_latencies) < 1.0
    guard_log, app_log = cluster.log_text(), cluster.log_text("app.log")
    assert guard_log.count("REPORT: monitor was terminated at") == KILLS
    assert app_log.count("REPORT: guard was terminated at") == KILLS
    assert "crash-looping" not in guard_log + app_log
    assert len(cluster.ours()) == 2  # one guard, one app


@pytest.mark.timeout(60)
def test_nine_quick_kills_of_a_working_app_are_nine_reports_and_no_backoff(make_cluster):
    """Staff killing the app on sight cannot push the guard into its crash-loop backoff."""
    cluster = make_cluster(stable_s=10.0, mutual=False)  # the guard's default: every run is "short"
    cluster.start()
    latencies = [cluster.kill_app(beats=2) for _ in range(9)]
    assert max(latencies) < 1.0, latencies
    wait_for(lambda: cluster.log_text().count("REPORT: monitor was terminated at") == 9, 5, "nine reports")
    guard_log = cluster.log_text()
    assert "crash" not in guard_log
    times = [line.split("terminated at ", 1)[1].split(",", 1)[0] for line in guard_log.splitlines()
             if "REPORT: monitor was terminated at" in line]
    assert len(times) == 9 and all(len(t) == 8 for t in times)  # each named with its HH:MM:SS


@pytest.mark.timeout(60)
def test_password_exit_stops_both_and_nothing_restarts(make_cluster):
    cluster = make_cluster()
    guard, app = cluster.start()
    cluster.wait_beats(app, 3)
    (cluster.data_dir / "exit.request").touch()
    wait_for(lambda: gone(app),
             5, "app exit")
    wait_for(lambda: cluster.ours() == [], 5, "guard exit")
    # Nothing comes back: watch for a second and a half.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert cluster.ours() == []
        time.sleep(0.05)
    assert "verified shutdown intent" in cluster.log_text()
    assert not (cluster.data_dir / "shutdown.intent").exists()
    assert cluster.first.wait(timeout=5) == 0


@pytest.mark.timeout(60)
def test_forged_or_stale_intent_is_ignored_and_reported(make_cluster):
    cluster = make_cluster()
    guard, app = cluster.start()
    cluster.wait_beats(app, 4)
    app_id = ProcessId(app, psutil.Process(app).create_time())
    forged = sign_intent(b"not the key" * 3, app_id, time.time(), "forged")
    (cluster.data_dir / "shutdown.intent").write_bytes(forged)
    os.kill(app, signal.SIGKILL)
    _guard, app2 = cluster.wait_ready(old_app=app)
    assert "ignored (bad signature)" in cluster.log_text()

    cluster.wait_beats(app2, 4)
    app2_id = ProcessId(app2, psutil.Process(app2).create_time())
    key = load_or_create_intent_key(cluster.data_dir)
    stale = sign_intent(key, app2_id, time.time() - 120, "old")
    (cluster.data_dir / "shutdown.intent").write_bytes(stale)
    os.kill(app2, signal.SIGKILL)
    guard3, app3 = cluster.wait_ready(old_app=app2)
    assert guard3 == guard
    assert "ignored (stale" in cluster.log_text()


@pytest.mark.timeout(60)
def test_second_start_of_either_role_leaves_one_instance(make_cluster):
    cluster = make_cluster()
    guard, app = cluster.start()
    second_guard = subprocess.run(cluster.guard_cmd, env=cluster.env, timeout=20,
                                  capture_output=True, text=True)
    assert second_guard.returncode == 3
    assert "already running" in second_guard.stderr
    second_app = subprocess.run(cluster.app_cmd, env=cluster.env, timeout=20)
    assert second_app.returncode == 3
    assert cluster.wait_ready() == (guard, app)
    assert sorted(p.pid for p in cluster.ours()) == sorted([guard, app])


@pytest.mark.timeout(60)
def test_hung_app_is_killed_and_replaced(make_cluster):
    cluster = make_cluster(hang_s=1.5)
    guard, app = cluster.start()
    cluster.wait_beats(app, 3)
    t0 = time.monotonic()
    (cluster.data_dir / "hang.request").touch()
    _guard, app2 = cluster.wait_ready(old_app=app, timeout=10)
    took = time.monotonic() - t0
    (cluster.data_dir / "hang.request").unlink()
    assert gone(app)
    assert 1.3 < took < 4.0, took
    assert "REPORT: monitor stopped responding (its main made no progress for" in cluster.log_text()


@pytest.mark.timeout(60)
def test_a_machine_that_slept_does_not_get_its_app_replaced(make_cluster):
    """Both processes frozen for longer than the guard's sleep threshold (Windows' monotonic clock
    runs on through a sleep), the guard woken first: the app was not hung, it stays."""
    from sentinel.guard import ASLEEP_S

    cluster = make_cluster(hang_s=2.0, mutual=False)
    guard, app = cluster.start()
    cluster.wait_beats(app, 3)
    pause = threading.Event()
    os.kill(app, signal.SIGSTOP)
    pause.wait(1.0)  # the guard has seen the app's last record before it sleeps too (< hang_s)
    os.kill(guard, signal.SIGSTOP)
    pause.wait(ASLEEP_S + 1)  # the time asleep is what is under test, not a wait for something
    os.kill(guard, signal.SIGCONT)
    pause.wait(1.0)  # the guard looks (every 0.5 s) before the app can beat again
    os.kill(app, signal.SIGCONT)
    cluster.wait_beats(app, cluster.heartbeat()["seq"] + 5)
    assert cluster.wait_ready() == (guard, app)
    assert "stopped responding" not in cluster.log_text()


@pytest.mark.timeout(60)
def test_crash_loop_backs_off_and_is_reported_once(make_cluster, tmp_path):
    starts = tmp_path / "starts.txt"
    crasher = [sys.executable, "-c",
               f"import time; open({str(starts)!r}, 'a').write(f'{{time.monotonic()}}\\n')"]
    cluster = make_cluster(app_cmd=crasher, stable_s=5.0, mutual=False)
    cluster.first = subprocess.Popen(cluster.guard_cmd, env=cluster.env, start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def times():
        try:
            return [float(line) for line in starts.read_text().split()]
        except OSError:
            return []

    wait_for(lambda: len(times()) >= 6, 20, "six starts of the crashing app")
    stamps = times()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    print("\ngaps between starts:", [round(g, 2) for g in gaps])
    # 1st and 2nd quick exits restart at once, then 1, 2, 4 s (plus interpreter start-up).
    assert gaps[0] < 0.9 and gaps[1] < 0.9
    assert 1.0 <= gaps[2] < 1.9
    assert 2.0 <= gaps[3] < 2.9
    assert 4.0 <= gaps[4] < 4.9
    # Every restart is reported one by one, named with its time; those that waited say so.
    wait_for(lambda: cluster.log_text().count("REPORT: monitor was terminated at") >= 5, 5, "five reports")
    reports = [line for line in cluster.log_text().splitlines() if "REPORT: monitor was terminated at" in line]
    assert ["crash loop" in line for line in reports[:5]] == [False, False, True, True, True]
    assert cluster.log_text().count("crash-looping") == 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "unrecognized arguments"),
    (["--config", "/nonexistent/config.json"], "cannot read config"),
    (["--data-dir", "/proc/cafesentinel"], "cannot use data dir"),
    (["--app-cmd"], "--app-cmd needs a command"),
])
def test_cli_errors_are_one_line_and_exit_2(argv, message):
    from tests.helpers.guard_cluster import REPO

    result = subprocess.run([sys.executable, str(REPO / "sentinel_guard.py"), *argv],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
