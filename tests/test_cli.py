"""The command line is a contract (README.md, "Command line"): flags, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from sentinel import __version__
from tests.helpers.apprun import REPO_ROOT, AppRun, query, wait_until

APP = [sys.executable, str(REPO_ROOT / "sentinel_app.py")]


def run(*args, timeout=30, **kw):
    env = dict(os.environ, DISPLAY="", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([*APP, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
                          env=env, **kw)


def test_version():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"CafeSentinel {__version__}"


def test_unknown_flag_is_a_one_line_error_exit_2():
    proc = run("--frobnicate")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--frobnicate" in proc.stderr


def test_unreadable_config_is_exit_2(tmp_path):
    proc = run("--headless", "--config", str(tmp_path / "missing.json"), "--data-dir", str(tmp_path / "d"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "missing.json" in proc.stderr


def test_unusable_data_dir_is_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("--headless", "--config", str(REPO_ROOT / "config.json"), "--data-dir", str(blocker / "sub"))
    assert proc.returncode == 2 and "data dir" in proc.stderr


def test_check_config_ok_and_problems(tmp_path):
    good = run("--check-config", "--config", str(REPO_ROOT / "config.json"))
    assert good.returncode == 0 and "OK" in good.stdout
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps({"monitor_settings": {"pc_count": 300, "interval_seconds": "fast"}, "x": 1}))
    bad = run("--check-config", "--config", str(bad_path))
    assert bad.returncode == 1
    assert "monitor_settings.pc_count" in bad.stdout and "monitor_settings.interval_seconds" in bad.stdout
    assert "x: unknown key" in bad.stdout


def test_check_config_warns_when_the_internet_rests_on_one_target(tmp_path):
    single = tmp_path / "single.json"
    single.write_text(json.dumps({"targets": {"internet": "203.0.113.1"},
                                  "verification_settings": {"secondary_target": ""}}))
    proc = run("--check-config", "--config", str(single))
    assert proc.returncode == 0 and "OK" in proc.stdout
    assert "warning verification_settings.secondary_target: the internet is judged on one target only" in proc.stdout
    dual = tmp_path / "dual.json"
    dual.write_text(json.dumps({"targets": {"internet": "203.0.113.1"},
                                "verification_settings": {"secondary_target": "203.0.113.2"}}))
    assert "warning" not in run("--check-config", "--config", str(dual)).stdout


def test_broken_config_with_no_last_good_copy_refuses_to_start(tmp_path):
    bad_path = tmp_path / "bad.json"
    bad_path.write_text("{")
    proc = run("--headless", "--config", str(bad_path), "--data-dir", str(tmp_path / "d"))
    assert proc.returncode == 2 and "broken JSON" in proc.stderr


def test_broken_config_starts_on_the_last_good_copy(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "last_good_config.json").write_text("{}")
    bad_path = tmp_path / "bad.json"
    bad_path.write_text('{"api_settings": {"enabled": false}, "oops": 1}')
    app = AppRun(AppRun.command("--headless", "--config", str(bad_path), "--data-dir", str(data)),
                 env={"DISPLAY": ""})
    try:
        line = app.wait_line("config rejected")
        assert "oops: unknown key" in line
        app.wait_line("not configured")
        rc, took = app.stop(signal.SIGTERM)
        assert rc == 0 and took < 3.0
    finally:
        app.kill()


def test_nothing_is_written_to_the_working_directory(tmp_path):
    before = set(os.listdir(tmp_path))
    proc = subprocess.run([*APP, "--check-config", "--config", str(REPO_ROOT / "config.json")],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 0 and set(os.listdir(tmp_path)) == before


@pytest.mark.timeout(60)
def test_demo_headless_runs_the_scripted_day_and_stops_cleanly(tmp_path):
    app = AppRun(AppRun.command("--demo", "--headless", "--data-dir", str(tmp_path)), env={"DISPLAY": ""})
    try:
        app.wait_line("no packets sent")
        app.wait_line("VIP-1 session started", timeout=15)
        app.wait_line("Router blip", timeout=30)
        app.wait_line("Internet DOWN since", timeout=30)
        rc, took = app.stop(signal.SIGINT)
        assert rc == 0 and took < 3.0
    finally:
        app.kill()
    assert query(tmp_path / "sentinel.db", "SELECT cause FROM incidents") == [("ISP_DOWN",)]
    assert query(tmp_path / "sentinel.db", "SELECT cause FROM blips") == [("ROUTER_DOWN",)]
    assert (tmp_path / "incidents.csv").read_text().splitlines()[1].endswith("ISP_DOWN,ongoing")


def test_demo_without_data_dir_uses_a_throwaway_dir(tmp_path):
    app = AppRun(AppRun.command("--demo"), env={"DISPLAY": ""})
    try:
        line = app.wait_line("Data in ")
        root = line.split("Data in ", 1)[1]
        assert "cafesentinel-demo-" in root
        wait_until(lambda: os.path.exists(os.path.join(root, "sentinel.db")), what="demo db")
        rc, _ = app.stop(signal.SIGTERM)
        assert rc == 0
    finally:
        app.kill()
