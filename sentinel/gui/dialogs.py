"""Password dialogs for Exit and for privacy mode: modal, Enter/Escape, centered.

Plain Tk code for the Tk thread. The vault counts wrong tries and decides lockouts; a lockout
produces a LockoutAlert, handed to `on_alert` (the app sends it to the alerts channel).
`on_success` runs after the dialog has closed.
"""

from __future__ import annotations

import logging
import time
import tkinter as tk
from tkinter import ttk
from typing import Callable

from sentinel.gui.forms import center_on_screen, make_modal, set_text, setup_style
from sentinel.services.access.lockout import LockoutAlert
from sentinel.services.access.passwords import VaultError
from sentinel.services.access.vault import ADMIN, PRIVACY, Vault
from sentinel.timefmt import spoken

log = logging.getLogger(__name__)

MIN_MINUTES = 1
MAX_MINUTES = 1440
COUNTDOWN_MS = 1000


class PasswordDialog(tk.Toplevel):
    """Ask one password (and, for privacy on, the minutes); call `on_success` when it is right."""

    def __init__(self, master: tk.Misc, vault: Vault, *, kind: str, action: str, title: str, prompt: str,
                 ok_text: str, on_success: Callable[..., None],
                 on_alert: Callable[[LockoutAlert], None] | None = None,
                 on_cancel: Callable[[], None] | None = None,
                 minutes_default: float | None = None,
                 now: Callable[[], float] = time.time):
        super().__init__(master)
        self.withdraw()
        self._vault = vault
        self._kind = kind
        self._action = action
        self._on_success = on_success
        self._on_alert = on_alert
        self._on_cancel = on_cancel
        self._now = now
        self._countdown_id: str | None = None
        self.alerts: list[LockoutAlert] = []  # lockouts this dialog produced

        self.title(title)
        self.resizable(False, False)
        fonts = setup_style(self)
        body = ttk.Frame(self, style="Form.TFrame", padding=(22, 18, 22, 16))
        body.grid(sticky="nsew")
        body.columnconfigure(1, weight=1)

        ttk.Label(body, text=title, style="Form.Title.TLabel").grid(row=0, column=0, columnspan=2, sticky="w")
        ttk.Label(body, text=prompt, style="Form.Hint.TLabel", wraplength=360, justify="left").grid(
            row=1, column=0, columnspan=2, sticky="w", pady=(4, 14))

        ttk.Label(body, text="Password", style="Form.TLabel").grid(row=2, column=0, sticky="w", padx=(0, 12))
        self.password_entry = ttk.Entry(body, show="\u2022", width=28, font=fonts.body, style="Form.TEntry")
        self.password_entry.grid(row=2, column=1, sticky="ew", pady=3)

        self.minutes_spin: ttk.Spinbox | None = None
        if minutes_default is not None:
            ttk.Label(body, text="Minutes", style="Form.TLabel").grid(row=3, column=0, sticky="w", padx=(0, 12))
            self.minutes_spin = ttk.Spinbox(body, from_=MIN_MINUTES, to=MAX_MINUTES, increment=5, width=8,
                                            font=fonts.body, style="Form.TSpinbox")
            self.minutes_spin.set(f"{minutes_default:g}")
            self.minutes_spin.grid(row=3, column=1, sticky="w", pady=3)
            ttk.Label(body, text="Screenshots resume automatically after this time.",
                      style="Form.Hint.TLabel").grid(row=4, column=1, sticky="w")

        self.message_label = ttk.Label(body, text="", style="Form.Error.TLabel", wraplength=360, justify="left")
        self.message_label.grid(row=5, column=0, columnspan=2, sticky="w", pady=(10, 0))
        self.message_label.grid_remove()

        buttons = ttk.Frame(body, style="Form.TFrame")
        buttons.grid(row=6, column=0, columnspan=2, sticky="e", pady=(16, 0))
        self.cancel_button = ttk.Button(buttons, text="Cancel", style="Form.TButton", command=self.cancel)
        self.cancel_button.grid(row=0, column=0, padx=(0, 8))
        self.ok_button = ttk.Button(buttons, text=ok_text, style="Form.Accent.TButton", command=self.submit,
                                    default="active")
        self.ok_button.grid(row=0, column=1)

        self.bind("<Return>", lambda _e: self.submit())
        self.bind("<KP_Enter>", lambda _e: self.submit())
        self.bind("<Escape>", lambda _e: self.cancel())
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.bind("<Destroy>", self._on_destroy, add="+")

        center_on_screen(self)
        self.deiconify()
        self.attributes("-topmost", True)
        self.password_entry.focus_set()
        make_modal(self, master, focus=self._focus_target)
        self._show_lock(self._vault.remaining_lock_s(kind, self._now()))

    @property
    def message(self) -> str:
        return str(self.message_label.cget("text"))

    def submit(self) -> None:
        if str(self.ok_button.cget("state")) == "disabled":
            return
        minutes = None
        if self.minutes_spin is not None:
            minutes = _parse_minutes(self.minutes_spin.get())
            if minutes is None:
                set_text(self.message_label, f"Minutes must be a number from {MIN_MINUTES} to {MAX_MINUTES}.")
                self.minutes_spin.focus_set()
                return
        password = self.password_entry.get()
        if not password:
            set_text(self.message_label, "Enter the password.")
            return
        try:
            result = self._vault.verify(self._kind, password, self._now(), action=self._action)
        except VaultError as exc:
            set_text(self.message_label, f"The password vault cannot be used: {exc}")
            return
        self.password_entry.delete(0, "end")
        if result.ok:
            self.destroy()
            if minutes is None:
                self._on_success()
            else:
                self._on_success(minutes)
            return
        if result.alert is not None:
            self.alerts.append(result.alert)
            if self._on_alert is not None:
                try:
                    self._on_alert(result.alert)
                except Exception:  # the alert path must never break the dialog
                    log.exception("lockout alert handler failed")
        if result.locked:
            self._show_lock(result.locked_for_s)
        else:
            tries = "1 try" if result.tries_left == 1 else f"{result.tries_left} tries"
            set_text(self.message_label, f"Wrong password. {tries} left before a lockout.")
            self.password_entry.focus_set()

    def cancel(self) -> None:
        self.destroy()
        if self._on_cancel is not None:
            self._on_cancel()

    def _show_lock(self, seconds: float) -> None:
        if self._countdown_id is not None:
            self.after_cancel(self._countdown_id)
            self._countdown_id = None
        if not self.winfo_exists():
            return
        if seconds <= 0:
            if str(self.ok_button.cget("state")) == "disabled":
                set_text(self.message_label, "You can try again now.")
            self.password_entry.configure(state="normal")
            self.ok_button.configure(state="normal")
            self.password_entry.focus_set()
            return
        set_text(self.message_label,
                 f"Too many wrong passwords. Try again in {spoken(max(seconds, 1))}.")
        self.password_entry.configure(state="disabled")
        self.ok_button.configure(state="disabled")
        self.cancel_button.focus_set()
        self._countdown_id = self.after(COUNTDOWN_MS, self._tick)

    def _tick(self) -> None:
        self._countdown_id = None
        self._show_lock(self._vault.remaining_lock_s(self._kind, self._now()))

    def _focus_target(self) -> tk.Misc:
        locked = str(self.password_entry.cget("state")) == "disabled"
        return self.cancel_button if locked else self.password_entry

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is self and self._countdown_id is not None:
            self.after_cancel(self._countdown_id)
            self._countdown_id = None


