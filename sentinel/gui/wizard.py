"""First-run setup: the two passwords, what to watch, the PC range and the Discord webhooks.

Plain Tk code for the Tk thread. Nothing here sends a packet: the router suggestion comes from
the routing table, 8.8.8.8 / 1.1.1.1 are only suggested text. "Send test" runs the injected
`send_test(config)` on a worker thread and shows its outcome through an `after()` poll.
Finish validates the passwords (vault rules) and the assembled config (parse_config, every
problem shown with its JSON path next to its field), saves the vault, then calls
`on_done(config_dict)`; the app saves the config and hot-applies it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk
from typing import Callable

from sentinel.config.model import Config, config_from_dict
from sentinel.gui.forms import PAD, center_on_screen, make_modal, set_text, setup_style
from sentinel.platform.gateway import detect_default_gateway, subnet_of
from sentinel.services.access.vault import (
    ADMIN,
    PRIVACY,
    PasswordRuleError,
    TamperReport,
    Vault,
    VaultError,
)

log = logging.getLogger(__name__)

SUGGESTED_INTERNET = "8.8.8.8"
SUGGESTED_SECONDARY = "1.1.1.1"
POLL_MS = 50
TAMPER_NOTICE = "The previous setup was removed or edited \u2014 this has been reported."

SendTest = Callable[[Config], "list[tuple[str, bool, str]]"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    path: str | None  # JSON path in config.json; None for the passwords
    hint: str = ""
    secret: bool = False
    width: int = 26


PASSWORD_FIELDS = (
    FieldSpec("admin", "Admin password", None, "For Exit, settings and uninstall.", True),
    FieldSpec("admin_confirm", "Repeat admin password", None, "At least 6 characters each.", secret=True),
    FieldSpec("privacy", "Privacy password", None, "Pauses screenshots; not the admin password.", True),
    FieldSpec("privacy_confirm", "Repeat privacy password", None, secret=True),
)
NETWORK_FIELDS = (
    FieldSpec("router", "Router", "targets.router"),
    FieldSpec("server", "Server", "targets.server", "Game or boot server on the LAN (optional)."),
    FieldSpec("internet", "Internet", "targets.internet", "A reliable host on the internet."),
    FieldSpec("secondary", "Second internet host", "verification_settings.secondary_target",
              "The internet counts as down only if both fail."),
)
PC_FIELDS = (
    FieldSpec("pc_subnet", "PC subnet", "monitor_settings.pc_subnet", "First three parts, like 192.168.1", width=16),
    FieldSpec("pc_start_range", "First PC address", "monitor_settings.pc_start_range", width=8),
    FieldSpec("pc_count", "Number of PCs", "monitor_settings.pc_count", width=8),
)
DISCORD_FIELDS = (
    FieldSpec("shop_name", "Shop name", "discord_settings.shop_name", width=40),
    FieldSpec("webhook_alerts", "Alerts webhook", "discord_settings.webhook_alerts", width=40),
    FieldSpec("webhook_occupancy", "Occupancy webhook", "discord_settings.webhook_occupancy", width=40),
    FieldSpec("webhook_screenshots", "Screenshots webhook", "discord_settings.webhook_screenshots",
              "An empty webhook turns that message kind off.", width=40),
)
ALL_FIELDS = PASSWORD_FIELDS + NETWORK_FIELDS + PC_FIELDS + DISCORD_FIELDS
_BY_PATH = {spec.path: spec.name for spec in ALL_FIELDS if spec.path}
_PASSWORD_FIELD = {ADMIN: "admin", PRIVACY: "privacy"}


def _number(text: str):
    """Entry text -> int/float for the config, or the text itself so validation names it."""
    value = text.strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


class SetupWizard(tk.Toplevel):
    """The first-run setup window. `tamper`: the report the app already sent, shown as a banner."""

    def __init__(self, master: tk.Misc, vault: Vault, *, on_done: Callable[[dict], None], send_test: SendTest,
                 initial: Config | None = None, tamper: TamperReport | None = None,
                 suggest_router: Callable[[], str | None] = detect_default_gateway,
                 on_cancel: Callable[[], None] | None = None, now: Callable[[], float] = time.time):
        super().__init__(master)
        self.withdraw()
        self._vault = vault
        self._on_done = on_done
        self._send_test = send_test
        self._initial = initial or Config()
        self._tamper = tamper
        self._on_cancel = on_cancel
        self._now = now
        self._vault_saved = False
        self._results: queue.Queue = queue.Queue()
        self._poll_id: str | None = None
        self.entries: dict[str, ttk.Entry] = {}
        self._messages: dict[str, ttk.Label] = {}
        self._variables: dict[str, tk.StringVar] = {}
        self._hints: dict[str, str] = {spec.name: spec.hint for spec in ALL_FIELDS}

        self.title("CafeSentinel setup")
        self.resizable(False, False)
        self._fonts = setup_style(self)
        outer = ttk.Frame(self, style="Form.TFrame", padding=(20, 16, 20, 16))
        outer.grid(sticky="nsew")
        outer.columnconfigure(0, weight=1, uniform="col")
        outer.columnconfigure(1, weight=1, uniform="col")

        ttk.Label(outer, text="Set up CafeSentinel", style="Form.Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w")
        ttk.Label(outer, text="Nothing is monitored until you finish. Every setting can be changed later.",
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

        # Same label width per column, so the entries of stacked groups line up.
        self._group(left, 0, "Passwords", PASSWORD_FIELDS, label_width=22)
        self._group(left, 1, "What to watch", NETWORK_FIELDS, label_width=22)
        self._group(right, 0, "Client PCs", PC_FIELDS, label_width=19, after=self._pc_preview)
        discord = self._group(right, 1, "Discord", DISCORD_FIELDS, label_width=19)
        self._send_test_row(discord)

        footer = ttk.Frame(outer, style="Form.TFrame")
        footer.grid(row=4, column=0, columnspan=2, sticky="ew", pady=(12, 0))
        footer.columnconfigure(0, weight=1)
        self.general_label = ttk.Label(footer, text="", style="Form.Error.TLabel", wraplength=560, justify="left")
        self.general_label.grid(row=0, column=0, sticky="w")
        self.general_label.grid_remove()
        self.cancel_button = ttk.Button(footer, text="Cancel", style="Form.TButton", command=self.cancel)
        self.cancel_button.grid(row=0, column=1, sticky="e", padx=(8, 8))
        self.finish_button = ttk.Button(footer, text="Finish setup", style="Form.TButton", command=self.finish,
                                        default="active")
        self.finish_button.grid(row=0, column=2, sticky="e")

        self._fill_defaults(suggest_router)
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.bind("<Escape>", lambda _e: self.cancel())
        self.bind("<Destroy>", self._on_destroy, add="+")
        for name in ("pc_subnet", "pc_start_range", "pc_count"):
            self._variables[name].trace_add("write", lambda *_: self._update_preview())
        self._update_preview()
        center_on_screen(self)
        self.deiconify()
        self.entries["admin"].focus_set()
        # Not modal (nothing else is usable before setup anyway), but it takes the keyboard.
        make_modal(self, master, focus=lambda: self.entries["admin"], grab=False)

    # ---- layout

    def _group(self, parent, row: int, title: str, specs, label_width: int, after=None) -> ttk.Labelframe:
        frame = ttk.Labelframe(parent, text=title, style="Form.TLabelframe")
        frame.grid(row=row, column=0, sticky="nsew", pady=(0, PAD))
        frame.columnconfigure(1, weight=1)
        grid_row = 0
        for spec in specs:
            ttk.Label(frame, text=spec.label, style="Form.TLabel", width=label_width).grid(
                row=grid_row, column=0, sticky="w", padx=(0, 12), pady=(4, 0))
            variable = tk.StringVar(self)
            entry = ttk.Entry(frame, width=spec.width, font=self._fonts.body, style="Form.TEntry",
                              show="\u2022" if spec.secret else "", textvariable=variable)
            entry.grid(row=grid_row, column=1, sticky="w" if spec.width < 20 else "ew", pady=(4, 0))
            message = ttk.Label(frame, text="", style="Form.Hint.TLabel", wraplength=330, justify="left")
            message.grid(row=grid_row + 1, column=1, sticky="w", pady=(1, 0))
            self.entries[spec.name] = entry
            self._variables[spec.name] = variable
            self._messages[spec.name] = message
            grid_row += 2
        if after is not None:
            after(frame, grid_row)
        for spec in specs:
            self._show_hint(spec.name)
        return frame

    def _pc_preview(self, frame, row: int) -> None:
        self.pc_preview = ttk.Label(frame, text="", style="Form.Hint.TLabel")
        self.pc_preview.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))

    def _send_test_row(self, frame: ttk.Labelframe) -> None:
        row = ttk.Frame(frame, style="Form.TFrame")
        row.grid(row=100, column=0, columnspan=2, sticky="ew", pady=(10, 0))
        row.columnconfigure(1, weight=1)
        self.send_test_button = ttk.Button(row, text="Send test", style="Form.TButton", command=self.send_test)
        self.send_test_button.grid(row=0, column=0, sticky="nw")
        self.send_test_label = ttk.Label(row, text="", style="Form.Hint.TLabel", wraplength=300, justify="left")
        self.send_test_label.grid(row=0, column=1, sticky="w", padx=(10, 0))

    def _fill_defaults(self, suggest_router) -> None:
        config = self._initial
        router = config.targets.router
        if not router:
            try:
                router = suggest_router() or ""
            except Exception:  # a suggestion must never stop the setup
                log.exception("default gateway suggestion failed")
                router = ""
            if router:
                self._hints["router"] = "Suggested: this PC's default gateway."
                self._show_hint("router")
        subnet = config.monitor_settings.pc_subnet
        if not config.is_configured and subnet_of(router):
            subnet = subnet_of(router)
        values = {
            "router": router,
            "server": config.targets.server,
            "internet": config.targets.internet or SUGGESTED_INTERNET,
            "secondary": config.verification_settings.secondary_target or SUGGESTED_SECONDARY,
            "pc_subnet": subnet,
            "pc_start_range": str(config.monitor_settings.pc_start_range),
            "pc_count": str(config.monitor_settings.pc_count),
            "shop_name": config.discord_settings.shop_name,
            "webhook_alerts": config.discord_settings.webhook_alerts,
            "webhook_occupancy": config.discord_settings.webhook_occupancy,
            "webhook_screenshots": config.discord_settings.webhook_screenshots,
        }
        for name, value in values.items():
            self.entries[name].delete(0, "end")
            self.entries[name].insert(0, value)

    # ---- messages next to fields

    def message(self, name: str) -> str:
        """The text under a field: its problem, or its hint."""
        return str(self._messages[name].cget("text"))

    def has_problem(self, name: str) -> bool:
        return str(self._messages[name].cget("style")) == "Form.Error.TLabel"

    @property
    def general_message(self) -> str:
        return str(self.general_label.cget("text"))

    @property
    def send_test_message(self) -> str:
        return str(self.send_test_label.cget("text"))

    def _show_hint(self, name: str) -> None:
        set_text(self._messages[name], self._hints.get(name, ""), "Form.Hint.TLabel")

    def _show_problem(self, name: str, text: str) -> None:
        label = self._messages[name]
        current = str(label.cget("text")) if self.has_problem(name) else ""
        set_text(label, f"{current}\n{text}" if current else text, "Form.Error.TLabel")

    def _clear_problems(self) -> None:
        for name in self._messages:
            self._show_hint(name)
        set_text(self.general_label, "")

    def _update_preview(self) -> None:
        subnet = self.entries["pc_subnet"].get().strip().rstrip(".")
        start, count = _number(self.entries["pc_start_range"].get()), _number(self.entries["pc_count"].get())
        if isinstance(start, int) and isinstance(count, int) and count > 0 and subnet:
            last = start + count - 1
            text = f"PC-1 = {subnet}.{start}  \u2026  PC-{count} = {subnet}.{last}"
        else:
            text = ""
        self.pc_preview.configure(text=text)

    # ---- assembling the config

    def assemble(self) -> dict:
        """The config dict the form describes, on top of the initial config's other keys."""
        raw = self._initial.to_dict()
        get = {name: entry.get() for name, entry in self.entries.items()}
        raw["targets"].update(router=get["router"].strip(), server=get["server"].strip(),
                              internet=get["internet"].strip())
        raw["verification_settings"]["secondary_target"] = get["secondary"].strip()
        raw["monitor_settings"].update(pc_subnet=get["pc_subnet"].strip(),
                                       pc_start_range=_number(get["pc_start_range"]),
                                       pc_count=_number(get["pc_count"]))
        hooks = {key: get[key].strip() for key in ("webhook_alerts", "webhook_occupancy", "webhook_screenshots")}
        raw["discord_settings"].update(shop_name=get["shop_name"].strip(), enabled=any(hooks.values()), **hooks)
        return raw

    def _show_config_problems(self, problems) -> list[str]:
        """Put each (path, message) next to its field; the rest go to the footer. Returns fields."""
        fields, general = [], []
        if any(path.startswith("discord_settings.webhook_") for path, _ in problems):
            # "enabled" is derived from the webhooks here: a bad webhook is the one problem to show.
            problems = [p for p in problems if p[0] != "discord_settings.enabled"]
        for path, text in problems:
            name = _BY_PATH.get(path)
            if name:
                self._show_problem(name, f"{path}: {text}")
                fields.append(name)
            else:
                general.append(f"{path}: {text}" if path else text)
        if general:
            set_text(self.general_label, "\n".join(general))
        return fields

    # ---- actions

    def finish(self) -> None:
        self._clear_problems()
        get = {name: entry.get() for name, entry in self.entries.items()}
        bad_fields: list[str] = []
        for kind, message in Vault.new_password_problems(get["admin"], get["privacy"]):
            self._show_problem(_PASSWORD_FIELD[kind], message)
            bad_fields.append(_PASSWORD_FIELD[kind])
        for name, title in (("admin", "admin"), ("privacy", "privacy")):
            if get[name] != get[f"{name}_confirm"]:
                self._show_problem(f"{name}_confirm", f"The two {title} passwords do not match.")
                bad_fields.append(f"{name}_confirm")
        config, problems = config_from_dict(self.assemble())
        bad_fields += self._show_config_problems(problems)
        if bad_fields or problems:
            if bad_fields:
                self.entries[min(bad_fields, key=list(self.entries).index)].focus_set()
            return
        if not self._vault_saved:
            try:
                self._vault.setup(get["admin"], get["privacy"], self._now(), replace_tampered=self._tamper)
            except PasswordRuleError as exc:
                self._show_problem(_PASSWORD_FIELD.get(exc.field, "admin"), str(exc))
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

    def send_test(self) -> None:
        """Validate only the Discord part, then run send_test(config) off the Tk thread."""
        for spec in DISCORD_FIELDS:
            self._show_hint(spec.name)
        raw = self._initial.to_dict()
        raw["discord_settings"] = self.assemble()["discord_settings"]
        config, problems = config_from_dict(raw)
        if problems:
            self._show_config_problems(problems)
            set_text(self.send_test_label, "Fix the webhook problems first.", "Form.Error.TLabel")
            return
        if not config.discord_settings.enabled:
            set_text(self.send_test_label, "Enter at least one webhook URL first.", "Form.Error.TLabel")
            return
        self.send_test_button.configure(state="disabled")
        set_text(self.send_test_label, "Sending test messages\u2026", "Form.Hint.TLabel")
        threading.Thread(target=self._run_send_test, args=(config,), name="wizard-send-test", daemon=True).start()
        self._poll_id = self.after(POLL_MS, self._poll_send_test)

    def _run_send_test(self, config: Config) -> None:
        try:
            outcome = list(self._send_test(config))
        except Exception as exc:  # reported in the window; never crash the worker silently
            log.exception("send test failed")
            outcome = [("discord", False, str(exc) or type(exc).__name__)]
        self._results.put(outcome)

    def _poll_send_test(self) -> None:
        self._poll_id = None
        try:
            outcome = self._results.get_nowait()
        except queue.Empty:
            self._poll_id = self.after(POLL_MS, self._poll_send_test)
            return
        self.send_test_button.configure(state="normal")
        lines = [f"{kind}: {'sent' if ok else 'FAILED'}" + (f" \u2014 {detail}" if detail else "")
                 for kind, ok, detail in outcome] or ["no webhook was tried"]
        style = "Form.Ok.TLabel" if outcome and all(ok for _, ok, _ in outcome) else "Form.Error.TLabel"
        set_text(self.send_test_label, "\n".join(lines), style)

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is self and self._poll_id is not None:
            self.after_cancel(self._poll_id)
            self._poll_id = None
