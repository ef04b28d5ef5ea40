"""First-run setup: the two passwords, what to watch, the PC range and the Discord webhooks.

Plain Tk code for the Tk thread. Nothing here sends a packet: the router suggestion comes from
the routing table, 8.8.8.8 / 1.1.1.1 are only suggested text. Each webhook's *Test* runs the
injected `send_test(config)` on a worker thread (ConfigForm). Finish validates the passwords
(vault rules) and the assembled config (every problem in plain words next to its field), saves
the vault, then calls `on_done(config_dict)`; the app saves the config and hot-applies it.
"""

from __future__ import annotations

import logging
import time
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk
from typing import Callable

from sentinel.config.model import Config
from sentinel.gui.configform import ConfigForm, SendTest
from sentinel.gui.forms import PAD, center_on_screen, make_modal, set_text, setup_style
from sentinel.platform.gateway import detect_default_gateway, subnet_of
from sentinel.services.access.passwords import VaultError
from sentinel.services.access.vault import ADMIN, PRIVACY, PasswordRuleError, TamperReport, Vault

log = logging.getLogger(__name__)

SUGGESTED_INTERNET = "8.8.8.8"
SUGGESTED_SECONDARY = "1.1.1.1"
TAMPER_NOTICE = "The previous setup was removed or edited \u2014 this has been reported."

@dataclass(frozen=True)
class PasswordField:
    name: str
    label: str
    hint: str = ""


PASSWORD_FIELDS = (
    PasswordField("admin", "Admin password", "For Exit, Settings and uninstall."),
    PasswordField("admin_confirm", "Repeat admin password", "At least 6 characters each."),
    PasswordField("privacy", "Privacy password", "Pauses screenshots; not the admin password."),
    PasswordField("privacy_confirm", "Repeat privacy password"),
)
_PASSWORD_FIELD = {ADMIN: "admin", PRIVACY: "privacy"}
TARGETS = ("targets.router", "targets.server", "targets.internet", "verification_settings.secondary_target")
SUBNET, START, COUNT = "monitor_settings.pc_subnet", "monitor_settings.pc_start_range", "monitor_settings.pc_count"


