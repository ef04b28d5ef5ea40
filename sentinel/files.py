"""Writing files so that a reader, a crash or a power cut never sees half of one."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

def _fsync_dir(directory: Path) -> None:
    if os.name == "posix":
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


REPLACE_RETRY_S = 2.0


def _replace(tmp: str, path: Path) -> None:
    """os.replace. On Windows it fails with access denied while another process has `path` open
    (CPython opens files without FILE_SHARE_DELETE); readers of guard.json / heartbeat.json hold
    them for microseconds, so try again until REPLACE_RETRY_S has passed."""
    deadline = time.monotonic() + REPLACE_RETRY_S
    while True:
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if os.name != "nt" or time.monotonic() >= deadline:
                raise
            time.sleep(0.002)


def atomic_write(path: Path, data: bytes) -> None:
    """temp file in the same folder + fsync + rename: readers see the old or the new file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
