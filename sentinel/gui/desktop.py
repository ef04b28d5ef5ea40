"""The GUI shell: Tk root (hidden) + status window + tray, fed from the bus through a queue.

Threads: the bus subscriber and the tray callbacks only put messages on `queue`; the Tk
thread drains a bounded batch every DRAIN_MS with after() and re-arms. `run()` is the Tk
mainloop on the main thread; `shutdown()` may be called from any thread.
"""

from __future__ import annotations

import base64
import io
import logging
import queue
import threading
import time
import tkinter as tk
from dataclasses import dataclass
from typing import Callable, Iterable

from sentinel.events import ConfigReloaded, Event, MonitorStatus, PrivacyChanged
from sentinel.gui.icons import app_icon
from sentinel.gui.tray import KINDS, NullTrayIcons, TrayIcons, TrayMenu, make_tray, standard_menu, tray_views
from sentinel.gui.window import IncidentRow, StatusWindow
from sentinel.timefmt import clock_near
from sentinel.today import Today, advance

log = logging.getLogger(__name__)

DRAIN_MS = 50
DRAIN_BATCH = 500  # messages handled per drain; the rest wait for the next one


@dataclass(frozen=True, slots=True)
class _Call:
    """A function to run on the Tk thread (from a tray callback or post())."""

    fn: Callable[[], None]
    name: str


_SHUTDOWN = object()

# Every Desktop's Tcl interpreter, kept until the process ends. Freeing it on any thread but the
# one that made it aborts the process ("Tcl_AsyncDelete: async handler deleted by the wrong
# thread"), and a thread that finishes after the desktop closed (a send test still waiting on
# Discord) could otherwise drop the last reference.
_INTERPRETERS: list = []


MENU_ACTIONS = ("show_status", "setup", "settings", "privacy", "send_test", "open_data", "about", "exit")


def event_wall(event: Event, fallback: float) -> float:
    """When an event happened, by its own clock (the demo's runs fast)."""
    for name in ("at_wall", "ended_wall", "confirmed_wall", "started_wall"):
        value = getattr(event, name, None)
        if value is not None:
            return value
    return fallback


