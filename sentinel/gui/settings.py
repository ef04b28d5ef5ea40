"""Settings: every key of config.json in the setup's form, on tabs (Tk thread only).

Opened after the admin password. Save validates like `--check-config` (plain words under each
field), then `on_save(config_dict)` writes it atomically with a backup; the config watcher
hot-applies it. Closing with unsaved changes asks first.
"""

from __future__ import annotations

import logging
import tkinter as tk
from tkinter import ttk
from typing import Callable

from sentinel.config.model import Config
from sentinel.gui.configform import ConfigForm, SendTest
from sentinel.gui.forms import Notice, center_on_screen, make_modal, set_text, setup_style

log = logging.getLogger(__name__)

TABS = (  # (tab, groups on it): the setup's groups first, in the setup's order
    ("Network", ("What to watch", "Checks")),
    ("PCs", ("Client PCs", "Sessions")),
    ("Discord", ("Discord", "Alerts")),
    ("Screenshots", ("Screenshots",)),
    ("Hours and reports", ("Opening hours", "Reports")),
    ("System", ("Tray", "System")),
)
SAVED_TEXT = "Settings saved. They apply within two seconds; the previous file was kept as a backup."


class SettingsWindow(tk.Toplevel):
    def __init__(self, master: tk.Misc, config: Config, *, on_save: Callable[[dict], object],
                 send_test: SendTest | None = None, can_save: bool = True) -> None:
        super().__init__(master)
        self.withdraw()
        self._on_save = on_save
        self.title("CafeSentinel settings")
        self.minsize(640, 420)
        fonts = setup_style(self)
        self.form = ConfigForm(self, fonts, config, send_test)
        self.notice: Notice | None = None
        outer = ttk.Frame(self, style="Form.TFrame", padding=(18, 14, 18, 14))
        outer.grid(sticky="nsew")
        self.columnconfigure(0, weight=1)
        self.rowconfigure(0, weight=1)
        outer.columnconfigure(0, weight=1)
        outer.rowconfigure(1, weight=1)
        ttk.Label(outer, text="Settings", style="Form.Title.TLabel").grid(row=0, column=0, sticky="w", pady=(0, 8))

        self.notebook = ttk.Notebook(outer)
        self.notebook.grid(row=1, column=0, sticky="nsew")
        self.tab_of: dict[str, int] = {}
        for index, (tab, groups) in enumerate(TABS):
            page = ttk.Frame(self.notebook, style="Form.TFrame", padding=(10, 10))
            page.columnconfigure(0, weight=1)
            for row, group in enumerate(groups):
                self.form.build_group(page, group, label_width=30).grid(row=row, column=0, sticky="nsew",
                                                                          pady=(0, 10))
                self.tab_of[group] = index
            self.notebook.add(page, text=tab)

        footer = ttk.Frame(outer, style="Form.TFrame")
        footer.grid(row=2, column=0, sticky="ew", pady=(12, 0))
        footer.columnconfigure(0, weight=1)
        self.general_label = ttk.Label(footer, text="", style="Form.Error.TLabel", wraplength=520, justify="left")
        self.general_label.grid(row=0, column=0, sticky="w")
        set_text(self.general_label, "" if can_save else "The demo has no settings file: nothing can be saved.")
        self.cancel_button = ttk.Button(footer, text="Close", style="Form.TButton", command=self.close)
        self.cancel_button.grid(row=0, column=1, padx=(8, 8))
        self.save_button = ttk.Button(footer, text="Save", style="Form.Accent.TButton", command=self.save)
        self.save_button.grid(row=0, column=2)
        if not can_save:
            self.save_button.state(["disabled"])

        self._saved = self.form.assemble()
        self.form.on_change.append(self._mark_tabs)
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind("<Escape>", lambda _e: self.close())
        self.bind("<Destroy>", lambda e: self.form.cancel_polls() if e.widget is self else None, add="+")
        center_on_screen(self)
        self.deiconify()
        make_modal(self, master, grab=False)

    @property
    def general_message(self) -> str:
        return str(self.general_label.cget("text"))

    @property
    def dirty(self) -> bool:
        return self.form.assemble() != self._saved

    def _mark_tabs(self) -> None:
        """A dot on the tabs that hold a setting marked in red."""
        marked = {self.tab_of[self.form.group_of[path]] for path in self.form.shown_problems}
        for index, (tab, _) in enumerate(TABS):
            self.notebook.tab(index, text=f"{tab} \u25cf" if index in marked else tab)
        if not marked and self.general_message.endswith("(marked in red)."):
            set_text(self.general_label, "")

    def save(self) -> bool:
        set_text(self.general_label, "")
        config, problems = self.form.validate()
        fields, general = self.form.show_problems(problems)
        self._mark_tabs()
        if problems:
            n = len(fields) + len(general)
            set_text(self.general_label, "\n".join(
                [f"{n} setting{'s' if n != 1 else ''} to fix before saving (marked in red)."] + general))
            if fields:
                self.notebook.select(self.tab_of[self.form.group_of[fields[0]]])
                self.form.widgets[fields[0]].focus_set()
            return False
        try:
            self._on_save(config.to_dict())
        except Exception as exc:  # the file could not be written: keep the window and the edits
            log.exception("saving the settings failed")
            set_text(self.general_label, f"The settings could not be saved: {exc}")
            return False
        self._saved = self.form.assemble()
        for hook in self.form.webhooks.values():
            hook.hide()
        self.notice = Notice(self, "Settings saved", SAVED_TEXT)
        return True

    def close(self) -> None:
        """Close; with unsaved changes, ask first (Esc and the window's X too)."""
        if self.notice is not None and self.notice.winfo_exists():
            return
        if not self.dirty:
            self.destroy()
            return
        self.notice = Notice(self, "Unsaved changes", "You changed settings that are not saved yet.",
                             buttons=(("Keep editing", None), ("Discard changes", self.destroy)), danger=True)
