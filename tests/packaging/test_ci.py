"""CI runs what the README tells a person to run, strict, and fails when it tested nothing.

.ci/run is driven here with stand-in scripts/test.sh files (a copy of .ci/run in a scratch
folder), so its exit-code handling is exercised without running the suite inside the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI_RUN = REPO / ".ci" / "run"


def readme_test_command() -> str:
    """The README's one test command: the indented line that runs scripts/test.sh."""
    commands = [m.group(1).strip() for m in re.finditer(r"^ {4}([^#\n]*scripts/test\.sh[^#\n]*)", (
        REPO / "README.md").read_text(), re.MULTILINE)]
    assert len(commands) == 1, f"the README should give one test command, found {commands}"
    return commands[0]


def test_ci_runs_exactly_the_readme_test_command():
    command = readme_test_command()
    lines = [line.strip() for line in CI_RUN.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert command in lines, f".ci/run does not run the README's command {command!r}"
    assert "export SENTINEL_STRICT=1" in lines
    assert os.access(CI_RUN, os.X_OK)


@pytest.fixture
def ci_copy(tmp_path):
    """.ci/run in a scratch repo whose scripts/test.sh exits with $FAKE_RC and records its env."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(CI_RUN, tmp_path / ".ci" / "run")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "test.sh").write_text('echo "strict=$SENTINEL_STRICT cwd=$PWD" > ran.txt\nexit "$FAKE_RC"\n')

    def run(rc: int) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(tmp_path / ".ci" / "run")], cwd="/", capture_output=True, text=True,
                              env=dict(os.environ, FAKE_RC=str(rc)), timeout=30, check=False)
    return tmp_path, run


@pytest.mark.parametrize("pytest_rc, ci_rc", [(0, 0), (1, 1), (2, 2), (5, 1)])
def test_ci_passes_on_the_exit_code_and_fails_when_nothing_was_collected(ci_copy, pytest_rc, ci_rc):
    folder, run = ci_copy
    result = run(pytest_rc)
    assert result.returncode == ci_rc, result.stderr
    assert (folder / "ran.txt").read_text().strip() == f"strict=1 cwd={folder}"
    if pytest_rc == 5:
        assert "collected no tests" in result.stderr
