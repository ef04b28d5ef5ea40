"""Run tests/windows under a real Windows CPython (Wine 8), from Linux.

The interpreter and its pinned packages come from scripts/wine-python.sh (tests/helpers/wine.py
runs its setup, cached). The Windows suite runs with a display of its own (Xvfb): mss and
pystray need one under Wine. Measured here: a warm run ~45 s (each Windows process start boots
Wine's services).
"""

import time

import pytest

from tests.helpers.wine import SETUP_TIMEOUT_S, windows_python

PYTEST_TIMEOUT_S = 600


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + PYTEST_TIMEOUT_S + 60)
def test_windows_suite_passes_under_wine(xvfb_display):
    wine = windows_python()
    t0 = time.monotonic()
    result = wine.run(wine.python_argv("-m", "pytest", "tests/windows", "-q", "-rs", "-p", "no:cacheprovider"),
                      PYTEST_TIMEOUT_S)
    print(f"\nwindows tests under Wine: {time.monotonic() - t0:.1f} s\n{result.stdout[-3000:]}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "error" not in summary, summary


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + PYTEST_TIMEOUT_S + 60)
def test_web_server_passes_under_windows_python():
    """The asyncio server on Windows' own event loop (Proactor): API, limits, fuzz, SSE, metrics."""
    wine = windows_python()
    tests = ["tests/services/web/test_api.py", "tests/services/web/test_events.py", "tests/services/web/test_metrics.py"]
    result = wine.run(wine.python_argv("-m", "pytest", *tests, "-q", "-rs", "-p", "no:cacheprovider"), PYTEST_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "error" not in summary, summary
