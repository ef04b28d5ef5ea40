"""First-run setup wizard, driven through its real widgets under Xvfb."""

from __future__ import annotations

import threading
import time

import pytest

import sentinel.platform as platform
from sentinel.config.model import Config, parse_config
from sentinel.services.access.vault import ADMIN, PRIVACY, TamperReport, Vault, VaultState
from tests.helpers.xvfb import screenshot_dir
from tests.helpers.tkdrive import capture_png, pump, type_into

tk = pytest.importorskip("tkinter")

pytestmark = pytest.mark.needs_display

T0 = time.mktime((2024, 5, 1, 14, 2, 0, 0, 0, -1))
SCREENSHOTS = screenshot_dir()
ROUTER = "198.51.100.1"  # documentation range: only text here, never contacted
HOOK = "http://127.0.0.1:8999/api/webhooks/123456/tok-en_1"


class Recorder:
    """The app's side of the wizard: on_done, send_test and on_cancel, recorded."""

    def __init__(self, outcome=None, error: Exception | None = None):
        self.done: list[dict] = []
        self.tests: list[Config] = []
        self.cancelled = 0
        self.threads: list[str] = []
        self.outcome = outcome if outcome is not None else [("alerts", True, "")]
        self.error = error

    def on_done(self, config_dict):
        self.done.append(config_dict)

    def send_test(self, config):
        self.threads.append(threading.current_thread().name)
        self.tests.append(config)
        if self.error:
            raise self.error
        return self.outcome

    def on_cancel(self):
        self.cancelled += 1


@pytest.fixture
def root(gui_display):
    root = tk.Tk(screenName=gui_display.display)
    root.withdraw()
    yield root
    root.destroy()


@pytest.fixture
def vault(tmp_path):
    return Vault(tmp_path / "data", platform)


PATHS = {"router": "targets.router", "server": "targets.server", "internet": "targets.internet",
         "secondary": "verification_settings.secondary_target", "pc_subnet": "monitor_settings.pc_subnet",
         "pc_start_range": "monitor_settings.pc_start_range", "pc_count": "monitor_settings.pc_count",
         "shop_name": "discord_settings.shop_name", "webhook_alerts": "discord_settings.webhook_alerts",
         "webhook_occupancy": "discord_settings.webhook_occupancy",
         "webhook_screenshots": "discord_settings.webhook_screenshots"}


def entry(wizard, name):
    """A field of the wizard: a password entry, or the shared config form's entry."""
    return wizard.passwords[name] if name in wizard.passwords else wizard.form.widgets[PATHS[name]]


def type_field(wizard, name, text):
    if name in wizard.passwords:
        type_into(wizard.passwords[name], text)
    else:
        wizard.form.set_value(PATHS[name], text)


def msg(wizard, name):
    return wizard.message(name if name in wizard.passwords else PATHS[name])


def bad(wizard, name):
    return wizard.has_problem(name if name in wizard.passwords else PATHS[name])


def open_wizard(root, vault, rec, **kwargs):
    from sentinel.gui.wizard import SetupWizard

    kwargs.setdefault("suggest_router", lambda: ROUTER)
    wizard = SetupWizard(root, vault, on_done=rec.on_done, send_test=rec.send_test, on_cancel=rec.on_cancel,
                         now=lambda: T0, **kwargs)
    assert pump(root, lambda: wizard.winfo_viewable() and wizard.focus_get() is wizard.passwords["admin"])
    return wizard


def fill_passwords(wizard, admin="owner-secret", privacy="privacy-please", admin2=None, privacy2=None):
    type_field(wizard, "admin", admin)
    type_field(wizard, "admin_confirm", admin if admin2 is None else admin2)
    type_field(wizard, "privacy", privacy)
    type_field(wizard, "privacy_confirm", privacy if privacy2 is None else privacy2)


