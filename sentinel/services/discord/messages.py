"""Every Discord message, built in one place: pure functions from events (and times) to `Message`.

Read on a phone: the title first ("<Label> DOWN", "<Label> RESTORED", "<Label> still DOWN
(1:00:00)", "<Label> UNSTABLE": scripts scan these), then the cause in plain words, then the
same field names everywhere (Start, End, Duration, PCs in session) with the date said once.
The footer carries the shop name and, for an incident, its short number (#12).
`finish_payload` is the last step before the outbox (shop name, footer, mentions off, text
cleaned); `mark_late` is applied when a message is actually sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sentinel.events import (Component, ComponentUnstable, ConfigRejected, DatabaseReplaced, Health,
                             IncidentConfirmed, IncidentEnded, IncidentReminder, MonitorStatus, OccupancySnapshot,
                             PrivacyChanged, RecordingStalled, SessionEnded, SessionStarted)
from sentinel.services.discord.limits import (MAX_CONTENT, MAX_DESCRIPTION, MAX_FIELD_VALUE, MAX_FIELDS,
                                              MAX_FOOTER, MAX_TITLE, MAX_USERNAME, clean, clip, fit_lines,
                                              pack_lines)
from sentinel.services.discord.outbox import Attachment
from sentinel.timefmt import clock, clock_near, day_clock, hms, iso_utc, spoken, stamp
from sentinel.today import Today

KINDS = ("alerts", "occupancy", "screenshots")
LATE_AFTER_S = 30.0  # sent later than this after it happened -> "delivered late"
EVIDENCE_NAME = "evidence.webp"
CHART_NAME = "occupancy.png"
SCREENSHOT_NAME = "screenshot.webp"
NO_MENTIONS = {"parse": []}  # a shop or PC named "@everyone" must not ping anyone

COLOURS = {
    "down": 0xE74C3C,
    "restored": 0x2ECC71,
    "reminder": 0xC0392B,
    "unstable": 0xF1C40F,
    "config": 0xE67E22,
    "privacy": 0x9B59B6,
    "occupancy": 0x3498DB,
    "snapshot": 0x1ABC9C,
    "screenshot": 0x95A5A6,
    "test": 0x5865F2,
    "board": 0x34495E,
}


@dataclass(frozen=True, slots=True)
class Message:
    """One webhook message as built here (before shop name and footer)."""

    kind: str  # one of KINDS
    created_wall: float  # when what it reports happened
    content: str = ""
    embeds: tuple[dict, ...] = ()
    files: tuple[Attachment, ...] = ()
    incident: int | None = None  # the short incident number it is about
    closes: bool = False  # it ends that incident (RESTORED)


def _field(name: str, value: object, inline: bool = True) -> dict:
    return {"name": clip(name, 256), "value": clip(str(value) or "-", MAX_FIELD_VALUE), "inline": inline}


# ---------------------------------------------------------------------------------------------
# Alerts


def incident_down(event: IncidentConfirmed, number: int | None) -> Message:
    label = event.component.label
    return Message("alerts", event.confirmed_wall, incident=number, embeds=({
        "title": f"{label} DOWN",
        "description": f"{event.component.cause}.",
        "color": COLOURS["down"],
        "fields": [_field("Start", day_clock(event.started_wall)),
                   _field("PCs in session", event.pcs_in_session_at_start)],
    },))


def incident_restored(event: IncidentEnded, number: int | None, evidence: bytes | None) -> Message:
    label = event.component.label
    embed = {
        "title": f"{label} RESTORED",
        "description": f"Back after {hms(event.duration_s)}. {event.component.cause}.",
        "color": COLOURS["restored"],
        "fields": [_field("Start", day_clock(event.started_wall)),
                   _field("End", clock_near(event.ended_wall, event.started_wall)),
                   _field("Duration", hms(event.duration_s)),
                   _field("PCs in session", f"{event.pcs_in_session_at_start} at start, "
                                            f"{event.pcs_in_session_now} now")],
    }
    files: tuple[Attachment, ...] = ()
    if evidence:
        embed["image"] = {"url": f"attachment://{EVIDENCE_NAME}"}
        files = (Attachment(EVIDENCE_NAME, evidence),)
    return Message("alerts", event.ended_wall, embeds=(embed,), files=files, incident=number, closes=True)


def incident_reminder(event: IncidentReminder, number: int | None) -> Message:
    label = event.component.label
    return Message("alerts", event.at_wall, incident=number, embeds=({
        "title": f"{label} still DOWN ({hms(event.duration_s)})",
        "description": f"{event.component.cause}.",
        "color": COLOURS["reminder"],
        "fields": [_field("Start", day_clock(event.started_wall)),
                   _field("Duration", f"{hms(event.duration_s)} so far")],
    },))


def component_unstable(event: ComponentUnstable) -> Message:
    label = event.component.label
    return Message("alerts", event.at_wall, embeds=({
        "title": f"{label} UNSTABLE",
        "description": (f"{event.blips} short failures in {spoken(event.window_s)}, each too short to be an "
                        f"incident. {event.component.cause} - again and again."),
        "color": COLOURS["unstable"],
        "fields": [_field("Start", day_clock(event.first_wall)),
                   _field("Blips", event.blips)],
    },))


def config_rejected(event: ConfigRejected, now_wall: float) -> Message:
    problems = list(event.problems)
    shown = problems if len(problems) <= MAX_FIELDS else problems[: MAX_FIELDS - 1]
    fields = [_field(path or "(file)", message, inline=False) for path, message in shown]
    if len(shown) < len(problems):
        fields.append(_field("More", f"and {len(problems) - len(shown)} more problems", inline=False))
    return Message("alerts", now_wall, embeds=({
        "title": "Config problem: changes not applied",
        "description": "config.json was changed but is not valid. The last good config stays in force.",
        "color": COLOURS["config"],
        "fields": fields,
    },))


def report(title: str, text: str, now_wall: float) -> Message:
    """A monitor/config problem worth the owner's attention (guard restarts, tampering, lockouts)."""
    return Message("alerts", now_wall, embeds=({
        "title": clip(title, MAX_TITLE), "description": clip(text, MAX_DESCRIPTION), "color": COLOURS["config"],
    },))


