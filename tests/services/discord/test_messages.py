"""Messages as an owner reads them on a phone, and Discord's limits, with fixed times."""

from __future__ import annotations

import json
import time

import pytest

from sentinel.events import (Component, ComponentUnstable, Health, IncidentConfirmed, IncidentEnded,
                             IncidentReminder, MonitorStatus, PcState, PcStatus, SessionEnded, SessionStarted,
                             TargetStatus)
from sentinel.services.discord import messages as m
from sentinel.services.discord.limits import clean_text, pack_lines, validate_payload
from sentinel.services.discord.messages import Message, finish_payload, mark_late
from sentinel.services.discord.outbox import Attachment
from sentinel.timefmt import iso_utc
from sentinel.today import Today, advance

T0 = 1_700_000_000.0  # a fixed wall time


def fields(message: Message) -> dict:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


def local(wall, fmt="%H:%M:%S"):
    return time.strftime(fmt, time.localtime(wall))


@pytest.mark.parametrize("component, title, cause", [
    (Component.INTERNET, "Internet DOWN", "Internet down - your ISP; the router is fine."),
    (Component.ROUTER, "Router DOWN", "Router not answering"),
    (Component.LAN_LINK, "LAN link DOWN", "network link"),
    (Component.LAN, "LAN DOWN", "switch"),
    (Component.SERVER, "Server DOWN", "router is fine"),
])
def test_down_alert_says_the_cause_in_plain_words(component, title, cause):
    message = m.incident_down(IncidentConfirmed("k", component, T0, T0 + 10, 4), 12)
    embed = message.embeds[0]
    assert embed["title"] == title and cause in embed["description"]
    assert fields(message) == {"Start": m.day_clock(T0), "PCs in session": "4"}
    assert message.incident == 12 and message.created_wall == T0 + 10


def test_restored_uses_the_same_fields_and_says_the_date_once():
    message = m.incident_restored(IncidentEnded("k", Component.INTERNET, T0, T0 + 3725, 3725.0, 7, 5), 12, b"RIFF")
    assert message.embeds[0]["title"] == "Internet RESTORED"
    assert "Back after 1:02:05" in message.embeds[0]["description"]
    assert fields(message) == {"Start": m.day_clock(T0), "End": local(T0 + 3725), "Duration": "1:02:05",
                               "PCs in session": "7 at start, 5 now"}
    year = local(T0, "%Y")
    text = json.dumps(message.embeds[0])
    assert year not in text and text.count(local(T0, "%b")) == 1  # the date once, no year
    assert message.closes and message.files == (Attachment("evidence.webp", b"RIFF"),)


def test_reminder_and_unstable_titles():
    reminder = m.incident_reminder(IncidentReminder("k", Component.INTERNET, T0, T0 + 3600, 3600.0), 3)
    assert reminder.embeds[0]["title"] == "Internet still DOWN (1:00:00)" and reminder.incident == 3
    assert fields(reminder)["Duration"] == "1:00:00 so far"
    unstable = m.component_unstable(ComponentUnstable(Component.ROUTER, 3, 600.0, T0, T0 + 400))
    assert unstable.embeds[0]["title"] == "Router UNSTABLE"
    assert "3 short failures in 10 min" in unstable.embeds[0]["description"]
    assert unstable.incident is None


def test_session_summary_has_names_and_durations_and_no_ips():
    started = [SessionStarted("pc1", "PC-1", "198.51.100.1", T0), SessionStarted("pc2", "PC-2", "198.51.100.2", T0)]
    ended = [SessionEnded("pc3", "PC-3", "198.51.100.3", T0 - 5400, T0, 5400.0, True)]
    (message,) = m.sessions_summary(started, ended, T0 + 30)
    embed = message.embeds[0]
    assert embed["title"] == "Sessions: 2 started, 1 ended"
    assert embed["description"].splitlines() == [
        f"PC-1 started {local(T0)}", f"PC-2 started {local(T0)}",
        f"PC-3 ended {local(T0)} after 1:30:00 (from {local(T0 - 5400)}), ended during outage"]
    assert "198.51.100" not in json.dumps(embed)


def test_footer_names_the_shop_and_the_short_incident_number():
    payload = finish_payload(m.incident_down(IncidentConfirmed("k", Component.ROUTER, T0, T0 + 10, 1), 12), "Net Cafe")
    assert payload["username"] == "Net Cafe"
    assert payload["embeds"][0]["footer"] == {"text": "Net Cafe · Incident #12"}
    assert payload["embeds"][0]["timestamp"] == iso_utc(T0 + 10)
    assert payload["allowed_mentions"] == {"parse": []}
    other = finish_payload(m.report("Guard", "restarted", T0), "Net Cafe")
    assert other["embeds"][0]["footer"] == {"text": "Net Cafe"}


