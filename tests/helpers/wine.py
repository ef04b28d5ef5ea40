"""Windows CPython under Wine 8 for tests, set up once and cached (../shared/windows/wine-python.sh).

Cache: $SENTINEL_WINE_DIR or ~/.cache/cafesentinel-wine (interpreter, Wine prefix, pip installs).
Every command runs in bash after sourcing the script, so `wpy`, `wexe` and `wpy_cmd` are defined.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WINE_SCRIPT = REPO.parent / "shared" / "windows" / "wine-python.sh"


def wine_cache() -> Path:
    return Path(os.environ.get("SENTINEL_WINE_DIR", Path.home() / ".cache" / "cafesentinel-wine"))


def wine_available() -> str | None:
    """None when the Wine setup script exists, else why the Windows side cannot run here."""
    if not WINE_SCRIPT.exists():
        return f"{WINE_SCRIPT} not found; cannot run the Windows side"
    return None


def source_line() -> str:
    """Bash that sets up (or reuses) the cached interpreter and defines wpy / wexe / wpy_cmd."""
    return f"source {shlex.quote(str(WINE_SCRIPT))} {shlex.quote(str(wine_cache()))} >/dev/null 2>&1"


def pinned_requirements(names: tuple[str, ...]) -> list[str]:
    """The `name==version` pins of `names`, read from requirements*.txt (one source of truth)."""
    pins = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text().splitlines():
            match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
            if match and match.group(1).lower() in names:
                pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(2)}"
    missing = [name for name in names if name not in pins]
    assert not missing, f"requirements files do not pin {missing}"
    return [pins[name] for name in names]


def run_bash(script: str, timeout: float, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


def run_wine(script: str, timeout: float, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """`script` with the Wine interpreter set up first (wpy, wexe, wpy_cmd defined)."""
    return run_bash(f"{source_line()} && {script}", timeout, cwd)


def pip_install_args(*specs: str) -> str:
    return "wpy -m pip install -q --disable-pip-version-check --no-warn-script-location " + " ".join(
        shlex.quote(spec) for spec in specs)


def windows_path(path: Path) -> str:
    """A Linux path as Wine's Windows programs see it (drive Z: is /)."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")