def webhook_throttled(kinds: tuple[str, ...], now_wall: float) -> Message:
    """Discord keeps answering 429 to one of our webhooks: someone else posts there, or it is banned."""
    names = ", ".join(kinds)
    return report(f"Discord is holding back the {names} messages",
                  f"Discord has refused every {names} message for a while (rate limit). Does another program "
                  f"post to the same webhook? Nothing is lost: the messages wait and go out when Discord "
                  f"lets them.", now_wall)


def privacy_changed(event: PrivacyChanged) -> Message:
    if event.on:
        until = f" until {clock(event.until_wall)}" if event.until_wall else ""
        title, text = "Privacy mode ON", f"Screenshots are paused{until} ({event.reason})."
    else:
        title, text = "Privacy mode OFF", f"Screenshots resume ({event.reason})."
    return Message("alerts", event.at_wall, embeds=({
        "title": title, "description": text, "color": COLOURS["privacy"],
    },))


def recording_problem(event: DatabaseReplaced | RecordingStalled) -> Message:
    """sentinel.db replaced at start, or not writable (and writable again)."""
    if isinstance(event, DatabaseReplaced):
        title, text = "Database replaced", event.text
    elif event.stalled:
        title = "Records not saved"
        text = (f"CafeSentinel cannot write its database ({event.reason}). Incidents and sessions wait in "
                "memory and are written once it works again (free some disk space). Monitoring goes on.")
    else:
        title, text = "Records saved again", "The database is writable again; the records that waited are written."
    return report(title, text, event.at_wall)