class SetupWizard(tk.Toplevel):
    """The first-run setup window. `tamper`: the report the app already sent, shown as a banner.

    The config part is the same ConfigForm as Settings (its first groups); the passwords are the
    wizard's own."""

    def __init__(self, master: tk.Misc, vault: Vault, *, on_done: Callable[[dict], None], send_test: SendTest,
                 initial: Config | None = None, tamper: TamperReport | None = None,
                 suggest_router: Callable[[], str | None] = detect_default_gateway,
                 on_cancel: Callable[[], None] | None = None, now: Callable[[], float] = time.time):
        super().__init__(master)
        self.withdraw()
        self._vault = vault
        self._on_done = on_done
        self._tamper = tamper
        self._on_cancel = on_cancel
        self._now = now
        self._vault_saved = False
        self.passwords: dict[str, ttk.Entry] = {}
        self._password_messages: dict[str, ttk.Label] = {}

        self.title("CafeSentinel setup")
        self.resizable(False, False)
        self._fonts = setup_style(self)
        self.form = ConfigForm(self, self._fonts, initial or Config(), send_test)
        outer = ttk.Frame(self, style="Form.TFrame", padding=(20, 16, 20, 16))
        outer.grid(sticky="nsew")
        outer.columnconfigure(0, weight=1, uniform="col")
        outer.columnconfigure(1, weight=1, uniform="col")

        ttk.Label(outer, text="Set up CafeSentinel", style="Form.Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w")
        ttk.Label(outer, text="Nothing is monitored until you finish. Everything here, and more, "
                              "can be changed later in Settings\u2026 (tray menu).",
                  style="Form.Hint.TLabel").grid(row=1, column=0, columnspan=2, sticky="w", pady=(2, 10))
        self.tamper_banner = ttk.Label(outer, text=TAMPER_NOTICE if tamper else "", style="Form.Banner.TLabel")
        self.tamper_banner.grid(row=2, column=0, columnspan=2, sticky="ew", pady=(0, 10))
        if not tamper:
            self.tamper_banner.grid_remove()

        left = ttk.Frame(outer, style="Form.TFrame")
        left.grid(row=3, column=0, sticky="nsew", padx=(0, PAD // 2))
        right = ttk.Frame(outer, style="Form.TFrame")
        right.grid(row=3, column=1, sticky="nsew", padx=(PAD // 2, 0))
        left.columnconfigure(0, weight=1)
        right.columnconfigure(0, weight=1)

        self._password_group(left).grid(row=0, column=0, sticky="nsew", pady=(0, PAD))
        self.form.build_group(left, "What to watch").grid(row=1, column=0, sticky="nsew", pady=(0, PAD))
        self.form.build_group(right, "Client PCs", label_width=19, after=self._pc_preview).grid(
            row=0, column=0, sticky="nsew", pady=(0, PAD))
        self.form.build_group(right, "Discord", label_width=19).grid(row=1, column=0, sticky="nsew", pady=(0, PAD))

        footer = ttk.Frame(outer, style="Form.TFrame")
        footer.grid(row=4, column=0, columnspan=2, sticky="ew", pady=(12, 0))
        footer.columnconfigure(0, weight=1)
        self.general_label = ttk.Label(footer, text="", style="Form.Error.TLabel", wraplength=560, justify="left")
        self.general_label.grid(row=0, column=0, sticky="w")
        self.general_label.grid_remove()
        self.cancel_button = ttk.Button(footer, text="Cancel", style="Form.TButton", command=self.cancel)
        self.cancel_button.grid(row=0, column=1, sticky="e", padx=(8, 8))
        self.finish_button = ttk.Button(footer, text="Finish setup", style="Form.Accent.TButton",
                                        command=self.finish, default="active")
        self.finish_button.grid(row=0, column=2, sticky="e")

        self._suggest(suggest_router)
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.bind("<Escape>", lambda _e: self.cancel())
        self.bind("<Destroy>", self._on_destroy, add="+")
        self.form.on_change.append(self._update_preview)
        self._update_preview()
        center_on_screen(self)
        self.deiconify()
        self.passwords["admin"].focus_set()
        # Not modal (nothing else is usable before setup anyway), but it takes the keyboard.
        make_modal(self, master, focus=lambda: self.passwords["admin"], grab=False)

    # ---- layout

    def _password_group(self, parent) -> ttk.Labelframe:
        frame = ttk.Labelframe(parent, text="Passwords", style="Form.TLabelframe")
        frame.columnconfigure(1, weight=1)
        for i, spec in enumerate(PASSWORD_FIELDS):
            ttk.Label(frame, text=spec.label, style="Form.TLabel", width=22).grid(
                row=2 * i, column=0, sticky="w", padx=(0, 12), pady=(4, 0))
            entry = ttk.Entry(frame, width=26, font=self._fonts.body, style="Form.TEntry", show="\u2022")
            entry.grid(row=2 * i, column=1, sticky="ew", pady=(4, 0))
            message = ttk.Label(frame, text="", style="Form.Hint.TLabel", wraplength=330, justify="left")
            message.grid(row=2 * i + 1, column=1, sticky="w", pady=(1, 0))
            set_text(message, spec.hint, "Form.Hint.TLabel")
            self.passwords[spec.name] = entry
            self._password_messages[spec.name] = message
        return frame

    def _pc_preview(self, frame, row: int) -> None:
        self.pc_preview = ttk.Label(frame, text="", style="Form.Hint.TLabel")
        self.pc_preview.grid(row=row, column=0, columnspan=3, sticky="w", pady=(8, 0))

    def _suggest(self, suggest_router) -> None:
        """Suggestions for a first setup: this PC's gateway, its subnet, two internet hosts."""
        config = self.form.initial
        router = config.targets.router
        if not router:
            try:
                router = suggest_router() or ""
            except Exception:  # a suggestion must never stop the setup
                log.exception("default gateway suggestion failed")
                router = ""
            if router:
                self.form.hints["targets.router"] = "Suggested: this PC's default gateway."
                self.form.show_hint("targets.router")
                self.form.set_value("targets.router", router)
        if not config.is_configured and subnet_of(router):
            self.form.set_value(SUBNET, subnet_of(router))
        if not config.targets.internet:
            self.form.set_value("targets.internet", SUGGESTED_INTERNET)
        if not config.verification_settings.secondary_target:
            self.form.set_value("verification_settings.secondary_target", SUGGESTED_SECONDARY)

    # ---- messages next to fields

    def message(self, name: str) -> str:
        """The text under a field (a password name or a config path): its problem, or its hint."""
        if name in self._password_messages:
            return str(self._password_messages[name].cget("text"))
        return self.form.message(name)

    def has_problem(self, name: str) -> bool:
        if name in self._password_messages:
            return str(self._password_messages[name].cget("style")) == "Form.Error.TLabel"
        return self.form.has_problem(name)

    @property
    def general_message(self) -> str:
        return str(self.general_label.cget("text"))

    def _password_problem(self, name: str, text: str) -> None:
        label = self._password_messages[name]
        current = str(label.cget("text")) if self.has_problem(name) else ""
        set_text(label, f"{current}\n{text}" if current else text, "Form.Error.TLabel")

    def _update_preview(self) -> None:
        subnet = str(self.form.value(SUBNET)).rstrip(".")
        start, count = self.form.value(START), self.form.value(COUNT)
        if not (isinstance(start, int) and isinstance(count, int) and count > 0 and subnet):
            self.pc_preview.configure(text="", style="Form.Hint.TLabel")
            return
        last = start + count - 1
        text = f"PC-1 = {subnet}.{start}  \u2026  PC-{count} = {subnet}.{last}"
        if last > 254 or start < 1:
            text += "  \u2717 not a PC address (the last part ends at .254)"
        self.pc_preview.configure(text=text, style="Form.Error.TLabel" if last > 254 or start < 1
                                  else "Form.Hint.TLabel")

    # ---- actions

    def finish(self) -> None:
        for spec in PASSWORD_FIELDS:
            set_text(self._password_messages[spec.name], spec.hint, "Form.Hint.TLabel")
        set_text(self.general_label, "")
        get = {name: entry.get() for name, entry in self.passwords.items()}
        bad: list[str] = []
        for kind, message in Vault.new_password_problems(get["admin"], get["privacy"]):
            self._password_problem(_PASSWORD_FIELD[kind], message)
            bad.append(_PASSWORD_FIELD[kind])
        for name, title in (("admin", "admin"), ("privacy", "privacy")):
            if get[name] != get[f"{name}_confirm"]:
                self._password_problem(f"{name}_confirm", f"The two {title} passwords do not match.")
                bad.append(f"{name}_confirm")
        config, problems = self.form.validate()
        fields, general = self.form.show_problems(problems)
        if general:
            set_text(self.general_label, "\n".join(general))
        if bad or problems:
            if bad:
                self.passwords[min(bad, key=list(self.passwords).index)].focus_set()
            elif fields:
                self.form.widgets[fields[0]].focus_set()
            return
        if not self._vault_saved:
            try:
                self._vault.setup(get["admin"], get["privacy"], self._now(), replace_tampered=self._tamper)
            except PasswordRuleError as exc:
                self._password_problem(_PASSWORD_FIELD.get(exc.field, "admin"), str(exc))
                return
            except (VaultError, OSError) as exc:
                set_text(self.general_label, f"The passwords could not be saved: {exc}")
                return
            self._vault_saved = True
        try:
            self._on_done(config.to_dict())
        except Exception as exc:  # the app's save failed: keep the window so Finish can be retried
            log.exception("saving the setup failed")
            set_text(self.general_label, f"The settings could not be saved: {exc}")
            return
        self.destroy()

    def cancel(self) -> None:
        self.destroy()
        if self._on_cancel is not None:
            self._on_cancel()

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is self:
            self.form.cancel_polls()
