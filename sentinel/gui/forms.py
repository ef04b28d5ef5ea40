"""One look for every window (the status window's palette on ttk's clam theme) and small helpers
for dialogs: modal placement, message labels, a themed notice. Tk thread only."""

from __future__ import annotations

import tkinter as tk
import tkinter.font as tkfont
from dataclasses import dataclass
from typing import Callable
from tkinter import ttk

BASE_SIZE = 10  # points
PAD = 12  # pixels around groups

# The palette of every window: light and neutral; health colours only where they carry meaning.
BG = "#f3f4f6"
CARD = "#ffffff"
BORDER = "#d9dce1"
TEXT = "#1f2937"
MUTED = "#6b7280"
GREEN = "#15803d"
AMBER = "#b45309"
RED = "#c62828"
GREY = "#9ca3af"
BLUE = "#1d4ed8"
ERROR_FG = RED
OK_FG = GREEN
MUTED_FG = MUTED
BANNER_BG = "#fdecea"
BANNER_FG = "#8c1d18"
ACCENT = "#2563eb"


@dataclass(frozen=True)
class Fonts:
    body: tkfont.Font
    small: tkfont.Font
    bold: tkfont.Font
    title: tkfont.Font


def setup_style(widget: tk.Misc) -> Fonts:
    """Fonts and `Form.*` ttk styles for one window. Own named styles, so the theme and
    the default fonts the other windows use are left alone."""
    family = tkfont.nametofont("TkDefaultFont", root=widget).actual("family")
    fonts = Fonts(
        body=tkfont.Font(root=widget, family=family, size=BASE_SIZE),
        small=tkfont.Font(root=widget, family=family, size=BASE_SIZE - 1),
        bold=tkfont.Font(root=widget, family=family, size=BASE_SIZE, weight="bold"),
        title=tkfont.Font(root=widget, family=family, size=BASE_SIZE + 5, weight="bold"),
    )
    style = ttk.Style(widget)
    if style.theme_use() != "clam":
        style.theme_use("clam")  # the one built-in theme that takes colours everywhere
    background = BG
    style.configure(".", background=BG, foreground=TEXT, fieldbackground=CARD, bordercolor=BORDER,
                    lightcolor=CARD, darkcolor=BORDER, troughcolor=BORDER, focuscolor=ACCENT)
    style.configure("TNotebook", background=BG, bordercolor=BORDER)
    style.configure("TNotebook.Tab", padding=(12, 4), background=BG)
    style.map("TNotebook.Tab", background=[("selected", CARD)])
    style.configure("Form.Accent.TButton", font=fonts.body, padding=(12, 4), background=ACCENT, foreground=CARD)
    style.map("Form.Accent.TButton", background=[("active", "#1d4ed8"), ("disabled", GREY)])
    style.configure("Form.Danger.TButton", font=fonts.body, padding=(12, 4), background=RED, foreground=CARD)
    style.map("Form.Danger.TButton", background=[("active", "#a61b1b")])
    style.configure("Form.TCheckbutton", font=fonts.body, background=background)
    style.configure("Form.TFrame", background=background)
    style.configure("Form.TLabel", font=fonts.body, background=background)
    style.configure("Form.Hint.TLabel", font=fonts.small, foreground=MUTED_FG, background=background)
    style.configure("Form.Error.TLabel", font=fonts.small, foreground=ERROR_FG, background=background)
    style.configure("Form.Ok.TLabel", font=fonts.small, foreground=OK_FG, background=background)
    style.configure("Form.Title.TLabel", font=fonts.title, background=background)
    style.configure("Form.Banner.TLabel", font=fonts.bold, foreground=BANNER_FG, background=BANNER_BG,
                    padding=(10, 8))
    style.configure("Form.TLabelframe", background=background, padding=(PAD, 6, PAD, PAD))
    style.configure("Form.TLabelframe.Label", font=fonts.bold, background=background)
    style.configure("Form.TButton", font=fonts.body, padding=(12, 4))
    style.configure("Form.TEntry", padding=(4, 3))
    style.configure("Form.TSpinbox", padding=(4, 3))
    style.configure("Form.TCombobox", padding=(4, 3))
    widget.configure(background=BG)
    return fonts


