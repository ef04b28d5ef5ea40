"""One Xvfb for every display test in this folder's process.

Tk keeps the X connection of a destroyed root open, and once that X server stops, the next
Tk event processing aborts the whole process ("XIO: fatal IO error"). So Tk tests in one
pytest process must share one X server: `gui_display` is session-scoped.
"""

from __future__ import annotations

import pytest

from tests.helpers.xvfb import Xvfb, require_xvfb


@pytest.fixture(scope="session")
def gui_xvfb():
    require_xvfb()
    with Xvfb(1920, 1080) as server:
        yield server


@pytest.fixture
def gui_display(gui_xvfb, monkeypatch):
    """DISPLAY set to the session's Xvfb for one test; yields the Xvfb object."""
    monkeypatch.setenv("DISPLAY", gui_xvfb.display)
    yield gui_xvfb
