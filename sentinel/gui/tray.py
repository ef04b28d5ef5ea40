"""The four tray icons (Router, Server, Internet, Clients) behind a small interface.

`tray_views()` decides what each icon shows (pure, time passed in); a `TrayIcons`
implementation only displays it: `PystrayTrayIcons` (gui/pystray_tray.py) with a tray,
`NullTrayIcons` when there is none (no display, headless) and in tests.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Callable, Protocol

from PIL import Image

from sentinel.events import Component, Health, MonitorStatus, PcState
from sentinel.gui.icons import Glyph, Shade, clients_icon, infra_icon
from sentinel.timefmt import clock_near
from sentinel.today import Today

log = logging.getLogger(__name__)

KINDS = ("router", "server", "internet", "clients")
INFRA = {"router": Component.ROUTER, "server": Component.SERVER, "internet": Component.INTERNET}
GLYPHS = {"router": Glyph.ROUTER, "server": Glyph.SERVER, "internet": Glyph.INTERNET}
TITLES = {"router": "Router", "server": "Server", "internet": "Internet", "clients": "Clients"}
TOOLTIP_MAX = 127  # Windows NOTIFYICONDATA.szTip holds 128 characters with the NUL
MIN_SLOT_PX = 16  # an xorg icon window smaller than this is not embedded in a tray yet

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
NETWORK_OUTAGES = (Component.LAN_LINK, Component.LAN)  # confirmed, they make every infra icon red


@dataclass(frozen=True, slots=True)
class IconView:
    """What one tray icon shows. `count` is set for the clients icon, `shade` for the others.

    Views are compared to decide whether to redraw: nothing in them changes per tick
    (no latency: on xorg a redraw used to re-dock the icon), only when what they show changes.
    """

    kind: str
    tooltip: str
    shade: Shade | None = None
    count: int | None = None

    def image(self, size: int) -> Image.Image:
        if self.kind == "clients":
            return clients_icon(self.count if self.count is not None else -1, size)
        return infra_icon(GLYPHS[self.kind], self.shade or Shade.UNKNOWN, size)


def network_outage(today: Today) -> Component | None:
    """The confirmed LAN link or LAN outage, if any: then nothing behind it can be judged."""
    return next((c for c in NETWORK_OUTAGES if today.health(c) is Health.DOWN), None)


def tray_views(status: MonitorStatus | None, today: Today, now_wall: float) -> dict[str, IconView]:
    """The four icons for a status (None: nothing measured yet); "since" comes from `today`."""
    if status is None:
        views = {kind: IconView(kind, f"{TITLES[kind]}: starting", shade=Shade.UNKNOWN) for kind in INFRA}
        views["clients"] = IconView("clients", "Clients: starting", count=0)
        return views
    by_component = {t.component: t for t in status.targets}
    outage = network_outage(today)
    views = {}
    for kind, component in INFRA.items():
        target = by_component.get(component)
        if target is None or not status.configured or target.health is Health.UNCONFIGURED:
            views[kind] = IconView(kind, f"{TITLES[kind]}: not configured", shade=Shade.UNKNOWN)
            continue
        if outage is not None:
            since = today.since_wall(outage)
            tip = f"{TITLES[kind]}: unreachable, {outage.label} DOWN since {clock_near(since, now_wall)}"
            views[kind] = IconView(kind, tip[:TOOLTIP_MAX], shade=Shade.DOWN)
            continue
        since = today.since_wall(component) or target.since_wall
        tip = f"{TITLES[kind]}: {STATE_WORD[target.health]}"
        if since is not None:
            tip += f" since {clock_near(since, now_wall)}"
        views[kind] = IconView(kind, tip[:TOOLTIP_MAX], shade=SHADE_OF[target.health])
    count = status.in_session
    tip = f"Clients: {count} of {len(status.pcs)} PCs in session"
    arp_only = sum(1 for pc in status.pcs if pc.state is PcState.IN_SESSION and pc.seen_by == "arp")
    if arp_only:
        tip += f", {arp_only} seen by ARP only (they block ping)"
    if status.frozen:
        tip += " (frozen during outage)"
    views["clients"] = IconView("clients", tip[:TOOLTIP_MAX], count=count)
    return views


@dataclass(frozen=True)
class MenuItem:
    """One tray menu entry. `label` and `visible` are asked each time the menu is built."""

    label: Callable[[], str]
    action: Callable[[], None]
    visible: Callable[[], bool] = lambda: True


SEPARATOR = None


class TrayMenu:
    """The tray menu: items (or SEPARATOR) in order; the first is the default (left-click) action.

    Actions run on a tray thread, so each must only post to the GUI queue.
    """

    def __init__(self, items: list[MenuItem | None]) -> None:
        self.items = tuple(items)

    def entries(self) -> list[tuple[str, Callable[[], None]] | None]:
        """(label, action) of the visible items as they are now, None for a separator."""
        return [None if item is SEPARATOR else (item.label(), item.action)
                for item in self.items if item is SEPARATOR or item.visible()]

    @property
    def default_action(self) -> Callable[[], None]:
        return self.items[0].action


def standard_menu(actions: dict[str, Callable[[], None]], privacy_label: Callable[[], str],
                  setup_needed: Callable[[], bool]) -> TrayMenu:
    """The product's tray menu; `actions` maps show_status, setup, settings, privacy, send_test,
    open_data, about and exit to their callbacks."""
    def plain(text: str) -> Callable[[], str]:
        return lambda: text

    return TrayMenu([
        MenuItem(plain("Show status"), actions["show_status"]),
        MenuItem(plain("Finish setup\u2026"), actions["setup"], visible=setup_needed),
        MenuItem(plain("Settings\u2026"), actions["settings"], visible=lambda: not setup_needed()),
        MenuItem(privacy_label, actions["privacy"]),
        MenuItem(plain("Send test message"), actions["send_test"]),
        MenuItem(plain("Open data folder"), actions["open_data"]),
        MenuItem(plain("About"), actions["about"]),
        SEPARATOR,
        MenuItem(plain("Exit\u2026"), actions["exit"]),
    ])


class TrayIcons(Protocol):
    """Display side of the tray. Called from the Tk thread; must never block it."""

    def update(self, view: IconView) -> None: ...

    def show(self, kind: str) -> None: ...

    def hide(self, kind: str) -> None: ...

    def refresh_menu(self) -> None:
        """The menu's labels or visible items changed (privacy on/off, setup finished)."""

    def stop(self) -> None: ...


class NullTrayIcons:
    """No tray (headless, no display, tray failed): remembers what would be shown."""

    def __init__(self) -> None:
        self.views: dict[str, IconView] = {}
        self.visible: set[str] = set()
        self.updates = 0
        self.menu_refreshes = 0
        self.stopped = False

    def update(self, view: IconView) -> None:
        self.views[view.kind] = view
        self.updates += 1

    def show(self, kind: str) -> None:
        self.visible.add(kind)

    def hide(self, kind: str) -> None:
        self.visible.discard(kind)

    def refresh_menu(self) -> None:
        self.menu_refreshes += 1

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
    from sentinel.gui.pystray_tray import PystrayTrayIcons

    return PystrayTrayIcons(pystray, menu, on_context_menu=on_context_menu)


