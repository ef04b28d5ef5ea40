"""Nothing is lost: a SIGKILLed sender process, and a long internet outage, against the fake Discord."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sentinel.config.model import DiscordSettings
from sentinel.services.discord.delivery import Delivery
from sentinel.services.discord.messages import Message
from sentinel.services.discord.outbox import Attachment, Outbox
from sentinel.services.discord.ratelimit import Backoff
from tests.helpers.apprun import wait_until
from tests.helpers.fake_discord import FakeDiscord

pytestmark = pytest.mark.timeout(90)

DRIVER = Path(__file__).resolve().parents[2] / "helpers" / "outbox_driver.py"


def test_outbox_is_fifo_per_kind_and_survives_reopening(tmp_path):
    db = tmp_path / "sentinel.db"
    box = Outbox(db)
    a = box.add("alerts", 1.0, {"content": "a"}, (Attachment("x.webp", b"\x00\x01"),))
    box.add("occupancy", 2.0, {"content": "o"})
    box.add("alerts", 3.0, {"content": "b"})
    box.close()
    box = Outbox(db)
    head = box.head("alerts")
    assert head.id == a and head.payload == {"content": "a"} and head.files == (Attachment("x.webp", b"\x00\x01"),)
    box.record_failure(a, "HTTP 502")
    assert box.head("alerts").attempts == 1
    box.remove(a)
    assert box.head("alerts").payload == {"content": "b"}
    assert box.backlog() == {"alerts": 1, "occupancy": 1}
    assert box._db.execute("SELECT COUNT(*) FROM outbox_files").fetchone()[0] == 0
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    box.close()


def _driver(*args) -> list[str]:
    return [sys.executable, str(DRIVER), *args]


def test_sigkill_mid_backlog_loses_nothing_and_keeps_order(tmp_path):
    n = 60
    db = str(tmp_path / "sentinel.db")
    with FakeDiscord(limit=5, period=0.25) as fake:
        url = fake.url("1")
        subprocess.run(_driver("enqueue", "--db", db, "--url", url, "--count", str(n)), check=True, timeout=30)
        first = subprocess.Popen(_driver("send", "--db", db, "--url", url), stdout=subprocess.PIPE, text=True)
        try:
            fake.wait_for(n // 3, timeout=20)
            fake.inject(("hang", 5.0))  # the next request never gets an answer...
            fake.wait_in_flight()  # ...and the sender is killed while waiting for it
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        delivered_before = len(fake.messages())
        assert delivered_before < n, "the backlog drained before the kill; make the window slower"
        second = subprocess.run(_driver("send", "--db", db, "--url", url, "--timeout", "30"),
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
        got = [m.content for m in fake.messages()]
    expected = [f"msg-{i:04d}" for i in range(n)]
    # At most the one message in flight at the kill may arrive twice, right after itself.
    deduped = [c for i, c in enumerate(got) if i == 0 or c != got[i - 1]]
    assert deduped == expected
    assert len(got) - len(deduped) <= 1


def test_thirty_minute_outage_queues_then_drains_in_order(tmp_path):
    clock = [1_700_000_000.0]
    with FakeDiscord(limit=10, period=0.2) as fake:
        url = fake.url("1")
        fake.offline()
        delivery = Delivery(Outbox(tmp_path / "sentinel.db"),
                            DiscordSettings(enabled=True, shop_name="Cafe", webhook_alerts=url),
                            wall_clock=lambda: clock[0], backoff=Backoff(0.02, 0.1), timeout=(0.5, 0.5))
        try:
            delivery.start()
            start = clock[0]
            for minute in range(30):  # one message a minute for half an hour, nothing reachable
                clock[0] = start + minute * 60
                delivery.enqueue(Message("alerts", clock[0], content=f"minute-{minute:02d}",
                                         embeds=({"title": f"Internet DOWN {minute}"},)))
            deadline = time.monotonic() + 10
            while delivery.counters().retries < 5:  # it really tried, and failed, while offline
                assert time.monotonic() < deadline
                threading.Event().wait(0.01)
            assert fake.messages() == [] and delivery.backlog() == {"alerts": 30}
            clock[0] = start + 29 * 60 + 10  # the last one is 10 s old
            fake.online()
            got = fake.wait_for(30, timeout=20)
            wait_until(lambda: not delivery.backlog(), timeout=5, what="outbox drained", interval=0.01)
        finally:
            delivery.stop()
            delivery.close()
    assert [m.payload["embeds"][0]["title"] for m in got] == [f"Internet DOWN {m}" for m in range(30)]
    assert all("delivered late; happened at" in m.content for m in got[:29])
    assert got[-1].content == "minute-29"  # created "now": not late


def test_broken_shop_name_alerts_survive_sigkill(tmp_path):
    """A lone surrogate in the shop name once kept every alert out of the outbox (3 of 3 lost on a kill)."""
    db = str(tmp_path / "sentinel.db")
    with FakeDiscord(limit=50, period=1.0) as fake:
        url = fake.url("1")
        notifier = subprocess.Popen(_driver("alerts", "--db", db, "--url", url, "--shop", "Caf\\ud800e\\u0007"),
                                    stdout=subprocess.PIPE, text=True)
        try:
            assert notifier.stdout.readline().strip() == "queued"
        finally:
            os.kill(notifier.pid, signal.SIGKILL)
            notifier.wait(10)
        sender = subprocess.run(_driver("send", "--db", db, "--url", url, "--timeout", "20"),
                                capture_output=True, text=True, timeout=40)
        assert sender.returncode == 0, sender.stdout + sender.stderr
        got = fake.messages()
    assert [m.titles[0] for m in got] == ["Router DOWN", "Router RESTORED", "Internet DOWN"]
    assert {m.payload["username"] for m in got} == {"Caf\ufffde"}
    assert got[0].payload["embeds"][0]["footer"]["text"] == "Caf\ufffde · Incident #1"
    assert got[2].payload["embeds"][0]["footer"]["text"] == "Caf\ufffde · Incident #2"


def test_incident_numbers_and_the_board_survive_reopening(tmp_path):
    db = tmp_path / "sentinel.db"
    box = Outbox(db)
    first = box.incident_number("router", 1000.0)
    assert box.incident_number("internet", 1000.0) == first + 1
    box.set_board({"content": "v1"})
    box.board_sent(1, "hook", "42")
    box.close()
    box = Outbox(db)
    assert box.incident_number("router", 1000.4) == first  # restored incidents may carry a rounded start
    assert box.incident_number("router", 2000.0) == first + 2
    board = box.board()
    assert (board.message_id, board.hook, board.dirty) == ("42", "hook", False)
    assert box.set_board({"content": "v2"}) == 2 and box.board().dirty
    box.board_gone()
    assert box.board().message_id == "" and box.board().dirty
    box.close()


def test_an_outbox_from_the_first_release_is_upgraded_in_place(tmp_path):
    import sqlite3

    db = tmp_path / "sentinel.db"
    old = sqlite3.connect(db)
    old.executescript("""
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, created_wall REAL NOT NULL,
                             payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                             last_error TEXT NOT NULL DEFAULT '');
        INSERT INTO outbox (kind, created_wall, payload) VALUES ('alerts', 1.0, '{"content": "queued before"}');
    """)
    old.commit()
    old.close()
    box = Outbox(db)
    try:
        head = box.head("alerts")
        assert head.payload == {"content": "queued before"} and head.incident is None and not head.closes
        number = box.incident_number("router", 5.0)
        box.add("alerts", 6.0, {"content": "restored"}, incident=number, closes=True)
        assert box.incident_ended_wall(number) == 6.0
    finally:
        box.close()
