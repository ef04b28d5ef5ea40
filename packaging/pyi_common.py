"""What sentinel.spec and guard.spec share (imported by both; the specs are Python run by PyInstaller).

Layout of the deploy folder, built from the two one-folder bundles:

    CafeSentinel/
        CafeSentinel[.exe]         the app           (its files in _internal/)
        CafeSentinelGuard[.exe]    the guard         (its files in _internal_guard/)
        _internal/  _internal_guard/
        config.json  install.bat  uninstall.bat  CafeSentinelGuard.xml.template  README.txt

(install.bat and uninstall.bat come from the repository's top level, the template and
README.txt from packaging/, config.json from the top level.)

The two executables sit side by side, so each finds the other with the first candidate of
guard.default_app_command / partner.default_guard_command ("beside me"), and install.bat and
the task template find CafeSentinelGuard.exe in the install folder. The guard keeps its own
contents directory (EXE(contents_directory=...)), so the bundles never overwrite each other.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "CafeSentinel"
GUARD_NAME = "CafeSentinelGuard"
APP_CONTENTS = "_internal"
GUARD_CONTENTS = "_internal_guard"
IS_WINDOWS = sys.platform == "win32"
CONSOLE = not IS_WINDOWS  # windowed on Windows: no console window flashes at logon

# Chosen at run time by pystray / mss / sentinel.platform, so named here for the analysis.
if IS_WINDOWS:
    PLATFORM_IMPORTS = ["pystray._win32", "pystray._util.win32", "mss.windows", "sentinel.platform.windows"]
else:
    PLATFORM_IMPORTS = ["pystray._xorg", "mss.linux", "sentinel.platform.posix", "Xlib.support.unix_connect"]

COMMON_IMPORTS = [
    "pystray._dummy",  # PYSTRAY_BACKEND=dummy in headless runs
    "icmplib",
    "mss",
    "PIL.WebPImagePlugin",
    "PIL._webp",
    "PIL.ImageTk",
    "cryptography",
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography.hazmat.primitives.kdf.scrypt",
    "psutil",
    "tkinter",
    "requests",
]

# Data files the app reads beside its modules: the web dashboard's page and assets.
APP_DATAS = [("sentinel/services/web/static", "sentinel/services/web/static")]


def app_datas(spec_dir: str) -> list[tuple[str, str]]:
    return [(str(Path(spec_dir) / source), target) for source, target in APP_DATAS]


# Never used at run time; keeps the bundles smaller. numpy is only an optional extra of Pillow
# (Image.__array_interface__), but where it is installed the analysis pulls in ~45 MiB of it.
EXCLUDES = ["numpy", "yaml", "pytest", "_pytest", "PyInstaller", "pip", "setuptools", "gi",
            "AppKit", "Foundation", "objc"]


def prepare(spec_dir: str) -> None:
    """Make `sentinel` importable for the spec and keep pystray importable without a display.

    The pystray hook imports the package in a child process; without an X display the xorg
    backend raises there (the backends were still bundled, but with a noisy failure).
    """
    if spec_dir not in sys.path:
        sys.path.insert(0, spec_dir)
    os.environ.setdefault("PYSTRAY_BACKEND", "dummy")


def app_icon(spec_dir: str) -> str | None:
    """The committed icons/app.ico (drawn by sentinel.gui.icons, scripts/make_icons.py); Windows
    only (PyInstaller ignores executable icons on Linux)."""
    return str(Path(spec_dir) / "icons" / "app.ico") if IS_WINDOWS else None


def app_hidden_imports() -> list[str]:
    from PyInstaller.utils.hooks import collect_submodules

    # Every sentinel module, also those imported lazily inside functions (app.py builds on demand).
    return sorted(set(COMMON_IMPORTS + PLATFORM_IMPORTS + collect_submodules("sentinel")))


def guard_hidden_imports() -> list[str]:
    """The guard needs no GUI, pings or screenshots: only what sentinel.guard imports, plus the
    platform module that sentinel.platform picks at run time."""
    return [name for name in PLATFORM_IMPORTS if name.startswith("sentinel.")]
