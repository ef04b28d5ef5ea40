"""The Windows one-folder bundles, built from the same sentinel.spec / guard.spec with the Windows
CPython under Wine (tests/helpers/wine.py), then started as .exe files: --version, the guard's
usage error, and a short --demo --headless run under xvfb-run.

Times are printed (pytest -s): pip install (cold: downloads; warm: all satisfied), each
PyInstaller build, and the demo's start.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from sentinel import __version__
from tests.helpers.apprun import AppRun
from tests.helpers.wine import (
    pip_install_args,
    run_wine,
    source_line,
    windows_path,
    wine_available,
)

SETUP_TIMEOUT_S = 900
BUILD_TIMEOUT_S = 600  # per spec; ~115 s (app) and ~55 s (guard) measured here, warm
RUN_TIMEOUT_S = 120
# Wine 8's CreateProcess now and then fails with this when PyInstaller starts its helper
# processes (seen once in five clean runs here); the same build then passes. Only this is retried.
WINE_TRANSIENT = "[WinError 1359] Internal error"


def start_in_own_group(argv, **kwargs):
    return subprocess.Popen(argv, start_new_session=True, **kwargs)


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + 2 * BUILD_TIMEOUT_S + 3 * RUN_TIMEOUT_S)
def test_windows_bundles_build_and_run_under_wine(tmp_path):
    missing = wine_available()
    if missing:
        pytest.skip(f"LOUD SKIP: {missing}")
    times = {}

    t0 = time.monotonic()
    setup = run_wine(pip_install_args("-r", "requirements-dev.txt"), SETUP_TIMEOUT_S)
    times["pip"] = time.monotonic() - t0
    if setup.returncode != 0:
        pytest.skip(f"LOUD SKIP: Wine Python setup failed ({setup.returncode}):\n"
                    f"{setup.stdout[-2000:]}{setup.stderr[-2000:]}")

    dist, work = tmp_path / "dist", tmp_path / "work"
    for spec in ("sentinel.spec", "guard.spec"):
        t0 = time.monotonic()
        for attempt in (1, 2):
            build = run_wine(f"wpy -m PyInstaller --noconfirm --log-level WARN "
                             f"--distpath {shlex.quote(windows_path(dist))} "
                             f"--workpath {shlex.quote(windows_path(work))} {spec}", BUILD_TIMEOUT_S)
            if build.returncode == 0 or WINE_TRANSIENT not in build.stdout + build.stderr:
                break
            print(f"\n{spec}: Wine's CreateProcess failed ({WINE_TRANSIENT}) on attempt {attempt}")
        times[spec] = time.monotonic() - t0
        assert build.returncode == 0, f"{spec} failed under Wine:\n{build.stdout[-4000:]}{build.stderr[-2000:]}"

    deploy = tmp_path / "deploy" / "CafeSentinel"
    shutil.copytree(dist / "CafeSentinel", deploy)
    shutil.copytree(dist / "CafeSentinelGuard", deploy, dirs_exist_ok=True)
    for name in ("CafeSentinel.exe", "CafeSentinelGuard.exe", "_internal", "_internal_guard", "config.json"):
        assert (deploy / name).exists(), f"{name} missing from the deploy folder"
    app, guard = deploy / "CafeSentinel.exe", deploy / "CafeSentinelGuard.exe"
    size = sum(f.stat().st_size for f in deploy.rglob("*") if f.is_file())

    version = run_wine(f"wexe {shlex.quote(str(app))} --version", RUN_TIMEOUT_S, cwd=tmp_path)
    assert version.returncode == 0, version.stdout + version.stderr
    assert f"CafeSentinel {__version__}" in version.stdout, "a windowed build still answers --version on a pipe"

    usage = run_wine(f"wexe {shlex.quote(str(guard))} --no-such-flag", RUN_TIMEOUT_S, cwd=tmp_path)
    assert usage.returncode == 2, usage.stdout + usage.stderr
    assert "--no-such-flag" in usage.stdout

    # Wine wants pipes for std handles: Popen's stdout pipe is one. Own process group, so the
    # whole xvfb-run / Xvfb / wine tree is stopped by that group's id.
    data = tmp_path / "demo-data"
    script = (f"{source_line()} && exec xvfb-run -a -s '-screen 0 1280x800x24' wine {shlex.quote(str(app))} "
              f"--demo --headless --data-dir {shlex.quote(windows_path(data))} 2>&1")
    t0 = time.monotonic()
    demo = AppRun(["bash", "-c", script], popen=functools.partial(start_in_own_group, cwd=tmp_path))
    try:
        demo.wait_line("CafeSentinel demo", timeout=RUN_TIMEOUT_S)
        times["demo line"] = time.monotonic() - t0
        demo.wait_line("session started", timeout=RUN_TIMEOUT_S)
        times["session start"] = time.monotonic() - t0
        assert (data / "sentinel.db").exists()
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
        demo.proc.wait(10)
    print("\nWine: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f"; deploy folder {size / 2**20:.0f} MiB")

