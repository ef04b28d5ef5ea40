"""The four tray icons (Router, Server, Internet, Clients) behind a small interface.

`tray_views()` decides what each icon shows (pure, time passed in); a `TrayIcons`
implementation only displays it. `PystrayTrayIcons` owns the pystray icons on its own
control thread, so the Tk thread never waits on pystray; `NullTrayIcons` is used when
there is no tray (no display, headless) and in tests.

pystray on Linux (shared/NOTES.md): each icon runs `icon.run` in a daemon thread (never
run_detached); the xorg backend needs a tray host, has no menus and drops clicks unless
the icon window listens for ButtonPress, which `_XorgPatch` adds. A hidden icon is
stopped and re-created when shown again (hiding an xorg icon does not undock it from
every tray host).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from PIL import Image

from sentinel.events import Component, Health, MonitorStatus
from sentinel.gui.icons import Glyph, Shade, clients_icon, infra_icon

log = logging.getLogger(__name__)

KINDS = ("router", "server", "internet", "clients")
INFRA = {"router": Component.ROUTER, "server": Component.SERVER, "internet": Component.INTERNET}
GLYPHS = {"router": Glyph.ROUTER, "server": Glyph.SERVER, "internet": Glyph.INTERNET}
TITLES = {"router": "Router", "server": "Server", "internet": "Internet", "clients": "Clients"}
TOOLTIP_MAX = 127  # Windows NOTIFYICONDATA.szTip holds 128 characters with the NUL

SHADE_OF = {
    Health.UP: Shade.OK,
    Health.FAILING: Shade.OK,  # not an incident (yet): the spec's white until confirmed
    Health.DOWN: Shade.DOWN,
    Health.UNKNOWN: Shade.UNKNOWN,
    Health.UNCONFIGURED: Shade.UNKNOWN,
}
STATE_WORD = {
    Health.UP: "OK",
    Health.FAILING: "not answering",
    Health.DOWN: "DOWN",
    Health.UNKNOWN: "unknown",
    Health.UNCONFIGURED: "not configured",
}


def format_clock(wall: float, now_wall: float) -> str:
    """Local wall time: "14:02:11" today, "3 May 14:02" on another day."""
    then, now = time.localtime(wall), time.localtime(now_wall)
    if (then.tm_year, then.tm_yday) == (now.tm_year, now.tm_yday):
        return time.strftime("%H:%M:%S", then)
    return f"{then.tm_mday} {time.strftime('%b %H:%M', then)}"


@dataclass(frozen=True, slots=True)
class IconView:
    """What one tray icon shows. `count` is set for the clients icon, `shade` for the others."""

    kind: str
    tooltip: str
    shade: Shade | None = None
    count: int | None = None

    def image(self, size: int) -> Image.Image:
        if self.kind == "clients":
            return clients_icon(self.count if self.count is not None else -1, size)
        return infra_icon(GLYPHS[self.kind], self.shade or Shade.UNKNOWN, size)


def infra_tooltip(title: str, health: Health, since_wall: float | None, latency_ms: float | None,
                  now_wall: float) -> str:
    text = f"{title}: {STATE_WORD[health]}"
    if health is not Health.UNCONFIGURED and since_wall is not None:
        text += f" since {format_clock(since_wall, now_wall)}"
    if health is Health.UP and latency_ms is not None:
        text += f" ({latency_ms:.0f} ms)"
    return text


def tray_views(status: MonitorStatus | None, now_wall: float) -> dict[str, IconView]:
    """The four icons for a status (None: nothing measured yet)."""
    if status is None:
        views = {kind: IconView(kind, f"{TITLES[kind]}: starting", shade=Shade.UNKNOWN) for kind in INFRA}
        views["clients"] = IconView("clients", "Clients: starting", count=0)
        return views
    by_component = {t.component: t for t in status.targets}
    views = {}
    for kind, component in INFRA.items():
        target = by_component.get(component)
        if target is None or not status.configured:
            views[kind] = IconView(kind, f"{TITLES[kind]}: not configured", shade=Shade.UNKNOWN)
            continue
        tip = infra_tooltip(TITLES[kind], target.health, target.since_wall, target.latency_ms, now_wall)
        views[kind] = IconView(kind, tip[:TOOLTIP_MAX], shade=SHADE_OF[target.health])
    count = status.in_session
    tip = f"Clients: {count} of {len(status.pcs)} PCs in session"
    if status.frozen:
        tip += " (frozen during outage)"
    views["clients"] = IconView("clients", tip[:TOOLTIP_MAX], count=count)
    return views


@dataclass(frozen=True)
class TrayMenu:
    """Menu callbacks. They run on a tray thread, so each must only post to the GUI queue."""

    show_status: Callable[[], None]
    privacy: Callable[[], None]
    send_test: Callable[[], None]
    exit: Callable[[], None]

    def entries(self) -> list[tuple[str, Callable[[], None]]]:
        """(label, callback) in menu order; the first is the default (left-click) action."""
        return [
            ("Show status", self.show_status),
            ("Privacy mode\u2026", self.privacy),
            ("Send test message", self.send_test),
            ("Exit\u2026", self.exit),
        ]


class TrayIcons(Protocol):
    """Display side of the tray. Called from the Tk thread; must never block it."""

    def update(self, view: IconView) -> None: ...

    def show(self, kind: str) -> None: ...

    def hide(self, kind: str) -> None: ...

    def stop(self) -> None: ...


class NullTrayIcons:
    """No tray (headless, no display, tray failed): remembers what would be shown."""

    def __init__(self) -> None:
        self.views: dict[str, IconView] = {}
        self.visible: set[str] = set()
        self.updates = 0
        self.stopped = False

    def update(self, view: IconView) -> None:
        self.views[view.kind] = view
        self.updates += 1

    def show(self, kind: str) -> None:
        self.visible.add(kind)

    def hide(self, kind: str) -> None:
        self.visible.discard(kind)

    def stop(self) -> None:
        self.stopped = True


def can_use_pystray() -> bool:
    """False where importing pystray would fail or only give the dummy backend."""
    if os.environ.get("PYSTRAY_BACKEND") == "dummy":
        return False
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY"))


def make_tray(menu: TrayMenu, on_context_menu: Callable[[int, int], None] | None = None) -> TrayIcons:
    """The pystray tray when there is a display and pystray loads, else NullTrayIcons."""
    if not can_use_pystray():
        log.info("no display: tray icons disabled")
        return NullTrayIcons()
    try:
        import pystray
    except Exception as exc:  # ImportError, Xlib display errors: no tray, the app still runs
        log.warning("tray icons unavailable: %s", exc)
        return NullTrayIcons()
    return PystrayTrayIcons(pystray, menu, on_context_menu=on_context_menu)


class _XorgPatch:
    """Makes xorg icons clickable and sized to their tray slot (pystray 0.19.5 internals)."""

    @staticmethod
    def applies(icon) -> bool:
        return type(icon).__module__.endswith("._xorg") and hasattr(icon, "_window")

    @staticmethod
    def listen(icon, on_left: Callable[[], None], on_right: Callable[[int, int], None] | None,
               on_resize: Callable[[], None]) -> None:
        """Route clicks to our callbacks and tell us when the tray host resizes the slot."""
        import Xlib.X

        def on_button_press(event) -> None:
            if event.detail == 1:
                on_left()
            elif event.detail == 3 and on_right is not None:
                on_right(event.root_x, event.root_y)

        handlers = icon._message_handlers
        redraw = handlers.get(Xlib.X.ConfigureNotify, lambda event: None)

        def on_configure(event) -> None:
            redraw(event)
            on_resize()

        handlers[Xlib.X.ButtonPress] = on_button_press
        handlers[Xlib.X.ConfigureNotify] = on_configure
        icon._window.change_attributes(
            event_mask=Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask | Xlib.X.ButtonPressMask)
        icon._display.flush()

    @staticmethod
    def slot_size(icon) -> tuple[int, int] | None:
        try:
            geometry = icon._window.get_geometry()
        except Exception:
            return None
        if geometry.width < 16 or geometry.height < 16:
            return None  # not docked yet (pystray creates a 1x1 window)
        return geometry.width, geometry.height


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
    shown_key: tuple | None = None  # (view, size) last drawn
    is_visible: bool = False


class PystrayTrayIcons:
    """pystray icons driven by one control thread; public methods only record the wish."""

    DEFAULT_SIZE = 64  # Windows picks its size from the ICO pystray writes
    RETRY_S = 0.25  # re-apply after a failure (icon loop not ready yet, tray host gone)
    STOP_TIMEOUT_S = 3.0

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

    def _apply_all(self) -> bool:
        """Bring every icon to its wished state; True if something must be retried."""
        pending = False
        for kind in KINDS:
            with self._lock:
                slot = self._slots[kind]
                view, want = slot.view, slot.want_visible
            try:
                if want and view is not None:
                    self._show_icon(kind, view)
                elif not want and slot.icon is not None:
                    self._stop_icon(kind)
            except Exception as exc:
                pending = True
                if not self._failing:
                    log.warning("tray icon %s: %s (retrying)", kind, exc)
                self._failing = True
                continue
        if not pending and self._failing:
            log.info("tray icons recovered")
            self._failing = False
        return pending

    def _image_for(self, icon, view: IconView) -> tuple[Image.Image, tuple]:
        size = _XorgPatch.slot_size(icon) if _XorgPatch.applies(icon) else None
        if size is None:
            size = (self.DEFAULT_SIZE, self.DEFAULT_SIZE)
        return fit_image(view, *size), (view, size)

    def _show_icon(self, kind: str, view: IconView) -> None:
        slot = self._slots[kind]
        if slot.icon is None:
            slot.icon = self._create_icon(kind, view)
            slot.is_visible = False
            slot.shown_key = None
            threading.Thread(target=slot.icon.run, kwargs={"setup": _no_setup},
                             name=f"tray-{kind}", daemon=True).start()
        icon = slot.icon
        if not slot.is_visible:
            icon.icon = view.image(self.DEFAULT_SIZE)
            icon.title = view.tooltip
            icon.visible = True  # raises until the icon's loop runs; retried by the caller
            slot.is_visible = True
        image, key = self._image_for(icon, view)
        if key != slot.shown_key:
            icon.icon = image
            icon.title = view.tooltip
            slot.shown_key = key

    def _create_icon(self, kind: str, view: IconView):
        pystray = self._pystray
        entries = self._menu.entries()
        items = [pystray.MenuItem(label, _menu_action(callback), default=(i == 0))
                 for i, (label, callback) in enumerate(entries)]
        icon = pystray.Icon(f"CafeSentinel-{kind}", view.image(self.DEFAULT_SIZE), view.tooltip,
                            menu=pystray.Menu(*items))
        if _XorgPatch.applies(icon):
            _XorgPatch.listen(icon, self._menu.show_status, self._on_context_menu, self._wake.set)
        return icon

    def _stop_icon(self, kind: str) -> None:
        with self._lock:
            slot = self._slots[kind]
            icon, slot.icon = slot.icon, None
            slot.is_visible = False
            slot.shown_key = None
        if icon is not None:
            try:
                if icon.visible:
                    icon.visible = False  # undock first: some tray hosts keep a destroyed plug listed
                icon.stop()
            except Exception:
                log.exception("stopping tray icon %s failed", kind)


def _no_setup(icon) -> None:
    """Visibility is set by the control thread, not by pystray's setup thread."""


def _menu_action(callback: Callable[[], None]) -> Callable:
    def action(icon, item) -> None:
        callback()
    return action
