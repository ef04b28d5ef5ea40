"""The real PyInstaller build on Linux (sentinel.spec + guard.spec via scripts/build_linux.sh),
then the frozen executables themselves: CLI contract, a demo run, and the frozen guard and app
restarting each other from the deploy folder layout.

The build runs once per session (~25 s here) into a temporary folder; its time and size are
printed (pytest -s) and checked against generous ceilings.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sentinel import __version__
from tests.helpers.apprun import REPO_ROOT, AppRun, wait_until

BUILD_TIMEOUT_S = 600
MAX_BUILD_S = 300
MAX_DEPLOY_MIB = 250
RUN_TIMEOUT_S = 60

pytestmark = [pytest.mark.timeout(BUILD_TIMEOUT_S + RUN_TIMEOUT_S),
              pytest.mark.skipif(sys.platform != "linux", reason="the Linux build; Windows: test_wine_build.py")]


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


class Build:
    def __init__(self, out: Path, seconds: float):
        self.out = out
        self.seconds = seconds
        self.deploy = out / "deploy" / "CafeSentinel"
        self.app = self.deploy / "CafeSentinel"
        self.guard = self.deploy / "CafeSentinelGuard"
        self.size = tree_size(self.deploy)


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> Build:
    out = tmp_path_factory.mktemp("pyinstaller")
    t0 = time.monotonic()
    result = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "build_linux.sh"), "--python", sys.executable,
                             "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=BUILD_TIMEOUT_S, check=False)
    seconds = time.monotonic() - t0
    assert result.returncode == 0, f"build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    built = Build(out, seconds)
    print(f"\nLinux build of both bundles: {seconds:.1f} s; deploy folder {built.size / 2**20:.0f} MiB "
          f"(app {tree_size(out / 'dist' / 'CafeSentinel') / 2**20:.0f} MiB, "
          f"guard {tree_size(out / 'dist' / 'CafeSentinelGuard') / 2**20:.0f} MiB)")
    return built


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, DISPLAY="")
    return subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=kwargs.pop("cwd", "/"), check=False,
                          env=env, **kwargs)


def test_build_time_and_size_are_reasonable(build):
    assert build.seconds < MAX_BUILD_S
    assert build.size < MAX_DEPLOY_MIB * 2**20, f"{build.size / 2**20:.0f} MiB: did a big package sneak in?"


def test_deploy_folder_layout(build):
    names = {p.name for p in build.deploy.iterdir()}
    assert {"CafeSentinel", "CafeSentinelGuard", "_internal", "_internal_guard", "config.json", "install.bat",
            "uninstall.bat", "CafeSentinelGuard.xml.template", "README.txt"} <= names
    assert (build.deploy / "config.json").read_bytes() == (REPO_ROOT / "config.json").read_bytes()
    assert os.access(build.app, os.X_OK) and os.access(build.guard, os.X_OK)
    internal = build.deploy / "_internal"
    assert not (internal / "numpy").exists(), "numpy is excluded (optional Pillow extra, ~45 MiB)"
    assert any(internal.glob("PIL/_webp*.so")), "Pillow's WebP codec (screenshots) is bundled"
    assert any(internal.glob("_tcl_data")) and any(internal.glob("_tk_data")), "Tk's scripts are bundled"


def pyz_modules(exe: Path) -> set[str]:
    """Module names in the PYZ archive embedded in a one-folder executable."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(exe))
    pyz_name = next(name for name in archive.toc if name.endswith(".pyz"))
    return set(archive.open_embedded_archive(pyz_name).toc)


def test_app_bundles_the_runtime_backends(build):
    modules = pyz_modules(build.app)
    wanted = {"pystray._xorg", "pystray._dummy", "icmplib", "mss.linux", "PIL.WebPImagePlugin", "psutil",
              "cryptography", "tkinter", "requests", "sentinel.app", "sentinel.guard",
              "sentinel.services.keepalive.partner", "sentinel.platform.posix", "sentinel.monitor.demo", "sentinel.stdio"}
    assert wanted <= modules, f"missing: {sorted(wanted - modules)}"


def test_app_bundles_the_web_dashboard_and_metrics(build):
    static = build.deploy / "_internal" / "sentinel" / "services" / "web" / "static"
    assert {"index.html", "app.js", "app.css"} <= {p.name for p in static.iterdir()}
    assert {"prometheus_client", "sentinel.services.web.api"} <= pyz_modules(build.app)


def test_guard_bundle_is_small_and_has_no_gui(build):
    modules = pyz_modules(build.guard)
    assert {"sentinel.guard", "sentinel.platform.posix", "psutil"} <= modules
    assert not {"tkinter", "pystray", "mss"} & modules


