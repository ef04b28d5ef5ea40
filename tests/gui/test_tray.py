"""Tray: views and menu without a display; real pystray icons docking into trayer under Xvfb."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers.xvfb import screenshot_dir
from tests.helpers import gui_fakes as F
from sentinel.config.model import Config, SystemSettings, TrayVisibility
from sentinel.events import Component, Health, IncidentConfirmed, IncidentOpened
from sentinel.gui.desktop import MENU_ACTIONS
from sentinel.gui.icons import Shade, clients_icon
from sentinel.gui.pystray_tray import fit_image
from sentinel.gui.tray import KINDS, IconView, NullTrayIcons, standard_menu, tray_views
from sentinel.today import Today, advance

SCREENSHOTS = screenshot_dir()
DEADLINE_S = 5.0


def views(status, events=(), now=F.NOW):
    """tray_views with the Today picture the desktop would have after `events` and `status`."""
    today = Today()
    for event in (*events, status):
        today = advance(today, event, now)
    return tray_views(status, today, now)


def test_views_normal():
    shown = views(F.normal())
    assert [shown[k].shade for k in ("router", "server", "internet")] == [Shade.OK] * 3
    clock = time.strftime("%H:%M:%S", time.localtime(F.NOW - 3 * 3600))
    assert shown["router"].tooltip == f"Router: OK since {clock}"
    assert shown["clients"].count == 6
    assert shown["clients"].tooltip == "Clients: 6 of 12 PCs in session"


def test_views_do_not_change_per_tick():
    """Latency is not in a tooltip: the icons are redrawn only when what they show changes."""
    first = views(F.normal())
    later = F.normal(at=F.NOW + 2)
    faster = dataclasses.replace(later, targets=tuple(dataclasses.replace(t, latency_ms=(t.latency_ms or 0) + 7)
                                                      for t in later.targets))
    assert views(faster, events=(F.normal(),), now=F.NOW + 2) == first


def test_views_outage_router_down_internet_unknown():
    shown = views(F.outage())
    assert shown["router"].shade is Shade.DOWN
    clock = time.strftime("%H:%M:%S", time.localtime(F.NOW - 210))
    assert shown["router"].tooltip == f"Router: DOWN since {clock}"
    assert shown["internet"].shade is Shade.UNKNOWN and shown["internet"].tooltip.startswith("Internet: unknown")
    assert shown["server"].shade is Shade.OK
    assert shown["clients"].tooltip.endswith("(frozen during outage)")


def test_a_lan_link_outage_is_red_on_every_infra_icon():
    lost = F.status(link_up=False, frozen=True,
                    targets_=F.targets(Health.UNKNOWN, Health.UNKNOWN, Health.UNKNOWN, down_for=30))
    events = (IncidentOpened("k", Component.LAN_LINK, F.NOW - 30, 0),
              IncidentConfirmed("k", Component.LAN_LINK, F.NOW - 30, F.NOW - 20, 0))
    shown = views(lost, events)
    assert [shown[k].shade for k in ("router", "server", "internet")] == [Shade.DOWN] * 3
    assert shown["router"].tooltip.startswith("Router: unreachable, LAN link DOWN since ")


def test_views_failing_is_still_white_but_says_so_and_unconfigured_is_grey():
    status = F.status(targets_=F.targets(Health.FAILING, Health.UNCONFIGURED, Health.UP, down_for=4))
    shown = views(status)
    assert shown["router"].shade is Shade.OK and "not answering since" in shown["router"].tooltip
    assert shown["server"].shade is Shade.UNKNOWN and shown["server"].tooltip == "Server: not configured"
    assert tray_views(None, Today(), F.NOW)["router"].tooltip == "Router: starting"
    other_day = views(F.outage(), now=F.NOW + 2 * 86400)["router"].tooltip
    assert " since " in other_day and ":" in other_day and len(other_day) < 40


def test_clients_tooltip_says_how_many_are_seen_by_arp_only():
    status = F.twenty_in_session()
    pcs = tuple(dataclasses.replace(pc, seen_by="arp" if pc.index <= 3 else "ping") for pc in status.pcs)
    shown = tray_views(dataclasses.replace(status, pcs=pcs), Today(), F.NOW)
    assert shown["clients"].tooltip.endswith(", 3 seen by ARP only (they block ping)")
    assert "ARP" not in views(status)["clients"].tooltip


def test_tooltips_fit_windows_limit():
    assert all(len(v.tooltip) <= 127 for v in views(F.twenty_in_session()).values())


def _menu(calls, privacy_on=False, setup_needed=False):
    actions = {name: (lambda name=name: calls.append(name)) for name in MENU_ACTIONS}
    return standard_menu(actions, lambda: "Privacy mode (on)\u2026" if privacy_on else "Privacy mode\u2026",
                         lambda: setup_needed)


def test_menu_texts_order_separator_and_callbacks():
    calls = []
    entries = _menu(calls).entries()
    labels = [entry[0] if entry else "---" for entry in entries]
    assert labels == ["Show status", "Settings\u2026", "Privacy mode\u2026", "Send test message",
                      "Open data folder", "About", "---", "Exit\u2026"]
    for entry in entries:
        if entry:
            entry[1]()
    assert calls == ["show_status", "settings", "privacy", "send_test", "open_data", "about", "exit"]


def test_menu_shows_privacy_state_and_offers_the_setup_until_it_is_done():
    labels = [e[0] for e in _menu([], privacy_on=True, setup_needed=True).entries() if e]
    assert labels[:3] == ["Show status", "Finish setup\u2026", "Privacy mode (on)\u2026"]
    assert "Settings\u2026" not in labels


def test_fit_image_centres_a_square_icon_in_a_tall_slot():
    view = IconView("clients", "Clients: 7", count=7)
    image = fit_image(view, 24, 38)
    assert image.size == (24, 38)
    assert image.crop((0, 7, 24, 31)).tobytes() == clients_icon(7, 24).tobytes()
    assert image.getpixel((12, 2))[3] == 0


def test_desktop_applies_tray_visibility_on_reload(gui_display):
    """Hot reload of tray_visibility hides and shows icons (through the TrayIcons interface)."""
    from sentinel.bus import EventBus
    from sentinel.events import ConfigReloaded
    from sentinel.gui.desktop import Desktop

    tray = NullTrayIcons()
    bus = EventBus()
    hidden = Config(system_settings=SystemSettings(tray_visibility=TrayVisibility(server=False, clients=False)))
    d = Desktop(bus, hidden, tray_factory=lambda menu, popup: tray, clock=lambda: F.NOW)
    try:
        assert tray.visible == {"router", "internet"}
        bus.publish(ConfigReloaded(Config(), ("system_settings",)))
        deadline = time.monotonic() + DEADLINE_S
        while tray.visible != set(KINDS) and time.monotonic() < deadline:
            d.root.update()
            time.sleep(0.01)
        assert tray.visible == set(KINDS)
        updates = tray.updates
        bus.publish(F.normal())
        bus.publish(F.normal(at=F.NOW + 2))
        deadline = time.monotonic() + DEADLINE_S
        while d.window.status is None or d.window.status.at_wall != F.NOW + 2:
            assert time.monotonic() < deadline
            d.root.update()
            time.sleep(0.01)
        assert tray.views["clients"].count == 6 and tray.updates > updates
    finally:
        d.shutdown()


# ----- real icons in a real tray host


def _tree(display: str) -> str:
    return subprocess.run(["xwininfo", "-root", "-tree", "-display", display], capture_output=True,
                          text=True, timeout=10, check=False).stdout


def _wait(predicate, deadline_s=DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def trayer(gui_display):
    with _run_trayer(gui_display) as proc:
        yield proc


@contextlib.contextmanager
def _run_trayer(gui_display):
    if shutil.which("trayer") is None or shutil.which("xwininfo") is None:
        reason = "trayer/xwininfo not installed: real tray test NOT run"
        if os.environ.get("SENTINEL_STRICT") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    proc = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "40",
         "--SetDockType", "false", "--transparent", "false"],
        env=gui_display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: '"panel"' in _tree(gui_display.display)), "trayer did not start"
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _docked(display: str) -> dict[str, str]:
    """kind -> xwininfo line, for our icon windows that sit inside trayer's panel."""
    out, inside = {}, False
    for line in _tree(display).splitlines():
        if '"panel"' in line:
            inside = True
        elif inside and "CafeSentinel-" in line:
            kind = line.rsplit('"CafeSentinel-', 1)[1].split('"')[0]
            out[kind] = line.strip()
        elif inside and line.startswith("     0x"):  # next top-level window: left the panel
            inside = False
    return out


