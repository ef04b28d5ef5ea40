"""Shared look and small helpers for the setup wizard and the password dialogs (Tk thread only)."""

from __future__ import annotations

import tkinter as tk
import tkinter.font as tkfont
from dataclasses import dataclass
from typing import Callable
from tkinter import ttk

BASE_SIZE = 10  # points
PAD = 12  # pixels around groups
ERROR_FG = "#b3261e"
OK_FG = "#1e7b34"
MUTED_FG = "#5f6368"
BANNER_BG = "#fdecea"
BANNER_FG = "#8c1d18"


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
    background = style.lookup("TFrame", "background") or "#f0f0f0"
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
