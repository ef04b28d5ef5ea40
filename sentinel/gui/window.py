"""The status window: a headline that says what is wrong, the network, today, the PCs,
recent incidents, Discord, and notices (config problems and warnings, privacy, setup).

Only the Tk thread calls into this module. `StatusWindow.apply(event, today)` takes the bus's
events (delivered by the Desktop's queue) and the Today reducer's picture; everything shown is
derived from them, and every duration goes through sentinel.timefmt. The PC tiles are
gui/tiles.py's. Closing the window hides it.
"""

from __future__ import annotations

import logging
import textwrap
import time
import tkinter as tk
from dataclasses import dataclass
from tkinter import font as tkfont
from typing import Callable, Iterable

from sentinel.events import (
    Component,
    ConfigRejected,
    ConfigReloaded,
    DatabaseReplaced,
    DeliveryStatus,
    Event,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    MonitorStatus,
    PcState,
    PrivacyChanged,
    RecordingStalled,
)
from sentinel.config.model import config_warnings
from sentinel.gui.fields import FIELDS, field_of, plain_problem
from sentinel.gui.forms import AMBER, BG, BLUE, BORDER, CARD, GREEN, GREY, MUTED, RED, TEXT, set_if_changed as _set
from sentinel.gui.tiles import PcTiles
from sentinel.timefmt import clock_near, hms
from sentinel.today import Today

log = logging.getLogger(__name__)

NOTICE_WIDTH = 100  # characters per line of a storage notice (the window keeps its width)

HEALTH_LOOK = {  # health -> (dot colour, word, word colour)
    Health.UP: (GREEN, "OK", GREEN),
    Health.FAILING: ("#f59e0b", "Not answering", AMBER),
    Health.DOWN: (RED, "DOWN", RED),
    Health.UNKNOWN: (GREY, "Unknown", MUTED),
    Health.UNCONFIGURED: ("#d1d5db", "Not configured", MUTED),
}
HEADLINE_LOOK = {  # level -> (background, text colour)
    "down": (RED, "#ffffff"),
    "failing": ("#fff7e6", AMBER),
    "ok": ("#ecfdf3", GREEN),
    "idle": ("#eef2f7", TEXT),
}
INFRA_ROWS = (Component.LAN, Component.ROUTER, Component.SERVER, Component.INTERNET)
NETWORK = (Component.LAN_LINK, Component.LAN)  # the "LAN" row: this PC's link and the switch
CAUSES = {  # a confirmed outage in plain words: what is down, and so where the fault is
    Component.LAN_LINK: "This PC lost its network \u2014 check its cable or Wi-Fi",
    Component.LAN: "LAN down \u2014 router, server and PCs unreachable: the switch or cabling",
    Component.ROUTER: "Router down \u2014 the PCs have no internet",
    Component.INTERNET: "Internet down \u2014 the router is fine: your ISP",
    Component.SERVER: "Server down \u2014 the router is fine",
}
MIN_SIZE = (760, 600)
MAX_INCIDENTS = 6
MAX_PROBLEMS_SHOWN = 5
PAD = 12


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One line of the recent-incidents list (from events or from storage)."""

    key: str
    component: Component
    started_wall: float
    ended_wall: float | None = None  # None: ongoing

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_wall is None else self.ended_wall - self.started_wall


def network_health(status: MonitorStatus, today: Today) -> tuple[Component, Health]:
    """The LAN row: the LAN link or LAN incident if one is open, else the LAN as UP."""
    for component in NETWORK:
        health = today.health(component)
        if health in (Health.DOWN, Health.FAILING):
            return component, health
    if not status.configured:
        return Component.LAN, Health.UNCONFIGURED
    latest = max(NETWORK, key=lambda c: today.since_wall(c) or 0.0)  # OK since the last recovery
    return latest, Health.UP


def headline(status: MonitorStatus | None, today: Today) -> tuple[str, str]:
    """(level, text) of the header: what is wrong, in plain words, with since when."""
    if status is None:
        return "idle", "Waiting for the first check\u2026"
    if not status.configured:
        return "idle", "Not set up yet \u2014 nothing is checked"
    now = status.at_wall
    healths = {t.component: t.health for t in status.targets}
    network, health = network_health(status, today)
    if health is not Health.UP:
        healths[network] = health
    down = [c for c in CAUSES if healths.get(c) is Health.DOWN]
    if down:
        since = min(today.since_wall(c) or now for c in down)
        text = " \u00b7 ".join(CAUSES[c] for c in down)
        return "down", f"{text}   (since {clock_near(since, now)}, {hms(now - since)})"
    failing = [c for c in CAUSES if healths.get(c) is Health.FAILING]
    if failing:
        names = ", ".join(c.label for c in failing)
        return "failing", f"{names} not answering \u2014 checking (not an outage yet)"
    return "ok", "All OK"


def plain_config_problem(path: str, message: str) -> str:
    """A config problem for the window: the setting's name and what is wrong, in plain words."""
    name = field_of(path)
    label = FIELDS[name].label if name else "Settings file"
    return f"{label}: {plain_problem(path, message)}"


