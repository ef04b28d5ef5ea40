"""Write the app icon files (app.ico with every size, app.png) from sentinel.gui.icons.

    python3 scripts/make_icons.py [OUT_DIR]      (default: icons/ at the repository's top)

icons/ is committed: the PyInstaller specs give icons/app.ico to the Windows executables.
Run this after changing the drawing code and commit the result;
tests/packaging/test_icon_assets.py fails while icons/ and the drawing disagree.
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
