"""The Task Scheduler template and the install/uninstall scripts.

The template is rendered the way install.bat renders it (XML-escape the values, replace the
placeholders, write UTF-16 LE with a BOM) and read back with xml.etree. Under Wine, the .bat
files run through cmd as far as Wine allows (Wine's schtasks and powershell are stubs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from tests.helpers.wine import SETUP_TIMEOUT_S, Wine, windows_python

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "packaging" / "CafeSentinelGuard.xml.template"
INSTALL_BAT, UNINSTALL_BAT = REPO / "install.bat", REPO / "uninstall.bat"
NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def render(install_dir: str, user: str) -> bytes:
    """What install.bat's PowerShell step writes: escaped values, UTF-16 LE with a BOM."""
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("{{INSTALL_DIR}}", escape(install_dir, {'"': "&quot;", "'": "&apos;"}))
    text = text.replace("{{USER_ID}}", escape(user, {'"': "&quot;", "'": "&apos;"}))
    return b"\xff\xfe" + text.encode("utf-16-le")


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def text_of(root: ET.Element, path: str) -> str:
    node = root.find(path, NS)
    assert node is not None, f"{path} is missing"
    return (node.text or "").strip()


def test_template_is_ascii_and_declares_utf16():
    raw = TEMPLATE.read_bytes()
    assert raw.isascii(), "kept ASCII so UTF-8, ANSI and the PowerShell reader agree"
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-16"?>')
    assert set(PLACEHOLDER.findall(raw.decode())) == {"INSTALL_DIR", "USER_ID"}


def test_rendered_task_has_the_required_settings():
    root = parse(render(r"C:\CafeSentinel", r"CAFE-PC\Owner"))
    assert root.tag == f"{{{NS['t']}}}Task"
    assert not PLACEHOLDER.search(ET.tostring(root, encoding="unicode"))

    assert text_of(root, "t:Triggers/t:LogonTrigger/t:Enabled") == "true"
    assert text_of(root, "t:Triggers/t:LogonTrigger/t:UserId") == r"CAFE-PC\Owner"
    assert len(root.findall("t:Triggers/*", NS)) == 1, "only the logon trigger"

    principal = root.find("t:Principals/t:Principal", NS)
    assert text_of(principal, "t:UserId") == r"CAFE-PC\Owner"
    assert text_of(principal, "t:RunLevel") == "HighestAvailable"
    assert text_of(principal, "t:LogonType") == "InteractiveToken", "the tray needs the desktop session"
    assert root.find("t:Actions", NS).get("Context") == principal.get("id")

    settings = {child.tag.split("}")[1]: (child.text or "").strip() for child in root.find("t:Settings", NS)}
    assert settings["ExecutionTimeLimit"] == "PT0S"
    assert settings["DisallowStartIfOnBatteries"] == "false"
    assert settings["StopIfGoingOnBatteries"] == "false"
    assert settings["MultipleInstancesPolicy"] == "IgnoreNew"
    assert settings["StartWhenAvailable"] == "true"
    assert settings["Hidden"] == "false"
    assert settings["Enabled"] == "true"
    assert settings["RunOnlyIfNetworkAvailable"] == "false"
    assert 4 <= int(settings["Priority"]) <= 6, "normal priority, not the background default 7"
    interval = text_of(root, "t:Settings/t:RestartOnFailure/t:Interval")
    count = int(text_of(root, "t:Settings/t:RestartOnFailure/t:Count"))
    assert re.fullmatch(r"PT([1-9]\d*)M", interval) and 1 <= count <= 255  # schema: >= PT1M, unsignedByte

    assert text_of(root, "t:Actions/t:Exec/t:Command") == r"C:\CafeSentinel\CafeSentinelGuard.exe"
    assert text_of(root, "t:Actions/t:Exec/t:WorkingDirectory") == r"C:\CafeSentinel"


def test_logon_trigger_children_follow_the_schema_order():
    order = ["StartBoundary", "EndBoundary", "Enabled", "Repetition", "ExecutionTimeLimit", "UserId", "Delay"]
    root = parse(render(r"C:\x", "u"))
    names = [child.tag.split("}")[1] for child in root.find("t:Triggers/t:LogonTrigger", NS)]
    assert names == sorted(names, key=order.index)


