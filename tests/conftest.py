"""Suite-wide rules: in CI (SENTINEL_STRICT=1) a test that needs root or a display and is
skipped is a failure, so the real-network and real-window tests cannot pass by not running."""

import gc
import os
import sys

import pytest

from tests.helpers.xvfb import Xvfb, require_xvfb

STRICT_MARKERS = ("needs_root", "needs_display", "wine")
# tests/windows is for a Windows CPython (tests/packaging/test_wine.py runs it under Wine here):
# elsewhere it is not collected, rather than listed as skipped.
collect_ignore = [] if sys.platform == "win32" else ["windows"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("SENTINEL_STRICT") != "1" or not report.skipped:
        return
    marks = [m for m in STRICT_MARKERS if item.get_closest_marker(m)]
    if marks:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"SENTINEL_STRICT=1: a {'/'.join(marks)} test must run here, but it was skipped: {reason}"


@pytest.fixture(scope="session")
def xvfb_server():
    """ONE 1920x1080 Xvfb for the whole run: Tk keeps the X connection of a destroyed root, and
    once that server stops the next Tk call aborts the process ("XIO: fatal IO error")."""
    require_xvfb()
    with Xvfb(1920, 1080) as server:
        yield server


@pytest.fixture
def xvfb_display(xvfb_server, monkeypatch):
    """DISPLAY set to the session's Xvfb for one test; yields the Xvfb object."""
    monkeypatch.setenv("DISPLAY", xvfb_server.display)
    yield xvfb_server
    # A Tk object left in a reference cycle must be freed here, on the thread that made it: if a
    # later test's thread (a tray icon, a sender) happens to run the collector, Tcl aborts the
    # whole run ("Tcl_AsyncDelete: async handler deleted by the wrong thread", exit 134).
    gc.collect()
