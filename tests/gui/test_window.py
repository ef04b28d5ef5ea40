"""The status window in a real Tk under Xvfb, fed hand-built MonitorStatus values.

Saves status-*.png (docs/screenshots with SENTINEL_UPDATE_SCREENSHOTS=1; look at them after changes).
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time

import pytest

from tests.helpers.xvfb import screenshot_dir
from tests.helpers import gui_fakes as F
from sentinel.bus import EventBus
from sentinel.config.model import Config
from sentinel.events import (
    Component,
    ConfigRejected,
    ConfigReloaded,
    DeliveryStatus,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    IncidentOpened,
    PcState,
    PrivacyChanged,
)
from sentinel.gui.forms import GREEN, RED
from sentinel.gui.icons import Shade
from sentinel.gui.tray import NullTrayIcons
from sentinel.gui.tiles import TILE_LOOK
from sentinel.gui.window import HEADLINE_LOOK, HEALTH_LOOK, MIN_SIZE, IncidentRow
from sentinel.timefmt import clock_near, hm

pytestmark = pytest.mark.needs_display

SCREENSHOTS = screenshot_dir()
DEADLINE_S = 5.0


@pytest.fixture
def desktop(gui_display):
    from sentinel.gui.desktop import Desktop

    bus = EventBus()
    trays = []

    def tray_factory(menu, popup):
        trays.append(NullTrayIcons())
        return trays[0]

    history = [IncidentRow("old-1", Component.INTERNET, F.NOW - 7200, F.NOW - 7000)]
    d = Desktop(bus, Config(), tray_factory=tray_factory, clock=lambda: F.NOW, show_window=True,
                recent_incidents=lambda: history)
    d.bus = bus
    d.null_tray = trays[0]
    d.root.update()
    yield d
    d.shutdown()  # on the Tk thread: closes at once
    assert d.closed


def pump(d, until, deadline_s=DEADLINE_S):
    """Run the Tk loop (the drain's after() included) until `until()` or the deadline."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        d.root.update()
        if until():
            return True
        time.sleep(0.01)
    return until()


def screenshot(d, name):
    import mss
    from PIL import Image

    top = d.window.top
    top.geometry("+0+0")
    pump(d, lambda: top.winfo_rootx() == 0 and top.winfo_ismapped())
    d.root.update_idletasks()
    d.root.update()
    box = {"left": top.winfo_rootx(), "top": top.winfo_rooty(), "width": top.winfo_width(),
           "height": top.winfo_height()}
    with mss.MSS() as grabber:
        shot = grabber.grab(box)
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
    assert image.getbbox() is not None  # not an empty black screen
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / name, optimize=True)
    return image


def infra(d, component):
    w = d.window.infra_rows[component]
    return {"state": w["state"].cget("text"), "colour": w["state"].cget("fg"),
            "dot": w["dot"].itemcget(w["oval"], "fill"), "address": w["address"].cget("text"),
            "latency": w["latency"].cget("text"), "since": w["since"].cget("text")}


def tile_states(d):
    canvas = d.window.pcs.canvas
    out = []
    for tile in d.window.pcs.tiles:
        out.append((canvas.itemcget(tile.name, "text"), canvas.itemcget(tile.detail, "text"),
                    canvas.itemcget(tile.rect, "fill")))
    return out


def publish(d, *events):
    """One event at a time, each drawn before the next (as ticks two seconds apart would be)."""
    for event in events:
        d.bus.publish(event)
        assert pump(d, lambda: d.queue.empty())
        d.root.update()


def header(d):
    w = d.window
    return w.headline_label.cget("text"), w.header.cget("bg")


