"""The ISP report of a month or a day: one self-contained, printable HTML file and a CSV.

Page 1 is the period on one A4 page: the totals, a chart of the ISP's downtime, and one row
per day (opening hours, watched time, local and ISP downtime, internet uptime). The pages
after it list every incident (cause in plain words, start, end, duration, the time it
counted in opening hours, evidence thumbnails). Router, LAN and the monitor's own link are
the shop's own network: that time is shown as local, never charged to the ISP.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sentinel import __version__
from sentinel.charts import Bar, bar_chart
from sentinel.files import atomic_write
from sentinel.errors import UserError
from sentinel.events import Component
from sentinel.schedule import Interval, Schedule, intersect, merge, subtract, total
from sentinel.services.recording.history import (BEHIND, LOCAL, DayRecord, Incident, Records, Uptime,
                                                  day_record, days_of, down_intervals, hourly, in_span, load,
                                                  opening_intervals, span_of)
from sentinel.timefmt import hms, stamp

CSV_HEADER = ["Start Time", "End Time", "Duration", "Cause", "Notes", "In Opening Hours", "Counted As", "Evidence"]
THUMB_SIZE = (240, 135)
CHART_SIZE = (960, 260)  # wide and low: page 1 holds the chart and a 31-day table
_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """`YYYY-MM` (a month) or `YYYY-MM-DD` (a day) -> (first day, last day); UserError otherwise."""
    match = _PERIOD.match(text or "")
    try:
        if not match:
            raise ValueError
        year, month, day = int(match.group(1)), int(match.group(2)), match.group(3)
        if day is not None:
            first = dt.date(year, month, int(day))
            return first, first
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    except ValueError:
        raise UserError(f"--report: {text!r} is not a period (use YYYY-MM or YYYY-MM-DD)") from None


def counted_as(component: Component) -> str:
    if component is Component.INTERNET:
        return "ISP"
    return "local" if component in LOCAL else "server"


@dataclass(frozen=True, slots=True)
class IncidentLine:
    number: int
    incident: Incident
    counted_s: float  # of its time, how much fell in watched opening hours (for the ISP: while judged)


@dataclass(frozen=True, slots=True)
class PeriodReport:
    period: str  # as asked: "2026-12" or "2026-12-01"
    shop: str
    generated_wall: float
    schedule: Schedule
    days: tuple[DayRecord, ...]
    incidents: tuple[IncidentLine, ...]
    blips: int
    isp_down: tuple[Interval, ...]  # ISP downtime charged: watched opening time, internet judged and down

    @property
    def open_s(self) -> float:
        return sum(d.open_s for d in self.days)

    @property
    def watched_s(self) -> float:
        return sum(d.watched_s for d in self.days)

    @property
    def local_s(self) -> float:
        return sum(d.local_s for d in self.days)

    @property
    def internet(self) -> Uptime:
        return Uptime(Component.INTERNET, sum(d.internet.judged_s for d in self.days),
                      sum(d.internet.down_s for d in self.days))


def build_report(records: Records, schedule: Schedule, period: str, now_wall: float, shop: str) -> PeriodReport:
    first, last = parse_period(period)
    days = tuple(day_record(records, schedule, day, now_wall) for day in days_of(first, last))
    opening = merge(i for day in days_of(first, last) for i in opening_intervals(schedule, day))
    watched = intersect([(a, min(b, now_wall)) for a, b in opening], records.coverage)
    span = span_of(schedule, first, last)
    hidden = merge(x for behind in BEHIND[Component.INTERNET] for x in down_intervals(records, behind, now_wall))
    judged = subtract(watched, hidden)
    lines = []
    for incident in (i for i in records.incidents if in_span(i.start_wall, span)):
        own: list[Interval] = [(incident.start_wall, now_wall if incident.end_wall is None else incident.end_wall)]
        counted = intersect(judged if incident.component is Component.INTERNET else watched, own)
        lines.append(IncidentLine(len(lines) + 1, incident, total(counted)))
    blips = sum(1 for _, start in records.blips if in_span(start, span))
    isp_down = intersect(judged, down_intervals(records, Component.INTERNET, now_wall))
    return PeriodReport(period, shop, now_wall, schedule, days, tuple(lines), blips, tuple(isp_down))


# ---------------------------------------------------------------------------------------------
# Rendering


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}%"


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail(path: Path) -> str | None:
    """A small JPEG of an evidence screenshot as a data URI; None when the file is gone."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=70)
    except (OSError, ValueError):
        return None
    return data_uri("image/jpeg", out.getvalue())


