"""The Windows lane for tests: Windows programs (the Windows CPython, cmd, built .exe files)
under Wine, prepared by the project's scripts/wine-python.sh.

`windows_python()` runs that script's setup once per test session (a no-op when its cache is
warm: $SENTINEL_WINE_DIR or ~/.cache/cafesentinel-wine) and returns a `Wine` with the
interpreter, the prefix and the environment. When the setup fails the test is skipped loudly,
which SENTINEL_STRICT=1 turns into a failure for tests marked `wine`.

Wine gives a Windows program's stdout/stderr to CPython as files unless they are pipes, and
CPython stops at start when they are regular files: every call here captures both (pipes).
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WINE_SCRIPT = REPO / "scripts" / "wine-python.sh"
SETUP_TIMEOUT_S = 900  # cold: apt + interpreter download + prefix + pip installs, about 2 min here


@dataclass(frozen=True)
class Wine:
    """One prepared Wine prefix with a Windows CPython in it."""

    python: Path
    wine_env: dict[str, str]

    @property
    def system32(self) -> Path:
        return Path(self.wine_env["WINEPREFIX"]) / "drive_c" / "windows" / "system32"

    def env(self, **extra: str) -> dict[str, str]:
        """The current environment (DISPLAY included, as a test set it) plus Wine's."""
        return {**os.environ, **self.wine_env, **extra}

    def argv(self, program: str | Path, *args: str) -> list[str]:
        return ["wine", str(program), *map(str, args)]

    def python_argv(self, *args: str) -> list[str]:
        return self.argv(self.python, *args)

    def run(self, argv: list[str], timeout: float, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
        """Run to the end; stdout and stderr are captured through pipes (text)."""
        return subprocess.run(argv, cwd=cwd, env=self.env(**env), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout, check=False)


@functools.cache
def _prepare() -> Wine | str:
    try:
        setup = subprocess.run(["bash", str(WINE_SCRIPT), "setup"], cwd=REPO, capture_output=True, text=True,
                               timeout=SETUP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"{WINE_SCRIPT.name} setup did not finish in {SETUP_TIMEOUT_S} s"
    if setup.returncode != 0:
        return f"{WINE_SCRIPT.name} setup failed ({setup.returncode}):\n{setup.stdout[-2000:]}{setup.stderr[-2000:]}"
    printed = subprocess.run(["bash", str(WINE_SCRIPT), "env"], capture_output=True, text=True, check=True)
    wine_env = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    return Wine(python=Path(wine_env.pop("PYTHON_EXE")), wine_env=wine_env)


def windows_python() -> Wine:
    """The prepared Windows lane, or a loud skip saying why it cannot run here."""
    prepared = _prepare()
    if isinstance(prepared, str):
        pytest.skip(f"LOUD SKIP: the Windows side was NOT run: {prepared}")
    return prepared


def windows_path(path: Path) -> str:
    """A Linux path as Wine's Windows programs see it (drive Z: is /)."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")