# ---------------------------------------------------------------------------------------------
# Occupancy


def sessions_summary(started: list[SessionStarted], ended: list[SessionEnded], now_wall: float) -> list[Message]:
    """One summary of a batch window: who started and who ended, with times and durations."""
    parts = []
    if started:
        parts.append(f"{len(started)} started")
    if ended:
        parts.append(f"{len(ended)} ended")
    title = "Sessions: " + ", ".join(parts)
    lines = [f"{e.pc} started {clock_near(e.started_wall, now_wall)}" for e in started]
    for e in ended:
        line = (f"{e.pc} ended {clock_near(e.ended_wall, now_wall)} after {hms(e.duration_s)}"
                f" (from {clock_near(e.started_wall, e.ended_wall)})")
        lines.append(line + (", ended during outage" if e.during_outage else ""))
    return [Message("occupancy", now_wall, embeds=embeds)
            for embeds in pack_lines(title, lines, colour=COLOURS["occupancy"])]


def snapshot(event: OccupancySnapshot, chart: bytes | None) -> Message:
    names, used = fit_lines(list(event.pcs_in_session), MAX_FIELD_VALUE - 40)
    if used < len(event.pcs_in_session):
        names += f"\n… and {len(event.pcs_in_session) - used} more"
    embed = {
        "title": clip(f"Occupancy {clock(event.at_wall)[:5]}: "
                      f"{event.in_session}/{event.total} PCs ({event.percent:.0f}%)", 256),
        "color": COLOURS["snapshot"],
        "fields": [_field("PCs in session", f"{event.in_session} / {event.total}"),
                   _field("Occupancy", f"{event.percent:.0f}%"),
                   _field("Names", names or "none", inline=False)],
    }
    files: tuple[Attachment, ...] = ()
    if chart:
        embed["image"] = {"url": f"attachment://{CHART_NAME}"}
        files = (Attachment(CHART_NAME, chart),)
    return Message("occupancy", event.at_wall, embeds=(embed,), files=files)


def screenshot(webp: bytes, taken_wall: float) -> Message:
    return Message("screenshots", taken_wall, embeds=({
        "title": "Screenshot",
        "description": f"Taken {day_clock(taken_wall)}.",
        "color": COLOURS["screenshot"],
        "image": {"url": f"attachment://{SCREENSHOT_NAME}"},
    },), files=(Attachment(SCREENSHOT_NAME, webp),))


def test_message(kind: str, now_wall: float) -> Message:
    return Message(kind, now_wall, embeds=({
        "title": "Test message",
        "description": f"CafeSentinel can post to the {kind} channel. Sent {stamp(now_wall)}.",
        "color": COLOURS["test"],
    },))


# ---------------------------------------------------------------------------------------------
# The live status board


BOARD_COMPONENTS = (Component.ROUTER, Component.SERVER, Component.INTERNET)
_HEALTH_WORDS = {Health.UP: "up", Health.FAILING: "failing", Health.DOWN: "DOWN", Health.UNKNOWN: "unknown"}


@dataclass(frozen=True, slots=True)
class BoardView:
    """What the board shows; equal views need no edit (no clock or durations in it)."""

    rows: tuple[tuple[str, str, float | None], ...]  # (label, state word, since_wall)
    in_session: int
    total: int
    uptime: tuple[tuple[str, float], ...]  # (label, today's uptime %, one decimal)


def board_view(status: MonitorStatus, today: Today) -> BoardView:
    rows = []
    for target in status.targets:
        if target.component in BOARD_COMPONENTS and target.health is not Health.UNCONFIGURED:
            rows.append((target.component.label, _HEALTH_WORDS.get(target.health, target.health.value),
                         target.since_wall))
    uptime = []
    for component in BOARD_COMPONENTS:
        percent = today.summary(component).uptime_percent
        if percent is not None:
            uptime.append((component.label, round(percent, 1)))
    return BoardView(tuple(rows), status.in_session, len(status.pcs), tuple(uptime))