def test_broken_text_is_cleaned_at_the_door():
    shop = "Caf\ud800e \x07Bell\x00"
    payload = finish_payload(m.report("Title\udfff", "line1\nline2\x1b[31m", T0), shop)
    text = json.dumps(payload, ensure_ascii=False)
    text.encode("utf-8")  # storable and sendable: no lone surrogates left
    assert payload["username"] == "Caf\ufffde Bell"
    assert payload["embeds"][0]["description"] == "line1\nline2[31m"
    assert clean_text("ok\ttab") == "ok\ttab"
    assert finish_payload(m.report("t", "x", T0), "\x00\x01")["username"] == "CafeSentinel"


@pytest.mark.parametrize("age, ended_offset, closes, late", [
    (29, None, False, False),
    (31, None, False, True),  # more than 30 s after it happened
    (5, 3, False, True),  # its incident already ended (a 30 s outage's DOWN alert)
    (5, 3, True, False),  # the RESTORED itself is not late for that
    (5, 10, False, False),  # the incident ends later
])
def test_late_rule(age, ended_offset, closes, late):
    payload = finish_payload(Message("alerts", T0, content="hi", embeds=({"title": "Router DOWN"},)), "Shop")
    ended = None if ended_offset is None else T0 + ended_offset
    got = mark_late(payload, T0, T0 + age, ended_wall=ended, closes=closes)
    assert ("delivered late; happened at" in got.get("content", "")) is late
    if late:
        assert got["content"].startswith(f"*delivered late; happened at {local(T0)}*") and got["content"].endswith("hi")
        assert got["embeds"][0]["timestamp"] == iso_utc(T0)


def test_late_on_another_day_names_the_day():
    payload = finish_payload(Message("alerts", T0, embeds=({"title": "Router DOWN"},)), "Shop")
    got = mark_late(payload, T0, T0 + 3 * 86400)
    assert f"happened at {time.localtime(T0).tm_mday} {local(T0, '%b')}" in got["content"]


def board_status(internet=Health.UP, in_session=1, at=T0):
    targets = (TargetStatus(Component.ROUTER, "r", Health.UP, T0 - 3600, 1.0),
               TargetStatus(Component.SERVER, "s", Health.UNCONFIGURED, None, None),
               TargetStatus(Component.INTERNET, "i", internet, T0 - 60, None))
    pcs = tuple(PcStatus(n, f"PC-{n}", f"ip{n}", PcState.IN_SESSION if n <= in_session else PcState.OFF, None, None)
                for n in range(1, 4))
    return MonitorStatus(at, True, True, False, targets, pcs, 0)


def test_board_view_changes_only_with_state_sessions_or_uptime():
    today = advance(advance(Today(), board_status(at=T0), T0), board_status(at=T0 + 2), T0 + 2)
    first = m.board_view(board_status(at=T0 + 2), today)
    assert first.uptime == (("Router", 100.0), ("Internet", 100.0))
    later = advance(today, board_status(at=T0 + 4), T0 + 4)
    assert m.board_view(board_status(at=T0 + 4), later) == first  # only time passed
    assert m.board_view(board_status(in_session=2, at=T0 + 4), later) != first
    message = m.status_board(first, T0)
    assert message.embeds[0]["title"] == "Now: all OK"
    assert "Server" not in message.embeds[0]["description"]  # not configured
    assert fields(message)["PCs in session"] == "1 / 3"
    down = m.status_board(m.board_view(board_status(internet=Health.DOWN), today), T0)
    assert down.embeds[0]["title"] == "Now: Internet DOWN"


@pytest.mark.parametrize("payload, files, problem", [
    ({"content": "x" * 2001}, (), "content"),
    ({"embeds": [{"title": "t" * 257}]}, (), "title"),
    ({"embeds": [{"description": "d" * 4097}]}, (), "description"),
    ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, (), "fields"),
    ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, (), "name"),
    ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, (), "value"),
    ({"embeds": [{"footer": {"text": "f" * 2049}}]}, (), "footer"),
    ({"embeds": [{"author": {"name": "a" * 257}}]}, (), "author"),
    ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, (), "total"),
    ({"embeds": [{"title": "t"}] * 11}, (), "11 embeds"),
    ({"content": "x"}, (Attachment("a.bin", b"0" * (10 * 1024 * 1024 + 1)),), "bytes"),
    ({"embeds": [{"image": {"url": "attachment://missing.webp"}}]}, (), "not attached"),
    ({}, (), "empty"),
])
def test_validate_payload_catches_each_limit(payload, files, problem):
    problems = validate_payload(payload, files)
    assert any(problem in p for p in problems), problems


def test_pack_lines_keeps_every_line_and_every_message_valid():
    lines = [f"PC-{n} ended 12:34:56 after 2:34:56 (from 10:00:00), ended during outage" for n in range(1, 255)]
    packed = pack_lines("Sessions: 254 ended", lines, colour=1)
    assert len(packed) > 1
    text = ""
    for i, embeds in enumerate(packed):
        payload = finish_payload(Message("occupancy", T0, embeds=embeds, incident=99999), "S" * 80)
        assert validate_payload(payload) == []
        assert embeds[0]["title"].endswith(f"(part {i + 1}/{len(packed)})")
        text += "\n".join(e["description"] for e in embeds) + "\n"
    assert all(line in text for line in lines)
