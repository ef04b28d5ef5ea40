"""Settings and the desktop's dialogs, driven through the real shell under Xvfb: a real vault, a
real config file, the real config watcher (hot reload) and the tray menu's own actions."""

from __future__ import annotations

import json
import time

import pytest

import sentinel.platform as platform
from sentinel.bus import EventBus
from sentinel.config.model import Config, config_from_dict, parse_config
from sentinel.config.watch import ConfigWatcher
from sentinel.events import ConfigReloaded
from sentinel.gui.forms import Notice
from sentinel.gui.settings import SettingsWindow
from sentinel.gui.tray import NullTrayIcons
from sentinel.services.access.vault import Vault
from tests.helpers.tkdrive import capture_png, pump, type_into
from tests.helpers.xvfb import screenshot_dir

pytestmark = pytest.mark.needs_display

ADMIN_PW, PRIVACY_PW = "owner-secret", "privacy-please"
HOOK = "http://127.0.0.1:8999/api/webhooks/123456/SECRET-token_1"
SCREENSHOTS = screenshot_dir()


class Root:
    """What the composition root would hand over, recorded."""

    def __init__(self, tmp_path, configured=True):
        self.reports: list[tuple[str, str]] = []
        self.exits = 0
        self.tests: list[Config] = []
        self.data = tmp_path / "data"
        self.data.mkdir()
        self.config_path = tmp_path / "config.json"
        raw = {"targets": {"router": "198.51.100.1", "internet": "203.0.113.53"} if configured else {},
               "monitor_settings": {"pc_subnet": "198.51.100", "pc_count": 12},
               "discord_settings": {"enabled": True, "shop_name": "Net Zone", "webhook_alerts": HOOK}}
        self.config, problems = config_from_dict(raw)
        assert not problems
        self.config_path.write_text(json.dumps(self.config.to_dict()))
        self.vault = Vault(self.data, platform)
        if configured:
            self.vault.setup(ADMIN_PW, PRIVACY_PW, time.time())
        self.check = self.vault.check(time.time(), config_configured=configured)

    def send_test(self, config):
        self.tests.append(config)
        return [("alerts", True, "delivered"), ("occupancy", False, "no webhook configured"),
                ("screenshots", False, "no webhook configured")]


@pytest.fixture
def shell_of(gui_display, tmp_path):
    made = []

    def make(configured=True):
        from sentinel.gui.shell import DesktopShell, ShellParts

        root = Root(tmp_path, configured)
        bus = EventBus()
        shell = DesktopShell(ShellParts(
            bus, root.config, time.time, privacy=None, report=lambda t, x: root.reports.append((t, x)),
            recent_incidents=lambda n: [], send_test=root.send_test, on_exit=lambda: setattr(root, "exits", 1),
            open_folder=lambda path: None, data_root=root.data, vault=root.vault, vault_check=root.check,
            config_path=root.config_path, backup_dir=root.data / "config_backups",
            tray_factory=lambda menu, popup: NullTrayIcons()))
        watcher = ConfigWatcher(root.config_path, root.config, bus, root.config_path.read_bytes())
        watcher.start()
        shell.bus, shell.root_side, shell.watcher = bus, root, watcher
        made.append(shell)
        return shell

    yield make
    for shell in made:
        shell.watcher.stop()
        shell.desktop.shutdown()


def menu_item(shell, label):
    return dict(e for e in shell.desktop.tray_menu.entries() if e)[label]


def drain(shell, until, timeout=5.0):
    return pump(shell.desktop.root if hasattr(shell, "desktop") else shell, until, timeout)


def showing(shell, cls) -> bool:
    """The shell's current dialog is a `cls` on the screen."""
    dialog = shell._dialog
    return isinstance(dialog, cls) and bool(dialog.winfo_exists()) and bool(dialog.winfo_viewable())


def open_settings(shell) -> SettingsWindow:
    from sentinel.gui.dialogs import PasswordDialog

    menu_item(shell, "Settings\u2026")()  # as the tray thread would: queued for the Tk thread
    assert drain(shell, lambda: showing(shell, PasswordDialog))
    dialog = shell._dialog
    type_into(dialog.password_entry, ADMIN_PW)
    dialog.ok_button.invoke()
    assert drain(shell, lambda: showing(shell, SettingsWindow))
    return shell._dialog


def widget_texts(widget) -> list[str]:
    out = []
    for child in widget.winfo_children():
        try:
            out.append(str(child.cget("text")))
        except Exception:
            pass
        out += widget_texts(child)
    return out


