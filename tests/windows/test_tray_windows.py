"""The tray on pystray's win32 backend (Shell_NotifyIcon), run by a Windows CPython (under Wine
here: tests/packaging/test_wine.py gives it an X display). Four icons, the menu, the badge.

Saves tray-windows.png (docs/screenshots with SENTINEL_UPDATE_SCREENSHOTS=1): look at it.
"""

import sys
import time

import pytest

if sys.platform != "win32":
    pytest.skip("Windows-only; run with a Windows CPython (tests/packaging/test_wine.py)",
                allow_module_level=True)

import mss  # noqa: E402
import pystray  # noqa: E402
from PIL import Image  # noqa: E402

from sentinel.gui.icons import BADGE_FILL, GLYPH_FILL, Shade  # noqa: E402
from sentinel.gui.pystray_tray import PystrayTrayIcons  # noqa: E402
from sentinel.gui.tray import KINDS, standard_menu, tray_views  # noqa: E402
from sentinel.today import Today, advance  # noqa: E402
from tests.helpers import gui_fakes as F  # noqa: E402
from tests.helpers.xvfb import screenshot_dir  # noqa: E402

ACTIONS = ("show_status", "setup", "settings", "privacy", "send_test", "open_data", "about", "exit")
DEADLINE_S = 20.0


def wait(predicate, seconds=DEADLINE_S):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def views(status):
    return tray_views(status, advance(Today(), status, F.NOW), F.NOW)


def screen() -> Image.Image:
    with mss.MSS() as grabber:
        shot = grabber.grab(grabber.monitors[0])
    return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")


def tray_icons(image: Image.Image) -> tuple[tuple[int, int, int, int], list[tuple[int, int]]]:
    """(the badge's box, the x-ranges of the icons in its row), found by the badge's blue."""
    pixels = _find(image, BADGE_FILL[:3])
    xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
    box = (min(xs), min(ys), max(xs), max(ys))
    background = image.getpixel((box[2] + 6, (box[1] + box[3]) // 2))
    top, bottom = box[1] - 2, box[3] + 2
    left = right = box[0]  # the tray's own area: the background along the row under the icons
    while left > 0 and image.getpixel((left - 1, bottom)) == background:
        left -= 1
    while right < image.width - 1 and image.getpixel((right + 1, bottom)) == background:
        right += 1
    busy = {x: any(image.getpixel((x, y)) != background for y in range(top, bottom))
            for x in range(left + 1, right)}
    runs, start, last = [], None, None
    for x, used in busy.items():
        if used:
            start = x if start is None else start
            last = x
        elif start is not None and x - last > 2:
            runs.append((start, last))
            start = None
    if start is not None:
        runs.append((start, last))
    return box, [r for r in runs if r[1] - r[0] >= 8]


def _find(image: Image.Image, colour) -> list[tuple[int, int]]:
    data = image.load()
    return [(x, y) for y in range(min(image.height, 400)) for x in range(image.width) if data[x, y] == colour]


def test_four_icons_menu_and_badge_on_the_win32_tray():
    calls = []
    privacy = {"on": False}
    menu = standard_menu({name: (lambda name=name: calls.append(name)) for name in ACTIONS},
                         lambda: "Privacy mode (on)\u2026" if privacy["on"] else "Privacy mode\u2026", lambda: False)
    tray = PystrayTrayIcons(pystray, menu)
    try:
        for view in views(F.outage()).values():
            tray.update(view)
        for kind in KINDS:
            tray.show(kind)
        assert wait(lambda: len(tray.running_icons()) == 4 and all(i.visible for i in tray.running_icons().values()))
        icons = tray.running_icons()
        assert type(icons["router"]).__module__ == "pystray._win32"
        assert icons["router"].title.startswith("Router: DOWN since ")
        assert icons["clients"].title == "Clients: 6 of 12 PCs in session (frozen during outage)"

        # the menu: the product's items in order, a separator before Exit, the default is Show status
        items = list(icons["router"].menu.items)
        labels = [item.text for item in items]
        assert labels == ["Show status", "Finish setup\u2026", "Settings\u2026", "Privacy mode\u2026",
                          "Send test message", "Open data folder", "About", "- - - -", "Exit\u2026"]
        assert [item.visible for item in items][1:3] == [False, True] and items[0].default
        items[-1](icons["router"])
        assert calls == ["exit"]
        privacy["on"] = True
        tray.refresh_menu()
        assert wait(lambda: icons["router"].menu.items[3].text == "Privacy mode (on)\u2026")

        # what the screen shows: four icons in one row, the badge among them, one of them (the router:
        # the only component down) red. The tray host places each icon when its own thread registers
        # it, so the order along the row is not asserted, and a drawing may land a moment later.
        red = GLYPH_FILL[Shade.DOWN][:3]

        def red_icons(shot: Image.Image) -> int | None:
            """How many of the row's icons show red, or None while the row does not hold four icons."""
            b, found = tray_icons(shot)
            if len(found) != 4:
                return None
            return sum(any(shot.getpixel((x, y)) == red for x in range(x0, x1 + 1) for y in range(b[1], b[3] + 1))
                       for x0, x1 in found)

        assert wait(lambda: red_icons(screen()) == 1, 10), tray_icons(screen())
        image = screen()
        box, runs = tray_icons(image)
        left, right = runs[0][0] - 4, runs[-1][1] + 4
        strip = image.crop((left, box[1] - 6, right, box[3] + 6))
        strip.resize((strip.width * 4, strip.height * 4), Image.Resampling.NEAREST).save(
            screenshot_dir() / "tray-windows.png")

        # a change is drawn in place (NIM_MODIFY): still four icons, the router no longer red
        tray.update(views(F.normal())["router"])

        assert wait(lambda: red_icons(screen()) == 0, 10), tray_icons(screen())
    finally:
        tray.stop()
