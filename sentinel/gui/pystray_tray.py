"""The tray icons through pystray: one control thread owns them, so the Tk thread never waits.

pystray on Linux (measured with X11 trays): each icon runs `icon.run` in a daemon thread (never
run_detached); the xorg backend needs a tray host, has no menus and drops clicks unless the icon
window listens for ButtonPress, which `_XorgPatch` adds. A hidden icon is stopped and re-created
when shown again (hiding an xorg icon does not undock it from every tray host).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

from PIL import Image

from sentinel.gui.tray import KINDS, MIN_SLOT_PX, SEPARATOR, IconView, TrayMenu

log = logging.getLogger(__name__)


class _XorgPatch:
    """Makes xorg icons clickable, sized to their tray slot and safe to drive from another thread
    (pystray 0.19.5 internals).

    Each xorg icon has its own X connection, read by the icon's loop thread. python-xlib hangs
    now and then when a second thread also talks on that connection, so nothing but that loop
    ever does once it runs: the control thread reaches it with ClientMessages sent on a
    connection of its own, and learns the slot size from the loop's ConfigureNotify events.
    """

    CALLS = ("_show", "_hide", "_update_icon", "_update_title", "_stop")  # pystray runs these on the loop

    @staticmethod
    def applies(icon) -> bool:
        return type(icon).__module__.endswith("._xorg") and hasattr(icon, "_window")

    @staticmethod
    def listen(icon, on_left: Callable[[], None], on_right: Callable[[int, int], None] | None,
               on_resize: Callable[[int, int], None]) -> None:
        """Route clicks to our callbacks and report the slot's size whenever the tray host sets it,
        (0, 0) when the host goes away (all on the icon's loop thread). Call before the loop starts.

        A new image for an icon the host has embedded is only drawn: pystray's own _update_icon
        first asks the host to dock the window again, and trayer then re-embeds it (slots
        collapse to 1 px and the icons change places, every time an icon changes)."""
        import Xlib.X

        def on_button_press(event) -> None:
            if event.detail == 1:
                on_left()
            elif event.detail == 3 and on_right is not None:
                on_right(event.root_x, event.root_y)

        handlers = icon._message_handlers
        redraw = handlers.get(Xlib.X.ConfigureNotify, lambda event: None)

        embedded = [False]  # read and written on the loop thread only

        def on_configure(event) -> None:
            redraw(event)
            if event.window.id == icon._window.id:
                embedded[0] = min(event.width, event.height) >= MIN_SLOT_PX
                on_resize(event.width, event.height)

        forget_host = handlers.get(Xlib.X.DestroyNotify, lambda event: None)

        def on_destroy(event) -> None:
            host = icon._systray_manager
            if host is not None and event.window.id == host.id:
                embedded[0] = False
                on_resize(0, 0)  # the tray host went away: not embedded any more
            forget_host(event)

        update_icon = icon._display.intern_atom("_PYSTRAY__UPDATE_ICON")  # pystray's atom for _update_icon
        run_call = handlers.get(Xlib.X.ClientMessage, lambda event: None)

        def on_client_message(event) -> None:
            if event.client_type != update_icon or not embedded[0] or icon._systray_manager is None:
                run_call(event)
                return
            try:
                icon._icon_data = None  # pystray regenerates it from icon.icon at the window's size
                icon._draw()
                icon._icon_valid = True
                icon._queue.put(True)
            except Exception:
                icon._queue.put(sys.exc_info())

        handlers[Xlib.X.ClientMessage] = on_client_message
        handlers[Xlib.X.ButtonPress] = on_button_press
        handlers[Xlib.X.ConfigureNotify] = on_configure
        handlers[Xlib.X.DestroyNotify] = on_destroy
        icon._window.change_attributes(
            event_mask=Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask | Xlib.X.ButtonPressMask)
        icon._display.flush()

    @classmethod
    def route_calls(cls, icon, connection, timeout_s: float) -> None:
        """Make `connection` (the caller's own, never the icon's) carry pystray's cross-thread calls,
        and wait for the loop's answer at most `timeout_s` (TimeoutError), never forever."""
        import Xlib.X
        from Xlib.protocol import event

        def remote(name: str, on_loop: Callable[[], None]) -> Callable[[], None]:
            atom = connection.intern_atom(f"_PYSTRAY_{name.upper()}")  # the atom pystray listens for

            def call() -> None:
                if threading.current_thread() is getattr(icon, "_thread", None):
                    on_loop()
                    return
                window = connection.create_resource_object("window", icon._window.id)
                message = event.ClientMessage(window=window, client_type=atom,
                                              data=(32, (Xlib.X.CurrentTime, 0, 0, 0, 0)))
                window.send_event(message, event_mask=Xlib.X.NoEventMask)  # to the window's owner
                connection.flush()
                try:
                    result = icon._queue.get(timeout=timeout_s)
                except queue.Empty:
                    raise TimeoutError(f"the icon's loop did not answer {name} within {timeout_s} s") from None
                if result is not True:
                    raise result[1]
            return call

        for name in cls.CALLS:
            setattr(icon, name, remote(name, getattr(icon, name)))

    @staticmethod
    def unblock(icon) -> None:
        """End a loop that missed its DestroyNotify (python-xlib can hand an event to the wrong
        thread): with its connection shut down, the loop's next_event() fails and it returns."""
        import socket

        icon._display.display.socket.shutdown(socket.SHUT_RDWR)


def fit_image(view: IconView, width: int, height: int) -> Image.Image:
    """The view's square image centred in a width x height slot (trays are not always square)."""
    side = max(1, min(width, height))
    square = view.image(side)
    if (width, height) == (side, side):
        return square
    slot = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    slot.paste(square, ((width - side) // 2, (height - side) // 2))
    return slot


@dataclass
class _Slot:
    view: IconView | None = None
    want_visible: bool = False
    icon: object = None  # pystray.Icon while running
    loop: threading.Thread | None = None  # the icon's run()
    ready: threading.Event | None = None  # set once that loop runs (pystray ignores stop() before)
    size: tuple[int, int] | None = None  # the xorg tray host's slot, from the icon's ConfigureNotify
    next_dock: float = 0.0  # xorg: when to ask the tray host again if it has not embedded us
    dock_retry_s: float = 0.0
    shown_key: tuple | None = None  # (view, size) last drawn
    is_visible: bool = False


class PystrayTrayIcons:
    """pystray icons driven by one control thread; public methods only record the wish.

    Each icon runs its own pystray loop on a daemon thread. The control thread waits for a loop
    to run before using its icon (pystray ignores stop() earlier), never uses an icon whose loop
    died (pystray would wait for it forever), and on xorg asks the tray host again, with backoff,
    until it embeds the icon (a host that starts after us, or that dropped a request).
    """

    DEFAULT_SIZE = 64  # Windows picks its size from the ICO pystray writes
    RETRY_S = 0.25  # re-apply after a failure or while waiting for a loop or a tray host
    DOCK_RETRY_MAX_S = 30.0
    STOP_TIMEOUT_S = 3.0
    ICON_STOP_TIMEOUT_S = 0.5
    ICON_CALL_TIMEOUT_S = 2.0  # an icon loop that does not answer within this is replaced

    def __init__(self, pystray_module, menu: TrayMenu,
                 on_context_menu: Callable[[int, int], None] | None = None) -> None:
        self._pystray = pystray_module
        self._menu = menu
        self._on_context_menu = on_context_menu
        self._slots = {kind: _Slot() for kind in KINDS}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_event = threading.Event()
        self._failing = False
        self._menu_stale = False
        self._x = None  # xorg: the control thread's own X connection (see _XorgPatch)
        self._thread = threading.Thread(target=self._control_loop, name="tray-control", daemon=True)
        self._thread.start()

    def update(self, view: IconView) -> None:
        with self._lock:
            slot = self._slots[view.kind]
            if slot.view == view:
                return  # unchanged: the badge is only redrawn when the count changes
            slot.view = view
        self._wake.set()

    def show(self, kind: str) -> None:
        self._want(kind, True)

    def hide(self, kind: str) -> None:
        self._want(kind, False)

    def refresh_menu(self) -> None:
        with self._lock:
            self._menu_stale = True
        self._wake.set()

    def _want(self, kind: str, visible: bool) -> None:
        with self._lock:
            self._slots[kind].want_visible = visible
        self._wake.set()

    def stop(self) -> None:
        """Stop every icon; returns within STOP_TIMEOUT_S even if pystray hangs."""
        self._stop_event.set()
        self._wake.set()
        self._thread.join(self.STOP_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("tray icons did not stop within %.1f s", self.STOP_TIMEOUT_S)

    def running_icons(self) -> dict[str, object]:
        """kind -> pystray.Icon for the icons currently running (tests, diagnostics)."""
        with self._lock:
            return {kind: slot.icon for kind, slot in self._slots.items() if slot.icon is not None}

    def _control_loop(self) -> None:
        while not self._stop_event.is_set():
            self._wake.clear()
            pending = self._apply_all()
            self._wake.wait(self.RETRY_S if pending else None)
        for kind in KINDS:
            self._stop_icon(kind)
        if self._x is not None:
            self._x.close()

    def _apply_all(self) -> bool:
        """Bring every icon to its wished state; True if something must be retried."""
        pending = False
        for kind in KINDS:
            with self._lock:
                slot = self._slots[kind]
                view, want = slot.view, slot.want_visible
            try:
                if want and view is not None:
                    pending = self._show_icon(kind, view) or pending
                elif not want and slot.icon is not None:
                    self._stop_icon(kind)
            except Exception as exc:
                pending = True
                if not self._failing:
                    log.warning("tray icon %s: %s (retrying)", kind, exc)
                self._failing = True
                if isinstance(exc, TimeoutError):  # its loop is stuck: replace the icon
                    self._stop_icon(kind, answering=False)
                continue
        with self._lock:
            stale, self._menu_stale = self._menu_stale, False
        if stale:
            for kind in KINDS:
                icon = self._slots[kind].icon
                if icon is not None and self._slots[kind].is_visible and icon.HAS_MENU:
                    try:
                        icon.update_menu()  # pystray asks the labels again
                    except Exception as exc:
                        log.warning("tray icon %s: menu not refreshed: %s", kind, exc)
        if not pending and self._failing:
            log.info("tray icons recovered")
            self._failing = False
        return pending

    def _show_icon(self, kind: str, view: IconView) -> bool:
        """Bring one icon up to date; True while it waits (for its loop, or for a tray host)."""
        slot = self._slots[kind]
        if slot.icon is not None and not slot.loop.is_alive():
            log.warning("tray icon %s: its loop ended (X connection lost?); making a new one", kind)
            self._stop_icon(kind)
        if slot.icon is None:
            self._start_icon(kind, view)
        if not slot.ready.is_set():
            return True  # the loop's setup callback wakes us
        icon = slot.icon
        if not slot.is_visible:
            icon.icon = view.image(self.DEFAULT_SIZE)
            icon.title = view.tooltip
            icon.visible = True
            slot.is_visible = True
        with self._lock:
            size = slot.size
        docked = size is not None and min(size) >= MIN_SLOT_PX  # pystray starts with a 1x1 window
        image = fit_image(view, *size) if docked else view.image(self.DEFAULT_SIZE)
        key = (view, size)
        if key != slot.shown_key:
            icon.icon = image  # on xorg this also asks the tray host to embed the icon
            icon.title = view.tooltip
            slot.shown_key = key
        if docked or not _XorgPatch.applies(icon):
            slot.dock_retry_s = 0.0
            return False
        now = time.monotonic()
        if now >= slot.next_dock:
            slot.dock_retry_s = min(max(slot.dock_retry_s * 2, self.RETRY_S), self.DOCK_RETRY_MAX_S)
            slot.next_dock = now + slot.dock_retry_s
            slot.shown_key = None  # not embedded yet: the next pass asks again
        return True

    def _start_icon(self, kind: str, view: IconView) -> None:
        icon, ready = self._create_icon(kind, view), threading.Event()
        loop = threading.Thread(target=icon.run, kwargs={"setup": self._on_loop_ready(ready)},
                                name=f"tray-{kind}", daemon=True)
        slot = self._slots[kind]
        with self._lock:
            slot.icon, slot.loop, slot.ready, slot.size = icon, loop, ready, None
        slot.is_visible, slot.shown_key = False, None
        slot.next_dock = time.monotonic() + self.RETRY_S
        slot.dock_retry_s = 0.0
        loop.start()

    def _on_loop_ready(self, ready: threading.Event) -> Callable:
        """pystray's setup callback (on a thread of its own): the loop runs, the icon can be used."""
        def setup(icon) -> None:
            ready.set()
            self._wake.set()
        return setup

    def _on_resize(self, kind: str) -> Callable[[int, int], None]:
        def resized(width: int, height: int) -> None:
            with self._lock:
                self._slots[kind].size = (width, height)
            self._wake.set()
        return resized

    def _create_icon(self, kind: str, view: IconView):
        icon = self._pystray.Icon(f"CafeSentinel-{kind}", view.image(self.DEFAULT_SIZE), view.tooltip,
                                  menu=pystray_menu(self._pystray, self._menu))
        if _XorgPatch.applies(icon):
            if self._x is None:
                import Xlib.display

                self._x = Xlib.display.Display()
            _XorgPatch.listen(icon, self._menu.default_action, self._on_context_menu, self._on_resize(kind))
            _XorgPatch.route_calls(icon, self._x, self.ICON_CALL_TIMEOUT_S)
        return icon

    def _stop_icon(self, kind: str, answering: bool = True) -> None:
        """Hide and stop one icon and wait for its loop to end (`answering=False`: the loop is
        stuck, so skip the calls it would have to answer)."""
        with self._lock:
            slot = self._slots[kind]
            icon, loop, ready = slot.icon, slot.loop, slot.ready
            slot.icon = slot.loop = slot.ready = slot.size = None
        slot.is_visible, slot.shown_key = False, None
        if icon is None:
            return
        if answering and not ready.wait(self.ICON_STOP_TIMEOUT_S):
            log.warning("tray icon %s: its loop never started", kind)
        if answering and loop.is_alive():  # a dead loop would never answer pystray's calls
            try:
                if icon.visible:
                    icon.visible = False  # undock first: some tray hosts keep a destroyed plug listed
                icon.stop()
            except Exception as exc:
                log.warning("stopping tray icon %s: %s", kind, exc)
        # The menu holds the desktop's callbacks (and so Tk): the loop must let go before we return.
        loop.join(self.ICON_STOP_TIMEOUT_S)
        if loop.is_alive() and _XorgPatch.applies(icon):
            _XorgPatch.unblock(icon)
            loop.join(self.ICON_STOP_TIMEOUT_S)
        if loop.is_alive():
            log.warning("tray icon %s: its loop did not end", kind)
        else:
            icon._running = False  # pystray's __del__ would otherwise call into the ended loop


def pystray_menu(pystray, menu: TrayMenu):
    """The menu for pystray's backends that have one (win32): labels and visibility are asked
    again whenever the icon's menu is refreshed."""
    items = []
    for i, item in enumerate(menu.items):
        if item is SEPARATOR:
            items.append(pystray.Menu.SEPARATOR)
            continue
        items.append(pystray.MenuItem(_ask(item.label), _menu_action(item.action), default=(i == 0),
                                      visible=_ask(item.visible)))
    return pystray.Menu(*items)


def _ask(read: Callable[[], object]) -> Callable:
    return lambda item: read()


def _menu_action(callback: Callable[[], None]) -> Callable:
    def action(icon, item) -> None:
        callback()
    return action