class StatusWindow:
    """A Toplevel showing the latest picture. `apply(event, today)` for every bus event."""

    def __init__(self, master: tk.Misc, *, clock: Callable[[], float] = time.time,
                 recent_incidents: Callable[[], Iterable[IncidentRow]] | None = None,
                 shop_name: str = "", icon_photo: tk.PhotoImage | None = None, config=None,
                 delivery_note: str = "") -> None:
        self._clock = clock
        self.top = tk.Toplevel(master, bg=BG)
        self.top.title("CafeSentinel")
        self.top.protocol("WM_DELETE_WINDOW", self.hide)
        self.top.minsize(*MIN_SIZE)
        if icon_photo is not None:
            self.top.iconphoto(False, icon_photo)
        self._fonts(master)
        self.status: MonitorStatus | None = None
        self.today = Today()
        self.incidents: dict[str, IncidentRow] = {}
        self.problems: tuple[tuple[str, str], ...] = ()
        self.warnings: tuple[str, ...] = tuple(m for _, m in config_warnings(config)) if config else ()
        self.privacy: PrivacyChanged | None = None
        self.delivery: DeliveryStatus | None = None
        self.database_notice = ""  # sentinel.db was replaced at start
        self.recording_notice = ""  # records wait in memory: the database cannot be written
        self.delivery_note = delivery_note
        self._sent_base: tuple[float, int] | None = None  # (day start, delivered count then)
        self.setup_needed = False
        self._build(shop_name)
        if recent_incidents is not None:
            try:
                for row in recent_incidents():
                    self.incidents.setdefault(row.key, row)
            except Exception:
                log.exception("reading recent incidents failed")
        self._render_incidents()
        self._render_banners()
        self._render_delivery()

    # ----- building

    def _fonts(self, master: tk.Misc) -> None:
        family = tkfont.nametofont("TkDefaultFont").actual()["family"]
        self.font = tkfont.Font(master, family=family, size=10)
        self.font_small = tkfont.Font(master, family=family, size=9)
        self.font_bold = tkfont.Font(master, family=family, size=10, weight="bold")
        self.font_title = tkfont.Font(master, family=family, size=14, weight="bold")
        self.font_headline = tkfont.Font(master, family=family, size=12, weight="bold")
        self.font_section = tkfont.Font(master, family=family, size=11, weight="bold")
        self.font_tile = tkfont.Font(master, family=family, size=9, weight="bold")

    def _card(self, parent: tk.Misc, title: str) -> tuple[tk.Frame, tk.Frame, tk.Label]:
        """A white panel with a title row; returns (card, body, right-hand title label)."""
        card = tk.Frame(parent, bg=CARD, highlightthickness=1, highlightbackground=BORDER)
        head = tk.Frame(card, bg=CARD)
        head.pack(fill="x", padx=PAD, pady=(PAD - 2, 4))
        tk.Label(head, text=title, font=self.font_section, bg=CARD, fg=TEXT).pack(side="left")
        aside = tk.Label(head, text="", font=self.font_small, bg=CARD, fg=MUTED)
        aside.pack(side="right")
        body = tk.Frame(card, bg=CARD)
        body.pack(fill="both", expand=True, padx=PAD, pady=(0, PAD))
        return card, body, aside

    def _build(self, shop_name: str) -> None:
        outer = tk.Frame(self.top, bg=BG)
        outer.pack(fill="both", expand=True, padx=PAD, pady=PAD)
        outer.grid_columnconfigure(0, weight=3, uniform="main")
        outer.grid_columnconfigure(1, weight=2, uniform="main")
        outer.grid_rowconfigure(3, weight=1)

        self.header = tk.Frame(outer, bg=HEADLINE_LOOK["idle"][0], highlightthickness=0)
        self.header.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, 10))
        self.title_label = tk.Label(self.header, text=shop_name or "CafeSentinel", font=self.font_title,
                                    bg=HEADLINE_LOOK["idle"][0], fg=TEXT, anchor="w")
        self.title_label.grid(row=0, column=0, sticky="w", padx=PAD, pady=(8, 0))
        self.updated_label = tk.Label(self.header, text="", font=self.font_small, bg=HEADLINE_LOOK["idle"][0],
                                      fg=MUTED, anchor="e")
        self.updated_label.grid(row=0, column=1, sticky="e", padx=PAD, pady=(8, 0))
        self.headline_label = tk.Label(self.header, text="", font=self.font_headline, anchor="w", justify="left",
                                       bg=HEADLINE_LOOK["idle"][0], fg=TEXT, wraplength=700)
        self.headline_label.grid(row=1, column=0, columnspan=2, sticky="w", padx=PAD, pady=(2, 8))
        self.header.grid_columnconfigure(0, weight=1)
        self.header.bind("<Configure>", lambda e: _set(self.headline_label, wraplength=max(200, e.width - 2 * PAD)))

        self.banner_frame = tk.Frame(outer, bg=BG)
        self.banner_frame.grid(row=1, column=0, columnspan=2, sticky="ew")

        net, body, self.net_aside = self._card(outer, "Network")
        net.grid(row=2, column=0, sticky="nsew", padx=(0, 10), pady=(0, 10))
        self.infra_rows: dict[Component, dict] = {}
        for r, component in enumerate(INFRA_ROWS):
            dot = tk.Canvas(body, width=14, height=14, bg=CARD, highlightthickness=0)
            oval = dot.create_oval(2, 2, 12, 12, fill=GREY, outline="")
            dot.grid(row=r, column=0, padx=(0, 8), pady=3)
            widgets = {"dot": dot, "oval": oval}
            for c, (key, width, font, colour) in enumerate((
                    ("name", 8, self.font_bold, TEXT), ("state", 13, self.font_bold, MUTED),
                    ("address", 16, self.font, MUTED), ("latency", 7, self.font, TEXT),
                    ("since", 0, self.font, MUTED)), start=1):
                label = tk.Label(body, text=component.label if key == "name" else "", font=font, bg=CARD,
                                 fg=colour, width=width or None, anchor="e" if key == "latency" else "w")
                label.grid(row=r, column=c, sticky="e" if key == "latency" else "w", padx=(0, 10), pady=3)
                widgets[key] = label
            self.infra_rows[component] = widgets
        body.grid_columnconfigure(5, weight=1)

        today, self.today_body, self.today_aside = self._card(outer, "Today")
        today.grid(row=2, column=1, sticky="nsew", pady=(0, 10))
        self.today_labels: dict[Component, tuple[tk.Label, tk.Label, tk.Label]] = {}
        for col, text in enumerate(("", "Up", "Down", "Blips")):
            tk.Label(self.today_body, text=text, font=self.font_small, bg=CARD, fg=MUTED, anchor="e" if col else "w"
                     ).grid(row=0, column=col, sticky="e" if col else "w", padx=(0, 10))
        for r, component in enumerate(INFRA_ROWS, start=1):
            tk.Label(self.today_body, text=component.label, font=self.font_bold, bg=CARD, fg=TEXT, anchor="w"
                     ).grid(row=r, column=0, sticky="w", padx=(0, 10), pady=2)
            cells = tuple(tk.Label(self.today_body, text="\u2014", font=self.font, bg=CARD, fg=TEXT, anchor="e")
                          for _ in range(3))
            for c, cell in enumerate(cells, start=1):
                cell.grid(row=r, column=c, sticky="e", padx=(0, 10), pady=2)
            self.today_labels[component] = cells
        self.peak_label = tk.Label(self.today_body, text="", font=self.font, bg=CARD, fg=TEXT, anchor="w")
        self.peak_label.grid(row=len(INFRA_ROWS) + 1, column=0, columnspan=4, sticky="w", pady=(6, 0))

        pcs, body, self.pc_summary = self._card(outer, "PCs")
        pcs.grid(row=3, column=0, columnspan=2, sticky="nsew", pady=(0, 10))
        self.pcs = PcTiles(body, font=self.font, font_small=self.font_small, font_tile=self.font_tile)

        inc, self.incident_body, _ = self._card(outer, "Recent incidents")
        inc.grid(row=4, column=0, sticky="nsew", padx=(0, 10))
        dis, body, _ = self._card(outer, "Discord")
        dis.grid(row=4, column=1, sticky="nsew")
        self.delivery_label = tk.Label(body, text="", font=self.font, bg=CARD, fg=TEXT, justify="left",
                                       anchor="nw", wraplength=280)
        self.delivery_label.pack(fill="x", anchor="w")
        self.dead_label = tk.Label(body, text="", font=self.font_bold, bg=CARD, fg=RED, justify="left",
                                   anchor="nw", wraplength=280)

        self.footer = tk.Label(outer, text="", font=self.font_small, bg=BG, fg=MUTED, anchor="w")
        self.footer.grid(row=5, column=0, columnspan=2, sticky="ew", pady=(8, 0))

    # ----- showing and hiding

    def show(self) -> None:
        self.top.deiconify()
        self.top.lift()
        try:
            self.top.focus_force()
        except tk.TclError:
            pass

    def hide(self) -> None:
        """Closing the window only hides it; the monitor keeps running."""
        self.pcs.hide_tooltip()
        self.top.withdraw()

    # ----- events

    def apply(self, event: Event, today: Today | None = None) -> None:
        if today is not None:
            self.today = today
        if isinstance(event, MonitorStatus):
            self.set_status(event)
        elif isinstance(event, IncidentConfirmed):
            self.incidents[event.key] = IncidentRow(event.key, event.component, event.started_wall)
            self._render_incidents()
        elif isinstance(event, IncidentEnded):
            self.incidents[event.key] = IncidentRow(event.key, event.component, event.started_wall,
                                                    event.ended_wall)
            self._render_incidents()
        elif isinstance(event, DeliveryStatus):
            self.delivery = event
            self._render_delivery()
        elif isinstance(event, ConfigRejected):
            self.problems = event.problems
            self._render_banners()
        elif isinstance(event, ConfigReloaded):
            self.problems = ()
            self.warnings = tuple(m for _, m in config_warnings(event.config))
            self.set_shop_name(event.config.discord_settings.shop_name)
            self._render_banners()
        elif isinstance(event, PrivacyChanged):
            self.privacy = event if event.on else None
            self._render_banners()
        elif isinstance(event, DatabaseReplaced):
            self.database_notice = event.text
            self._render_banners()
        elif isinstance(event, RecordingStalled):
            self.recording_notice = (f"Cannot write the database ({event.reason}): incidents and sessions wait "
                                     "in memory and are written once it works again (free some disk space)."
                                     if event.stalled else "")
            self._render_banners()

    def set_setup_needed(self, needed: bool) -> None:
        self.setup_needed = needed
        self._render_banners()

    def set_shop_name(self, name: str) -> None:
        self.title_label.configure(text=name or "CafeSentinel")
        self.top.title(f"CafeSentinel \u2014 {name}" if name else "CafeSentinel")

    def set_status(self, status: MonitorStatus) -> None:
        previous = self.status
        self.status = status
        now = status.at_wall
        _set(self.updated_label, text=f"Updated {clock_near(now, self._clock())}")
        self._render_headline()
        self._render_infra(status, now)
        self._render_today(now)
        counts = self.pcs.render(status.pcs, now)
        text = (f"{counts[PcState.IN_SESSION]} in session \u00b7 {counts[PcState.SEEN]} seen \u00b7 "
                f"{counts[PcState.OFF]} off  (of {len(status.pcs)})")
        _set(self.pc_summary, text=text + (" \u00b7 frozen" if status.frozen else ""))
        if previous is None or previous.frozen != status.frozen or previous.configured != status.configured:
            self._render_banners()
        _set(self.footer, text=f"Blips since start: {status.blips}")

    # ----- rendering

    def _render_headline(self) -> None:
        level, text = headline(self.status, self.today)
        bg, fg = HEADLINE_LOOK[level]
        _set(self.header, bg=bg)
        _set(self.headline_label, text=text, bg=bg, fg=fg)
        _set(self.title_label, bg=bg, fg="#ffffff" if level == "down" else TEXT)
        _set(self.updated_label, bg=bg, fg="#fde2e2" if level == "down" else MUTED)

    def _render_infra(self, status: MonitorStatus, now: float) -> None:
        by_component = {t.component: t for t in status.targets}
        network, network_h = network_health(status, self.today)
        for component, w in self.infra_rows.items():
            if component is Component.LAN:
                health, address, latency = network_h, "link and switch", None
                since_wall = self.today.since_wall(network)
                word = f"{network.label} DOWN" if network_h is Health.DOWN else HEALTH_LOOK[network_h][1]
            else:
                target = by_component.get(component)
                health = target.health if target is not None else Health.UNCONFIGURED
                address = target.address if target and target.address else "not set"
                latency = target.latency_ms if target is not None and health is Health.UP else None
                since_wall = self.today.since_wall(component) or (target.since_wall if target else None)
                word = HEALTH_LOOK[health][1]
            dot, _, colour = HEALTH_LOOK[health]
            w["dot"].itemconfigure(w["oval"], fill=dot)
            _set(w["state"], text=word, fg=colour)
            _set(w["address"], text=address)
            _set(w["latency"], text="" if latency is None else f"{latency:.0f} ms")
            since = ""
            if since_wall is not None and health is not Health.UNCONFIGURED:
                since = f"since {clock_near(since_wall, now)}"
                if health is Health.UNKNOWN:
                    behind = network.label if network_h is Health.DOWN else "router"
                    since = f"behind the {behind} \u00b7 {since}"
                if health in (Health.DOWN, Health.FAILING):
                    since += f"  ({hms(now - since_wall)})"
            _set(w["since"], text=since)
        level, _ = headline(status, self.today)
        aside, colour = {"down": ("Outage", RED), "failing": ("Checking\u2026", AMBER), "ok": ("All OK", GREEN),
                         "idle": ("Not configured", MUTED)}[level]
        _set(self.net_aside, text=aside, fg=colour)

    def _render_today(self, now: float) -> None:
        for component, (up, down, blips) in self.today_labels.items():
            parts = [self.today.summary(c) for c in (NETWORK if component is Component.LAN else (component,))]
            observed = [p.uptime_percent for p in parts if p.uptime_percent is not None]
            outage = sum(p.outage_s for p in parts)
            _set(up, text=f"{min(observed):.1f} %" if observed else "\u2014",
                 fg=RED if observed and min(observed) < 100 else TEXT)
            _set(down, text=hms(outage) if observed else "\u2014", fg=RED if outage else TEXT)
            _set(blips, text=str(sum(p.blips for p in parts)))
        peak = self.today.peak
        _set(self.peak_label, text=(f"Peak: {peak.in_session} of {peak.total} PCs at {clock_near(peak.at_wall, now)}"
                                    if peak is not None else ""))
        starts = [segments[0].start_wall for segments in self.today.timeline.values() if segments]
        _set(self.today_aside, text=f"since {clock_near(min(starts), now)}" if starts else "")

    def _render_incidents(self) -> None:
        for child in self.incident_body.winfo_children():
            child.destroy()
        rows = sorted(self.incidents.values(), key=lambda r: r.started_wall, reverse=True)[:MAX_INCIDENTS]
        if not rows:
            tk.Label(self.incident_body, text="No incidents", font=self.font, bg=CARD, fg=MUTED,
                     anchor="w").grid(row=0, column=0, sticky="w")
            return
        now = self._clock()
        for r, row in enumerate(rows):
            ongoing = row.ended_wall is None
            colour = RED if ongoing else TEXT
            tk.Label(self.incident_body, text=row.component.label, font=self.font_bold, bg=CARD, fg=colour,
                     anchor="w", width=9).grid(row=r, column=0, sticky="w", pady=1)
            start = clock_near(row.started_wall, now)
            if ongoing:
                when, length = f"{start} \u2192 now", "ongoing"
            else:
                when, length = f"{start} \u2192 {clock_near(row.ended_wall, now)}", hms(row.duration_s or 0)
            tk.Label(self.incident_body, text=when, font=self.font, bg=CARD, fg=TEXT, anchor="w"
                     ).grid(row=r, column=1, sticky="w", padx=(0, 12), pady=1)
            tk.Label(self.incident_body, text=length, font=self.font_bold if ongoing else self.font, bg=CARD,
                     fg=colour, anchor="e").grid(row=r, column=2, sticky="e", pady=1)
        self.incident_body.grid_columnconfigure(2, weight=1)

    def delivery_lines(self) -> list[str]:
        """Sent today, waiting, last delivered (or the demo's note)."""
        d = self.delivery
        if d is None:
            return [self.delivery_note or "Nothing sent yet since the start."]
        day = self.today.day_start_wall or 0.0
        if self._sent_base is None or self._sent_base[0] != day:
            self._sent_base = (day, d.delivered if self._sent_base is not None else 0)
        waiting = [(kind, n) for kind, n in d.backlog if n]
        total = sum(n for _, n in waiting)
        lines = [f"Sent today: {d.delivered - self._sent_base[1]}"]
        if total:
            lines.append(f"Waiting: {total} ({', '.join(f'{kind} {n}' for kind, n in waiting)})")
        else:
            lines.append("Waiting: none")
        if d.last_delivered_wall is not None:
            lines.append(f"Last delivered: {clock_near(d.last_delivered_wall, self._clock())}")
        return lines

    def _render_delivery(self) -> None:
        d = self.delivery
        waiting = d is not None and any(n for _, n in d.backlog)
        _set(self.delivery_label, text="\n".join(self.delivery_lines()), fg=AMBER if waiting else TEXT)
        if d is not None and d.dead:
            self.dead_label.configure(text="Webhook not working (Discord says it does not exist): "
                                           + ", ".join(d.dead) + ". Fix it in Settings.")
            self.dead_label.pack(fill="x", anchor="w", pady=(6, 0))
        else:
            self.dead_label.pack_forget()

    def banners(self) -> list[tuple[str, str]]:
        """(kind, text) of the notices shown under the header."""
        out = []
        if self.problems:
            n = len(self.problems)
            lines = [f"The settings file has {n} problem{'s' if n != 1 else ''}; the last good settings "
                     "stay in force:"]
            lines += [f"  {plain_config_problem(path, message)}" for path, message in self.problems[:MAX_PROBLEMS_SHOWN]]
            if n > MAX_PROBLEMS_SHOWN:
                lines.append(f"  \u2026 and {n - MAX_PROBLEMS_SHOWN} more (see the log)")
            out.append(("error", "\n".join(lines)))
        out += [("error", textwrap.fill(text, NOTICE_WIDTH)) for text in (self.recording_notice, self.database_notice)
                if text]
        if self.setup_needed:
            out.append(("info", "The setup is not finished: nothing is checked. Choose Finish setup\u2026 "
                                "in the tray menu."))
        elif self.status is not None and not self.status.configured:
            out.append(("info", "No targets configured yet: nothing is being checked. Set them in Settings\u2026"))
        for warning in self.warnings:
            out.append(("warning", warning[:1].upper() + warning[1:] + "."))
        if self.privacy is not None:
            until = (f" until {clock_near(self.privacy.until_wall, self._clock())}"
                     if self.privacy.until_wall else "")
            out.append(("privacy", f"Privacy mode is on{until}: no screenshots are taken."))
        if self.status is not None and self.status.frozen:
            out.append(("warning", "Sessions are frozen while the router or LAN is down."))
        return out

    def _render_banners(self) -> None:
        for child in self.banner_frame.winfo_children():
            child.destroy()
        looks = {"error": ("#fdecea", RED), "warning": ("#fff7e6", AMBER), "privacy": ("#e8effd", BLUE),
                 "info": ("#eef2f7", TEXT)}
        banners = self.banners()
        for kind, text in banners:
            bg, fg = looks[kind]
            tk.Label(self.banner_frame, text=text, font=self.font, bg=bg, fg=fg, justify="left", anchor="w",
                     padx=PAD, pady=6, highlightthickness=1, highlightbackground=fg, wraplength=900
                     ).pack(fill="x", pady=(0, 8))
        if banners:
            self.banner_frame.grid()
        else:
            self.banner_frame.grid_remove()  # an emptied frame keeps its old height: take it out
