"""Charts: a title, labelled axes and the bars where the data says."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from sentinel.charts import BAR, BAR_HIGHLIGHT, HEIGHT, WIDTH, Bar, bar_chart, nice_step, snapshot_chart
from tests.helpers.localtime import local_zone


@pytest.mark.parametrize("top, step", [(20, 5), (12, 5), (7, 2), (3, 1), (100, 20), (254, 100), (0.4, 0.1)])
def test_nice_steps(top, step):
    assert nice_step(top) == pytest.approx(step)


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def columns_with(picture: Image.Image, colours) -> list[int]:
    return [x for x in range(picture.width)
            if any(picture.getpixel((x, y)) in colours for y in range(picture.height))]


def test_a_chart_has_ink_in_the_title_and_axis_label_areas():
    picture = image(bar_chart("Title", [Bar("1", 3)], y_max=5, y_label="PCs", x_label="hour"))
    assert picture.size == (WIDTH, HEIGHT)
    assert picture.crop((0, 0, WIDTH, 40)).getbbox() is not None  # title
    inverted = Image.eval(picture, lambda v: 255 - v)
    assert inverted.crop((0, 60, 40, HEIGHT - 60)).getbbox() is not None  # rotated y label
    assert inverted.crop((0, HEIGHT - 30, WIDTH, HEIGHT)).getbbox() is not None  # x label


def test_snapshot_bars_sit_at_their_hour_and_the_current_hour_is_highlighted():
    with local_zone():
        now = dt.datetime(2026, 12, 1, 14, 30).timestamp()
        samples = [(dt.datetime(2026, 11, 30, 16, 0).timestamp(), 5, 20), (now - 60, 8, 20)]
        picture = image(snapshot_chart(samples, now))
    blue, orange = columns_with(picture, {BAR}), columns_with(picture, {BAR_HIGHLIGHT})
    assert blue and orange
    # Yesterday 16:00 is the second of 24 hourly slots (15:00 yesterday to 15:00 today).
    assert max(blue) < WIDTH * 0.2 and min(orange) > WIDTH * 0.9