def test_normal_network(desktop):
    w = desktop.window
    publish(desktop, DeliveryStatus(backlog=(("alerts", 0), ("occupancy", 0)), dead=(), delivered=12,
                                    last_delivered_wall=F.NOW - 30), F.normal(at=F.NOW - 60), F.normal())
    assert header(desktop) == ("All OK", HEADLINE_LOOK["ok"][0])
    router = infra(desktop, Component.ROUTER)
    assert router["state"] == "OK" and router["colour"] == GREEN and router["dot"] == GREEN
    assert router["address"] == "198.51.100.1" and router["latency"] == "1 ms"
    assert router["since"] == f"since {clock_near(F.NOW - 60 - 3 * 3600, F.NOW)}"  # as the core said first
    assert infra(desktop, Component.LAN)["state"] == "OK"
    assert infra(desktop, Component.INTERNET)["latency"] == "24 ms"
    tiles = tile_states(desktop)
    assert len(tiles) == 12
    assert tiles[0] == ("PC-1", hm(20 * 60), TILE_LOOK[PcState.IN_SESSION][0])
    assert tiles[3] == ("PC-4", "seen", TILE_LOOK[PcState.SEEN][0])
    assert tiles[5] == ("PC-6", "off", TILE_LOOK[PcState.OFF][0])
    assert w.pc_summary.cget("text").startswith("6 in session \u00b7 1 seen \u00b7 5 off")
    assert w.delivery_label.cget("text") == ("Sent today: 12\nWaiting: none\n"
                                             f"Last delivered: {clock_near(F.NOW - 30, F.NOW)}")
    assert w.banners() == [] and not w.banner_frame.winfo_ismapped()
    assert w.today_labels[Component.ROUTER][0].cget("text") == "100.0 %"
    assert w.peak_label.cget("text").startswith("Peak: 6 of 12 PCs at ")
    assert desktop.null_tray.views["clients"].count == 6
    assert desktop.null_tray.views["router"].tooltip.startswith("Router: OK since ")
    screenshot(desktop, "status-normal.png")


def test_failing_is_amber_not_an_outage(desktop):
    publish(desktop, F.normal(at=F.NOW - 2), IncidentOpened("r", Component.ROUTER, F.NOW - 4, 6),
            F.status(at=F.NOW, blips=2, targets_=F.targets(Health.FAILING, down_for=4),
                     pcs_=F.normal().pcs))
    text, bg = header(desktop)
    assert text == "Router not answering \u2014 checking (not an outage yet)" and bg == HEADLINE_LOOK["failing"][0]
    router = infra(desktop, Component.ROUTER)
    assert router["state"] == "Not answering" and router["since"].endswith("(0:00:04)")
    assert desktop.window.net_aside.cget("text") == "Checking\u2026"
    assert desktop.null_tray.views["router"].shade is Shade.OK  # white until confirmed
    screenshot(desktop, "status-failing.png")


def internet_outage(start=F.NOW - 600, now=F.NOW):
    """Internet fails at `start`, confirmed 10 s later, still down at `now`."""
    pcs = F.normal().pcs
    return (F.status(at=start - 2, pcs_=pcs), IncidentOpened("i", Component.INTERNET, start, 6),
            F.status(at=start, targets_=F.targets(internet=Health.FAILING, now=start), pcs_=pcs),
            IncidentConfirmed("i", Component.INTERNET, start, start + 10, 6),
            *(F.status(at=t, targets_=F.targets(internet=Health.DOWN, now=t, down_for=t - start), pcs_=pcs)
              for t in (*range(int(start) + 10, int(now), 60), now)))


def test_internet_down_says_the_cause_in_the_header(desktop):
    w = desktop.window
    publish(desktop, *internet_outage())
    text, bg = header(desktop)
    assert bg == RED
    assert text == (f"Internet down \u2014 the router is fine: your ISP   "
                    f"(since {clock_near(F.NOW - 600, F.NOW)}, 0:10:00)")
    internet = infra(desktop, Component.INTERNET)
    assert (internet["state"], internet["colour"], internet["dot"]) == ("DOWN", RED, RED)
    assert internet["since"] == f"since {clock_near(F.NOW - 600, F.NOW)}  (0:10:00)"
    assert w.today_labels[Component.INTERNET][1].cget("text") == "0:10:00"  # the same number as the CSV
    assert w.net_aside.cget("text") == "Outage"
    assert [c.cget("text") for c in w.incident_body.winfo_children()][2] == "ongoing"
    assert desktop.null_tray.views["internet"].shade is Shade.DOWN
    screenshot(desktop, "status-down.png")


def network_outage(component, start=F.NOW - 120, now=F.NOW):
    """Our link (LAN_LINK) or the switch (LAN) fails at `start`, confirmed 10 s later."""
    unknown = F.targets(Health.UNKNOWN, Health.UNKNOWN, Health.UNKNOWN, now=start, down_for=0)
    link_up = component is not Component.LAN_LINK
    return (F.normal(at=start - 2), IncidentOpened("n", component, start, 6),
            F.status(at=start, link_up=link_up, frozen=True, targets_=unknown, pcs_=F.normal().pcs),
            IncidentConfirmed("n", component, start, start + 10, 6),
            F.status(at=now, link_up=link_up, frozen=True, targets_=unknown, pcs_=F.normal().pcs))