def test_settings_show_every_key_in_plain_words_with_masked_tokens(shell_of):
    from sentinel.gui.fields import FIELDS

    shell = shell_of()
    settings = open_settings(shell)
    form = settings.form
    # every leaf key of config.json has a field
    leaves = []

    def walk(data, prefix=""):
        for key, value in data.items():
            if isinstance(value, dict) and key not in ("pc_names", "days"):
                walk(value, f"{prefix}{key}.")
            else:
                leaves.append(prefix + key)
    walk(Config().to_dict())
    assert sorted(leaves) == sorted(FIELDS) == sorted(form.widgets)
    hook = form.webhooks["discord_settings.webhook_alerts"]
    assert hook.entry.get() == "http://127.0.0.1:8999/api/webhooks/123456/***"  # masked
    assert str(hook.entry.cget("state")) == "readonly"
    hook.toggle.invoke()
    assert hook.entry.get() == HOOK and str(hook.entry.cget("state")) == "normal"
    hook.toggle.invoke()
    assert "SECRET" not in hook.entry.get()
    texts = widget_texts(settings)
    assert not [t for t in texts if "_settings" in t or "targets." in t]  # no JSON paths anywhere
    capture_png(settings, SCREENSHOTS / "settings.png")
    settings.notebook.select(2)
    form.webhooks["discord_settings.webhook_alerts"].test_button.invoke()
    assert drain(settings, lambda: form.test_message("discord_settings.webhook_alerts") == "Alerts: sent \u2713")
    form.webhooks["discord_settings.webhook_occupancy"].test_button.invoke()
    capture_png(settings, SCREENSHOTS / "settings-discord.png")


def test_problems_in_plain_words_clear_when_fixed_and_save_hot_applies_with_a_backup(shell_of):
    shell = shell_of()
    settings = open_settings(shell)
    form = settings.form
    form.set_value("monitor_settings.pc_count", "300")
    form.set_value("targets.router", "not a host!")
    assert not settings.save()
    assert form.message("monitor_settings.pc_count") == "Must be from 0 to 254 (you typed 300)."
    assert form.has_problem("targets.router")
    assert settings.general_message == "2 settings to fix before saving (marked in red)."
    assert settings.notebook.index("current") == 0  # the first marked setting's tab is shown
    assert [settings.notebook.tab(i, "text") for i in range(2)] == ["Network \u25cf", "PCs \u25cf"]
    capture_png(settings, SCREENSHOTS / "settings-problems.png")
    form.set_value("monitor_settings.pc_count", "16")  # fixed: its message goes at once
    assert not form.has_problem("monitor_settings.pc_count") and form.has_problem("targets.router")
    assert settings.notebook.tab(1, "text") == "PCs"
    form.set_value("targets.router", "198.51.100.254")
    assert not form.shown_problems
    form.set_value("discord_settings.shop_name", "Net Zone Two")
    assert settings.save()
    saved, problems = parse_config(shell.root_side.config_path.read_bytes())
    assert not problems and saved.monitor_settings.pc_count == 16 and saved.targets.router == "198.51.100.254"
    assert saved.discord_settings.webhook_alerts == HOOK  # the masked token was not saved as ***
    backups = list((shell.root_side.data / "config_backups").glob("config-*.json"))
    assert len(backups) == 1 and json.loads(backups[0].read_text())["monitor_settings"]["pc_count"] == 12
    assert isinstance(settings.notice, Notice) and settings.notice.text.startswith("Settings saved.")
    # the config watcher hot-applies it: the desktop and its window follow
    assert drain(shell, lambda: shell.config.monitor_settings.pc_count == 16)
    assert shell.desktop.window.title_label.cget("text") == "Net Zone Two"
    assert not settings.dirty


def test_unsaved_changes_are_confirmed_on_escape_and_close(shell_of):
    shell = shell_of()
    settings = open_settings(shell)
    settings.close()  # nothing changed: closes at once
    assert drain(shell, lambda: not settings.winfo_exists())
    settings = open_settings(shell)
    settings.form.set_value("api_settings.port", "5050")
    settings.event_generate("<Escape>")
    assert drain(shell, lambda: settings.notice is not None and settings.notice.winfo_exists())
    assert settings.notice.text == "You changed settings that are not saved yet."
    settings.notice.buttons["Keep editing"].invoke()
    assert settings.winfo_exists() and settings.form.value("api_settings.port") == 5050
    settings.protocol("WM_DELETE_WINDOW")
    settings.tk.call(settings.protocol("WM_DELETE_WINDOW"))  # the window's X
    assert drain(shell, lambda: settings.notice.winfo_exists())
    settings.notice.buttons["Discard changes"].invoke()
    assert drain(shell, lambda: not settings.winfo_exists())
    assert parse_config(shell.root_side.config_path.read_bytes())[0].api_settings.port == 5000


