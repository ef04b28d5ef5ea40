"""Password dialogs, driven as a user would under a real X server (Xvfb)."""

from __future__ import annotations

import time

import pytest

import sentinel.platform as platform
from sentinel.services.access.lockout import MAX_TRIES
from sentinel.services.access.vault import ADMIN, PRIVACY, Vault
from tests.helpers.xvfb import screenshot_dir
from tests.helpers.tkdrive import capture_png, pump, type_into

tk = pytest.importorskip("tkinter")

pytestmark = pytest.mark.needs_display

ADMIN_PW = "owner-secret"
PRIVACY_PW = "privacy-please"
T0 = time.mktime((2024, 5, 1, 14, 2, 0, 0, 0, -1))
SCREENSHOTS = screenshot_dir()


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def set_up_vault_dir(tmp_path_factory):
    """One scrypt setup per module; each test copies the files (hashing twice per test is slow)."""
    directory = tmp_path_factory.mktemp("vault")
    Vault(directory, platform).setup(ADMIN_PW, PRIVACY_PW, T0)
    return directory


@pytest.fixture
def vault(set_up_vault_dir, tmp_path):
    directory = tmp_path / "data"
    directory.mkdir()
    for source in set_up_vault_dir.iterdir():
        (directory / source.name).write_bytes(source.read_bytes())
        (directory / source.name).chmod(0o600)
    v = Vault(directory, platform)
    assert v.check(T0).tamper is None
    return v


@pytest.fixture
def root(gui_display):
    root = tk.Tk(screenName=gui_display.display)
    root.withdraw()  # as in the app: the main window lives in the tray
    yield root
    root.destroy()


def open_exit(root, vault, clock, calls):
    from sentinel.gui.dialogs import ask_exit

    dialog = ask_exit(root, vault, on_exit=lambda: calls.append("exit"), on_alert=calls.append, now=clock)
    pump(root, lambda: dialog.winfo_viewable())
    return dialog


def test_correct_password_by_enter_key_calls_back_and_closes(root, vault):
    calls, clock = [], FakeClock()
    dialog = open_exit(root, vault, clock, calls)
    assert pump(root, lambda: dialog.focus_get() is dialog.password_entry)
    type_into(dialog.password_entry, ADMIN_PW)
    dialog.password_entry.event_generate("<Return>")
    assert pump(root, lambda: calls == ["exit"])
    assert not dialog.winfo_exists()


def test_escape_cancels_without_callback(root, vault):
    calls, cancelled = [], []
    from sentinel.gui.dialogs import ask_exit

    dialog = ask_exit(root, vault, on_exit=lambda: calls.append("exit"), on_cancel=lambda: cancelled.append(1),
                      now=FakeClock())
    pump(root, lambda: dialog.winfo_viewable())
    type_into(dialog.password_entry, ADMIN_PW)
    dialog.password_entry.event_generate("<Escape>")
    assert pump(root, lambda: cancelled == [1])
    assert calls == [] and not dialog.winfo_exists()


def test_dialog_is_centered_and_grabs(root, vault):
    dialog = open_exit(root, vault, FakeClock(), [])
    assert pump(root, lambda: dialog.grab_current() is dialog)
    x_mid = dialog.winfo_rootx() + dialog.winfo_width() / 2
    assert abs(x_mid - dialog.winfo_screenwidth() / 2) <= 2
    dialog.cancel()


