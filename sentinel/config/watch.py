"""Hot reload: watch config.json, publish ConfigReloaded or ConfigRejected. Monitoring never stops."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from sentinel.bus import EventBus
from sentinel.config.model import Config, changed_sections, parse_config
from sentinel.files import atomic_write
from sentinel.events import ConfigRejected, ConfigReloaded

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0  # README: a change applies within 2 s


class ConfigWatcher:
    """Polls the file's stat, then its content hash; only a real change is parsed and published."""

    def __init__(self, path: Path, config: Config, bus: EventBus, raw: bytes = b"",
                 last_good: Path | None = None):
        self._path = Path(path)
        self._last_good = last_good
        self.config = config
        self._bus = bus
        self._seen_digest = hashlib.sha256(raw).digest() if raw else None
        self._unsaved: bytes | None = None  # a valid config whose last good copy could not be written yet
        self._seen_stat = self._stat()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stat(self):
        try:
            st = self._path.stat()
            return st.st_mtime_ns, st.st_size, st.st_ino
        except OSError:
            return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="config-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(CHECK_EVERY_S):
            try:
                self.check()
            except Exception:
                log.exception("config check failed; the current config stays in force")

    def check(self) -> None:
        if self._unsaved is not None:
            self._save_last_good(self._unsaved)
        stat = self._stat()
        if stat == self._seen_stat:
            return
        self._seen_stat = stat
        try:
            raw = self._path.read_bytes()
        except OSError as exc:
            self._reject([("", f"cannot read {self._path}: {exc.strerror or exc}")])
            return
        digest = hashlib.sha256(raw).digest()
        if digest == self._seen_digest:
            return
        self._seen_digest = digest
        config, problems = parse_config(raw)
        if problems:
            self._reject(problems)
            return
        changed = changed_sections(self.config, config)
        self.config = config
        if changed:
            log.info("config reloaded (%s)", ", ".join(changed))
            self._bus.publish(ConfigReloaded(config, changed))
        else:
            log.info("config file rewritten without an effective change")
        self._save_last_good(raw)

    def _save_last_good(self, raw: bytes) -> None:
        """The copy a start falls back on. A full or read-only disk does not stop the edit from
        applying; the copy is written on a later check (logged once when it fails, once when done)."""
        if self._last_good is None:
            return
        try:
            atomic_write(self._last_good, raw)
        except OSError as exc:
            if self._unsaved is None:
                log.warning("cannot save %s (%s); the new config applies, the copy is written later",
                            self._last_good.name, exc.strerror or exc)
            self._unsaved = raw
            return
        if self._unsaved is not None:
            log.info("%s saved", self._last_good.name)
        self._unsaved = None

    def _reject(self, problems) -> None:
        for path, message in problems:
            log.error("config rejected, keeping the last good one: %s: %s", path or "(file)", message)
        self._bus.publish(ConfigRejected(tuple(problems)))
