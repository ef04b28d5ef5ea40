"""Messages for the daily digest and the monthly report (pure: event in, Message out).

The numbers come computed (recording/history.py, handed over in DailyDigest / MonthlyReport);
this module only says them: uptime per component, incidents, downtime, blips, sessions,
PC-hours, peak occupancy, an hour-by-hour occupancy chart; the month's HTML report as a file.
"""

from __future__ import annotations

import datetime as dt
import time

from sentinel.charts import Bar, bar_chart
from sentinel.events import DailyDigest, DaySummary, MonthlyReport
from sentinel.services.discord.limits import MAX_DESCRIPTION, MAX_FIELD_VALUE, MAX_FILE_BYTES, clip, fit_lines
from sentinel.services.discord.messages import COLOURS, Message
from sentinel.services.discord.outbox import Attachment
from sentinel.timefmt import clock, hms

DIGEST_CHART = "digest.png"


def _field(name: str, value: str, inline: bool = True) -> dict:
    return {"name": name, "value": clip(value or "-", MAX_FIELD_VALUE), "inline": inline}


def _percent(value: float | None) -> str:
    return "not watched" if value is None else f"{value:.2f}%"


def day_label(iso_day: str) -> str:
    day = dt.date.fromisoformat(iso_day)
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"


def digest_chart(summary: DaySummary) -> bytes:
    bars = [Bar(time.strftime("%H", time.localtime(at)), average) for at, average in summary.hourly]
    return bar_chart(f"Occupancy by hour, {day_label(summary.day)}", bars, y_max=summary.pcs_total,
                     y_label="PCs in session (avg)", x_label="hour (local time)", whole_steps=True)


def daily_digest(event: DailyDigest) -> Message:
    s = event.summary
    hours = "closed today" if s.hours == "closed" else f"open {s.hours}"
    watched = f"watched {hms(s.watched_s)} of {hms(s.open_s)}" if s.open_s else "no opening hours"
    incidents = [f"{label} {clock(start)}, {hms(duration) if duration is not None else 'still down'}"
                 + (" (closed hours)" if closed else "") for label, start, duration, closed in s.incidents]
    listed, used = fit_lines(incidents, MAX_FIELD_VALUE - 30)
    if used < len(incidents):
        listed += f"\n… and {len(incidents) - used} more"
    peak = f"{s.peak} of {s.pcs_total} PCs" + (f" at {clock(s.peak_wall)[:5]}" if s.peak_wall else "")
    fields = [_field(label, "not watched" if percent is None else
                     f"{percent:.2f}% up" + (f", {hms(down)} down" if down else "")) for label, percent, down in s.uptime]
    fields += [_field("Incidents", f"{len(s.incidents)}, {hms(s.downtime_s)} down in opening hours"),
               _field("Blips", str(s.blips)),
               _field("Sessions", str(s.sessions)),
               _field("PC-hours", f"{s.pc_hours:.1f}"),
               _field("Peak occupancy", peak)]
    if incidents:
        fields.append(_field("What happened", listed, inline=False))
    embed = {"title": f"Daily digest, {day_label(s.day)}",
             "description": clip(f"{hours.capitalize()}; {watched}. Uptime counts opening hours the monitor "
                                 f"watched.", MAX_DESCRIPTION),
             "color": COLOURS["snapshot"], "fields": fields,
             "image": {"url": f"attachment://{DIGEST_CHART}"}}
    return Message(kind="alerts", created_wall=event.at_wall, embeds=(embed,),
                   files=(Attachment(DIGEST_CHART, digest_chart(s)),))


def monthly_report(event: MonthlyReport) -> Message:
    month = dt.date.fromisoformat(event.period + "-01").strftime("%B %Y")
    text = (f"Internet uptime {_percent(event.internet_uptime)} in opening hours. ISP downtime "
            f"{hms(event.isp_down_s)}; local downtime (router / LAN, not the ISP's) {hms(event.local_down_s)}; "
            f"{event.incidents} incidents.")
    files: tuple[Attachment, ...] = ()
    if len(event.html) <= MAX_FILE_BYTES:
        files = (Attachment(event.filename, event.html),)
        text += " The full report is attached: open it in a browser, print it for the ISP."
    else:
        text += f" The report is too big to attach; it is in the data folder (reports/{event.filename})."
    return Message(kind="alerts", created_wall=event.at_wall, embeds=({
        "title": f"Monthly report, {month}", "description": clip(text, MAX_DESCRIPTION), "color": COLOURS["snapshot"],
    },), files=files)
