"""config.json as the owner reads it: every key's field (label, kind, hint) in groups, and
validation problems and Send test results in plain words. Pure: no Tk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sentinel.config.checks import DAYS

KIND_NAMES = {"alerts": "Alerts", "occupancy": "Occupancy", "screenshots": "Screenshots", "discord": "Discord"}
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))


@dataclass(frozen=True)
class Field:
    path: str  # JSON path in config.json, e.g. "monitor_settings.pc_count"
    label: str
    kind: str = "text"  # text, number, bool, webhook, names, days, dates, choice
    hint: str = ""
    width: int = 26
    choices: tuple[str, ...] = ()


GROUPS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    ("What to watch", (
        Field("targets.router", "Router", hint="This PC's default gateway, usually."),
        Field("targets.server", "Server", hint="Game or boot server on the LAN (optional)."),
        Field("targets.internet", "Internet", hint="A reliable host on the internet."),
        Field("verification_settings.secondary_target", "Second internet host",
              hint="The internet counts as down only if both fail."),
    )),
    ("Client PCs", (
        Field("monitor_settings.pc_subnet", "PC subnet", hint="First three parts, like 192.168.1", width=16),
        Field("monitor_settings.pc_start_range", "First PC address", "number", width=8),
        Field("monitor_settings.pc_count", "Number of PCs", "number", width=8),
        Field("monitor_settings.pc_names", "PC names", "names",
              hint="One per line: 192.168.1.110 = VIP-1 (others are PC-1, PC-2, ...)."),
        Field("monitor_settings.arp_presence", "Count PCs that block ping but answer ARP as seen", "bool"),
    )),
    ("Discord", (
        Field("discord_settings.enabled", "Send messages to Discord", "bool"),
        Field("discord_settings.shop_name", "Shop name", width=40),
        Field("discord_settings.webhook_alerts", "Alerts webhook", "webhook", width=40),
        Field("discord_settings.webhook_occupancy", "Occupancy webhook", "webhook", width=40),
        Field("discord_settings.webhook_screenshots", "Screenshots webhook", "webhook", width=40,
              hint="An empty webhook turns that message kind off."),
        Field("discord_settings.status_board", "Keep one status message up to date in the alerts channel", "bool"),
    )),
    ("Checks", (
        Field("monitor_settings.interval_seconds", "Check every (seconds)", "number", width=8),
        Field("monitor_settings.ping_timeout_seconds", "Wait for an answer (seconds)", "number", width=8),
        Field("verification_settings.retry_delay_seconds", "Ask again after (seconds)", "number", width=8),
        Field("verification_settings.min_incident_duration_seconds", "Outage after (seconds)", "number", width=8,
              hint="Shorter failures are blips: counted, never alerted."),
    )),
    ("Alerts", (
        Field("alert_settings.reminder_minutes", "Remind while down (minutes)", "number", width=8,
              hint="0 = no reminders."),
        Field("alert_settings.flap_blips", "Unstable after (blips)", "number", width=8),
        Field("alert_settings.flap_window_minutes", "... within (minutes)", "number", width=8),
        Field("alert_settings.closed_hours_alerts", "Alert outside opening hours too", "bool"),
    )),
    ("Sessions", (
        Field("occupancy_settings.enabled", "Track PC sessions", "bool"),
        Field("occupancy_settings.mode", "Mode", "choice", width=12, choices=("session",)),
        Field("occupancy_settings.min_session_minutes", "A session after (minutes)", "number", width=8),
        Field("occupancy_settings.batch_delay_seconds", "Group session messages for (seconds)", "number", width=8),
        Field("occupancy_settings.hourly_snapshot_enabled", "Post occupancy snapshots", "bool"),
        Field("occupancy_settings.snapshot_interval_minutes", "Snapshot every (minutes)", "number", width=8),
    )),
    ("Screenshots", (
        Field("screenshot_settings.enabled", "Take screenshots", "bool"),
        Field("screenshot_settings.interval_minutes", "Every (minutes)", "number", width=8),
        Field("screenshot_settings.quality", "Quality (1-100)", "number", width=8),
        Field("screenshot_settings.resize_ratio", "Scale (0.1-1.0)", "number", width=8),
        Field("screenshot_settings.privacy_minutes", "Privacy mode lasts (minutes)", "number", width=8),
    )),
    ("Opening hours", (
        Field("schedule_settings.enabled", "Use opening hours", "bool"),
        Field("schedule_settings.days", "Hours", "days", hint='Like 10:00-02:00, "closed", or 00:00-24:00.'),
        Field("schedule_settings.closed_dates", "Closed on", "dates", width=40,
              hint="Dates like 2026-12-25, separated by commas."),
    )),
    ("Reports", (
        Field("report_settings.daily_digest", "Post a daily summary at closing time", "bool"),
        Field("report_settings.monthly_report", "Post last month's ISP report on the 1st", "bool"),
        Field("report_settings.evidence_retention_days", "Keep evidence for (days)", "number", width=8),
    )),
    ("Tray", (
        Field("system_settings.tray_visibility.router", "Router icon", "bool"),
        Field("system_settings.tray_visibility.server", "Server icon", "bool"),
        Field("system_settings.tray_visibility.internet", "Internet icon", "bool"),
        Field("system_settings.tray_visibility.clients", "Clients icon", "bool",
              hint="All four hidden = stealth mode."),
    )),
    ("System", (
        Field("system_settings.log_retention_days", "Keep logs for (days)", "number", width=8),
        Field("api_settings.enabled", "Local web dashboard and API", "bool"),
        Field("api_settings.bind", "Listen on", width=16, hint="127.0.0.1 = this PC only."),
        Field("api_settings.port", "Port", "number", width=8),
    )),
)
FIELDS = {f.path: f for _, fields in GROUPS for f in fields}
WEBHOOK_KINDS = ("alerts", "occupancy", "screenshots")



def field_of(path: str) -> str | None:
    """The form field a problem's JSON path belongs to (a day's hours belong to "Hours")."""
    while path:
        if path in FIELDS:
            return path
        path = path.rpartition(".")[0]
    return None


def plain_problem(path: str, message: str) -> str:
    """A validation message as the owner should read it: no JSON, no paths, a hint to fix it."""
    if message == "unknown key":
        return "This setting is not known to this version; it is dropped when you save."
    if "not a Discord webhook URL" in message:
        return ("This is not a Discord webhook address. In Discord: channel settings \u2192 Integrations "
                "\u2192 Webhooks \u2192 Copy Webhook URL.")
    if path.startswith("discord_settings.webhook_"):
        return "Use the address Discord gives you: https://discord.com/api/webhooks/\u2026 " \
               f"({message.split(' (got')[0]})."
    if message == "Discord is enabled but no webhook is set":
        return "Enter at least one webhook, or untick \u201cSend messages to Discord\u201d."
    ends = re.match(r"PC range (\S+)\.(\d+) \+ (\d+) PCs ends at \.(\d+), past \.254 \(at most (\d+) PCs", message)
    if ends:
        subnet, start, count, last, most = ends.groups()
        return (f"The last PC would be {subnet}.{last}, but addresses end at .254: "
                f"at most {most} PCs from .{start}.")
    for day, name in DAY_NAMES.items():
        if message.startswith(f"{day} "):
            message = f"{name}{message[len(day):]}"
    text = message.replace("(got ", "(you typed ")
    if text.startswith("is not "):
        text = text[3:]  # "Not an IP address ...": the field's label says what "is"
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def describe_test(kind: str, ok: bool, detail: str, configured: bool) -> tuple[str, str]:
    """(text, level) of one Send test result; level is "ok", "off" or "error"."""
    name = KIND_NAMES.get(kind, kind)
    if not configured:
        return f"{name}: off (no webhook)", "off"
    if ok:
        return f"{name}: sent \u2713", "ok"
    return f"{name}: not sent \u2014 {detail}", "error"
