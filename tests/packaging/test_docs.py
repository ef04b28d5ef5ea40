"""The project stands alone and says one thing: no tracked file points at notes outside the
repository, and the README and the shipped README.txt give the same install order."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Design notes that live outside the repository; a user's copy does not have them.
OUTSIDE = re.compile(r"\b(SPEC|NOTES|STYLE)\.md\b|\.\./shared\b|\bshared/(windows|SPEC|NOTES|STYLE)")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    paths = [REPO / name.decode() for name in names if name]
    return [p for p in paths if p.is_file() and b"\0" not in p.read_bytes()[:8192]]


def test_no_tracked_file_cites_notes_outside_the_repository():
    hits = []
    for path in tracked_text_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not hits, "cite README.md or docs/ instead:\n" + "\n".join(hits)


def windows_steps(text: str) -> list[str]:
    """The Windows install steps in order, as the words that name them."""
    marks = {"copy": r"\bcopy\b", "install.bat": r"install\.bat", "setup": r"\bsetup\b"}
    steps = re.findall(r"^\s*\d\.\s+(.+(?:\n(?!\s*\d\.)\s+\S.*)*)", text, re.MULTILINE)
    found = []
    for step in steps:
        first = min(((m.start(), name) for name, pattern in marks.items()
                     if (m := re.search(pattern, step, re.IGNORECASE))), default=None)
        if first:
            found.append(first[1])
    return found


def test_readme_and_shipped_readme_give_the_same_windows_install_order():
    readme = (REPO / "README.md").read_text()
    windows = readme[readme.index("### Windows"):readme.index("### Linux")]
    shipped = (REPO / "packaging" / "README.txt").read_text()
    shipped = shipped[shipped.index("Getting started"):shipped.index("On Linux")]
    assert windows_steps(windows) == windows_steps(shipped) == ["copy", "install.bat", "setup"]
