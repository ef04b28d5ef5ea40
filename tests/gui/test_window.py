"""The status window in a real Tk under Xvfb, fed hand-built MonitorStatus values.

Saves status-*.png (docs/screenshots with SENTINEL_UPDATE_SCREENSHOTS=1; look at them after changes).
"""

from __future__ import annotations

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
    PcState,
    PrivacyChanged,
)
from sentinel.gui.tray import NullTrayIcons
from sentinel.gui.window import (
    GREEN,
    HEALTH_LOOK,
    RED,
    TILE_LOOK,
    IncidentRow,
)
from sentinel.timefmt import hm

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
    canvas = d.window.pc_canvas
    out = []
    for tile in d.window.tiles:
        out.append((canvas.itemcget(tile.name, "text"), canvas.itemcget(tile.detail, "text"),
                    canvas.itemcget(tile.rect, "fill")))
    return out


def test_normal_network(desktop):
    w = desktop.window
    desktop.bus.publish(DeliveryStatus(backlog=(("alerts", 0), ("occupancy", 0)), dead=()))
    desktop.bus.publish(F.normal())
    assert pump(desktop, lambda: w.status is not None and w.delivery is not None)
    router = infra(desktop, Component.ROUTER)
    assert router["state"] == "OK" and router["colour"] == GREEN and router["dot"] == GREEN
    assert router["address"] == "198.51.100.1" and router["latency"] == "1 ms"
    assert router["since"].startswith("since ")
    assert infra(desktop, Component.INTERNET)["latency"] == "24 ms"
    tiles = tile_states(desktop)
    assert len(tiles) == 12
    assert tiles[0] == ("PC-1", hm(20 * 60), TILE_LOOK[PcState.IN_SESSION][0])
    assert tiles[3] == ("PC-4", "seen", TILE_LOOK[PcState.SEEN][0])
    assert tiles[5] == ("PC-6", "off", TILE_LOOK[PcState.OFF][0])
    assert w.pc_summary.cget("text").startswith("6 in session \u00b7 1 seen \u00b7 5 off")
    assert w.delivery_label.cget("text") == "All messages delivered"
    assert w.banners() == []
    assert desktop.null_tray.views["clients"].count == 6
    assert desktop.null_tray.views["router"].tooltip.startswith("Router: OK since ")
    screenshot(desktop, "status-normal.png")


def test_outage_router_down_internet_unknown(desktop):
    w = desktop.window
    for event in (IncidentConfirmed("r1", Component.ROUTER, F.NOW - 210, F.NOW - 200, 6),
                  DeliveryStatus(backlog=(("alerts", 2), ("screenshots", 1)), dead=("occupancy",)),
                  ConfigRejected(problems=(("monitor_settings.pc_count", "must be 0..254 (got 300)"),)),
                  F.outage()):
        desktop.bus.publish(event)
    assert pump(desktop, lambda: w.status is not None and w.problems)
    router = infra(desktop, Component.ROUTER)
    assert router["state"] == "DOWN" and router["colour"] == RED and router["dot"] == RED
    assert router["latency"] == "" and "(0:03:30)" in router["since"]
    internet = infra(desktop, Component.INTERNET)
    assert internet["state"] == "Unknown" and internet["dot"] == HEALTH_LOOK[Health.UNKNOWN][0]
    assert "behind router" in internet["since"]
    assert w.net_aside.cget("text") == "Outage"
    kinds = [kind for kind, _ in w.banners()]
    assert kinds == ["error", "warning"]
    assert "monitor_settings.pc_count" in w.banners()[0][1]
    assert "3 messages waiting" in w.delivery_label.cget("text")
    assert "occupancy" in w.dead_label.cget("text") and w.dead_label.winfo_ismapped() in (0, 1)
    incident_texts = [c.cget("text") for c in w.incident_body.winfo_children()]
    assert incident_texts[:3] == ["Router", "12:49:50 \u2192 now".replace("12:49:50", incident_texts[1][:8]), "ongoing"]
    tray = desktop.null_tray.views
    assert tray["router"].tooltip.startswith("Router: DOWN since ")
    assert tray["internet"].tooltip.startswith("Internet: unknown")
    screenshot(desktop, "status-outage.png")


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
    assert len(w.tiles) == 254 and w.pc_scroll.winfo_ismapped()
    before = w.tile_updates
    w.set_status(F.many(254))  # same picture: nothing to redraw
    assert w.tile_updates == before
    w.set_status(F.many(254, in_session=(7,)))
    assert w.tile_updates == before + 1
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
    desktop.tray_menu.show_status()  # as the tray thread would
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
    desktop.tray_menu.send_test()
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
