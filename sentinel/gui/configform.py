"""The one form for config.json, shared by the setup wizard and Settings (Tk thread only).

Every key has a field with a plain label, grouped as the owner thinks of them. Validation is
the config's own (`config_from_dict`, as `--check-config`), but what the owner reads under a
field is said in plain words: JSON paths stay in the log and in `--check-config`. A problem
shown under a field goes away as soon as the field is fixed. Webhook tokens are masked until
revealed; each webhook has its own *Send test*.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import tkinter as tk
from tkinter import ttk
from typing import Callable

from sentinel.config.checks import DAYS, mask_webhook
from sentinel.config.model import Config, config_from_dict
from sentinel.gui.fields import DAY_NAMES, FIELDS, GROUPS, WEBHOOK_KINDS, Field, describe_test, field_of, plain_problem
from sentinel.gui.forms import set_text

log = logging.getLogger(__name__)

POLL_MS = 50
SendTest = Callable[[Config], "list[tuple[str, bool, str]]"]
def _get(data: dict, path: str):
    for key in path.split("."):
        data = data[key]
    return data


def _put(data: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    data[last] = value


def _number(text: str):
    """Entry text -> int/float for the config, or the text itself so validation names it."""
    value = text.strip()
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


def _names_text(names: dict) -> str:
    return "\n".join(f"{ip} = {name}" for ip, name in names.items())


def _names_value(text: str):
    """"ip = name" lines -> dict; a line without "=" is kept as a key so validation names it."""
    names = {}
    for line in text.splitlines():
        if line.strip():
            ip, _, name = line.partition("=")
            names[ip.strip()] = name.strip()
    return names


class _Webhook:
    """A webhook entry that shows the URL with its token masked until "Show" is pressed."""

    def __init__(self, form: "ConfigForm", parent: tk.Misc, spec: Field, row: int) -> None:
        self.value = tk.StringVar(parent)
        self.masked = tk.StringVar(parent)
        self.hidden = False  # the entry shows the masked URL (read-only)
        self.entry = ttk.Entry(parent, width=spec.width, font=form.fonts.body, style="Form.TEntry")
        self.entry.grid(row=row, column=1, sticky="ew", pady=(4, 0))
        buttons = ttk.Frame(parent, style="Form.TFrame")
        buttons.grid(row=row, column=2, sticky="w", padx=(6, 0), pady=(4, 0))
        self.toggle = ttk.Button(buttons, text="Show", width=5, style="Form.TButton", command=self.flip)
        self.toggle.grid(row=0, column=0)
        self.test_button = ttk.Button(buttons, text="Test", width=5, style="Form.TButton",
                                      command=lambda: form.send_test(spec.path))
        self.test_button.grid(row=0, column=1, padx=(4, 0))
        self.value.trace_add("write", lambda *_: self._typed())
        self.hide()

    def _typed(self) -> None:
        self.masked.set(mask_webhook(self.value.get().strip()))
        self._show_state()

    def _show_state(self) -> None:
        self.entry.configure(textvariable=self.masked if self.hidden else self.value,
                             state="readonly" if self.hidden else "normal")
        self.toggle.configure(text="Hide" if self.value.get().strip() and not self.hidden else "Show")
        self.toggle.state(["!disabled"] if self.value.get().strip() else ["disabled"])

    def hide(self) -> None:
        """Mask the token (nothing to mask in an empty entry: it stays editable)."""
        self.hidden = bool(self.value.get().strip())
        self._show_state()

    def flip(self) -> None:
        if self.hidden:
            self.hidden = False
            self._show_state()
            self.entry.focus_set()
        else:
            self.hide()


class ConfigForm:
    """The fields of some groups, in frames the caller places; `assemble()` gives a config dict
    on top of `initial`'s other keys."""

    def __init__(self, master: tk.Misc, fonts, initial: Config, send_test: SendTest | None = None) -> None:
        self.master = master
        self.fonts = fonts
        self.initial = initial
        self._send_test = send_test
        self.vars: dict[str, tk.Variable] = {}
        self.texts: dict[str, tk.Text] = {}
        self.days: dict[str, tk.StringVar] = {}
        self.webhooks: dict[str, _Webhook] = {}
        self.messages: dict[str, ttk.Label] = {}
        self.test_labels: dict[str, ttk.Label] = {}
        self.widgets: dict[str, tk.Widget] = {}
        self.group_of: dict[str, str] = {}
        self.hints: dict[str, str] = {path: spec.hint for path, spec in FIELDS.items()}
        self.shown_problems: dict[str, str] = {}
        self.on_change: list[Callable[[], None]] = []
        self._results: queue.Queue = queue.Queue()
        self._poll_id: str | None = None
        self._loading = False

    # ---- building

    def build_group(self, parent: tk.Misc, title: str, label_width: int = 22, after=None) -> ttk.Labelframe:
        fields = dict(GROUPS)[title]
        frame = ttk.Labelframe(parent, text=title, style="Form.TLabelframe")
        frame.columnconfigure(1, weight=1)
        row = 0
        for spec in fields:
            self.group_of[spec.path] = title
            if spec.kind == "bool":
                var = tk.BooleanVar(frame)
                widget = ttk.Checkbutton(frame, text=spec.label, variable=var, style="Form.TCheckbutton")
                widget.grid(row=row, column=0, columnspan=3, sticky="w", pady=(4, 0))
                self.vars[spec.path] = var
            else:
                ttk.Label(frame, text=spec.label, style="Form.TLabel", width=label_width).grid(
                    row=row, column=0, sticky="nw", padx=(0, 12), pady=(6, 0))
                widget = self._build_input(frame, spec, row)
            self.widgets[spec.path] = widget
            message = ttk.Label(frame, text="", style="Form.Hint.TLabel", wraplength=360, justify="left")
            message.grid(row=row + 1, column=1, columnspan=2, sticky="w", pady=(1, 0))
            self.messages[spec.path] = message
            if spec.kind == "webhook":
                result = ttk.Label(frame, text="", style="Form.Hint.TLabel", wraplength=360, justify="left")
                result.grid(row=row + 2, column=1, columnspan=2, sticky="w")
                set_text(result, "")
                self.test_labels[spec.path] = result
            row += 3
            self.show_hint(spec.path)
        if after is not None:
            after(frame, row)
        self.load(self.initial, only=[spec.path for spec in fields])
        return frame

    def _build_input(self, frame: ttk.Labelframe, spec: Field, row: int) -> tk.Widget:
        body = self.fonts.body
        if spec.kind == "webhook":
            hook = _Webhook(self, frame, spec, row)
            self.webhooks[spec.path] = hook
            self.vars[spec.path] = hook.value
            hook.value.trace_add("write", lambda *_: self._changed(spec.path))
            return hook.entry
        if spec.kind == "names":
            text = tk.Text(frame, width=spec.width + 10, height=3, font=body, relief="solid", borderwidth=1,
                           highlightthickness=0, wrap="none")
            text.grid(row=row, column=1, columnspan=2, sticky="ew", pady=(4, 0))
            text.bind("<<Modified>>", lambda _e, t=text: (t.edit_modified(False), self._changed(spec.path)))
            self.texts[spec.path] = text
            return text
        if spec.kind == "days":
            grid = ttk.Frame(frame, style="Form.TFrame")
            grid.grid(row=row, column=1, columnspan=2, sticky="w", pady=(4, 0))
            for i, day in enumerate(DAYS):
                var = tk.StringVar(grid)
                ttk.Label(grid, text=DAY_NAMES[day][:3], style="Form.TLabel").grid(
                    row=i // 4, column=(i % 4) * 2, sticky="w", padx=(0 if i % 4 == 0 else 10, 4), pady=1)
                ttk.Entry(grid, width=12, font=body, textvariable=var, style="Form.TEntry").grid(
                    row=i // 4, column=(i % 4) * 2 + 1, sticky="w", pady=1)
                var.trace_add("write", lambda *_: self._changed(spec.path))
                self.days[day] = var
            return grid
        var = tk.StringVar(frame)
        if spec.kind == "choice":
            widget = ttk.Combobox(frame, width=spec.width, font=body, textvariable=var, values=spec.choices,
                                  state="readonly", style="Form.TCombobox")
        else:
            widget = ttk.Entry(frame, width=spec.width, font=body, textvariable=var, style="Form.TEntry")
        widget.grid(row=row, column=1, columnspan=2, sticky="w" if spec.width < 20 else "ew", pady=(4, 0))
        self.vars[spec.path] = var
        var.trace_add("write", lambda *_: self._changed(spec.path))
        return widget

    # ---- values

    def load(self, config: Config, only=None) -> None:
        self._loading = True
        try:
            self._load(config.to_dict(), only or list(self.widgets))
        finally:
            self._loading = False

    def _load(self, data: dict, paths: list[str]) -> None:
        for path in paths:
            value, spec = _get(data, path), FIELDS[path]
            if spec.kind == "names":
                text = self.texts[path]
                text.delete("1.0", "end")
                text.insert("1.0", _names_text(value))
            elif spec.kind == "days":
                for day in DAYS:
                    self.days[day].set(value.get(day, ""))
            elif spec.kind == "dates":
                self.vars[path].set(", ".join(value))
            elif spec.kind == "bool":
                self.vars[path].set(bool(value))
            elif spec.kind == "number":
                self.vars[path].set(f"{value:g}" if isinstance(value, float) else str(value))
            else:
                self.vars[path].set(value)
            if path in self.webhooks:
                self.webhooks[path].hide()

    def set_value(self, path: str, value: str) -> None:
        self.vars[path].set(value)

    def value(self, path: str):
        spec = FIELDS[path]
        if spec.kind == "names":
            return _names_value(self.texts[path].get("1.0", "end"))
        if spec.kind == "days":
            return {day: var.get().strip() for day, var in self.days.items()}
        if spec.kind == "dates":
            return [d for d in re.split(r"[,\s]+", self.vars[path].get()) if d]
        if spec.kind == "bool":
            return bool(self.vars[path].get())
        if spec.kind == "number":
            return _number(self.vars[path].get())
        return self.vars[path].get().strip()

    def assemble(self, base: dict | None = None) -> dict:
        data = base if base is not None else self.initial.to_dict()
        for path in self.widgets:
            _put(data, path, self.value(path))
        return data

    def validate(self) -> tuple[Config | None, list[tuple[str, str]]]:
        config, problems = config_from_dict(self.assemble())
        if any(path.startswith("discord_settings.webhook_") for path, _ in problems):
            # a bad webhook is the one problem to show, not also "enabled but no webhook"
            problems = [p for p in problems if p[0] != "discord_settings.enabled"]
        return config, problems

    # ---- messages

    def message(self, path: str) -> str:
        return str(self.messages[path].cget("text"))

    def has_problem(self, path: str) -> bool:
        return path in self.shown_problems

    def show_hint(self, path: str) -> None:
        self.shown_problems.pop(path, None)
        set_text(self.messages[path], self.hints.get(path, ""), "Form.Hint.TLabel")

    def show_problems(self, problems) -> tuple[list[str], list[str]]:
        """Put each problem under its field, in plain words; returns (fields, messages with no field)."""
        for path in list(self.shown_problems):
            self.show_hint(path)
        fields, general = [], []
        for path, message in problems:
            log.info("settings form: %s: %s", path or "(file)", message)  # the log keeps the JSON path
            name = field_of(path)
            if name is None or name not in self.messages:
                general.append(plain_problem(path, message))
                continue
            text = plain_problem(path, message)
            if name in self.shown_problems:
                text = f"{self.shown_problems[name]}\n{text}"
            self.shown_problems[name] = text
            set_text(self.messages[name], text, "Form.Error.TLabel")
            fields.append(name)
        return fields, general

    def _changed(self, path: str) -> None:
        if self._loading:
            return
        if self.shown_problems:
            self._recheck()
        if path in self.webhooks and "discord_settings.enabled" in self.vars:
            if not any(self.vars[p].get().strip() for p in self.webhooks if p != path):
                # the first webhook turns Discord on, clearing the last one turns it off
                self.vars["discord_settings.enabled"].set(bool(self.vars[path].get().strip()))
        for callback in self.on_change:
            callback()

    def _recheck(self) -> None:
        """Clear the problems that are fixed now (new ones wait for the next Save)."""
        _, problems = self.validate()
        still = {field_of(path) for path, _ in problems}
        for name in [n for n in self.shown_problems if n not in still]:
            self.show_hint(name)

    # ---- Send test, one webhook at a time

    def send_test(self, path: str) -> None:
        kind = path.rsplit("_", 1)[1]
        label = self.test_labels[path]
        url = self.vars[path].get().strip()
        if not url:
            set_text(label, describe_test(kind, False, "", configured=False)[0], "Form.Hint.TLabel")
            return
        data = self.initial.to_dict()
        discord = data["discord_settings"]
        discord.update({f"webhook_{k}": "" for k in WEBHOOK_KINDS}, enabled=True,
                       shop_name=self.value("discord_settings.shop_name"))
        discord[f"webhook_{kind}"] = url
        config, problems = config_from_dict(data)
        if problems:
            self.show_problems([p for p in problems if p[0].startswith("discord_settings.")])
            set_text(label, "Fix the address first.", "Form.Error.TLabel")
            return
        if self._send_test is None:
            return
        self.webhooks[path].test_button.state(["disabled"])
        set_text(label, "Sending a test message\u2026", "Form.Hint.TLabel")
        threading.Thread(target=self._run_test, args=(path, kind, config), name="settings-send-test",
                         daemon=True).start()
        if self._poll_id is None:
            self._poll_id = self.master.after(POLL_MS, self._poll_tests)

    def _run_test(self, path: str, kind: str, config: Config) -> None:
        try:
            results = list(self._send_test(config))
            result = next((r for r in results if r[0] == kind), (kind, False, "no answer"))
        except Exception as exc:  # shown under the webhook; never crash the worker silently
            log.exception("send test failed")
            result = (kind, False, str(exc) or type(exc).__name__)
        self._results.put((path, result))

    def _poll_tests(self) -> None:
        self._poll_id = None
        try:
            while True:
                path, (kind, ok, detail) = self._results.get_nowait()
                text, level = describe_test(kind, ok, detail, configured=True)
                style = {"ok": "Form.Ok.TLabel", "off": "Form.Hint.TLabel"}.get(level, "Form.Error.TLabel")
                set_text(self.test_labels[path], text, style)
                self.webhooks[path].test_button.state(["!disabled"])
        except queue.Empty:
            pass
        if any(h.test_button.instate(["disabled"]) for h in self.webhooks.values()):
            self._poll_id = self.master.after(POLL_MS, self._poll_tests)

    def test_message(self, path: str) -> str:
        return str(self.test_labels[path].cget("text"))

    def cancel_polls(self) -> None:
        if self._poll_id is not None:
            try:
                self.master.after_cancel(self._poll_id)
            except tk.TclError:
                pass
            self._poll_id = None
