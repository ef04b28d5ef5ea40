"""Tray and app icons drawn with Pillow: no image files, no system fonts.

Every function is pure and returns an RGBA image that is cached and shared: callers must
not draw on it (copy() first). Glyphs are laid out on the target pixel grid and drawn at
SUPERSAMPLE times the size, then box-filtered down, so straight edges stay crisp at
16-64 px and only curves are anti-aliased.
"""

from __future__ import annotations

import enum
import functools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SUPERSAMPLE = 4
TRAY_SIZES = (16, 20, 24, 32, 40, 48, 64)  # what Windows (100-200 %) and X trays ask for
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
MAX_BADGE_COUNT = 999  # beyond this the badge shows "999+"; pc_count is at most 254


class Glyph(enum.Enum):
    ROUTER = "router"
    SERVER = "server"
    INTERNET = "internet"


class Shade(enum.Enum):
    """Colour of an infrastructure glyph: the spec's white = OK, red = down, grey = unknown."""

    OK = "ok"
    DOWN = "down"
    UNKNOWN = "unknown"


GLYPH_FILL = {
    Shade.OK: (255, 255, 255, 255),
    Shade.DOWN: (235, 48, 48, 255),
    Shade.UNKNOWN: (140, 140, 140, 255),
}
# A dark rim keeps white glyphs visible on light taskbars (Windows 11 light theme).
OUTLINE = (24, 24, 24, 255)
BADGE_FILL = (37, 99, 235, 255)  # blue: neutral, not a health colour
BADGE_EMPTY_FILL = (90, 98, 112, 255)  # nobody in session
BADGE_TEXT = (255, 255, 255, 255)


