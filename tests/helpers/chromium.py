"""Headless Chromium's own command line on local files: screenshots and print-to-PDF.

The same browser and network-free flags as tests/helpers/browser.py (WebDriver), without a driver.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers.browser import CHROMIUM, FLAGS

TIMEOUT_S = 90.0


def _run(page: Path, *args: str) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (scripts/setup.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, Path(page).resolve().as_uri()]
        subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT_S)


def screenshot(page: Path, out: Path, width: int, height: int) -> Path:
    _run(page, f"--window-size={width},{height}", f"--screenshot={out}")
    return out


def print_pdf(page: Path, out: Path) -> Path:
    _run(page, "--no-pdf-header-footer", f"--print-to-pdf={out}")
    return out


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=30).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=30).stdout
