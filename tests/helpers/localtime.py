"""Run a test in a named local time zone (TZ + tzset), so DST days are known and exact."""

from __future__ import annotations

import contextlib
import os
import time

BERLIN = "Europe/Berlin"  # DST 2026: 29 March 02:00 -> 03:00, 25 October 03:00 -> 02:00


@contextlib.contextmanager
def local_zone(name: str = BERLIN):
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