class Desktop:
    """Builds the window and the tray; the shell wires the menu's actions and calls run()/shutdown().

    `actions` maps the names in MENU_ACTIONS to hooks. They run on the Tk thread (they may open
    dialogs) and must not block for long. show_status defaults to showing the status window; a
    missing hook is logged as not available when its menu item is used.
    """

    def __init__(self, bus, config, *,
                 actions: dict[str, Callable[[], None]] | None = None,
                 recent_incidents: Callable[[], Iterable[IncidentRow]] | None = None,
                 tray_factory: Callable[[TrayMenu, Callable[[int, int], None]], TrayIcons] = make_tray,
                 clock: Callable[[], float] = time.time,
                 show_window: bool = False,
                 setup_needed: bool = False,
                 delivery_note: str = "",
                 on_progress: Callable[[], None] | None = None) -> None:
        """on_progress: called on the Tk thread at every queue drain (the app's heartbeat)."""
        self._bus = bus
        self._on_progress = on_progress
        self._clock = clock
        self.config = config
        self.queue: queue.Queue = queue.Queue()
        self._hooks = {name: None for name in MENU_ACTIONS}
        self._hooks.update(actions or {})
        self._after_ids: set[str] = set()
        self._closed = False
        self._tk_thread = threading.current_thread()  # Tk belongs to the thread that created it
        self._tray_shown: dict[str, bool] = {}
        self.today = Today()
        self.privacy: PrivacyChanged | None = None
        self.setup_needed = setup_needed  # read by the tray threads for the menu's labels
        self._menu_key: tuple | None = None
        self._popup: tk.Menu | None = None

        self.root = tk.Tk()
        _INTERPRETERS.append(self.root.tk)
        self.root.withdraw()
        self.root.report_callback_exception = self._report_callback_exception
        self._icon_photo = _photo(self.root, 64)
        self.root.iconphoto(True, self._icon_photo)
        shop = config.discord_settings.shop_name if config is not None else ""
        self.window = StatusWindow(self.root, clock=clock, recent_incidents=recent_incidents,
                                   shop_name=shop, icon_photo=self._icon_photo, config=config,
                                   delivery_note=delivery_note)
        self.window.set_setup_needed(setup_needed)
        if not show_window:
            self.window.hide()

        self.tray_menu = standard_menu(
            {name: (lambda name=name: self.post(self._hook_caller(name), name)) for name in MENU_ACTIONS},
            privacy_label=self._privacy_label, setup_needed=lambda: self.setup_needed)
        self.tray = tray_factory(self.tray_menu, self._request_popup)
        self._status: MonitorStatus | None = None
        self._apply_tray(None)
        self._apply_visibility(config)
        self._menu_key = self._current_menu_key()
        bus.subscribe(self._on_event)
        self._schedule(DRAIN_MS, self._drain)

    # ----- thread-safe entry points

    def _on_event(self, event: Event) -> None:
        """Bus subscriber: runs on the publisher's thread, only queues."""
        self.queue.put(event)

    def post(self, fn: Callable[[], None], name: str = "call") -> None:
        """Run `fn` on the Tk thread soon (safe from any thread)."""
        self.queue.put(_Call(fn, name))

    def shutdown(self) -> None:
        """Close the GUI; run() returns. Safe from any thread, idempotent."""
        if threading.current_thread() is self._tk_thread:
            self._close()
        else:
            self.queue.put(_SHUTDOWN)

    # ----- Tk thread

    def run(self) -> None:
        """Tk mainloop until shutdown(); call it on the thread that built the Desktop (main)."""
        try:
            self.root.mainloop()
        finally:
            self._close()

    def show_status(self) -> None:
        self.window.show()

    def set_setup_needed(self, needed: bool) -> None:
        """Setup finished (or not): the menu offers Settings instead of Finish setup."""
        self.setup_needed = needed
        self.window.set_setup_needed(needed)
        self._refresh_menu()

    def _privacy_label(self) -> str:
        privacy = self.privacy
        if privacy is None:
            return "Privacy mode\u2026"
        until = f" until {clock_near(privacy.until_wall, self._clock())}" if privacy.until_wall else ""
        return f"Privacy mode (on{until})\u2026"

    def _current_menu_key(self) -> tuple:
        return self.setup_needed, self._privacy_label()

    def _refresh_menu(self) -> None:
        key = self._current_menu_key()
        if key != self._menu_key:
            self._menu_key = key
            self.tray.refresh_menu()

    def _hook_caller(self, name: str) -> Callable[[], None]:
        def call() -> None:
            hook = self._hooks[name]
            if hook is None and name == "show_status":
                hook = self.show_status
            if hook is None:
                log.warning("tray menu %r is not available (no handler wired)", name)
                return
            hook()
        return call

    def _schedule(self, ms: int, fn: Callable[[], None]) -> None:
        if self._closed:
            return
        holder: list[str] = []

        def fire() -> None:
            self._after_ids.discard(holder[0])
            fn()

        after_id = self.root.after(ms, fire)
        holder.append(after_id)
        self._after_ids.add(after_id)

    def _drain(self) -> None:
        """Handle up to DRAIN_BATCH queued messages; only the newest MonitorStatus is drawn."""
        latest_status = None
        if self._on_progress is not None:
            self._on_progress()
        try:
            for _ in range(DRAIN_BATCH):
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is _SHUTDOWN:
                    self._close()
                    return
                if isinstance(item, MonitorStatus):
                    latest_status = item
                    continue
                if latest_status is not None and not isinstance(item, _Call):
                    self._handle(latest_status)  # keep order around other events
                    latest_status = None
                self._handle(item)
            if latest_status is not None:
                self._handle(latest_status)
        finally:
            self._schedule(DRAIN_MS, self._drain)

    def _handle(self, item) -> None:
        try:
            if isinstance(item, _Call):
                item.fn()
                return
            self.today = advance(self.today, item, event_wall(item, self._clock()))
            self.window.apply(item, self.today)
            if isinstance(item, MonitorStatus):
                self._status = item
                self._apply_tray(item)
            elif isinstance(item, ConfigReloaded):
                self.config = item.config
                self._apply_visibility(item.config)
            elif isinstance(item, PrivacyChanged):
                self.privacy = item if item.on else None
                self._refresh_menu()
        except Exception:
            log.exception("GUI failed to handle %s", getattr(item, "name", type(item).__name__))

    def _apply_tray(self, status: MonitorStatus | None) -> None:
        for view in tray_views(status, self.today, self._clock()).values():
            self.tray.update(view)

    def _apply_visibility(self, config) -> None:
        vis = getattr(getattr(config, "system_settings", None), "tray_visibility", None)
        for kind in KINDS:
            want = bool(getattr(vis, kind, True))
            if self._tray_shown.get(kind) == want:
                continue
            self._tray_shown[kind] = want
            (self.tray.show if want else self.tray.hide)(kind)

    def popup_menu(self) -> tk.Menu:
        """The tray menu as a Tk popup, for trays that have no menus (Linux xorg), as it is now."""
        if self._popup is not None:
            self._popup.destroy()  # one popup at a time: its labels are the menu's as they are now
        menu = self._popup = tk.Menu(self.root, tearoff=False)
        for entry in self.tray_menu.entries():
            if entry is None:
                menu.add_separator()
            else:
                menu.add_command(label=entry[0], command=entry[1])
        return menu

    def _request_popup(self, x: int, y: int) -> None:
        """Tray right-click (tray thread): show the popup menu at the pointer, on the Tk thread."""
        self.post(lambda: self.popup_menu().tk_popup(x, y), "popup")

    def _report_callback_exception(self, exc, value, tb) -> None:
        log.error("exception in a Tk callback", exc_info=(exc, value, tb))

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._bus.unsubscribe(self._on_event)
        except ValueError:
            pass
        for after_id in list(self._after_ids):
            try:
                self.root.after_cancel(after_id)
            except tk.TclError:
                pass
        self._after_ids.clear()
        try:
            self.tray.stop()
        except Exception:
            log.exception("stopping the tray failed")
        try:
            self.root.quit()
            self.root.destroy()
        except tk.TclError:
            pass

    @property
    def closed(self) -> bool:
        return self._closed


def _photo(master: tk.Misc, size: int) -> tk.PhotoImage:
    """The app icon as a Tk image (PNG data: no PIL.ImageTk needed)."""
    buffer = io.BytesIO()
    app_icon(size).save(buffer, format="PNG")
    return tk.PhotoImage(master=master, data=base64.b64encode(buffer.getvalue()))


__all__ = ["Desktop", "NullTrayIcons", "IncidentRow"]