def test_frozen_version(build):
    result = run([str(build.app), "--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"CafeSentinel {__version__}"


def test_frozen_check_config_reads_the_shipped_config_beside_the_exe(build):
    result = run([str(build.app), "--check-config"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(build.deploy / "config.json") in result.stdout and "OK" in result.stdout


def test_frozen_bad_flag_is_one_line_exit_2(build):
    for exe in (build.app, build.guard):
        result = run([str(exe), "--no-such-flag"])
        assert result.returncode == 2, (exe.name, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "--no-such-flag" in result.stderr


def test_frozen_demo_runs_and_stops_on_sigint(build, tmp_path):
    data = tmp_path / "demo"
    app = AppRun([str(build.app), "--demo", "--headless", "--data-dir", str(data)], env={"DISPLAY": ""})
    try:
        app.wait_line("CafeSentinel demo", timeout=20)
        app.wait_line("session started", timeout=30)
        rc, seconds = app.stop(signal.SIGINT, timeout=10)
        assert rc == 0, app.stderr_tail()
        assert seconds < 3.0, f"stopped in {seconds:.2f} s"
        assert (data / "sentinel.db").exists()
    finally:
        app.kill()


def quiet_config(path: Path) -> Path:
    """The shipped config (no targets: nothing is pinged), with the API off so no port is taken."""
    config = json.loads((REPO_ROOT / "config.json").read_text())
    config["api_settings"]["enabled"] = False
    config["monitor_settings"].update(pc_subnet="198.51.100", pc_count=0)
    path.write_text(json.dumps(config))
    return path


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def watched_app(data: Path) -> int | None:
    guard = read_json(data / "guard.json") or {}
    app = guard.get("app") or {}
    pid = app.get("pid")
    return pid if isinstance(pid, int) and pid_alive(pid) else None


def heartbeat_pid(data: Path) -> int | None:
    pid = (read_json(data / "heartbeat.json") or {}).get("pid")
    return pid if isinstance(pid, int) and pid_alive(pid) else None


def guard_pid(data: Path) -> int | None:
    pid = (read_json(data / "guard.json") or {}).get("pid")
    return pid if isinstance(pid, int) and pid_alive(pid) else None


def adoptions(data: Path) -> int:
    """How many app starts found the running guard (one log line each)."""
    try:
        return (data / "logs" / "sentinel.log").read_text().count("watching running guard")
    except OSError:
        return 0


def stop_all(pids: list[int]) -> None:
    """Freeze every process first so neither can restart the other, then kill them."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, sig)


def test_frozen_guard_and_app_restart_each_other(build, tmp_path):
    """The guard starts the app it finds beside itself; each restarts the other within 1 s."""
    data, config = tmp_path / "data", quiet_config(tmp_path / "config.json")
    argv = [str(build.guard), "--config", str(config), "--data-dir", str(data)]
    if os.geteuid() == 0 and shutil.which("unshare"):
        argv = ["unshare", "--net", *argv]  # belt and braces: a namespace with no route anywhere
    env = dict(os.environ, DISPLAY="")  # no display: the app runs headless
    guard = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=env, cwd="/")
    seen: set[int] = {guard.pid}
    try:
        first = wait_until(lambda: heartbeat_pid(data) if heartbeat_pid(data) == watched_app(data) else None,
                           timeout=20, what="the frozen app started by the frozen guard beats")
        seen.add(first)
        cmdline = Path(f"/proc/{first}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0].decode() == str(build.app), "default_app_command found the app beside the guard"
        wait_until(lambda: adoptions(data) >= 1, timeout=10, what="the app adopts the guard")

        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        second = wait_until(lambda: (pid := watched_app(data)) not in (None, first) and pid,
                            timeout=5, interval=0.02, what="a new app pid in guard.json")
        app_restart_s = time.monotonic() - killed
        seen.add(second)
        assert app_restart_s < 1.0, f"app restarted after {app_restart_s:.2f} s"
        wait_until(lambda: heartbeat_pid(data) == second, timeout=10, what="the restarted app beats")
        wait_until(lambda: adoptions(data) >= 2, timeout=10, what="the restarted app adopts the guard")

        os.kill(guard.pid, signal.SIGKILL)
        guard.wait(5)
        killed = time.monotonic()
        new_guard = wait_until(lambda: (pid := guard_pid(data)) not in (None, guard.pid) and pid,
                               timeout=5, interval=0.02, what="a new guard pid in guard.json")
        guard_restart_s = time.monotonic() - killed
        seen.add(new_guard)
        assert guard_restart_s < 1.5, f"guard restarted after {guard_restart_s:.2f} s"
        cmdline = Path(f"/proc/{new_guard}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0].decode() == str(build.guard), "default_guard_command found the guard beside the app"
        assert (read_json(data / "guard.json") or {}).get("app", {}).get("pid") == second, "it adopted the app"
        print(f"\nfrozen restarts: app {app_restart_s:.2f} s, guard {guard_restart_s:.2f} s (incl. write + poll)")
    finally:
        stop_all(sorted(seen | {p for p in (watched_app(data), guard_pid(data)) if p}))
        if guard.poll() is None:
            guard.kill()
        guard.wait(5)