def test_five_wrong_passwords_lock_out_and_count_down(root, vault):
    calls, clock = [], FakeClock()
    dialog = open_exit(root, vault, clock, calls)
    for attempt in range(1, MAX_TRIES):
        type_into(dialog.password_entry, f"wrong-{attempt}")
        dialog.password_entry.event_generate("<Return>")
        left = MAX_TRIES - attempt
        expected = f"Wrong password. {left} {'try' if left == 1 else 'tries'} left before a lockout."
        assert pump(root, lambda: dialog.message == expected), dialog.message
        clock.now += 1
    type_into(dialog.password_entry, "wrong-5")
    dialog.password_entry.event_generate("<Return>")
    assert pump(root, lambda: dialog.message == "Too many wrong passwords. Try again in 30 s.")
    assert len(calls) == 1 and calls[0].text() == "5 wrong exit passwords at 14:02; locked for 30 s"
    assert str(dialog.ok_button.cget("state")) == "disabled"
    assert str(dialog.password_entry.cget("state")) == "disabled"

    capture_png(dialog, SCREENSHOTS / "password-locked.png")

    # The right password is refused while locked: not only the disabled button, the vault too.
    dialog.password_entry.configure(state="normal")
    dialog.ok_button.configure(state="normal")
    type_into(dialog.password_entry, ADMIN_PW)
    dialog.submit()
    assert "exit" not in calls and dialog.message == "Too many wrong passwords. Try again in 30 s."

    clock.now += 12  # the countdown re-reads the clock every second
    assert pump(root, lambda: dialog.message == "Too many wrong passwords. Try again in 18 s.", timeout=3)
    clock.now += 18
    assert pump(root, lambda: dialog.message == "You can try again now.", timeout=3)
    assert str(dialog.ok_button.cget("state")) == "normal"
    type_into(dialog.password_entry, ADMIN_PW)
    dialog.password_entry.event_generate("<Return>")
    assert pump(root, lambda: "exit" in calls)


def test_lockout_persists_into_a_new_dialog_and_a_new_vault_object(root, vault):
    clock = FakeClock()
    for i in range(MAX_TRIES):
        vault.verify(ADMIN, "nope-nope", clock.now + i)
    clock.now += 10
    reopened = Vault(vault.directory, platform)
    reopened.check(clock.now)
    dialog = open_exit(root, reopened, clock, [])
    assert dialog.message == "Too many wrong passwords. Try again in 24 s."  # locked at +4 s for 30 s
    assert str(dialog.ok_button.cget("state")) == "disabled"
    dialog.cancel()


def test_privacy_on_asks_minutes_with_config_default(root, vault):
    from sentinel.gui.dialogs import ask_privacy_on

    enabled = []
    dialog = ask_privacy_on(root, vault, default_minutes=45, on_enable=enabled.append, now=FakeClock())
    pump(root, lambda: dialog.winfo_viewable())
    assert dialog.minutes_spin.get() == "45"
    type_into(dialog.password_entry, PRIVACY_PW)
    capture_png(dialog, SCREENSHOTS / "password.png")
    type_into(dialog.password_entry, ADMIN_PW)  # the admin password is not the privacy password
    dialog.ok_button.invoke()
    assert pump(root, lambda: dialog.message.startswith("Wrong password."))
    dialog.minutes_spin.set("abc")
    type_into(dialog.password_entry, PRIVACY_PW)
    dialog.ok_button.invoke()
    assert pump(root, lambda: dialog.message == "Minutes must be a number from 1 to 1440.")
    dialog.minutes_spin.set("90")
    type_into(dialog.password_entry, PRIVACY_PW)
    dialog.ok_button.invoke()
    assert pump(root, lambda: enabled == [90.0])
    assert vault.lockout(PRIVACY).failures == 0  # success reset the earlier wrong try


def test_privacy_off_asks_the_privacy_password(root, vault):
    from sentinel.gui.dialogs import ask_privacy_off

    disabled = []
    dialog = ask_privacy_off(root, vault, on_disable=lambda: disabled.append(True), now=FakeClock())
    pump(root, lambda: dialog.winfo_viewable())
    assert dialog.minutes_spin is None
    dialog.ok_button.invoke()
    assert pump(root, lambda: dialog.message == "Enter the password.")
    type_into(dialog.password_entry, PRIVACY_PW)
    dialog.password_entry.event_generate("<Return>")
    assert pump(root, lambda: disabled == [True])
