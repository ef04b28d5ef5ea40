"""Tray and app icons: sizes, colours by state, the badge changes with the count."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from sentinel.gui import icons
from sentinel.gui.icons import GLYPH_FILL, Glyph, Shade, clients_icon, infra_icon

SIZES = (16, 24, 32, 48, 64)


def pixels(image: Image.Image) -> list[tuple[int, int, int, int]]:
    data = image.tobytes()
    return [tuple(data[i:i + 4]) for i in range(0, len(data), 4)]


def colour_count(image: Image.Image, rgb: tuple[int, int, int]) -> int:
    """Opaque pixels of exactly this colour."""
    return sum(1 for r, g, b, a in pixels(image) if a == 255 and (r, g, b) == rgb)


def is_reddish(p) -> bool:
    return p[3] > 128 and p[0] > 150 and p[1] < 110 and p[2] < 110


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("glyph", list(Glyph))
def test_infra_icon_is_drawn_in_the_colour_of_its_state(glyph, size):
    for shade in Shade:
        image = infra_icon(glyph, shade, size)
        assert image.size == (size, size) and image.mode == "RGBA"
        own = colour_count(image, GLYPH_FILL[shade][:3])
        assert own >= size * size // 30, (glyph, shade, size, own)
        reds = sum(1 for p in pixels(image) if is_reddish(p))
        assert (reds >= own) if shade is Shade.DOWN else (reds == 0)
        brightest = max(max(p[:3]) for p in pixels(image) if p[3] == 255)
        assert brightest == max(GLYPH_FILL[shade][:3])
        # corners are transparent: the tray's background shows through
        assert image.getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("size", SIZES)
def test_glyphs_differ_from_each_other(size):
    router, server, internet = (infra_icon(g, Shade.OK, size) for g in Glyph)
    for a, b in ((router, server), (server, internet), (router, internet)):
        assert ImageChops.difference(a, b).getbbox() is not None


def test_icons_are_cached_and_shared():
    assert infra_icon(Glyph.ROUTER, Shade.DOWN, 24) is infra_icon(Glyph.ROUTER, Shade.DOWN, 24)
    assert clients_icon(12, 32) is clients_icon(12, 32)


@pytest.mark.parametrize("size", SIZES)
def test_clients_badge_changes_with_the_count(size):
    images = [clients_icon(n, size).tobytes() for n in (0, 1, 7, 12, 21, 99, 100, 200, 254)]
    assert len(set(images)) == len(images)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", (0, 5, 42, 254))
def test_badge_digits_are_white_and_inside_the_icon(size, count):
    image = clients_icon(count, size)
    white = colour_count(image, (255, 255, 255))
    assert white >= 4 * len(str(count)), (size, count, white)
    # the number keeps a margin: no white pixel on the outer border
    for x in range(size):
        for y in (0, size - 1):
            assert image.getpixel((x, y))[:3] != (255, 255, 255)
            assert image.getpixel((y, x))[:3] != (255, 255, 255)


def test_badge_text_clamps():
    assert icons.badge_text(254) == "254"
    assert icons.badge_text(1000) == "999+"
    assert icons.badge_text(-1) == "?"


def test_write_app_icons(tmp_path):
    ico, png = icons.write_app_icons(tmp_path / "icons")
    with Image.open(ico) as image:
        assert {(n, n) for n in icons.APP_ICON_SIZES} <= set(image.info["sizes"])
    with Image.open(png) as image:
        assert image.size == (256, 256)