def center_on_screen(window: tk.Toplevel) -> None:
    """Place the window in the middle of the screen (the main window may be hidden in the tray)."""
    window.update_idletasks()
    width, height = window.winfo_reqwidth(), window.winfo_reqheight()
    x = max((window.winfo_screenwidth() - width) // 2, 0)
    y = max((window.winfo_screenheight() - height) // 3, 0)
    window.geometry(f"+{x}+{y}")


def make_modal(window: tk.Toplevel, master: tk.Misc, focus: Callable[[], tk.Misc] | None = None,
               grab: bool = True) -> None:
    """Transient to a visible master; once the window is mapped, a local grab and the keyboard
    focus on the widget `focus()` names (the window was opened on purpose, maybe over a
    full-screen program)."""
    if master.winfo_viewable():
        window.transient(master)

    def take(tries_left: int = 40) -> None:
        if not window.winfo_exists():
            return
        if not window.winfo_viewable():
            if tries_left:
                window.after(25, take, tries_left - 1)
            return
        try:
            if grab:
                window.grab_set()
        except tk.TclError:  # another application holds a grab: stay non-modal rather than fail
            pass
        (focus() if focus is not None else window).focus_force()

    window.after_idle(take)


def set_text(label: ttk.Label, text: str, style: str | None = None) -> None:
    """Show a message label, or hide it from the grid when the text is empty."""
    label.configure(text=text)
    if style:
        label.configure(style=style)
    if text:
        label.grid()
    else:
        label.grid_remove()


class Notice(tk.Toplevel):
    """A message in the app's look, with buttons: (text, callback or None), the last is the default.
    Every button closes the notice first, then runs its callback."""

    def __init__(self, master: tk.Misc, title: str, text: str,
                 buttons: tuple[tuple[str, Callable[[], None] | None], ...] = (("OK", None),),
                 danger: bool = False) -> None:
        super().__init__(master)
        self.withdraw()
        self.title(title)
        self.resizable(False, False)
        setup_style(self)
        body = ttk.Frame(self, style="Form.TFrame", padding=(22, 18, 22, 16))
        body.grid(sticky="nsew")
        ttk.Label(body, text=title, style="Form.Title.TLabel").grid(row=0, column=0, sticky="w")
        self.text_label = ttk.Label(body, text=text, style="Form.TLabel", wraplength=420, justify="left")
        self.text_label.grid(row=1, column=0, sticky="w", pady=(8, 16))
        row = ttk.Frame(body, style="Form.TFrame")
        row.grid(row=2, column=0, sticky="e")
        self.buttons: dict[str, ttk.Button] = {}
        for i, (label, callback) in enumerate(buttons):
            last = i == len(buttons) - 1
            style = ("Form.Danger.TButton" if danger else "Form.Accent.TButton") if last else "Form.TButton"
            button = ttk.Button(row, text=label, style=style, command=lambda c=callback: self._press(c))
            button.grid(row=0, column=i, padx=(8 if i else 0, 0))
            self.buttons[label] = button
        cancel = buttons[0][1] if len(buttons) > 1 else None
        self.bind("<Escape>", lambda _e: self._press(cancel))
        self.bind("<Return>", lambda _e: self._press(buttons[-1][1]))
        self.protocol("WM_DELETE_WINDOW", lambda: self._press(cancel))
        center_on_screen(self)
        self.deiconify()
        make_modal(self, master, focus=lambda: self.buttons[buttons[-1][0]])

    @property
    def text(self) -> str:
        return str(self.text_label.cget("text"))

    def _press(self, callback: Callable[[], None] | None) -> None:
        self.destroy()
        if callback is not None:
            callback()


def set_if_changed(widget: tk.Widget, **options) -> None:
    """configure() only what changed (Tk re-lays out on every configure)."""
    changed = {k: v for k, v in options.items() if widget.cget(k) != v}
    if changed:
        widget.configure(**changed)