def test_suggestions_are_prefilled_text(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    get = {name: wizard.form.value(path) for name, path in PATHS.items()}
    assert (get["router"], get["internet"], get["secondary"]) == (ROUTER, "8.8.8.8", "1.1.1.1")
    assert get["pc_subnet"] == "198.51.100"  # from the suggested router
    assert msg(wizard, "router") == "Suggested: this PC's default gateway."
    assert wizard.pc_preview.cget("text") == "PC-1 = 198.51.100.110  \u2026  PC-20 = 198.51.100.129"
    type_field(wizard, "pc_count", "5")
    assert pump(root, lambda: wizard.pc_preview.cget("text").endswith("PC-5 = 198.51.100.114"))
    fill_passwords(wizard)
    type_field(wizard, "webhook_alerts", HOOK)
    capture_png(wizard, SCREENSHOTS / "wizard.png")


def test_no_gateway_found_leaves_router_empty(root, vault):
    wizard = open_wizard(root, vault, Recorder(), suggest_router=lambda: None)
    assert wizard.form.value("targets.router") == ""
    assert msg(wizard, "router") == "This PC's default gateway, usually."


@pytest.mark.parametrize("passwords, field, message", [
    (dict(admin="owner-secret", admin2="owner-secreT"), "admin_confirm", "The two admin passwords do not match."),
    (dict(privacy="privacy-please", privacy2="privacy-pleas"), "privacy_confirm",
     "The two privacy passwords do not match."),
    (dict(admin="abc"), "admin", "The admin password must be at least 6 characters (got 3)."),
    (dict(privacy="12345"), "privacy", "The privacy password must be at least 6 characters (got 5)."),
    (dict(admin="same-password", privacy="same-password"), "privacy",
     "The privacy password must differ from the admin password."),
])
def test_bad_passwords_are_rejected_next_to_the_field(root, vault, passwords, field, message):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    fill_passwords(wizard, **passwords)
    wizard.finish_button.invoke()
    assert pump(root, lambda: bad(wizard, field))
    assert msg(wizard, field) == message
    assert pump(root, lambda: wizard.focus_get() is entry(wizard, field))  # the first bad field
    assert rec.done == [] and vault.check(T0).state is VaultState.NEEDS_SETUP


def test_invalid_pc_range_and_target_show_config_problems(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    fill_passwords(wizard)
    type_field(wizard, "pc_start_range", "250")
    type_field(wizard, "pc_count", "20")
    type_field(wizard, "router", "not a host!")
    type_field(wizard, "webhook_occupancy", "https://example.com/hook")
    wizard.finish_button.invoke()
    pump(root)
    assert bad(wizard, "pc_count")
    assert msg(wizard, "pc_count") == ("The last PC would be 198.51.100.269, but addresses end at .254: "
                                      "at most 5 PCs from .250.")
    assert msg(wizard, "router").startswith("Not an IP address or host name")
    assert "not a host!" in msg(wizard, "router") and "targets." not in msg(wizard, "router")
    assert msg(wizard, "webhook_occupancy").startswith("This is not a Discord webhook address.")
    assert not bad(wizard, "admin") and not bad(wizard, "internet")
    assert not wizard.form.has_problem("discord_settings.enabled")  # no derived noise beside the bad webhook
    assert wizard.pc_preview.cget("text").endswith("PC-20 = 198.51.100.269  \u2717 not a PC address (the last part "
                                                   "ends at .254)")
    assert wizard.general_message == ""  # no derived "enabled but no webhook" noise
    assert rec.done == [] and vault.check(T0).state is VaultState.NEEDS_SETUP
    capture_png(wizard, SCREENSHOTS / "wizard-problems.png")
    # fixing a field clears its message at once, before Finish
    type_field(wizard, "pc_start_range", "200")
    assert pump(root, lambda: not bad(wizard, "pc_count"))
    assert msg(wizard, "pc_count") == "" and bad(wizard, "router")
    type_field(wizard, "router", ROUTER)
    type_field(wizard, "webhook_occupancy", "")
    wizard.finish_button.invoke()
    assert pump(root, lambda: rec.done)


def test_non_numeric_count_is_named(root, vault):
    wizard = open_wizard(root, vault, Recorder())
    fill_passwords(wizard)
    type_field(wizard, "pc_count", "twenty")
    wizard.finish_button.invoke()
    pump(root)
    assert msg(wizard, "pc_count") == 'Must be a whole number from 0 to 254 (you typed "twenty").'


def test_valid_setup_saves_vault_and_hands_over_config(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    fill_passwords(wizard)
    type_field(wizard, "server", "198.51.100.2")
    type_field(wizard, "shop_name", "Net Zone")
    type_field(wizard, "webhook_alerts", HOOK)
    type_field(wizard, "pc_count", "12")
    wizard.passwords["privacy_confirm"].focus_force()
    wizard.finish_button.invoke()
    assert pump(root, lambda: len(rec.done) == 1)
    assert not wizard.winfo_exists()
    config_dict = rec.done[0]
    config, problems = parse_config(__import__("json").dumps(config_dict).encode())
    assert problems == [] and config.is_configured
    assert (config.targets.router, config.targets.server, config.targets.internet) == (ROUTER, "198.51.100.2",
                                                                                      "8.8.8.8")
    assert config.verification_settings.secondary_target == "1.1.1.1"
    assert (config.monitor_settings.pc_subnet, config.monitor_settings.pc_count) == ("198.51.100", 12)
    assert config.discord_settings.enabled and config.discord_settings.webhook_alerts == HOOK
    assert config.discord_settings.shop_name == "Net Zone"
    reopened = Vault(vault.directory, platform)
    assert reopened.check(T0, config_configured=True).state is VaultState.READY
    assert reopened.verify(ADMIN, "owner-secret", T0).ok and reopened.verify(PRIVACY, "privacy-please", T0).ok


def test_save_failure_keeps_window_and_retry_does_not_redo_the_vault(root, vault):
    attempts = []

    def flaky_done(config_dict):
        attempts.append(config_dict)
        if len(attempts) == 1:
            raise OSError("disk full")

    from sentinel.gui.wizard import SetupWizard

    wizard = SetupWizard(root, vault, on_done=flaky_done, send_test=Recorder().send_test,
                         suggest_router=lambda: ROUTER, now=lambda: T0)
    pump(root, lambda: wizard.winfo_viewable())
    fill_passwords(wizard)
    wizard.finish_button.invoke()
    assert pump(root, lambda: wizard.general_message == "The settings could not be saved: disk full")
    assert vault.check(T0).state is VaultState.READY
    wizard.finish_button.invoke()
    assert pump(root, lambda: len(attempts) == 2 and not wizard.winfo_exists())


def test_tampered_setup_shows_notice_and_records_it(root, vault):
    report = TamperReport(T0 - 60, "the vault file was deleted")
    vault.directory.mkdir(parents=True)
    (vault.directory / "vault.marker").write_text("{}")  # a marker without its vault
    assert vault.check(T0).state is VaultState.TAMPERED
    rec = Recorder()
    wizard = open_wizard(root, vault, rec, tamper=report)
    assert wizard.tamper_banner.winfo_ismapped()
    assert wizard.tamper_banner.cget("text") == "The previous setup was removed or edited \u2014 this has been reported."
    capture_png(wizard, SCREENSHOTS / "wizard-tampered.png")
    fill_passwords(wizard)
    wizard.finish_button.invoke()
    assert pump(root, lambda: rec.done)
    reopened = Vault(vault.directory, platform)
    assert reopened.check(T0).state is VaultState.READY
    assert reopened.history[0]["what"] == "tampered: the vault file was deleted"


def test_send_test_per_webhook_with_a_clear_result_per_kind(root, vault):
    rec = Recorder(outcome=[("alerts", True, "delivered"), ("occupancy", False, "no webhook configured"),
                            ("screenshots", False, "no webhook configured")])
    wizard = open_wizard(root, vault, rec)
    form = wizard.form
    type_field(wizard, "webhook_alerts", HOOK)
    assert form.vars["discord_settings.enabled"].get()  # a first webhook turns Discord on
    type_field(wizard, "shop_name", "Net Zone")
    form.webhooks["discord_settings.webhook_alerts"].test_button.invoke()
    assert pump(root, lambda: "sent" in form.test_message("discord_settings.webhook_alerts"))
    assert form.test_message("discord_settings.webhook_alerts") == "Alerts: sent \u2713"
    assert str(form.test_labels["discord_settings.webhook_alerts"].cget("style")) == "Form.Ok.TLabel"  # not red
    assert rec.threads == ["settings-send-test"]
    sent = rec.tests[0].discord_settings
    assert sent.webhook_alerts == HOOK and sent.webhook_occupancy == "" and sent.shop_name == "Net Zone"
    form.webhooks["discord_settings.webhook_occupancy"].test_button.invoke()
    pump(root)
    assert form.test_message("discord_settings.webhook_occupancy") == "Occupancy: off (no webhook)"
    assert len(rec.tests) == 1 and rec.done == []  # a test is not a setup


def test_send_test_failure_and_a_bad_address(root, vault):
    rec = Recorder(error=ConnectionError("connection refused"))
    wizard = open_wizard(root, vault, rec)
    form = wizard.form
    type_field(wizard, "webhook_alerts", HOOK)
    form.webhooks["discord_settings.webhook_alerts"].test_button.invoke()
    assert pump(root, lambda: "not sent" in form.test_message("discord_settings.webhook_alerts"))
    assert form.test_message("discord_settings.webhook_alerts") == "Alerts: not sent \u2014 connection refused"
    type_field(wizard, "webhook_screenshots", "http://198.51.100.9/api/webhooks/1/x")
    form.webhooks["discord_settings.webhook_screenshots"].test_button.invoke()
    pump(root)
    assert form.test_message("discord_settings.webhook_screenshots") == "Fix the address first."
    assert len(rec.tests) == 1


def test_escape_cancels(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    wizard.passwords["admin"].focus_force()
    assert pump(root, lambda: wizard.focus_get() is wizard.passwords["admin"])
    wizard.passwords["admin"].event_generate("<Escape>")
    assert pump(root, lambda: rec.cancelled == 1)
    assert not wizard.winfo_exists() and rec.done == []