def status_board(view: BoardView, now_wall: float) -> Message:
    down = [label for label, word, _ in view.rows if word == "DOWN"]
    title = "Now: " + (", ".join(down) + " DOWN" if down else "all OK")
    lines = []
    for label, word, since in view.rows:
        lines.append(f"{label}: {word}" + (f" since {clock_near(since, now_wall)}" if since else ""))
    fields = [_field("PCs in session", f"{view.in_session} / {view.total}")]
    if view.uptime:
        fields.append(_field("Uptime today", ", ".join(f"{label} {percent:g}%" for label, percent in view.uptime),
                             inline=False))
    return Message("alerts", now_wall, embeds=({
        "title": title,
        "description": "\n".join(lines) or "Not monitoring yet.",
        "color": COLOURS["down"] if down else COLOURS["board"],
        "fields": fields,
    },))


# ---------------------------------------------------------------------------------------------
# The last steps: into the outbox, and out of it


# Discord refuses (400) a webhook name containing "discord" or "clyde", or named everyone/here.
_RESERVED_IN_NAME = re.compile(r"discord|clyde", re.IGNORECASE)
_LOOKALIKE = {"o": "\u043e", "O": "\u041e", "e": "\u0435", "E": "\u0415"}  # Cyrillic twins


def webhook_name(shop_name: str) -> str:
    """The shop name as Discord accepts it for a webhook's username: "Discord Cafe" would make
    every message a 400 (lost), so its "o" becomes its Cyrillic twin; empty -> CafeSentinel."""
    # the fifth letter is the "o" of discord and the "e" of clyde
    name = _RESERVED_IN_NAME.sub(lambda m: m.group(0)[:4] + _LOOKALIKE[m.group(0)[4]] + m.group(0)[5:], shop_name)
    name = clip(name.strip(), MAX_USERNAME)
    return name if name and name.lower() not in ("everyone", "here") else "CafeSentinel"


def finish_payload(message: Message, shop_name: str) -> dict:
    """The webhook body: username = shop, footer "<shop> · Incident #12", timestamps, no mentions.

    Every string is cleaned here, at the door: no text can keep a message out of the outbox.
    """
    footer = clip(f"{shop_name} · Incident #{message.incident}" if message.incident else shop_name, MAX_FOOTER)
    embeds = []
    for embed in message.embeds:
        e = dict(embed)
        if footer:
            e["footer"] = {"text": footer}
        e.setdefault("timestamp", iso_utc(message.created_wall))
        embeds.append(e)
    payload: dict = {"username": shop_name, "allowed_mentions": NO_MENTIONS}
    if message.content:
        payload["content"] = clip(message.content, MAX_CONTENT)
    if embeds:
        payload["embeds"] = embeds
    payload = clean(payload)
    payload["username"] = webhook_name(payload["username"])
    return payload


def is_late(created_wall: float, now_wall: float, *, ended_wall: float | None = None, closes: bool = False) -> bool:
    """Sent more than LATE_AFTER_S after it happened, or after its incident already ended."""
    if now_wall - created_wall > LATE_AFTER_S:
        return True
    return not closes and ended_wall is not None and now_wall >= ended_wall


def mark_late(payload: dict, created_wall: float, now_wall: float, *, ended_wall: float | None = None,
              closes: bool = False) -> dict:
    """Payload to send now: says "delivered late; happened at ..." when late; timestamps stay."""
    if not is_late(created_wall, now_wall, ended_wall=ended_wall, closes=closes):
        return payload
    note = f"*delivered late; happened at {clock_near(created_wall, now_wall)}*"
    content = payload.get("content") or ""
    marked = dict(payload)
    marked["content"] = clip(f"{note}\n{content}" if content else note, MAX_CONTENT)
    return marked