@pytest.mark.parametrize("folder, user", [
    (r"C:\Games & Tools\CafeSentinel", r"CAFE\Anh <owner>"),
    (r"D:\Programme (x86)\Café \"Ost\"", "Zoë's PC\\Kassa"),
])
def test_awkward_paths_and_names_survive_escaping(folder, user):
    root = parse(render(folder, user))
    assert text_of(root, "t:Actions/t:Exec/t:WorkingDirectory") == folder
    assert text_of(root, "t:Triggers/t:LogonTrigger/t:UserId") == user


def test_install_bat_fills_every_placeholder_and_writes_utf16():
    bat = INSTALL_BAT.read_text()
    for name in PLACEHOLDER.findall(TEMPLATE.read_text()):
        assert f"Replace('{{{{{name}}}}}', [Security.SecurityElement]::Escape(" in bat, name
    assert "[Text.Encoding]::Unicode" in bat  # .NET's UTF-16 LE; WriteAllText adds the BOM
    assert 'schtasks /Create /TN "%CS_TASK%" /XML "%CS_XML%" /F' in bat
    assert 'schtasks /Run /TN "%CS_TASK%"' in bat
    assert "net session" in bat


def test_uninstall_verifies_before_it_removes_anything():
    bat = UNINSTALL_BAT.read_text()
    verify = bat.index('"%CS_APP%" --verify-admin --exit')
    assert verify < bat.index('schtasks /Delete /TN "%CS_TASK%" /F')
    assert "taskkill" not in bat.lower() and "schtasks /end" not in bat.lower()
    assert "%LOCALAPPDATA%\\CafeSentinel" in bat


def test_both_scripts_name_the_same_task_and_use_crlf():
    for path in (INSTALL_BAT, UNINSTALL_BAT):
        raw = path.read_bytes()
        assert b'set "CS_TASK=CafeSentinel\\Guard"' in raw
        assert raw.count(b"\n") == raw.count(b"\r\n"), f"{path.name}: cmd wants CRLF line ends"


# -- Wine: cmd really parses and runs the scripts ----------------------------------------------

def run_bat(wine: Wine, folder: Path, name: str) -> subprocess.CompletedProcess:
    return wine.run(wine.argv("cmd", "/c", name), timeout=120, cwd=folder, CS_NOPAUSE="1")


@pytest.fixture
def wine_folder(tmp_path):
    wine = windows_python()
    for item in (INSTALL_BAT, UNINSTALL_BAT, TEMPLATE):  # side by side, as in the installed folder
        shutil.copy(item, tmp_path / item.name)
    return wine, tmp_path


CMD_PARSE_ERRORS = ("was unexpected at this time", "syntax of the command is incorrect", "is not recognized")


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + 240)
def test_install_bat_runs_under_wine_cmd(wine_folder):
    wine, folder = wine_folder
    missing = run_bat(wine, folder, "install.bat")
    assert missing.returncode == 1 and "CafeSentinelGuard.exe is not in" in missing.stdout
    shutil.copy(wine.system32 / "whoami.exe", folder / "CafeSentinelGuard.exe")
    result = run_bat(wine, folder, "install.bat")
    out = result.stdout
    assert "Registering the CafeSentinel guard for" in out, out
    assert not any(e in out.lower() for e in CMD_PARSE_ERRORS), out
    # Wine's powershell and schtasks are stubs: the run ends at registration, on a handled branch.
    assert "Installation failed" in out or "CafeSentinel is installed" in out, out


@pytest.mark.wine
@pytest.mark.timeout(SETUP_TIMEOUT_S + 240)
def test_uninstall_bat_stops_at_a_wrong_password_under_wine_cmd(wine_folder):
    wine, folder = wine_folder
    shutil.copy(wine.system32 / "hostname.exe", folder / "CafeSentinel.exe")  # exits 1 on unknown flags
    result = run_bat(wine, folder, "uninstall.bat")
    assert result.returncode == 1
    assert "The admin password was not confirmed. Nothing was changed." in result.stdout
    assert "task" not in result.stdout.lower().split("nothing was changed")[1]

    shutil.copy(wine.system32 / "whoami.exe", folder / "CafeSentinel.exe")  # exits 0: "verified"
    out = run_bat(wine, folder, "uninstall.bat").stdout
    assert not any(e in out.lower() for e in CMD_PARSE_ERRORS), out
    assert ("was not registered" in out or "could not be removed" in out
            or "will no longer start at logon" in out), out
