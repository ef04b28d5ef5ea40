"""Driving real Tk widgets in tests: event pumping with a deadline, typing, PNG captures."""

from __future__ import annotations

import time
import tkinter as tk
from pathlib import Path

PUMP_TIMEOUT_S = 5.0


def pump(root: tk.Misc, until=None, timeout: float = PUMP_TIMEOUT_S) -> bool:
    """Process Tk events until `until()` is true (or, with no predicate, until idle).

    Bounded by `timeout`; returns the predicate's last value (True when there is none).
    """
    deadline = time.monotonic() + timeout
    while True:
        root.update()
        if until is None:
            return True
        if until():
            return True
        if time.monotonic() > deadline:
            return bool(until())
        root.after(10)  # let time pass between polls without a busy loop (Tk's own wait)


def type_into(entry, text: str) -> None:
    """Replace an Entry's text the way a user would end up with it."""
    entry.delete(0, "end")
    entry.insert(0, text)


def capture_png(window: tk.Misc, path: Path, margin: int = 0) -> Path:
    """Save what the X server shows for `window` (real pixels, via mss) as a PNG."""
    import mss
    from PIL import Image

    window.update()
    region = {
        "left": max(window.winfo_rootx() - margin, 0),
        "top": max(window.winfo_rooty() - margin, 0),
        "width": window.winfo_width() + 2 * margin,
        "height": window.winfo_height() + 2 * margin,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with mss.MSS(display=window.winfo_screen()) as screen:
        shot = screen.grab(region)
    Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX").save(path)
    return path
