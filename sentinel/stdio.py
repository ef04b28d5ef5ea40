"""Give a windowed build somewhere to write.

A PyInstaller build with console=False, started from Explorer or Task Scheduler, has no
console: sys.stdout and sys.stderr are None and every `sys.stdout.write` raises
AttributeError. Started with pipes or files as its std handles (the guard's spawn, a
script, `wexe`) it does have them, and they are left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO


def redirect_if_missing(log_path: Path) -> TextIO | None:
    """Point a missing sys.stdout/sys.stderr at `log_path` (appended, line-buffered).

    Returns the stream that now stands in, or None when nothing was missing. If the log
    cannot be opened the missing streams get os.devnull: writing must never crash.
    """
    if sys.stdout is not None and sys.stderr is not None:
        return None
    try:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    except OSError:
        stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream
    return stream
