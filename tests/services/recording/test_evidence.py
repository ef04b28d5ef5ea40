"""Evidence screenshots at confirmation and at the end, in <data>/evidence/, linked and pruned."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from PIL import Image

from sentinel.database import connect
from sentinel.events import Component, IncidentConfirmed, IncidentEnded
from sentinel.services.recording.evidence import DAY_S, EvidenceKeeper
from sentinel.services.recording.storage import Storage
from tests.helpers.apprun import AppRun, wait_until

T0 = dt.datetime(2026, 12, 1, 14, 2, 11).timestamp()


def webp(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), colour).save(out, format="WEBP")
    return out.getvalue()


def linked(root):
    conn = connect(root / "sentinel.db")
    try:
        return conn.execute("SELECT incident_key, phase, file FROM evidence ORDER BY id").fetchall()
    finally:
        conn.close()


def test_a_capture_at_confirmation_and_at_the_end_is_kept_and_linked(tmp_path):
    storage = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    shots = iter([webp("red"), webp("green")])
    keeper = EvidenceKeeper(tmp_path / "evidence", storage, lambda: next(shots), retention_days=400,
                            wall_clock=lambda: T0 + 20, settle_s=0.0)
    keeper.start()
    try:
        keeper.on_event(IncidentConfirmed("abcdef99", Component.INTERNET, T0, T0 + 10, 3))
        keeper.on_event(IncidentEnded("abcdef99", Component.INTERNET, T0, T0 + 70, 70.0, 3, 4))
        wait_until(lambda: len(linked(tmp_path)) == 2, timeout=10, what="two evidence rows")
    finally:
        keeper.stop()
        storage.close()
    assert linked(tmp_path) == [
        ("abcdef99", "confirmed", "20261201-140211-ISP_DOWN-abcdef-confirmed.webp"),
        ("abcdef99", "ended", "20261201-140211-ISP_DOWN-abcdef-ended.webp")]
    first = Image.open(tmp_path / "evidence" / linked(tmp_path)[0][2])
    assert first.format == "WEBP" and first.convert("RGB").getpixel((5, 5))[0] > 200  # the red one


def test_nothing_is_kept_when_there_is_no_capture(tmp_path):
    storage = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    keeper = EvidenceKeeper(tmp_path / "evidence", storage, lambda: None, retention_days=400)  # privacy mode
    assert keeper.keep(IncidentConfirmed("k", Component.ROUTER, T0, T0 + 10, 0)) is None
    storage.close()
    assert linked(tmp_path) == [] and not (tmp_path / "evidence").exists()


def test_evidence_older_than_the_retention_is_deleted(tmp_path):
    storage = Storage(tmp_path / "sentinel.db", tmp_path / "incidents.csv", tmp_path / "sessions.csv")
    now = [T0]
    keeper = EvidenceKeeper(tmp_path / "evidence", storage, lambda: webp("red"), retention_days=30,
                            wall_clock=lambda: now[0])
    old = keeper.keep(IncidentConfirmed("old", Component.ROUTER, T0, T0 + 10, 0))
    now[0] = T0 + 20 * DAY_S
    new = keeper.keep(IncidentConfirmed("new", Component.ROUTER, now[0], now[0] + 10, 0))
    assert keeper.prune(T0 + 30 * DAY_S - 1) == 0
    assert keeper.prune(T0 + 30 * DAY_S + 1) == 1
    assert keeper.shot("old") is None and keeper.shot("new") == new.read_bytes()
    storage.close()
    assert not old.exists() and new.exists()
    assert [key for key, _, _ in linked(tmp_path)] == ["new"]


RED = (0xC6, 0x28, 0x28)  # the status window's DOWN colour (sentinel/gui/window.py)


def red_pixels(path) -> int:
    image = Image.open(path).convert("RGB")
    return sum(1 for colour in image.get_flattened_data() if all(abs(a - b) <= 24 for a, b in zip(colour, RED)))


def restored_message(outbox):
    """(payload, attachment bytes) of the demo outbox's Internet RESTORED message, or None."""
    for path in sorted(outbox.glob("*-alerts.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["embeds"][0]["title"].startswith("Internet RESTORED") and payload["attachments"]:
            return payload, (outbox / payload["attachments"][0]).read_bytes()
    return None


@pytest.mark.needs_display
def test_the_demo_keeps_the_window_red_at_confirmation_and_the_end_when_restored(xvfb_display, tmp_path):
    """The real app (demo cafe, window, mss): the outage 25 simulated minutes in, 10 minutes long."""
    data = tmp_path / "data"
    app = AppRun(AppRun.command("--demo", "--data-dir", str(data)), env={"DISPLAY": xvfb_display.display})
    try:
        app.wait_line("CafeSentinel demo")
        shots = wait_until(lambda: sorted((data / "evidence").glob("*-ISP_DOWN-*.webp"))
                           if len(list((data / "evidence").glob("*-ISP_DOWN-*.webp"))) >= 2 else None,
                           timeout=90, what="both evidence screenshots of the demo's outage", interval=0.5)
        restored = wait_until(lambda: restored_message(data / "demo_outbox"), timeout=30,
                              what="the RESTORED alert in the demo outbox", interval=0.5)
        rc, _ = app.stop()
    finally:
        if app.proc.poll() is None:
            app.kill()
    assert rc == 0, app.stderr_tail()
    confirmed, ended = [s for s in shots if s.name.endswith("-confirmed.webp")], [s for s in shots if
                                                                                   s.name.endswith("-ended.webp")]
    assert len(confirmed) == len(ended) == 1
    assert red_pixels(confirmed[0]) > 50 * red_pixels(ended[0]) + 100  # red while down, not once restored
    assert [phase for _, phase, _ in linked(data)] == ["confirmed", "ended"]
    # The RESTORED alert shows the outage: the screenshot kept at confirmation, not an "All OK" one.
    assert restored[1] == confirmed[0].read_bytes()