@pytest.mark.parametrize("component, cause, picture", [
    (Component.LAN_LINK, "This PC lost its network \u2014 check its cable or Wi-Fi", "status-lan-link.png"),
    (Component.LAN, "LAN down \u2014 router, server and PCs unreachable: the switch or cabling", "status-lan.png"),
])
def test_lan_link_and_lan_outages_are_red(desktop, component, cause, picture):
    publish(desktop, *network_outage(component))
    text, bg = header(desktop)
    assert bg == RED and text.startswith(cause)
    lan = infra(desktop, Component.LAN)
    assert (lan["state"], lan["colour"], lan["dot"]) == (f"{component.label} DOWN", RED, RED)
    assert lan["since"].endswith("(0:02:00)")
    router = infra(desktop, Component.ROUTER)
    assert router["since"] == f"behind the {component.label} \u00b7 since {clock_near(F.NOW - 120, F.NOW)}"
    tray = desktop.null_tray.views
    assert all(tray[k].shade is Shade.DOWN for k in ("router", "server", "internet"))
    screenshot(desktop, picture)


def test_after_recovery_since_is_the_recovery_time(desktop):
    w = desktop.window
    back = F.NOW - 30
    publish(desktop, *network_outage(Component.LAN_LINK, start=F.NOW - 300, now=back - 2),
            IncidentEnded("n", Component.LAN_LINK, F.NOW - 300, back, 270, 6, 6),
            F.normal(at=back), F.normal(at=F.NOW))
    assert header(desktop) == ("All OK", HEADLINE_LOOK["ok"][0])
    for component in (Component.ROUTER, Component.SERVER, Component.INTERNET, Component.LAN):
        assert infra(desktop, component)["since"] == f"since {clock_near(back, F.NOW)}", component
    assert w.today_labels[Component.LAN][1].cget("text") == "0:04:30"
    texts = [c.cget("text") for c in w.incident_body.winfo_children()]
    assert texts[:3] == ["LAN link", f"{clock_near(F.NOW - 300, F.NOW)} \u2192 {clock_near(back, F.NOW)}", "0:04:30"]
    assert desktop.null_tray.views["router"].shade is Shade.OK
    screenshot(desktop, "status-recovered.png")


def test_outage_router_down_internet_unknown(desktop):
    w = desktop.window
    publish(desktop, IncidentConfirmed("r1", Component.ROUTER, F.NOW - 210, F.NOW - 200, 6),
            DeliveryStatus(backlog=(("alerts", 2), ("screenshots", 1)), dead=("occupancy",)),
            ConfigRejected(problems=(("monitor_settings.pc_count", "must be from 0 to 254 (got 300)"),)),
            F.outage())
    router = infra(desktop, Component.ROUTER)
    assert router["state"] == "DOWN" and router["colour"] == RED and router["dot"] == RED
    assert router["latency"] == "" and "(0:03:30)" in router["since"]
    internet = infra(desktop, Component.INTERNET)
    assert internet["state"] == "Unknown" and internet["dot"] == HEALTH_LOOK[Health.UNKNOWN][0]
    assert "behind the router" in internet["since"]
    assert header(desktop)[0].startswith("Router down \u2014 the PCs have no internet")
    assert [kind for kind, _ in w.banners()] == ["error", "warning"]
    problem = w.banners()[0][1]
    assert "Number of PCs: Must be from 0 to 254 (you typed 300)." in problem
    assert "monitor_settings" not in problem  # JSON paths stay in the log and --check-config
    assert "Waiting: 3 (alerts 2, screenshots 1)" in w.delivery_label.cget("text")
    assert "occupancy" in w.dead_label.cget("text")
    tray = desktop.null_tray.views
    assert tray["router"].tooltip.startswith("Router: DOWN since ")
    assert tray["internet"].tooltip.startswith("Internet: unknown")
    screenshot(desktop, "status-outage.png")


def test_tile_tooltip_says_name_ip_how_seen_and_session_length(desktop):
    w = desktop.window
    pcs = list(F.normal().pcs)
    pcs[1] = dataclasses.replace(pcs[1], name="Streaming-Booth-Left", seen_by="arp")
    publish(desktop, F.status(pcs_=tuple(pcs)))
    x0, y0, _, _ = w.pcs.canvas.coords(w.pcs.tiles[1].rect)
    w.pcs.canvas.event_generate("<Motion>", x=int(x0) + 10, y=int(y0) + 10)
    assert pump(desktop, lambda: w.pcs.tooltip_text)
    assert w.pcs.tooltip_text.splitlines() == [
        "Streaming-Booth-Left", pcs[1].ip, f"In session since {clock_near(pcs[1].since_wall, F.NOW)} (0:33:00)",
        "Answers ARP only (blocks ping)"]
    w.pcs.canvas.event_generate("<Leave>")
    assert pump(desktop, lambda: not w.pcs.tooltip_text)


