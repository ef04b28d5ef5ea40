"""The committed icons/ (the executables' icon, the app's picture) are exactly what the drawing
code in sentinel/gui/icons.py makes: pixel for pixel at every size, so an edit to the drawing
without `python scripts/make_icons.py` fails here. Pixels, not file bytes: PNG compression may
differ between zlib builds while the picture is the same."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from sentinel.gui import icons

ICONS = Path(__file__).resolve().parents[2] / "icons"
REGENERATE = "icons/ is stale: run `python scripts/make_icons.py` and commit the result"


def pixels(image: Image.Image) -> bytes:
    return image.convert("RGBA").tobytes()


def test_icons_folder_holds_what_make_icons_writes(tmp_path):
    written = icons.write_app_icons(tmp_path)
    assert sorted(p.name for p in ICONS.iterdir()) == sorted(p.name for p in written)


def test_every_size_in_app_ico_matches_the_drawing():
    with Image.open(ICONS / "app.ico") as ico:
        assert set(ico.info["sizes"]) == {(n, n) for n in icons.APP_ICON_SIZES}, REGENERATE
        for size in icons.APP_ICON_SIZES:
            frame = ico.ico.getimage((size, size))
            assert frame.size == (size, size)
            assert pixels(frame) == pixels(icons.app_icon(size)), f"{size} px: {REGENERATE}"


def test_app_png_matches_the_drawing():
    with Image.open(ICONS / "app.png") as png:
        assert pixels(png) == pixels(icons.app_icon(icons.APP_ICON_SIZES[-1])), REGENERATE
