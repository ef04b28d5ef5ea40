"""Run the real sentinel_app.py as a child process and watch what it prints and records."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


class AppRun:
    """One app process; stdout lines are collected on a reader thread."""

    def __init__(self, argv: list[str], popen=subprocess.Popen, env: dict | None = None):
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self.proc = popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env or {})))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def command(cls, *args: str) -> list[str]:
        return [sys.executable, str(REPO_ROOT / "sentinel_app.py"), *args]

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_line(self, text: str, timeout: float = 20.0, start: int = 0) -> str:
        """The first line (from index `start` on) containing `text`; fails at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines[start:]:
                if text in line:
                    return line
            start = len(self.lines)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None and self._queue.empty():
                raise AssertionError(f"no line with {text!r} within {timeout} s; rc={self.proc.poll()}; "
                                     f"output:\n" + "\n".join(self.lines[-40:]) + "\nstderr:\n" + self.stderr_tail())
            try:
                self.lines.append(self._queue.get(timeout=min(remaining, 0.2)))
            except queue.Empty:
                pass

    def mark(self) -> int:
        """Index to pass as `start` so wait_line only looks at what comes after now."""
        while True:
            try:
                self.lines.append(self._queue.get_nowait())
            except queue.Empty:
                return len(self.lines)

    def stderr_tail(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return (self.proc.stderr.read() or "")[-3000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send `sig`; return (exit code, seconds until exit)."""
        start = time.monotonic()
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        return rc, time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def query(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Read-only query; [] while the app has not created the database yet."""
    if not Path(db).exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # created, schema not written yet
            return []
        raise
    finally:
        conn.close()


def wait_until(predicate, timeout: float = 20.0, what: str = "condition", interval: float = 0.1):
    """Poll `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        threading.Event().wait(interval)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")
