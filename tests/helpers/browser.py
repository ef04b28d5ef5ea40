"""A real headless Chromium driven over the W3C WebDriver protocol (Debian's chromium-driver).

chromedriver listens on a free loopback port and is stopped by its PID; the browser gets a
fresh profile and flags that keep it off the network (no sync, no updates, no background
fetches). The protocol is plain JSON over HTTP, so no client library is needed.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1"]
START_TIMEOUT_S = 30.0


def skip_unless_available() -> None:
    if not shutil.which("chromedriver") or not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One chromedriver process and one browser session."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="cafesentinel-chromium-")
        self.driver = subprocess.Popen(["chromedriver", f"--port={self.port}", "--allowed-ips=127.0.0.1"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.session = None
        try:
            self._wait_driver()
            caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
                "binary": CHROMIUM, "args": FLAGS + [f"--user-data-dir={self.profile}",
                                                     f"--window-size={width},{height}"]}}}}
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except BaseException:
            self.close()
            raise

    def _wait_driver(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self._call("GET", "/status")
                return
            except OSError:
                if time.monotonic() > deadline or self.driver.poll() is not None:
                    raise
                time.sleep(0.05)

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"WebDriver {method} {path}: {exc.read()[:500]!r}") from None

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    def go(self, url: str) -> None:
        self._call("POST", self._s("/url"), {"url": url})

    def run(self, script: str, *args):
        """Run JavaScript in the page (a function body; `arguments` holds args) and return its value."""
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def run_async(self, script: str, *args):
        """Like run(), but the script calls `arguments[arguments.length - 1](value)` when done."""
        return self._call("POST", self._s("/execute/async"), {"script": script, "args": list(args)})

    def wait(self, script: str, timeout: float = 10.0, what: str = "condition"):
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.run(f"return ({script});")
            if last:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{what} not seen in the page within {timeout} s (last: {last!r})")

    def resize(self, width: int, height: int) -> None:
        self._call("POST", self._s("/window/rect"), {"width": width, "height": height})

    def emulate(self, width: int, height: int, mobile: bool) -> None:
        """A device's viewport (a headless window cannot be narrower than 500 px)."""
        self._call("POST", self._s("/goog/cdp/execute"), {"cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}})

    def screenshot(self, path: Path, width: int, mobile: bool = False) -> Path:
        """The whole page at a viewport `width` px wide."""
        self.emulate(width, 800, mobile)
        height = self.run("return Math.ceil(document.documentElement.scrollHeight);")
        self.emulate(width, min(int(height), 4000), mobile)
        path.write_bytes(base64.b64decode(self._call("GET", self._s("/screenshot"))))
        return path

    def close(self) -> None:
        if self.session is not None:
            try:
                self._call("DELETE", self._s(""))
            except (OSError, AssertionError):
                pass
            self.session = None
        if self.driver.poll() is None:
            self.driver.terminate()  # by its PID; chromedriver ends the browser it started
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