def _slot_size(display: str, kind: str) -> tuple[int, int] | None:
    """The docked icon window's size as the X server reports it ("WxH+x+y" in xwininfo's line)."""
    line = _docked(display).get(kind)
    if line is None:
        return None
    width, height = line.split()[-2].split("+")[0].split("x")
    return int(width), int(height)


def _xorg_pystray(monkeypatch):
    monkeypatch.setenv("PYSTRAY_BACKEND", "xorg")
    for name in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
        monkeypatch.delitem(sys.modules, name)
    import pystray
    return pystray


def _show_all(pystray):
    """Real pystray icons for a normal cafe, all four asked to show."""
    from sentinel.gui.pystray_tray import PystrayTrayIcons

    tray = PystrayTrayIcons(pystray, _menu([]))
    for view in views(F.normal()).values():
        tray.update(view)
    for kind in KINDS:
        tray.show(kind)
    return tray


def _icon_loops() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("tray-") and t.name != "tray-control"]


@pytest.mark.needs_display
def test_stop_right_after_show_ends_every_icon_loop(trayer, gui_display, monkeypatch):
    """pystray ignores stop() until an icon's loop runs: a quick Exit must not leave loops behind."""
    pystray = _xorg_pystray(monkeypatch)
    for _ in range(3):
        tray = _show_all(pystray)
        assert _wait(lambda: tray.running_icons().keys() == set(KINDS), 5)
        tray.stop()
        assert _icon_loops() == []
    assert _wait(lambda: _docked(gui_display.display) == {})