def test_send_test_per_webhook_in_settings(shell_of):
    shell = shell_of()
    form = open_settings(shell).form
    form.webhooks["discord_settings.webhook_alerts"].test_button.invoke()
    assert drain(shell, lambda: form.test_message("discord_settings.webhook_alerts") == "Alerts: sent \u2713")
    form.webhooks["discord_settings.webhook_screenshots"].test_button.invoke()
    assert form.test_message("discord_settings.webhook_screenshots") == "Screenshots: off (no webhook)"
    assert len(shell.root_side.tests) == 1 and shell.root_side.tests[0].discord_settings.webhook_alerts == HOOK


def fill_setup(wizard):
    for name, text in (("admin", ADMIN_PW), ("admin_confirm", ADMIN_PW), ("privacy", PRIVACY_PW),
                       ("privacy_confirm", PRIVACY_PW)):
        type_into(wizard.passwords[name], text)


def test_setup_can_be_run_again_from_the_tray_and_finish_confirms_and_shows_the_window(shell_of):
    from sentinel.gui.wizard import SetupWizard

    shell = shell_of(configured=False)
    shell.desktop.post(shell.open_wizard)  # as run() does on a first start
    assert drain(shell, lambda: showing(shell, SetupWizard))
    shell._dialog.cancel_button.invoke()
    assert drain(shell, lambda: not shell._dialog.winfo_exists())
    assert "Finish setup\u2026" in [e[0] for e in shell.desktop.tray_menu.entries() if e]
    assert shell.desktop.window.banners()[0][1].startswith("The setup is not finished")
    menu_item(shell, "Finish setup\u2026")()
    assert drain(shell, lambda: showing(shell, SetupWizard))
    wizard = shell._dialog
    fill_setup(wizard)
    wizard.form.set_value("targets.router", "198.51.100.1")
    wizard.finish_button.invoke()
    assert drain(shell, lambda: showing(shell, Notice))
    assert shell._dialog.text.startswith("CafeSentinel now watches router 198.51.100.1")
    assert shell.desktop.window.top.winfo_ismapped()  # the status window is shown
    capture_png(shell._dialog, SCREENSHOTS / "setup-complete.png")
    assert parse_config(shell.root_side.config_path.read_bytes())[0].is_configured
    labels = [e[0] for e in shell.desktop.tray_menu.entries() if e]
    assert "Settings\u2026" in labels and "Finish setup\u2026" not in labels
    assert not [b for b in shell.desktop.window.banners() if "setup" in b[1]]


@pytest.mark.parametrize("answer", ["Cancel", "Exit"])
def test_exit_before_setup_is_confirmed_and_reported(shell_of, answer):
    shell = shell_of(configured=False)
    menu_item(shell, "Exit\u2026")()
    assert drain(shell, lambda: showing(shell, Notice))
    notice = shell._dialog
    assert notice.text.startswith("The setup was never finished, so there is no admin password yet.")
    assert "check()" not in notice.text
    if answer == "Cancel":
        capture_png(notice, SCREENSHOTS / "exit-before-setup.png")
    notice.buttons[answer].invoke()
    if answer == "Cancel":
        assert not shell.desktop.closed and shell.root_side.exits == 0 and shell.root_side.reports == []
        return
    assert drain(shell, lambda: shell.desktop.closed)
    assert shell.root_side.exits == 1
    assert shell.root_side.reports == [("Exit before setup",
                                        "CafeSentinel was closed before its setup was finished.")]


def test_about_and_data_folder(shell_of):
    shell = shell_of()
    menu_item(shell, "About")()
    assert drain(shell, lambda: isinstance(shell._dialog, Notice))
    assert str(shell.root_side.data) in shell._dialog.text and "CafeSentinel " in shell._dialog.text
    shell._dialog.buttons["OK"].invoke()
    opened = []
    shell._parts = type(shell._parts)(**{**shell._parts.__dict__, "open_folder": opened.append})
    menu_item(shell, "Open data folder")()
    assert drain(shell, lambda: opened == [shell.root_side.data])


def test_reload_event_reaches_the_shell(shell_of):
    shell = shell_of()
    shell.bus.publish(ConfigReloaded(Config(), ("targets",)))
    assert drain(shell, lambda: shell.config == Config())