def _parse_minutes(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if MIN_MINUTES <= value <= MAX_MINUTES else None


def ask_exit(master: tk.Misc, vault: Vault, on_exit: Callable[[], None],
             on_alert: Callable[[LockoutAlert], None] | None = None, **kwargs) -> PasswordDialog:
    """Exit: the admin password stops the monitor and the guard."""
    return PasswordDialog(master, vault, kind=ADMIN, action="exit", title="Exit CafeSentinel",
                          prompt="Enter the admin password to stop monitoring. "
                                 "The guard stops too, and the exit is recorded.",
                          ok_text="Exit", on_success=on_exit, on_alert=on_alert, **kwargs)


def ask_privacy_on(master: tk.Misc, vault: Vault, default_minutes: float, on_enable: Callable[[float], None],
                   on_alert: Callable[[LockoutAlert], None] | None = None, **kwargs) -> PasswordDialog:
    """Privacy on: the privacy password and how many minutes (default from the config)."""
    return PasswordDialog(master, vault, kind=PRIVACY, action="privacy mode", title="Privacy mode",
                          prompt="No screenshots are taken while privacy mode is on. "
                                 "Turning it on and off is reported on the alerts channel.",
                          ok_text="Turn on", on_success=on_enable, on_alert=on_alert,
                          minutes_default=default_minutes, **kwargs)


def ask_privacy_off(master: tk.Misc, vault: Vault, on_disable: Callable[[], None],
                    on_alert: Callable[[LockoutAlert], None] | None = None, **kwargs) -> PasswordDialog:
    """Privacy off early: the privacy password again."""
    return PasswordDialog(master, vault, kind=PRIVACY, action="privacy mode", title="Turn off privacy mode",
                          prompt="Enter the privacy password to resume screenshots now.",
                          ok_text="Turn off", on_success=on_disable, on_alert=on_alert, **kwargs)


def ask_settings(master: tk.Misc, vault: Vault, on_ok: Callable[[], None],
                 on_alert: Callable[[LockoutAlert], None] | None = None, **kwargs) -> PasswordDialog:
    """Settings: the admin password opens them."""
    return PasswordDialog(master, vault, kind=ADMIN, action="settings", title="Settings",
                          prompt="Enter the admin password to change the settings.",
                          ok_text="Open settings", on_success=on_ok, on_alert=on_alert, **kwargs)