@pytest.mark.needs_display
def test_icons_dock_into_a_tray_host_that_starts_later_or_restarts(gui_display, monkeypatch):
    pystray = _xorg_pystray(monkeypatch)
    tray = _show_all(pystray)
    try:
        assert _wait(lambda: tray.running_icons().keys() == set(KINDS), 5)
        with _run_trayer(gui_display):
            assert _wait(lambda: set(_docked(gui_display.display)) == set(KINDS)), _tree(gui_display.display)
        with _run_trayer(gui_display):  # the tray host restarted
            assert _wait(lambda: set(_docked(gui_display.display)) == set(KINDS)), _tree(gui_display.display)
    finally:
        tray.stop()
    assert _icon_loops() == []


@pytest.mark.needs_display
def test_an_icon_whose_loop_died_is_replaced(trayer, gui_display, monkeypatch):
    from sentinel.gui.pystray_tray import _XorgPatch

    pystray = _xorg_pystray(monkeypatch)
    tray = _show_all(pystray)
    try:
        assert _wait(lambda: set(_docked(gui_display.display)) == set(KINDS)), _tree(gui_display.display)
        lost = tray.running_icons()["router"]
        _XorgPatch.unblock(lost)  # as if the X connection dropped: the loop ends with an error
        tray.update(views(F.outage())["router"])
        assert _wait(lambda: tray.running_icons().get("router") not in (None, lost))
        assert _wait(lambda: "router" in _docked(gui_display.display)), _tree(gui_display.display)
        assert tray.running_icons()["router"].title.startswith("Router: DOWN since ")
    finally:
        tray.stop()
    assert _icon_loops() == []


