"""The desktop of a running app: wires the status window and tray to the setup, Settings, the
password dialogs, privacy mode and the Discord test. Everything here runs on the Tk thread.

The composition root hands over what the desktop may use (`ShellParts`); the shell never
reaches into the root.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sentinel import __version__
from sentinel.config.model import Config, config_from_dict, save_config
from sentinel.errors import ConfigError
from sentinel.events import Component
from sentinel.gui.configform import SendTest
from sentinel.gui.desktop import Desktop
from sentinel.gui.dialogs import ask_exit, ask_privacy_off, ask_privacy_on, ask_settings
from sentinel.gui.fields import describe_test
from sentinel.gui.forms import Notice
from sentinel.gui.settings import SettingsWindow
from sentinel.gui.window import IncidentRow
from sentinel.gui.wizard import SetupWizard

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ShellParts:
    """What the desktop gets from the composition root. Later configs arrive as ConfigReloaded."""

    bus: object  # sentinel.bus.EventBus
    config: Config
    wall_clock: Callable[[], float]
    privacy: object  # PrivacyMode: is_on / turn_on / turn_off
    report: Callable[[str, str], None]  # a notice on the alerts channel (title, text)
    recent_incidents: Callable[[int], list[dict]]
    send_test: SendTest
    on_exit: Callable[[], None]  # the password Exit: lets the guard go too
    open_folder: Callable[[Path], None]
    data_root: Path
    vault: object | None = None  # None in the demo: no passwords
    vault_check: object | None = None  # the vault's VaultCheck at start
    config_path: Path | None = None  # None: nothing to save (the demo)
    backup_dir: Path | None = None
    show_window: bool = False
    on_progress: Callable[[], None] | None = None  # the heartbeat: the Tk thread still drains its queue
    tray_factory: Callable | None = None  # None: the real tray when there is one (tests pass a fake)


class DesktopShell:
    def __init__(self, parts: ShellParts) -> None:
        self._parts = parts
        self._dialog = None
        check = parts.vault_check
        self._setup_needed = bool(check is not None and check.needs_setup)
        self.desktop = Desktop(parts.bus, parts.config, actions={
            "setup": self.open_wizard, "settings": self.settings, "privacy": self.privacy,
            "send_test": self.send_test, "open_data": self.open_data, "about": self.about, "exit": self.exit,
        }, recent_incidents=self._recent_incidents, clock=parts.wall_clock, show_window=parts.show_window,
            setup_needed=self._setup_needed, on_progress=parts.on_progress,
            **({"tray_factory": parts.tray_factory} if parts.tray_factory else {}),
            delivery_note="" if parts.config_path else "Demo: messages are written to the outbox folder "
                                                       "(Open data folder in the tray menu).")

    @property
    def config(self) -> Config:
        return self.desktop.config  # the Desktop follows ConfigReloaded

    def run(self) -> None:
        if self._setup_needed:
            self.desktop.post(self.open_wizard, "setup wizard")
        self.desktop.run()

    def request_stop(self) -> None:
        """SIGINT/SIGTERM: stop without a shutdown intent (the guard, if any, restarts us)."""
        self.desktop.shutdown()

    # -- menu hooks ------------------------------------------------------------------------

    def _busy(self) -> bool:
        """One dialog at a time: a second click on the tray brings the open one forward."""
        dialog = self._dialog
        if dialog is not None and dialog.winfo_exists():
            dialog.lift()
            return True
        return False

    def _notice(self, title: str, text: str, **kwargs) -> Notice:
        self._dialog = Notice(self.desktop.root, title, text, **kwargs)
        return self._dialog

    def exit(self) -> None:
        if self._busy():
            return
        vault = self._parts.vault
        if vault is None:  # the demo has no passwords
            self._exit_confirmed()
        elif self._setup_needed:
            self._notice("Exit CafeSentinel", "The setup was never finished, so there is no admin password yet.\n"
                         "Exit anyway? Nothing is monitored until CafeSentinel runs again.",
                         buttons=(("Cancel", None), ("Exit", self._exit_without_setup)), danger=True)
        else:
            self._dialog = ask_exit(self.desktop.root, vault, on_exit=self._exit_confirmed, on_alert=self._lockout)

    def _exit_without_setup(self) -> None:
        log.warning("exit before the setup was finished")
        self._parts.report("Exit before setup", "CafeSentinel was closed before its setup was finished.")
        self._exit_confirmed()

    def _exit_confirmed(self) -> None:
        self._parts.on_exit()
        self.desktop.shutdown()

    def privacy(self) -> None:
        privacy, vault, now = self._parts.privacy, self._parts.vault, self._parts.wall_clock()
        if vault is None or self._setup_needed:
            if vault is not None:  # no privacy password yet: finish the setup first
                self.open_wizard()
            elif privacy.is_on(now):
                privacy.turn_off(now)
            else:
                privacy.turn_on(now)
            return
        if self._busy():
            return
        if privacy.is_on(now):
            self._dialog = ask_privacy_off(self.desktop.root, vault, on_alert=self._lockout,
                                           on_disable=lambda: privacy.turn_off(self._parts.wall_clock()))
        else:
            self._dialog = ask_privacy_on(
                self.desktop.root, vault, self.config.screenshot_settings.privacy_minutes, on_alert=self._lockout,
                on_enable=lambda minutes: privacy.turn_on(self._parts.wall_clock(), minutes))

    def _lockout(self, alert) -> None:
        self._parts.report("Wrong passwords", alert.text())

    def send_test(self) -> None:
        config = self.config

        def work() -> None:
            try:
                results = self._parts.send_test(config)
            except Exception as exc:  # reported to the owner, not swallowed
                log.exception("send test failed")
                results = [("discord", False, str(exc) or type(exc).__name__)]
            hooks = config.discord_settings
            lines = [describe_test(kind, ok, detail, bool(getattr(hooks, f"webhook_{kind}", True)))[0]
                     for kind, ok, detail in results]
            self.desktop.post(lambda: self._notice("Discord test", "\n".join(lines)), "test result")

        threading.Thread(target=work, name="send-test", daemon=True).start()

    def open_data(self) -> None:
        try:
            self._parts.open_folder(self._parts.data_root)
        except OSError as exc:
            self._notice("Data folder", f"The data folder is {self._parts.data_root}\n"
                                        f"(it could not be opened here: {exc.strerror or exc}).")

    def about(self) -> None:
        where = self._parts.config_path or "(demo: none)"
        self._notice("About CafeSentinel", f"CafeSentinel {__version__}\nNetwork and occupancy monitor.\n\n"
                                           f"Settings file: {where}\nData folder: {self._parts.data_root}")

    # -- setup and settings ----------------------------------------------------------------

    def open_wizard(self) -> None:
        if not self._setup_needed or self._parts.vault is None:
            self.desktop.show_status()
            return
        if self._busy():
            return
        check = self._parts.vault_check
        self._dialog = SetupWizard(self.desktop.root, self._parts.vault, on_done=self._setup_done,
                                   send_test=self._parts.send_test, initial=self.config,
                                   tamper=check.tamper if check is not None else None,
                                   on_cancel=lambda: log.warning("setup cancelled: nothing is monitored"))

    def _save(self, config_dict: dict) -> Config:
        """Atomic write with a backup; the config watcher hot-applies it within a second or two."""
        config, problems = config_from_dict(config_dict)
        if problems:
            raise ConfigError(problems)
        if self._parts.config_path is None:
            raise OSError("the demo has no settings file")
        save_config(config, self._parts.config_path, self._parts.backup_dir)
        return config

    def _setup_done(self, config_dict: dict) -> None:
        config = self._save(config_dict)
        self._setup_needed = False
        self.desktop.set_setup_needed(False)
        self.desktop.root.after_idle(lambda: self._setup_confirmed(config))

    def _setup_confirmed(self, config: Config) -> None:
        self.desktop.show_status()
        watched = ", ".join(f"{name} {address}" for name, address in (
            ("router", config.targets.router), ("server", config.targets.server),
            ("internet", config.targets.internet)) if address)
        self._notice("Setup complete", f"CafeSentinel now watches {watched} and "
                                       f"{config.monitor_settings.pc_count} PCs.\n"
                                       "Change anything later with Settings\u2026 in the tray menu.")

    def settings(self) -> None:
        if self._setup_needed:
            self.open_wizard()
            return
        if self._busy():
            return
        if self._parts.vault is None:  # the demo: no password, nothing saved
            self._open_settings()
            return
        self._dialog = ask_settings(self.desktop.root, self._parts.vault, on_ok=self._open_settings,
                                    on_alert=self._lockout)

    def _open_settings(self) -> None:
        self._dialog = SettingsWindow(self.desktop.root, self.config, on_save=self._save,
                                      send_test=self._parts.send_test,
                                      can_save=self._parts.config_path is not None)

    def _recent_incidents(self) -> list[IncidentRow]:
        return [IncidentRow(row["key"], Component(row["cause"]), row["start_wall"], row["end_wall"])
                for row in self._parts.recent_incidents(10)]
