"""Headless Chromium (Debian `chromium`) on local files only: screenshots and print-to-PDF."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TIMEOUT_S = 90.0


def require_chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    return binary


def _run(page: Path, *args: str) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        # No network: a file:// page, and every background service switched off.
        command = [require_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--no-first-run", f"--user-data-dir={profile}", *args, Path(page).resolve().as_uri()]
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
