"""Bar charts as PNG bytes (Pillow): the hourly snapshot, the daily digest and the report.

Every chart has a title, a labelled y axis with its unit and a labelled x axis, on a light
background that reads in Discord's dark and light themes and on paper. The default size is
drawn for a phone: Discord shows an embed image about 400 px wide there, so 720 px with
22-32 px type still reads as 12-18 px text.

Pillow rather than a plotting library, by measurement (bench/bench_charts.py): importing it
and drawing one chart adds about 9 MiB of resident memory, and Pillow is already bundled;
matplotlib 3.11 adds about 59 MiB for its first chart (the whole headless budget is 60 MB)
and about 140 MB of packages (matplotlib, numpy, fontTools) to the bundle.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Sequence

WIDTH, HEIGHT = 720, 400
BACKGROUND = (255, 255, 255)
INK = (33, 37, 41)
GRID = (222, 226, 230)
BAR = (52, 120, 200)
BAR_HIGHLIGHT = (230, 126, 34)
TITLE_PX, LABEL_PX, TICK_PX = 30, 22, 20
HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # x tick label; "" for none
    value: float
    highlight: bool = False  # drawn in the accent colour (e.g. the newest hour)


def nice_step(top: float, max_ticks: int = 5) -> float:
    """A 1/2/5 x 10^k step giving at most `max_ticks` gridlines above zero up to `top`."""
    top = max(top, 1e-9)
    raw = top / max_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _number(value: float, unit: str) -> str:
    text = f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"
    return text + unit


def bar_chart(title: str, bars: Sequence[Bar], *, y_max: float, y_label: str, x_label: str,
              y_unit: str = "", whole_steps: bool = True, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """PNG bytes of a bar chart; `y_max` is the top of the scale (e.g. the PC count, 100 for %)."""
    from PIL import Image, ImageDraw, ImageFont

    title_font = ImageFont.load_default(size=TITLE_PX)
    label_font = ImageFont.load_default(size=LABEL_PX)
    tick_font = ImageFont.load_default(size=TICK_PX)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    y_max = max(float(y_max), max((b.value for b in bars), default=0.0), 1.0 if whole_steps else 1e-9)
    step = nice_step(y_max)
    if whole_steps:
        step = max(1.0, math.ceil(step))
    top_value = math.ceil(y_max / step - 1e-9) * step
    ticks = [i * step for i in range(int(round(top_value / step)) + 1)]
    tick_width = max(draw.textlength(_number(t, y_unit), font=tick_font) for t in ticks)

    draw.text((width / 2, 10), title, font=title_font, fill=INK, anchor="ma")
    left = int(12 + LABEL_PX + 10 + tick_width + 8)
    right, top = width - 16, 10 + TITLE_PX + 18
    bottom = height - (12 + LABEL_PX + 10 + TICK_PX + 6)

    # y axis: gridlines, tick labels and the rotated axis label
    for tick in ticks:
        y = bottom - (bottom - top) * tick / top_value
        draw.line([(left, y), (right, y)], fill=GRID if tick else INK, width=1 if tick else 2)
        draw.text((left - 8, y), _number(tick, y_unit), font=tick_font, fill=INK, anchor="rm")
    label_box = draw.textbbox((0, 0), y_label, font=label_font)
    label_image = Image.new("RGB", (label_box[2] + 4, LABEL_PX + 8), BACKGROUND)
    ImageDraw.Draw(label_image).text((2, 2), y_label, font=label_font, fill=INK)
    rotated = label_image.rotate(90, expand=True)
    image.paste(rotated, (12, int((top + bottom) / 2 - rotated.height / 2)))

    # bars and x tick labels (thinned so they never overlap)
    n = max(1, len(bars))
    slot = (right - left) / n
    widest = max((draw.textlength(b.label, font=tick_font) for b in bars if b.label), default=0.0)
    every = max(1, math.ceil((widest + 10) / slot))
    labelled = [i for i, b in enumerate(bars) if b.label]
    for i, bar in enumerate(bars):
        x0 = left + i * slot + max(1.0, slot * 0.12)
        x1 = left + (i + 1) * slot - max(1.0, slot * 0.12)
        if bar.value > 0:
            y0 = bottom - (bottom - top) * min(bar.value, top_value) / top_value
            draw.rectangle([x0, y0, max(x0, x1), bottom - 1], fill=BAR_HIGHLIGHT if bar.highlight else BAR)
        if bar.label and labelled.index(i) % every == 0:
            draw.text(((x0 + x1) / 2, bottom + 6), bar.label, font=tick_font, fill=INK, anchor="ma")
    draw.text(((left + right) / 2, height - 8), x_label, font=label_font, fill=INK, anchor="md")

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def snapshot_chart(samples: Sequence[tuple[float, int, int]], now_wall: float, hours: int = 24) -> bytes:
    """Occupancy over the last `hours` hours from (at_wall, in_session, total) snapshots.

    One bar per hour at its place on the clock (an hour without a snapshot stays empty); a
    bar is the most PCs in session seen in that hour; the current hour is highlighted.
    """
    end = math.floor(now_wall / HOUR_S) * HOUR_S + HOUR_S
    start = end - hours * HOUR_S
    peaks = [0] * hours
    total = max((t for _, _, t in samples), default=0)
    for at_wall, in_session, _ in samples:
        if start <= at_wall < end:
            slot = int((at_wall - start) // HOUR_S)
            peaks[slot] = max(peaks[slot], in_session)
    bars = [Bar(time.strftime("%H", time.localtime(start + i * HOUR_S)), peaks[i], highlight=i == hours - 1)
            for i in range(hours)]
    return bar_chart(f"Occupancy, last {hours} hours", bars, y_max=total, y_label="PCs in session",
                     x_label="hour (local time)")