def test_a_notice_that_goes_away_leaves_no_empty_band(desktop):
    w = desktop.window
    publish(desktop, F.normal())
    desktop.root.update()
    network_y = w.infra_rows[Component.ROUTER]["name"].winfo_rooty()
    publish(desktop, PrivacyChanged(True, F.NOW, F.NOW + 3600, "password"), F.normal(at=F.NOW + 1))
    assert pump(desktop, lambda: w.infra_rows[Component.ROUTER]["name"].winfo_rooty() > network_y)
    publish(desktop, PrivacyChanged(False, F.NOW, None, "turned off"), F.normal(at=F.NOW + 2))
    assert pump(desktop, lambda: w.infra_rows[Component.ROUTER]["name"].winfo_rooty() == network_y)
    assert not w.banner_frame.winfo_ismapped()


def test_minimum_size_and_a_bigger_window_shows_more_tiles_per_row(desktop):
    w = desktop.window
    assert w.top.minsize() == MIN_SIZE
    publish(desktop, F.many(40))
    w.top.geometry(f"{MIN_SIZE[0]}x{MIN_SIZE[1]}+0+0")
    assert pump(desktop, lambda: w.top.winfo_width() == MIN_SIZE[0])
    narrow = w.pcs.columns
    w.top.geometry("1500x950+0+0")
    assert pump(desktop, lambda: w.pcs.columns > narrow)
    assert w.pcs.canvas.winfo_height() > 2 * 42


def test_config_warnings_are_shown(gui_display):
    from sentinel.config.model import config_from_dict
    from sentinel.gui.desktop import Desktop

    config, problems = config_from_dict({"targets": {"router": "198.51.100.1", "internet": "203.0.113.53"},
                                         "verification_settings": {"secondary_target": ""}})
    assert not problems
    d = Desktop(EventBus(), config, tray_factory=lambda menu, popup: NullTrayIcons(), clock=lambda: F.NOW)
    try:
        warnings = [text for kind, text in d.window.banners() if kind == "warning"]
        assert len(warnings) == 1 and "203.0.113.53" in warnings[0] and "second target" in warnings[0]
    finally:
        d.shutdown()


def test_twenty_pcs_in_session_privacy_and_recovery(desktop):
    w = desktop.window
    desktop.bus.publish(ConfigRejected(problems=(("targets.router", "bad host"),)))
    for event in (IncidentConfirmed("r1", Component.ROUTER, F.NOW - 3000, F.NOW - 2990, 6),
                  IncidentEnded("r1", Component.ROUTER, F.NOW - 3000, F.NOW - 2790, 210, 6, 20),
                  ConfigReloaded(Config(), ("targets",)),
                  PrivacyChanged(True, F.NOW, F.NOW + 3600, "password"),
                  DeliveryStatus(backlog=(("alerts", 0),), dead=()),
                  F.twenty_in_session()):
        desktop.bus.publish(event)
    assert pump(desktop, lambda: w.status is not None and w.privacy is not None)
    tiles = tile_states(desktop)
    assert len(tiles) == 20
    assert all(fill == TILE_LOOK[PcState.IN_SESSION][0] for _, _, fill in tiles)
    assert tiles[0][0] == "VIP-1"
    assert tiles[19][0].startswith("Streamin") and tiles[19][0].endswith("\u2026") and tiles[19][1] == hm((7 + 13 * 20) * 60)
    assert [kind for kind, _ in w.banners()] == ["privacy"]  # the config error was cleared by the reload
    assert w.incidents["r1"].ended_wall == F.NOW - 2790
    assert desktop.null_tray.views["clients"].count == 20
    screenshot(desktop, "status-20pcs.png")
    desktop.bus.publish(PrivacyChanged(False, F.NOW, None, "turned off"))
    assert pump(desktop, lambda: w.privacy is None and w.banners() == [])


def test_254_pcs_update_only_changed_tiles_and_is_fast(desktop):
    w = desktop.window
    w.set_status(F.many(254))
    desktop.root.update()
    assert len(w.pcs.tiles) == 254 and w.pcs.scroll.winfo_ismapped()
    before = w.pcs.tile_updates
    w.set_status(F.many(254))  # same picture: nothing to redraw
    assert w.pcs.tile_updates == before
    w.set_status(F.many(254, in_session=(7,)))
    assert w.pcs.tile_updates == before + 1
    # worst case: every tile changes state on every update
    timings = []
    for i in range(7):
        chosen = range(1 + i % 2, 255, 2)
        start = time.perf_counter()
        w.set_status(F.many(254, in_session=chosen))
        desktop.root.update_idletasks()
        timings.append(time.perf_counter() - start)
    median_ms = statistics.median(timings) * 1000
    print(f"\n254 PCs, all tiles changing: median {median_ms:.1f} ms")
    assert median_ms < 150


