"""Run tests/windows under a real Windows CPython (Wine 8), from Linux.

Sets up (once, cached) the interpreter with ../shared/windows/wine-python.sh, installs the
pinned psutil/cryptography/pytest from the requirements files, then runs
`wpy -m pytest tests/windows` under xvfb-run. Cache: $SENTINEL_WINE_DIR or
~/.cache/cafesentinel-wine. Measured here: cold (apt + interpreter + prefix + pip) ~1.5 min,
warm ~45 s (each wpy call boots wineserver).
"""

import time

import pytest

from tests.helpers.wine import (
    pinned_requirements,
    pip_install_args,
    run_wine,
    wine_available,
)

NEEDED = ("psutil", "cryptography", "pytest", "pytest-timeout")
SETUP_TIMEOUT_S = 900
PYTEST_TIMEOUT_S = 600


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + PYTEST_TIMEOUT_S + 60)
def test_windows_suite_passes_under_wine():
    missing = wine_available()
    if missing:
        pytest.skip(f"LOUD SKIP: {missing}")

    t0 = time.monotonic()
    setup = run_wine(pip_install_args(*pinned_requirements(NEEDED)), SETUP_TIMEOUT_S)
    setup_s = time.monotonic() - t0
    if setup.returncode != 0:
        pytest.skip(f"LOUD SKIP: Wine Python setup failed ({setup.returncode}):\n"
                    f"{setup.stdout[-2000:]}{setup.stderr[-2000:]}")

    t1 = time.monotonic()
    result = run_wine(
        "xvfb-run -a -s '-screen 0 1280x800x24' "
        "bash -c \"$(wpy_cmd) -m pytest tests/windows -q -rs -p no:cacheprovider 2>&1 | cat\"",
        PYTEST_TIMEOUT_S)
    pytest_s = time.monotonic() - t1
    print(f"\nwine setup+pip {setup_s:.1f} s, windows tests {pytest_s:.1f} s\n{result.stdout[-3000:]}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "error" not in summary, summary
