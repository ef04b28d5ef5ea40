"""The desktop of a running app: wires the status window and tray to the wizard, the password
dialogs, privacy mode and the Discord test. Everything here runs on the Tk thread."""

from __future__ import annotations

import logging
import threading
import time
from tkinter import messagebox

from sentinel.config.model import config_from_dict, save_config
from sentinel.errors import ConfigError
from sentinel.events import Component
from sentinel.gui.desktop import Desktop
from sentinel.gui.dialogs import ask_exit, ask_privacy_off, ask_privacy_on
from sentinel.gui.window import IncidentRow
from sentinel.gui.wizard import SetupWizard
from sentinel.services.discord.webhook import send_test_messages

log = logging.getLogger(__name__)


class DesktopShell:
    def __init__(self, sentinel) -> None:
        self._app = sentinel
        self._dialog = None
        self.desktop = Desktop(sentinel.bus, sentinel.config, on_privacy=self.privacy, on_send_test=self.send_test,
                               on_exit=self.exit, recent_incidents=self._recent_incidents,
                               clock=sentinel.clock.wall, show_window=sentinel.demo,
                               on_progress=sentinel.progress("window"))

    def run(self) -> None:
        check = getattr(self._app, "vault_check", None)
        if check is not None and check.needs_setup:
            self.desktop.post(self.open_wizard, "setup wizard")
        self.desktop.run()

    def request_stop(self) -> None:
        """SIGINT/SIGTERM: stop without a shutdown intent (the guard, if any, restarts us)."""
        self.desktop.shutdown()

    # -- menu hooks ------------------------------------------------------------------------

    def _busy(self) -> bool:
        """One dialog at a time: a second click on the tray brings the open one forward."""
        dialog = self._dialog  # the dialogs and the wizard are Toplevels
        if dialog is not None and dialog.winfo_exists():
            dialog.lift()
            return True
        return False

    def exit(self) -> None:
        if self._app.vault is None:  # the demo has no passwords
            self._exit_confirmed()
            return
        if not self._busy():
            self._dialog = ask_exit(self.desktop.root, self._app.vault, on_exit=self._exit_confirmed,
                                    on_alert=self._lockout)

    def _exit_confirmed(self) -> None:
        self._app.password_exit()
        self.desktop.shutdown()

    def privacy(self) -> None:
        privacy = self._app.privacy
        if self._app.vault is None:
            if privacy.is_on(time.time()):
                privacy.turn_off(time.time())
            else:
                privacy.turn_on(time.time())
            return
        if self._busy():
            return
        if privacy.is_on(time.time()):
            self._dialog = ask_privacy_off(self.desktop.root, self._app.vault,
                                           on_disable=lambda: privacy.turn_off(time.time()), on_alert=self._lockout)
        else:
            self._dialog = ask_privacy_on(self.desktop.root, self._app.vault,
                                          self._app.config.screenshot_settings.privacy_minutes,
                                          on_enable=lambda minutes: privacy.turn_on(time.time(), minutes),
                                          on_alert=self._lockout)

    def _lockout(self, alert) -> None:
        self._app.notifier.report("Wrong passwords", alert.text())

    def send_test(self) -> None:
        config = self._app.config

        def work() -> None:
            try:
                results = send_test_messages(config)
            except Exception as exc:  # reported to the owner, not swallowed
                log.exception("send test failed")
                results = [("all", False, str(exc))]
            text = "\n".join(f"{kind}: {'OK' if ok else 'FAILED'} - {detail}" for kind, ok, detail in results)
            self.desktop.post(lambda: messagebox.showinfo("Discord test", text, parent=self.desktop.root))

        threading.Thread(target=work, name="send-test", daemon=True).start()

    # -- first run -------------------------------------------------------------------------

    def open_wizard(self) -> None:
        check = self._app.vault_check
        self._dialog = SetupWizard(self.desktop.root, self._app.vault, on_done=self._setup_done,
                                   send_test=send_test_messages, initial=self._app.config, tamper=check.tamper,
                                   on_cancel=lambda: log.warning("setup cancelled: nothing is monitored"))

    def _setup_done(self, config_dict: dict) -> None:
        """Save with a backup; the config watcher hot-applies it within a second or two."""
        config, problems = config_from_dict(config_dict)
        if problems:
            raise ConfigError(problems)
        save_config(config, self._app.config_path, self._app.data.config_backups)
        self._app.vault_check = self._app.vault.check(time.time(), config_configured=True)

    def _recent_incidents(self) -> list[IncidentRow]:
        return [IncidentRow(row["key"], Component(row["cause"]), row["start_wall"], row["end_wall"])
                for row in self._app.storage.recent_incidents(10)]