def test_close_hides_and_the_app_keeps_running(desktop):
    w = desktop.window
    assert pump(desktop, lambda: w.top.winfo_ismapped())
    w.top.protocol("WM_DELETE_WINDOW")  # the handler is installed
    w.top.tk.call(w.top.protocol("WM_DELETE_WINDOW"))
    assert pump(desktop, lambda: not w.top.winfo_ismapped())
    assert w.top.winfo_exists() and w.top.state() == "withdrawn" and not desktop.closed
    desktop.bus.publish(F.normal())
    assert pump(desktop, lambda: w.status is not None)  # still draining
    desktop.tray_menu.default_action()  # as the tray thread would (show status)
    assert pump(desktop, lambda: w.top.winfo_ismapped())


def test_queue_is_drained_from_another_thread_and_shutdown_from_a_thread(desktop):
    w = desktop.window
    done = threading.Event()

    def publisher():
        for i in range(300):
            desktop.bus.publish(F.many(20, at=F.NOW + i, in_session=range(1, 1 + i % 20)))
        done.set()

    threading.Thread(target=publisher, daemon=True).start()
    assert pump(desktop, done.is_set)
    assert pump(desktop, lambda: w.status is not None and w.status.at_wall == F.NOW + 299)
    assert desktop.queue.qsize() == 0
    calls = []
    desktop.post(lambda: calls.append(threading.current_thread()))
    assert pump(desktop, lambda: calls)
    assert calls == [threading.main_thread()]
    stopper = threading.Thread(target=desktop.shutdown)
    stopper.start()
    stopper.join(DEADLINE_S)
    assert pump(desktop, lambda: desktop.closed)
    assert desktop.null_tray.stopped and desktop._after_ids == set()


def test_a_failing_hook_is_logged_and_the_gui_continues(desktop, caplog):
    def broken():
        raise RuntimeError("boom")

    desktop._hooks["send_test"] = broken
    dict(e for e in desktop.tray_menu.entries() if e)["Send test message"]()
    desktop.bus.publish(F.normal())
    assert pump(desktop, lambda: desktop.window.status is not None)
    assert "boom" in caplog.text


def test_storage_troubles_are_shown_until_they_are_over(desktop):
    from sentinel.events import DatabaseReplaced, RecordingStalled

    w = desktop.window
    desktop.bus.publish(F.normal())
    desktop.bus.publish(DatabaseReplaced("damaged: file is not a database", "sentinel-damaged-20261121-140211.db",
                                         "sentinel.db was damaged: file is not a database. A new, empty database "
                                         "is in use from now on; the damaged one is kept as "
                                         "sentinel-damaged-20261121-140211.db.", F.NOW))
    desktop.bus.publish(RecordingStalled(True, "database or disk is full", 3, F.NOW))
    assert pump(desktop, lambda: len(w.banners()) == 2)
    texts = [text for _, text in w.banners()]
    assert "database or disk is full" in texts[0] and "sentinel-damaged-20261121-140211.db" in texts[1]
    screenshot(desktop, "status-storage-trouble.png")
    desktop.bus.publish(RecordingStalled(False, "", 0, F.NOW))
    assert pump(desktop, lambda: len(w.banners()) == 1)  # the replaced database stays said


def test_popup_menu_and_the_privacy_state_in_the_menu(desktop):
    """Linux trays have no menus: right-click shows this Tk popup, built as the menu is now."""
    menu = desktop.popup_menu()
    labels = [menu.entrycget(i, "label") if menu.type(i) != "separator" else "---" for i in range(menu.index("end") + 1)]
    assert labels == ["Show status", "Settings\u2026", "Privacy mode\u2026", "Send test message", "Open data folder",
                      "About", "---", "Exit\u2026"]
    refreshes = desktop.null_tray.menu_refreshes
    publish(desktop, PrivacyChanged(True, F.NOW, F.NOW + 3600, "password"))
    assert desktop.null_tray.menu_refreshes == refreshes + 1  # the real tray asks pystray again
    until = clock_near(F.NOW + 3600, F.NOW)
    assert desktop.popup_menu().entrycget(2, "label") == f"Privacy mode (on until {until})\u2026"
    assert not menu.winfo_exists()  # the previous popup is gone
