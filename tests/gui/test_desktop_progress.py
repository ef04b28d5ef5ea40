"""The desktop's queue drain is the window's heartbeat: it beats while the Tk thread handles its
queue and stops the moment that thread is stuck, so the guard can tell a frozen window."""

from __future__ import annotations

import threading
import time

import pytest

from sentinel.bus import EventBus
from sentinel.config.model import Config

DEADLINE_S = 5.0


@pytest.mark.needs_display
def test_drain_beats_while_tk_runs_and_not_while_it_is_stuck(gui_display):
    from sentinel.gui.desktop import DRAIN_MS, Desktop, NullTrayIcons

    beats = []
    desktop = Desktop(EventBus(), Config(), tray_factory=lambda menu, popup: NullTrayIcons(),
                      on_progress=lambda: beats.append(threading.current_thread()))
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(beats) < 3 and time.monotonic() < deadline:
            desktop.root.update()
            time.sleep(DRAIN_MS / 1000)
        assert len(beats) >= 3 and set(beats) == {threading.current_thread()}  # on the Tk thread

        stuck_for = 10 * DRAIN_MS / 1000
        before_stuck = []
        desktop.post(lambda: (before_stuck.append(len(beats)), time.sleep(stuck_for)), "a stuck handler")
        deadline = time.monotonic() + DEADLINE_S
        while not before_stuck and time.monotonic() < deadline:
            desktop.root.update()
        # The handler ran inside one drain, for ten drain periods: no beat in between.
        assert before_stuck and len(beats) == before_stuck[0]
    finally:
        desktop.shutdown()
