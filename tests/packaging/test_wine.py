"""Run tests/windows under a real Windows CPython (Wine 8), from Linux.

Sets up (once, cached) the interpreter with ../shared/windows/wine-python.sh, installs the
pinned psutil/cryptography/pytest from the requirements files, then runs
`wpy -m pytest tests/windows` under xvfb-run. Cache: $SENTINEL_WINE_DIR or
~/.cache/cafesentinel-wine. Measured here: cold (apt + interpreter + prefix + pip) ~1.5 min,
warm ~45 s (each wpy call boots wineserver).
"""

import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WINE_SCRIPT = REPO.parent / "shared" / "windows" / "wine-python.sh"
NEEDED = ("psutil", "cryptography", "pytest", "pytest-timeout")
SETUP_TIMEOUT_S = 900
PYTEST_TIMEOUT_S = 600


def pinned_requirements() -> list[str]:
    """The `name==version` pins of NEEDED, read from requirements*.txt (one source of truth)."""
    pins = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text().splitlines():
            match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
            if match and match.group(1).lower() in NEEDED:
                pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(2)}"
    missing = [name for name in NEEDED if name not in pins]
    assert not missing, f"requirements files do not pin {missing}"
    return [pins[name] for name in NEEDED]


def run_bash(script: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + PYTEST_TIMEOUT_S + 60)
def test_windows_suite_passes_under_wine():
    if not WINE_SCRIPT.exists():
        pytest.skip(f"LOUD SKIP: {WINE_SCRIPT} not found; cannot run the Windows tests")
    cache = Path(os.environ.get("SENTINEL_WINE_DIR", Path.home() / ".cache" / "cafesentinel-wine"))
    source = f"source {shlex.quote(str(WINE_SCRIPT))} {shlex.quote(str(cache))} >/dev/null 2>&1"
    pins = " ".join(shlex.quote(pin) for pin in pinned_requirements())

    t0 = time.monotonic()
    setup = run_bash(f"{source} && wpy -m pip install -q --disable-pip-version-check "
                     f"--no-warn-script-location {pins}", SETUP_TIMEOUT_S)
    setup_s = time.monotonic() - t0
    if setup.returncode != 0:
        pytest.skip(f"LOUD SKIP: Wine Python setup failed ({setup.returncode}):\n"
                    f"{setup.stdout[-2000:]}{setup.stderr[-2000:]}")

    t1 = time.monotonic()
    result = run_bash(
        f"{source} && xvfb-run -a -s '-screen 0 1280x800x24' "
        f"bash -c \"$(wpy_cmd) -m pytest tests/windows -q -rs -p no:cacheprovider 2>&1 | cat\"",
        PYTEST_TIMEOUT_S)
    pytest_s = time.monotonic() - t1
    print(f"\nwine setup+pip {setup_s:.1f} s, windows tests {pytest_s:.1f} s\n{result.stdout[-3000:]}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "error" not in summary, summary