@pytest.mark.needs_display
def test_real_icons_dock_update_hide_and_stop(trayer, gui_display, monkeypatch):
    from sentinel.gui.pystray_tray import PystrayTrayIcons, _XorgPatch

    pystray = _xorg_pystray(monkeypatch)

    clicks = []
    tray = PystrayTrayIcons(pystray, _menu(clicks))
    try:
        for view in views(F.outage()).values():
            tray.update(view)
        for kind in KINDS:
            tray.show(kind)
        display = gui_display.display
        assert _wait(lambda: set(_docked(display)) == set(KINDS)), _tree(display)

        icons = tray.running_icons()
        assert _XorgPatch.applies(icons["router"])
        # the badge is drawn at the slot size and changes with the count
        assert _wait(lambda: icons["clients"].icon.size == _slot_size(display, "clients"))
        before = icons["clients"].icon.tobytes()
        tray.update(views(F.twenty_in_session())["clients"])
        assert _wait(lambda: icons["clients"].icon.tobytes() != before)
        assert icons["clients"].title == "Clients: 20 of 20 PCs in session"
        assert icons["router"].title.startswith("Router: DOWN since ")

        _screenshot_tray(display)

        # a left click on an icon reaches the show_status callback (xorg ButtonPress fix)
        if shutil.which("xdotool"):
            geometry = _docked(display)["router"].split()[-1]  # "+x+y" absolute position
            x, y = (int(v) for v in geometry.lstrip("+").split("+"))
            subprocess.run(["xdotool", "mousemove", str(x + 5), str(y + 5), "click", "1"],
                           env=gui_display.env(), check=True, timeout=10)
            assert _wait(lambda: clicks == ["show_status"])

        tray.hide("server")
        assert _wait(lambda: set(_docked(display)) == set(KINDS) - {"server"}), _tree(display)
        tray.show("server")
        assert _wait(lambda: set(_docked(display)) == set(KINDS))
    finally:
        started = time.monotonic()
        tray.stop()
        stop_s = time.monotonic() - started
    assert stop_s < 3.0
    # stop() waits for the icons' own loops: none may still hold the menu's callbacks (and Tk).
    assert _icon_loops() == []
    assert _wait(lambda: _docked(gui_display.display) == {})


def _screenshot_tray(display: str) -> None:
    import mss
    from PIL import Image

    line = _tree(display)
    panel = next(l for l in line.splitlines() if '"panel"' in l)
    size, pos = panel.split()[-2], panel.split()[-1]
    w, rest = size.split("x")
    h = rest.split("+")[0]
    x, y = (int(v) for v in pos.lstrip("+").split("+"))
    with mss.MSS() as grabber:
        shot = grabber.grab({"left": x, "top": y, "width": int(w), "height": int(h)})
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
    assert image.getbbox() is not None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = image.resize((image.width * 3, image.height * 3), Image.Resampling.NEAREST)
    image.save(SCREENSHOTS / "tray.png", optimize=True)


def _tray_layout(display: str) -> list[tuple[str, int, int, int]]:
    """(kind, width, height, x on screen) of our icons docked in the panel, left to right."""
    icons = []
    for line in _docked(display).values():
        kind = line.rsplit('"CafeSentinel-', 1)[1].split('"')[0]
        size, position = line.split()[-2:]
        width, height = (int(v) for v in size.split("+")[0].split("x"))
        icons.append((kind, width, height, int(position.lstrip("+").split("+")[0])))
    return sorted(icons, key=lambda icon: icon[3])


SAMPLE_S, SAMPLES = 0.5, 60  # 30 s of --demo: the router blip, PCs coming and going, the internet outage


@pytest.mark.needs_display
def test_icons_sit_still_through_30_s_of_demo(trayer, gui_display, tmp_path):
    """Every sample shows the four icons at the tray's slot size, in one order (no re-docking)."""
    from tests.helpers.apprun import AppRun

    app = AppRun(AppRun.command("--demo", "--data-dir", str(tmp_path / "data")), env={"DISPLAY": gui_display.display})
    try:
        app.wait_line("CafeSentinel demo")
        assert _wait(lambda: len(_tray_layout(gui_display.display)) == 4, 20), _tree(gui_display.display)
        first = _tray_layout(gui_display.display)
        order = [kind for kind, *_ in first]
        slot = {(w, h) for _, w, h, _ in first}
        assert len(slot) == 1 and min(next(iter(slot))) >= 16, first
        bad = []
        stop = threading.Event()
        for n in range(SAMPLES):
            layout = _tray_layout(gui_display.display)
            if [kind for kind, *_ in layout] != order or {(w, h) for _, w, h, _ in layout} != slot:
                bad.append((n, layout))
            stop.wait(SAMPLE_S)
        assert app.proc.poll() is None, app.stderr_tail()
        assert not bad, f"{len(bad)} of {SAMPLES} samples differ from {first}: {bad[:5]}"
    finally:
        app.kill()