class _Pen:
    """Unit coordinates (0..1 of the icon) -> supersampled pixels snapped to the target grid."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.big = size * SUPERSAMPLE
        self.image = Image.new("RGBA", (self.big, self.big), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def px(self, unit: float) -> int:
        """A length or coordinate snapped to whole target pixels."""
        return round(unit * self.size) * SUPERSAMPLE

    def stroke(self, unit: float) -> int:
        """A line width of at least one target pixel."""
        return max(1, round(unit * self.size)) * SUPERSAMPLE

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (self.px(x0), self.px(y0), self.px(x1) - 1, self.px(y1) - 1)

    def finish(self) -> Image.Image:
        return self.image.resize((self.size, self.size), Image.Resampling.BOX)


def _snap(value: int) -> int:
    """Round a supersampled coordinate down to a target pixel boundary."""
    return value // SUPERSAMPLE * SUPERSAMPLE


def _outlined(pen: _Pen, shapes, fill) -> None:
    """Draw `shapes` (callables taking (draw, fill, grow)) twice: a dark rim, then the fill."""
    rim = max(1, pen.size // 24) * SUPERSAMPLE
    for shape in shapes:
        shape(pen.draw, OUTLINE, rim)
    for shape in shapes:
        shape(pen.draw, fill, 0)


def _rect(box, radius=0):
    def shape(draw, fill, grow):
        x0, y0, x1, y1 = box
        draw.rounded_rectangle((x0 - grow, y0 - grow, x1 + grow, y1 + grow), radius=radius + grow, fill=fill)
    return shape


def _draw_router(pen: _Pen, fill) -> None:
    body = pen.box(0.08, 0.52, 0.92, 0.86)
    w = pen.stroke(0.09)
    left_x, right_x = pen.px(0.22), pen.px(0.78) - w
    top, base = pen.px(0.12), pen.px(0.52)
    _outlined(pen, [
        _rect((left_x, top, left_x + w - 1, base)),
        _rect((right_x, top, right_x + w - 1, base)),
        _rect(body, radius=pen.px(0.06)),
    ], fill)
    # LEDs: holes punched into the body
    d = pen.draw
    led = pen.stroke(0.09)
    y = _snap((body[1] + body[3]) // 2 - led // 2)
    for x in (0.22, 0.40, 0.58):
        lx = pen.px(x)
        d.rectangle((lx, y, lx + led - 1, y + led - 1), fill=OUTLINE)


def _draw_server(pen: _Pen, fill) -> None:
    units = [(0.08, 0.33), (0.38, 0.63), (0.68, 0.93)] if pen.size >= 24 else [(0.06, 0.45), (0.55, 0.94)]
    boxes = [pen.box(0.14, top, 0.86, bottom) for top, bottom in units]
    _outlined(pen, [_rect(b, radius=pen.px(0.04)) for b in boxes], fill)
    led = pen.stroke(0.09)
    slot_h = led
    for x0, y0, x1, y1 in boxes:
        cy = _snap((y0 + y1 + 1) // 2 - led // 2)
        lx = x1 + 1 - pen.px(0.12) - led
        pen.draw.rectangle((lx, cy, lx + led - 1, cy + led - 1), fill=OUTLINE)
        sx0 = x0 + pen.px(0.1)
        sx1 = x0 + pen.px(0.4)
        pen.draw.rectangle((sx0, cy, sx1 - 1, cy + slot_h - 1), fill=OUTLINE)


def _draw_internet(pen: _Pen, fill) -> None:
    d = pen.draw
    rim = max(1, pen.size // 24) * SUPERSAMPLE
    outer = pen.box(0.06, 0.06, 0.94, 0.94)
    w = pen.stroke(0.085)
    d.ellipse((outer[0] - rim, outer[1] - rim, outer[2] + rim, outer[3] + rim), fill=OUTLINE)
    d.ellipse(outer, fill=fill)
    inner = (outer[0] + w, outer[1] + w, outer[2] - w, outer[3] - w)
    d.ellipse(inner, fill=OUTLINE)
    cx = (outer[0] + outer[2]) // 2
    cy = (outer[1] + outer[3]) // 2
    r = (outer[2] - outer[0]) // 2
    # meridian ellipse and the equator; parallels only where there is room
    mer_w = round(r * 0.5)
    d.ellipse((cx - mer_w, outer[1], cx + mer_w, outer[3]), outline=fill, width=w)
    d.line([(outer[0], cy), (outer[2], cy)], fill=fill, width=w)
    if pen.size >= 24:
        d.line([(cx, outer[1]), (cx, outer[3])], fill=fill, width=w)
    if pen.size >= 32:
        for dy in (-0.5, 0.5):
            y = cy + round(r * dy)
            half = round(r * 0.866)
            d.line([(cx - half, y), (cx + half, y)], fill=fill, width=max(SUPERSAMPLE, w * 2 // 3))


_GLYPHS = {Glyph.ROUTER: _draw_router, Glyph.SERVER: _draw_server, Glyph.INTERNET: _draw_internet}


@functools.lru_cache(maxsize=256)
def infra_icon(glyph: Glyph, shade: Shade, size: int) -> Image.Image:
    """The Router/Server/Internet tray image in the colour of its state."""
    pen = _Pen(size)
    _GLYPHS[glyph](pen, GLYPH_FILL[shade])
    return pen.finish()


def badge_text(count: int) -> str:
    if count < 0:
        return "?"
    return str(count) if count <= MAX_BADGE_COUNT else f"{MAX_BADGE_COUNT}+"


@functools.lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled FreeType font: no system font needed, so it also works frozen.
    return ImageFont.load_default(size=px)


def _fit_font(draw: ImageDraw.ImageDraw, text: str, width: int, height: int, stroke: int):
    """The largest bundled-font size whose `text` fits in width x height (binary search)."""
    lo, hi = 4, max(5, height * 2)
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        font = _font(mid)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
        if x1 - x0 <= width and y1 - y0 <= height:
            best, lo = font, mid + 1
        else:
            hi = mid - 1
    return best or _font(4)


# A 3x5 pixel font for badges below PIXEL_FONT_BELOW px, where outline fonts blur into
# mush; each glyph is five rows of three bits.
PIXEL_FONT_BELOW = 32
_PIXEL_DIGITS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "011", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "+": ("000", "010", "111", "010", "000"),
    "?": ("111", "001", "011", "000", "010"),
}


def _draw_pixel_text(draw: ImageDraw.ImageDraw, text: str, size: int, inner: int) -> None:
    """Centre `text` in the 3x5 font, scaled by the largest whole factors that fit `inner`."""
    n = len(text)
    sy = max(1, round(inner * 0.75) // 5)
    sx, gap = sy, 1
    while sx > 1:
        gap = 1 if sx <= 2 else 2
        if n * 3 * sx + (n - 1) * gap <= inner:
            break
        sx -= 1
    width = n * 3 * sx + (n - 1) * gap
    height = 5 * sy
    x0 = (size - width) // 2
    y0 = (size - height) // 2
    for i, ch in enumerate(text):
        rows = _PIXEL_DIGITS[ch]
        gx = x0 + i * (3 * sx + gap)
        for r, bits in enumerate(rows):
            for c, bit in enumerate(bits):
                if bit == "1":
                    x, y = gx + c * sx, y0 + r * sy
                    draw.rectangle((x, y, x + sx - 1, y + sy - 1), fill=BADGE_TEXT)


@functools.lru_cache(maxsize=512)
def clients_icon(count: int, size: int) -> Image.Image:
    """The Clients tray image: the number of PCs in session on a rounded badge.

    Drawn directly at the target size (text does not survive downsampling); small sizes
    use a pixel font, larger ones the bundled outline font with a same-colour stroke as
    a cheap bold.
    """
    text = badge_text(count)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    border = max(1, size // 32)
    fill = BADGE_FILL if count > 0 else BADGE_EMPTY_FILL
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=max(2, size // 5), fill=fill,
                           outline=OUTLINE, width=border)
    if size < PIXEL_FONT_BELOW:
        _draw_pixel_text(draw, text, size, size - 2 * border - (2 if size >= 20 else 0))
        return image
    pad = max(1, size // 16)
    bold = max(1, size // 32)
    font = _fit_font(draw, text, size - 2 * pad, round(size * 0.72), bold)
    draw.text((size / 2, size / 2), text, font=font, anchor="mm", fill=BADGE_TEXT,
              stroke_width=bold, stroke_fill=BADGE_TEXT)
    return image


# The app icon: a shield (the sentinel) with a pulse line, for the window, .ico and .png.

APP_SHIELD = (30, 64, 175, 255)
APP_PULSE = (255, 255, 255, 255)


@functools.lru_cache(maxsize=16)
def app_icon(size: int) -> Image.Image:
    pen = _Pen(size)
    d = pen.draw
    s = pen.big
    top, mid, bottom = 0.06 * s, 0.55 * s, 0.96 * s
    left, right = 0.1 * s, 0.9 * s
    shield = [(left, top + 0.08 * s), (s / 2, top), (right, top + 0.08 * s), (right, mid),
              (s / 2, bottom), (left, mid)]
    d.polygon(shield, fill=APP_SHIELD, outline=OUTLINE, width=max(SUPERSAMPLE, s // 40))
    w = max(SUPERSAMPLE, round(s * 0.07))
    y = 0.5 * s
    pulse = [(0.2 * s, y), (0.38 * s, y), (0.46 * s, 0.3 * s), (0.56 * s, 0.7 * s),
             (0.63 * s, y), (0.8 * s, y)]
    d.line(pulse, fill=APP_PULSE, width=w, joint="curve")
    return pen.finish()


def write_app_icons(directory: Path) -> tuple[Path, Path]:
    """Write app.ico (all APP_ICON_SIZES) and app.png (256 px) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ico, png = directory / "app.ico", directory / "app.png"
    largest = app_icon(APP_ICON_SIZES[-1])
    largest.save(ico, format="ICO", sizes=[(n, n) for n in APP_ICON_SIZES],
                 append_images=[app_icon(n) for n in APP_ICON_SIZES[:-1]])
    largest.save(png, format="PNG")
    return ico, png
