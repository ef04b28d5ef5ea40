"""The whole app with its desktop (window + tray) under Xvfb, stopped by SIGTERM.

Tk objects must be freed on the Tk thread. If a cycle holding them were left for the collector,
whichever thread ran it next (a sender, the engine, a tray icon) would make Tcl abort the
process with exit code 134 ("Tcl_AsyncDelete: async handler deleted by the wrong thread").
The child reports how many Tk objects are still alive after main() returned: it must be none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers.apprun import REPO_ROOT, AppRun, wait_until

CHILD = r"""
import gc, sys, tkinter
from sentinel.app import main
code = main(sys.argv[1:])
print(f"tk objects left: {sum(isinstance(o, tkinter.Misc) for o in gc.get_objects())}", flush=True)
sys.exit(code)
"""


def _window_ids(display: str) -> list[str]:
    found = subprocess.run(["xdotool", "search", "--name", "^CafeSentinel"], capture_output=True, text=True,
                           timeout=10, check=False, env={"DISPLAY": display})
    return found.stdout.split()


@pytest.mark.needs_display
def test_demo_desktop_stops_on_sigterm_and_frees_tk_on_its_own_thread(gui_display, tmp_path):
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (scripts/setup.sh installs it)")
    app = AppRun([sys.executable, "-c", CHILD, "--demo", "--data-dir", str(tmp_path / "data")],
                 env={"DISPLAY": gui_display.display})
    try:
        app.wait_line("CafeSentinel demo")
        wait_until(lambda: _window_ids(gui_display.display), what="the status window on the screen")
        rc, seconds = app.stop()
    finally:
        if app.proc.poll() is None:
            app.kill()
    assert rc == 0, app.stderr_tail()
    assert seconds < 5
    assert app.wait_line("tk objects left:") == "tk objects left: 0"
    assert not _window_ids(gui_display.display)


ORPHAN = r"""
import gc, threading
from sentinel.bus import EventBus
from sentinel.config.model import Config
from sentinel.gui.desktop import Desktop, NullTrayIcons

desktop = Desktop(EventBus(), Config(), tray_factory=lambda menu, popup: NullTrayIcons())
desktop.root.update()
desktop.shutdown()
del desktop  # now only cycles hold the widgets: the next collection frees them, on its thread
collector = threading.Thread(target=gc.collect)
collector.start()
collector.join()
print("survived", flush=True)
"""


@pytest.mark.needs_display
def test_a_closed_desktop_collected_on_another_thread_does_not_abort(gui_display):
    done = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DISPLAY": gui_display.display}, cwd=REPO_ROOT)
    assert (done.returncode, done.stdout.strip()) == (0, "survived"), done.stderr[-2000:]
