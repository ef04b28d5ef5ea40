"""Write the app icon files (app.ico with every size, app.png) from sentinel.gui.icons.

    python3 scripts/make_icons.py [OUT_DIR]      (default: icons/ beside this repo's root)

The files are generated, not committed: the PyInstaller spec calls
sentinel.gui.icons.write_app_icons() at build time the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentinel.gui.icons import write_app_icons  # noqa: E402


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "icons"
    for path in write_app_icons(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
