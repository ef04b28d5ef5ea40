"""sentinel.stdio: a windowed build (sys.stdout/sys.stderr None) writes to a log, never crashes."""

import subprocess
import sys

from sentinel.stdio import redirect_if_missing

CHILD = """
import sys
from pathlib import Path
from sentinel.stdio import redirect_if_missing
sys.stdout = None
sys.stderr = None
stream = redirect_if_missing(Path(sys.argv[1]))
print("to stdout")
print("to stderr", file=sys.stderr)
assert sys.stdout is stream and sys.stderr is stream
"""


def test_missing_streams_go_to_the_log(tmp_path):
    log = tmp_path / "logs" / "stdio.log"
    log.parent.mkdir()
    log.write_text("before\n")
    result = subprocess.run([sys.executable, "-c", CHILD, str(log)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    assert log.read_text() == "before\nto stdout\nto stderr\n", "appended, every line flushed"


def test_log_folder_is_created_and_an_unwritable_log_falls_back_to_devnull(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = subprocess.run([sys.executable, "-c", CHILD, str(blocker / "sub" / "stdio.log")],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    nested = tmp_path / "a" / "b" / "stdio.log"
    assert subprocess.run([sys.executable, "-c", CHILD, str(nested)], timeout=30, check=False).returncode == 0
    assert nested.read_text() == "to stdout\nto stderr\n"


def test_present_streams_are_left_alone(tmp_path):
    before = (sys.stdout, sys.stderr)
    assert redirect_if_missing(tmp_path / "never.log") is None
    assert (sys.stdout, sys.stderr) == before
    assert not (tmp_path / "never.log").exists()
