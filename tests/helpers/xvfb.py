"""A real X server for display tests: `with Xvfb(1920, 1080) as x: ... x.display == ":57"`.

Starts `Xvfb :N` on a free display number (no TCP), waits for its socket with a deadline,
and stops it by PID. Tests that need it call `require_xvfb()` first (a loud skip, or a
failure when SENTINEL_STRICT=1) or use the `xvfb_display` fixture, which also points
DISPLAY at the server for the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

X11_SOCKET_DIR = Path("/tmp/.X11-unix")
FIRST_DISPLAY = 50
LAST_DISPLAY = 199
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
POLL_S = 0.02


class XvfbError(RuntimeError):
    """Xvfb could not be started."""


def require_xvfb() -> str:
    """Path of the Xvfb binary; skips loudly (fails under SENTINEL_STRICT=1) if it is missing."""
    path = shutil.which("Xvfb")
    if path is None:
        reason = "Xvfb is not installed (apt-get install xvfb): display test NOT run"
        if os.environ.get("SENTINEL_STRICT") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _display_in_use(number: int) -> bool:
    return Path(f"/tmp/.X{number}-lock").exists() or (X11_SOCKET_DIR / f"X{number}").exists()


class Xvfb:
    """Context manager owning one Xvfb process; `.display` (":57"), `.pid`, `.env()`."""

    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24) -> None:
        self.width = width
        self.height = height
        self.depth = depth
        self.display: str | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A copy of the environment (or `base`) with DISPLAY pointing at this server."""
        env = dict(os.environ if base is None else base)
        env["DISPLAY"] = self.display or ""
        return env

    def start(self) -> "Xvfb":
        binary = shutil.which("Xvfb")
        if binary is None:
            raise XvfbError("Xvfb is not installed")
        last_error = "no free display number"
        for number in range(FIRST_DISPLAY, LAST_DISPLAY + 1):
            if _display_in_use(number):
                continue
            started, last_error = self._try_start(binary, number)
            if started:
                return self
        raise XvfbError(f"could not start Xvfb: {last_error}")

    def _try_start(self, binary: str, number: int) -> tuple[bool, str]:
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen(
                [binary, f":{number}", "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                 "-nolisten", "tcp", "-noreset"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )
            socket = X11_SOCKET_DIR / f"X{number}"
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                if proc.poll() is not None:  # lost a race for the number, or a real failure
                    stderr.seek(0)
                    return False, f":{number} exited {proc.returncode}: {stderr.read().decode(errors='replace')[-500:]}"
                if socket.exists():
                    self._proc = proc
                    self.display = f":{number}"
                    return True, ""
                time.sleep(POLL_S)  # test helper polling the file system, not a worker loop
            _stop(proc)
            return False, f":{number} did not create {socket} within {START_TIMEOUT_S} s"

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None

    def __enter__(self) -> "Xvfb":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _stop(proc: subprocess.Popen) -> None:
    """Terminate by PID (our own child), escalate to kill, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def screenshot_dir() -> Path:
    """Where tests save what they draw: docs/screenshots when SENTINEL_UPDATE_SCREENSHOTS=1
    (to refresh the README's pictures), else a scratch folder, so a test run leaves the tree clean."""
    if os.environ.get("SENTINEL_UPDATE_SCREENSHOTS") == "1":
        path = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    else:
        path = Path(tempfile.gettempdir()) / "cafesentinel-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
