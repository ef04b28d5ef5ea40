"""A small tmpfs of the test's own, to fill up or turn read-only (needs root and mount(8)).

    with Tmpfs(tmp_path / "data", size_kib=1024) as disk:
        disk.fill()          # no space left: writes fail with ENOSPC
        disk.free()          # space again
        disk.read_only(True) # writes fail with EROFS
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FILLER = ".filler"


def skip_unless_mount() -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("SKIPPED LOUDLY: mounting a tmpfs needs root and mount(8)")


class Tmpfs:
    def __init__(self, path: Path, size_kib: int = 2048):
        self.path = Path(path)
        self.size_kib = size_kib

    def __enter__(self) -> "Tmpfs":
        skip_unless_mount()
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_kib}k,mode=0755", "tmpfs", str(self.path)],
                       check=True, timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False, timeout=10)

    def fill(self) -> None:
        """Write a filler file until not one more byte fits (bounded by the disk's size)."""
        size = 65536
        with open(self.path / FILLER, "ab", buffering=0) as out:
            for _ in range(self.size_kib // 64 + 64):
                try:
                    out.write(b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if size == 1:
                        return
                    size = max(1, size // 16)
        raise AssertionError(f"{self.path} did not fill up")

    def free(self) -> None:
        (self.path / FILLER).unlink(missing_ok=True)

    def read_only(self, on: bool) -> None:
        subprocess.run(["mount", "-o", f"remount,{'ro' if on else 'rw'}", str(self.path)], check=True, timeout=10)
