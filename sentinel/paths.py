"""Where things live. Nothing is ever written relative to the current working directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "CafeSentinel"


def install_dir() -> Path:
    """The folder of the executable (frozen) or of the entry script."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parent.parent


def default_config_path() -> Path:
    return install_dir() / "config.json"


def default_data_dir() -> Path:
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_DIR_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME.lower()


class DataDir:
    """The files of the data dir (README.md, "Where the data goes") under one root."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def create(self) -> "DataDir":
        for folder in (self.root, self.logs, self.config_backups):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def db(self) -> Path:
        return self.root / "sentinel.db"

    @property
    def incidents_csv(self) -> Path:
        return self.root / "incidents.csv"

    @property
    def sessions_csv(self) -> Path:
        return self.root / "sessions.csv"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "sentinel.log"

    @property
    def config_backups(self) -> Path:
        return self.root / "config_backups"

    @property
    def last_good_config(self) -> Path:
        """A copy of the newest valid config: used at start when config.json is broken."""
        return self.root / "last_good_config.json"

    @property
    def evidence(self) -> Path:
        """Evidence screenshots of incidents (kept evidence_retention_days) for reports."""
        return self.root / "evidence"

    @property
    def reports(self) -> Path:
        """--report and the monthly report write their HTML (and CSV) here."""
        return self.root / "reports"

    @property
    def demo_outbox(self) -> Path:
        """--demo: Discord messages are written here instead of sent."""
        return self.root / "demo_outbox"
