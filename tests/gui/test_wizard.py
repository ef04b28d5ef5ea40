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


def open_wizard(root, vault, rec, **kwargs):
    from sentinel.gui.wizard import SetupWizard

    kwargs.setdefault("suggest_router", lambda: ROUTER)
    wizard = SetupWizard(root, vault, on_done=rec.on_done, send_test=rec.send_test, on_cancel=rec.on_cancel,
                         now=lambda: T0, **kwargs)
    assert pump(root, lambda: wizard.winfo_viewable() and wizard.focus_get() is wizard.entries["admin"])
    return wizard


def fill_passwords(wizard, admin="owner-secret", privacy="privacy-please", admin2=None, privacy2=None):
    type_into(wizard.entries["admin"], admin)
    type_into(wizard.entries["admin_confirm"], admin if admin2 is None else admin2)
    type_into(wizard.entries["privacy"], privacy)
    type_into(wizard.entries["privacy_confirm"], privacy if privacy2 is None else privacy2)


def test_suggestions_are_prefilled_text(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    get = {name: entry.get() for name, entry in wizard.entries.items()}
    assert (get["router"], get["internet"], get["secondary"]) == (ROUTER, "8.8.8.8", "1.1.1.1")
    assert get["pc_subnet"] == "198.51.100"  # from the suggested router
    assert wizard.message("router") == "Suggested: this PC's default gateway."
    assert wizard.pc_preview.cget("text") == "PC-1 = 198.51.100.110  \u2026  PC-20 = 198.51.100.129"
    type_into(wizard.entries["pc_count"], "5")
    assert pump(root, lambda: wizard.pc_preview.cget("text").endswith("PC-5 = 198.51.100.114"))
    fill_passwords(wizard)
    type_into(wizard.entries["webhook_alerts"], HOOK)
    capture_png(wizard, SCREENSHOTS / "wizard.png")


def test_no_gateway_found_leaves_router_empty(root, vault):
    wizard = open_wizard(root, vault, Recorder(), suggest_router=lambda: None)
    assert wizard.entries["router"].get() == ""
    assert wizard.message("router") == ""


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
    assert pump(root, lambda: wizard.has_problem(field))
    assert wizard.message(field) == message
    assert pump(root, lambda: wizard.focus_get() is wizard.entries[field])  # the first bad field
    assert rec.done == [] and vault.check(T0).state is VaultState.NEEDS_SETUP


def test_invalid_pc_range_and_target_show_config_problems(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    fill_passwords(wizard)
    type_into(wizard.entries["pc_start_range"], "250")
    type_into(wizard.entries["pc_count"], "20")
    type_into(wizard.entries["router"], "not a host!")
    type_into(wizard.entries["webhook_occupancy"], "https://example.com/hook")
    wizard.finish_button.invoke()
    pump(root)
    assert wizard.has_problem("pc_count")
    assert wizard.message("pc_count").startswith("monitor_settings.pc_count: PC range 198.51.100.250 + 20 PCs")
    assert wizard.message("router") == 'targets.router: is not an IP address or host name (got "not a host!")'
    assert wizard.message("webhook_occupancy").startswith("discord_settings.webhook_occupancy: is not a Discord")
    assert not wizard.has_problem("admin") and not wizard.has_problem("internet")
    assert wizard.general_message == ""  # no derived "enabled but no webhook" noise
    assert rec.done == [] and vault.check(T0).state is VaultState.NEEDS_SETUP
    capture_png(wizard, SCREENSHOTS / "wizard-problems.png")
    # fixing them clears the messages and finishes
    type_into(wizard.entries["pc_start_range"], "200")
    type_into(wizard.entries["router"], ROUTER)
    type_into(wizard.entries["webhook_occupancy"], "")
    wizard.finish_button.invoke()
    assert pump(root, lambda: rec.done)


def test_non_numeric_count_is_named(root, vault):
    wizard = open_wizard(root, vault, Recorder())
    fill_passwords(wizard)
    type_into(wizard.entries["pc_count"], "twenty")
    wizard.finish_button.invoke()
    pump(root)
    assert wizard.message("pc_count") == 'monitor_settings.pc_count: must be a whole number from 0 to 254 (got "twenty")'


def test_valid_setup_saves_vault_and_hands_over_config(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    fill_passwords(wizard)
    type_into(wizard.entries["server"], "198.51.100.2")
    type_into(wizard.entries["shop_name"], "Net Zone")
    type_into(wizard.entries["webhook_alerts"], HOOK)
    type_into(wizard.entries["pc_count"], "12")
    wizard.entries["privacy_confirm"].focus_force()
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


def test_send_test_runs_the_injected_function_off_the_tk_thread(root, vault):
    rec = Recorder(outcome=[("alerts", True, ""), ("occupancy", False, "HTTP 404: unknown webhook")])
    wizard = open_wizard(root, vault, rec)
    type_into(wizard.entries["webhook_alerts"], HOOK)
    type_into(wizard.entries["webhook_occupancy"], HOOK.replace("123456", "654321"))
    type_into(wizard.entries["shop_name"], "Net Zone")
    wizard.send_test_button.invoke()
    assert pump(root, lambda: "FAILED" in wizard.send_test_message)
    assert wizard.send_test_message == "alerts: sent\noccupancy: FAILED \u2014 HTTP 404: unknown webhook"
    assert len(rec.tests) == 1 and rec.threads == ["wizard-send-test"]
    sent = rec.tests[0]
    assert sent.discord_settings.enabled and sent.discord_settings.shop_name == "Net Zone"
    assert sent.discord_settings.webhook_alerts == HOOK
    assert str(wizard.send_test_button.cget("state")) == "normal"
    assert rec.done == []  # a test is not a setup


def test_send_test_without_webhooks_or_with_a_bad_one(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    wizard.send_test_button.invoke()
    pump(root)
    assert wizard.send_test_message == "Enter at least one webhook URL first."
    type_into(wizard.entries["webhook_alerts"], "http://198.51.100.9/api/webhooks/1/x")
    wizard.send_test_button.invoke()
    pump(root)
    assert wizard.send_test_message == "Fix the webhook problems first."
    assert wizard.message("webhook_alerts").startswith("discord_settings.webhook_alerts: must be on discord.com")
    assert rec.tests == []


def test_send_test_exception_is_shown(root, vault):
    rec = Recorder(error=ConnectionError("connection refused"))
    wizard = open_wizard(root, vault, rec)
    type_into(wizard.entries["webhook_alerts"], HOOK)
    wizard.send_test_button.invoke()
    assert pump(root, lambda: "FAILED" in wizard.send_test_message)
    assert wizard.send_test_message == "discord: FAILED \u2014 connection refused"


def test_escape_cancels(root, vault):
    rec = Recorder()
    wizard = open_wizard(root, vault, rec)
    wizard.entries["admin"].focus_force()
    assert pump(root, lambda: wizard.focus_get() is wizard.entries["admin"])
    wizard.entries["admin"].event_generate("<Escape>")
    assert pump(root, lambda: rec.cancelled == 1)
    assert not wizard.winfo_exists() and rec.done == []