def downtime_chart(report: PeriodReport) -> bytes:
    """ISP downtime per day (a month) or per hour of the opening (a day), in minutes."""
    size = {"width": CHART_SIZE[0], "height": CHART_SIZE[1], "y_max": 1, "y_label": "minutes",
            "whole_steps": False}
    if len(report.days) > 1:
        bars = [Bar(str(d.day.day), d.internet.down_s / 60.0) for d in report.days]
        return bar_chart("ISP downtime per day, opening hours", bars, x_label="day of the month", **size)
    opening = opening_intervals(report.schedule, report.days[0].day)
    per_hour = hourly(list(report.isp_down), *opening[0]) if opening else ()
    bars = [Bar(time.strftime("%H", time.localtime(at)), share * 60.0) for at, share in per_hour]
    return bar_chart("ISP downtime per hour, opening hours", bars, x_label="hour (local time)", **size)


STYLE = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 8.5pt/1.25 "Segoe UI", system-ui, sans-serif; color: #212529; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 14pt; margin: 0 0 2pt; } h2 { font-size: 12pt; margin: 0 0 4pt; }
.sub { color: #555; margin: 0 0 4pt; }
.cards { display: flex; gap: 5pt; margin: 4pt 0; }
.card { flex: 1; border: 1px solid #ccd; border-radius: 3pt; padding: 2pt 5pt; }
.card b { display: block; font-size: 12pt; } .card span { color: #555; font-size: 7.5pt; }
img.chart { width: 100%; display: block; margin: 2pt 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #dde; padding: 0.5pt 4pt; text-align: right; white-space: nowrap; }
th { background: #eef1f5; font-weight: 600; } thead { display: table-header-group; }
td.l, th.l { text-align: left; white-space: normal; }
tr.closed td { color: #888; } tr.total td { font-weight: 700; border-top: 2px solid #889; }
.incidents { break-before: page; } .incidents tr { break-inside: avoid; }
.incidents td { padding: 2pt 4pt; vertical-align: top; }
.incidents img { width: 120px; height: auto; display: block; margin: 1pt 0; }
.note { color: #555; font-size: 7.5pt; margin: 3pt 0 0; }
@media screen { body { padding: 8px; } }
"""


def render_html(report: PeriodReport, evidence_dir: Path) -> str:
    e = html.escape
    first, last = report.days[0].day, report.days[-1].day
    one_day = first == last
    title = first.strftime("%A %d %B %Y") if one_day else first.strftime("%B %Y")
    internet = report.internet
    chart = data_uri("image/png", downtime_chart(report))
    closed = sum(1 for line in report.incidents if line.incident.closed_hours)
    coverage = 100.0 * report.watched_s / report.open_s if report.open_s else None
    hours = "every day, all day" if not report.schedule.enabled else "the shop's opening hours"
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<title>{e(report.shop)} internet report {e(report.period)}</title><style>{STYLE}</style></head><body>",
           "<section class='summary'>",
           f"<h1>{e(report.shop)}: internet report, {e(title)}</h1>",
           f"<p class='sub'>Generated {e(stamp(report.generated_wall))} by CafeSentinel {e(__version__)}. "
           f"Times are local. Uptime counts {hours}, only while the monitor was running (watched).</p>",
           "<div class='cards'>",
           _card(percent(internet.percent), "internet uptime (opening hours, watched)"),
           _card(hms(internet.down_s), "ISP downtime"),
           _card(hms(report.local_s), "local downtime (router / LAN), not the ISP's"),
           _card(percent(coverage), f"watched: {hms(report.watched_s)} of {hms(report.open_s)}"),
           _card(str(len(report.incidents)), f"incidents ({closed} outside opening hours), {report.blips} blips"),
           "</div>",
           f"<img class='chart' alt='ISP downtime chart' src='{chart}'>",
           "<table><thead><tr><th class='l'>Day</th><th class='l'>Opening hours</th><th>Watched</th>"
           "<th>Not watched</th><th>Local down</th><th>ISP down</th><th>Internet uptime</th></tr></thead><tbody>"]
    for d in report.days:
        css = " class='closed'" if d.hours == "closed" else ""
        out.append(f"<tr{css}><td class='l'>{e(d.day.strftime('%a %d %b'))}</td><td class='l'>{e(d.hours)}</td>"
                   f"<td>{hms(d.watched_s)}</td><td>{hms(d.not_watched_s)}</td><td>{hms(d.local_s)}</td>"
                   f"<td>{hms(d.internet.down_s)}</td><td>{percent(d.internet.percent)}</td></tr>")
    out.append(f"<tr class='total'><td class='l'>Total</td><td class='l'>{hms(report.open_s)}</td>"
               f"<td>{hms(report.watched_s)}</td><td>{hms(report.open_s - report.watched_s)}</td>"
               f"<td>{hms(report.local_s)}</td><td>{hms(internet.down_s)}</td><td>{percent(internet.percent)}</td></tr>")
    out.append("</tbody></table><p class='note'>Internet uptime = (watched time the internet could be judged − "
               "ISP downtime) ÷ that time. While the router, the LAN or the monitor's own link is down the internet "
               "cannot be judged: that time is local downtime. Blips (failures shorter than the incident threshold) "
               "are counted, not charged.</p></section>")
    out.append("<section class='incidents'><h2>Incidents</h2>")
    if not report.incidents:
        out.append("<p>No incidents in this period.</p>")
    else:
        out.append("<table><thead><tr><th>#</th><th class='l'>What happened</th><th class='l'>Start</th>"
                   "<th class='l'>End</th><th>Duration</th><th>In opening hours</th><th class='l'>Counted as</th>"
                   "<th class='l'>Evidence</th></tr></thead><tbody>")
        for line in report.incidents:
            out.append(_incident_row(line, evidence_dir))
        out.append("</tbody></table>")
    out.append("</section></body></html>")
    return "\n".join(out)


def _card(value: str, caption: str) -> str:
    return f"<div class='card'><b>{html.escape(value)}</b><span>{html.escape(caption)}</span></div>"


def _incident_row(line: IncidentLine, evidence_dir: Path) -> str:
    e = html.escape
    i = line.incident
    what = f"<b>{e(i.component.label)}</b>: {e(i.component.cause)}"
    if i.closed_hours:
        what += " <i>(closed hours)</i>"
    shots = [thumbnail(evidence_dir / name) for name in i.evidence]
    images = "".join(f"<img alt='evidence {e(name)}' src='{uri}'>" for name, uri in zip(i.evidence, shots) if uri)
    return (f"<tr><td>{line.number}</td><td class='l'>{what}</td><td class='l'>{e(stamp(i.start_wall))}</td>"
            f"<td class='l'>{e(stamp(i.end_wall) or 'ongoing')}</td><td>{hms(i.duration_s) or '-'}</td>"
            f"<td>{hms(line.counted_s)}</td><td class='l'>{counted_as(i.component)}</td>"
            f"<td class='l'>{images or '-'}</td></tr>")


def render_csv(report: PeriodReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in report.incidents:
        i = line.incident
        writer.writerow([stamp(i.start_wall), stamp(i.end_wall), hms(i.duration_s), i.component.value, i.notes,
                         hms(line.counted_s), counted_as(i.component), " ".join(i.evidence)])
    return buffer.getvalue()


def default_report_path(reports_dir: Path, period: str) -> Path:
    return Path(reports_dir) / f"cafesentinel-{period}.html"


def write_report(db_path: Path, evidence_dir: Path, schedule: Schedule, period: str, out: Path,
                 now_wall: float, shop: str) -> PeriodReport:
    """Write `out` (HTML) and `out` with .csv; returns the report."""
    first, last = parse_period(period)
    records = load(db_path, *span_of(schedule, first, last))
    report = build_report(records, schedule, period, now_wall, shop)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, render_html(report, evidence_dir).encode("utf-8"))
    atomic_write(out.with_suffix(".csv"), render_csv(report).encode("utf-8"))
    return report
