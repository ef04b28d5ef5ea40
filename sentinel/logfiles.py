"""logs/sentinel.log: a daily rotating file, webhook tokens masked, quiet while the disk is full."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from sentinel.config.model import Config
from sentinel.paths import DataDir
from sentinel.services.discord.webhook import TokenFilter


class LogFile(logging.handlers.TimedRotatingFileHandler):
    """logs/sentinel.log. While a line cannot be written (a full disk) lines are dropped: one
    line on stderr when that starts and one when the file takes lines again, not a traceback
    per line."""

    failing = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed = False
        super().emit(record)
        if self.failing and not self._failed:
            self.failing = False
            _tell_stderr(f"{self.baseFilename}: writable again")

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed = True
        if not self.failing:
            self.failing = True
            _tell_stderr(f"{self.baseFilename}: cannot write ({sys.exc_info()[1]}); log lines are dropped "
                         "until it works again")


def _tell_stderr(text: str) -> None:
    try:
        print(f"sentinel_app.py: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass  # no stderr at all (windowed build)


def setup_logging(data: DataDir, retention_days: int) -> None:
    handler = LogFile(data.log_file, when="midnight", backupCount=retention_days, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(TokenFilter())  # urllib3 logs request paths, which hold webhook tokens
    # Without a tray host pystray logs "Failed to dock icon" many times a second.
    logging.getLogger("pystray").setLevel(logging.CRITICAL)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def apply_log_retention(config: Config) -> None:
    """A reloaded log_retention_days applies at the next rotation."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.TimedRotatingFileHandler):
            handler.backupCount = config.system_settings.log_retention_days

