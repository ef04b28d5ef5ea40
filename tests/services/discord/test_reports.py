"""Digest and monthly-report messages: the numbers said plainly, valid for Discord, a legible chart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from PIL import Image

from sentinel.charts import HEIGHT, WIDTH
from sentinel.events import DailyDigest, DaySummary, MonthlyReport
from sentinel.services.discord.limits import validate_payload
from sentinel.services.discord.messages import finish_payload
from sentinel.services.discord.reports import daily_digest, monthly_report
from sentinel.services.discord.notifier import Notifier
from tests.helpers.localtime import local_zone


def at(*args) -> float:
    return dt.datetime(*args).timestamp()


def summary() -> DaySummary:
    hourly = tuple((at(2026, 10, 5, 10) + h * 3600, [1, 1, 2, 1.75, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1][h])
                   for h in range(16))
    return DaySummary(
        day="2026-10-05", hours="10:00-02:00", open_s=57600, watched_s=57600,
        uptime=(("Router", 100 * 57300 / 57600, 300), ("Server", 100.0, 0), ("Internet", 96.2827, 2130)),
        incidents=(("Internet", at(2026, 10, 5, 12), 630, False), ("Router", at(2026, 10, 5, 15), 300, False),
                   ("Server", at(2026, 10, 6, 2, 30), None, True)),
        downtime_s=2430, blips=1, sessions=4, pc_hours=9.75, peak=3, peak_wall=at(2026, 10, 5, 13),
        pcs_total=20, hourly=hourly)


def fields(message) -> dict:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


def test_the_daily_digest_says_the_numbers_and_carries_the_chart():
    with local_zone():
        message = daily_digest(DailyDigest(summary(), at(2026, 10, 6, 2)))
    assert validate_payload(finish_payload(message, "Pixel Cafe"), message.files) == []
    embed = message.embeds[0]
    assert embed["title"] == "Daily digest, Mon 5 Oct 2026"
    assert embed["description"].startswith("Open 10:00-02:00; watched 16:00:00 of 16:00:00.")
    f = fields(message)
    assert f["Internet"] == "96.28% up, 0:35:30 down" and f["Server"] == "100.00% up"
    assert f["Router"] == "99.48% up, 0:05:00 down"
    assert f["Incidents"] == "3, 0:40:30 down in opening hours"
    assert (f["Blips"], f["Sessions"], f["PC-hours"], f["Peak occupancy"]) == ("1", "4", "9.8", "3 of 20 PCs at 13:00")
    assert f["What happened"].splitlines() == ["Internet 12:00:00, 0:10:30", "Router 15:00:00, 0:05:00",
                                               "Server 02:30:00, still down (closed hours)"]
    assert embed["image"] == {"url": "attachment://digest.png"}
    chart = Image.open(io.BytesIO(message.files[0].data))
    assert chart.size == (WIDTH, HEIGHT)


def test_the_monthly_report_is_a_file_with_the_headline_numbers():
    event = MonthlyReport("2026-10", "cafesentinel-2026-10.html", b"<!DOCTYPE html>...", 96.6105, 6030, 300, 7,
                          at(2026, 11, 1, 4))
    message = monthly_report(event)
    assert validate_payload(finish_payload(message, "Pixel Cafe"), message.files) == []
    assert message.embeds[0]["title"] == "Monthly report, October 2026"
    text = message.embeds[0]["description"]
    assert "96.61%" in text and "ISP downtime 1:40:30" in text and "(router / LAN, not the ISP's) 0:05:00" in text
    assert [(f.filename, f.data) for f in message.files] == [("cafesentinel-2026-10.html", b"<!DOCTYPE html>...")]


def test_a_report_too_big_to_attach_says_where_it_is():
    event = MonthlyReport("2026-10", "cafesentinel-2026-10.html", b"x" * (10 * 1024 * 1024 + 1), None, 0, 0, 0, 0.0)
    message = monthly_report(event)
    assert message.files == () and "reports/cafesentinel-2026-10.html" in message.embeds[0]["description"]


class Sink:
    shop_name = "Pixel Cafe"

    def __init__(self):
        self.messages = []

    def accepts(self, kind):
        return kind == "alerts"

    def enqueue(self, message):
        self.messages.append(message)
        return len(self.messages)


def test_the_notifier_queues_both_on_the_alerts_channel():
    sink = Sink()
    notifier = Notifier(sink)
    with local_zone():
        notifier.on_event(DailyDigest(summary(), at(2026, 10, 6, 2)))
    notifier.on_event(MonthlyReport("2026-10", "r.html", b"<html>", 99.0, 1, 2, 3, 0.0))
    assert [m.embeds[0]["title"] for m in sink.messages] == ["Daily digest, Mon 5 Oct 2026",
                                                             "Monthly report, October 2026"]


def test_a_closed_day_says_not_watched():
    closed = dataclasses.replace(summary(), hours="closed", open_s=0, watched_s=0,
                                 uptime=(("Router", None, 0), ("Server", None, 0), ("Internet", None, 0)))
    with local_zone():
        message = daily_digest(DailyDigest(closed, at(2026, 10, 6, 0)))
    assert message.embeds[0]["description"].startswith("Closed today; no opening hours.")
    assert fields(message)["Internet"] == "not watched"
