"""The status window: a headline that says what is wrong, the network, today, the PCs,
recent incidents, Discord, and notices (config problems and warnings, privacy, setup).

Only the Tk thread calls into this module. `StatusWindow.apply(event, today)` takes the bus's
events (delivered by the Desktop's queue) and the Today reducer's picture; everything shown is
derived from them, and every duration goes through sentinel.timefmt. PC tiles are items on one
Canvas, re-configured only when their text or state changes (a 254-PC cafe costs one comparison
per tile per tick), and re-flowed to the window's width. Closing the window hides it.
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
    PcStatus,
    PrivacyChanged,
    RecordingStalled,
)
from sentinel.config.model import config_warnings
from sentinel.gui.configform import FIELDS, field_of, plain_problem
from sentinel.gui.forms import AMBER, BG, BLUE, BORDER, CARD, GREEN, GREY, MUTED, RED, TEXT
from sentinel.timefmt import clock_near, hm, hms
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
TILE_LOOK = {  # state -> (fill, outline, name colour, detail colour)
    PcState.IN_SESSION: ("#16a34a", "#15803d", "#ffffff", "#dcfce7"),
    PcState.SEEN: ("#fef3c7", "#f59e0b", TEXT, AMBER),
    PcState.OFF: ("#f3f4f6", "#d1d5db", MUTED, GREY),
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
SEEN_BY = {"ping": "Answers ping", "arp": "Answers ARP only (blocks ping)"}

TILE_W, TILE_H, TILE_GAP = 92, 42, 6
PC_AREA_MIN_ROWS, PC_AREA_MAX_ROWS = 2, 6  # more rows scroll
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


def tile_look(pc: PcStatus, now_wall: float) -> tuple[str, str]:
    """(name, detail) shown on a tile."""
    if pc.state is PcState.IN_SESSION:
        detail = hm(now_wall - pc.since_wall) if pc.since_wall is not None else "in session"
    elif pc.state is PcState.SEEN:
        detail = "seen"
    else:
        detail = "off"
    return pc.name, detail


def tile_tooltip(pc: PcStatus, now_wall: float) -> str:
    """Name, IP, how it is seen, since when, session length."""
    lines = [pc.name, pc.ip]
    if pc.state is PcState.IN_SESSION and pc.since_wall is not None:
        lines.append(f"In session since {clock_near(pc.since_wall, now_wall)} ({hms(now_wall - pc.since_wall)})")
    elif pc.state is PcState.SEEN and pc.since_wall is not None:
        lines.append(f"Seen since {clock_near(pc.since_wall, now_wall)}, not yet a session")
    elif pc.last_seen_wall is not None:
        lines.append(f"Off; last seen {clock_near(pc.last_seen_wall, now_wall)}")
    else:
        lines.append("Off; not seen since the start")
    if pc.state is not PcState.OFF and pc.seen_by in SEEN_BY:
        lines.append(SEEN_BY[pc.seen_by])
    return "\n".join(lines)


def plain_config_problem(path: str, message: str) -> str:
    """A config problem for the window: the setting's name and what is wrong, in plain words."""
    name = field_of(path)
    label = FIELDS[name].label if name else "Settings file"
    return f"{label}: {plain_problem(path, message)}"


class _Tile:
    __slots__ = ("rect", "name", "detail", "shown", "pc")

    def __init__(self, rect: int, name: int, detail: int) -> None:
        self.rect, self.name, self.detail = rect, name, detail
        self.shown: tuple | None = None  # (name, detail, state) last drawn
        self.pc: PcStatus | None = None


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
        self.tiles: list[_Tile] = []
        self._columns = self._laid_out = 0  # the tile layout last drawn: columns, tiles
        self.tile_updates = 0  # tiles re-drawn since start (tests, benchmarks)
        self._tooltip: tk.Toplevel | None = None
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
        area = tk.Frame(body, bg=CARD)
        area.pack(fill="both", expand=True)
        self.pc_canvas = tk.Canvas(area, height=PC_AREA_MIN_ROWS * (TILE_H + TILE_GAP), bg=CARD,
                                   highlightthickness=0)
        self.pc_scroll = tk.Scrollbar(area, orient="vertical", command=self.pc_canvas.yview)
        self.pc_canvas.configure(yscrollcommand=self.pc_scroll.set)
        self.pc_canvas.pack(side="left", fill="both", expand=True)
        self.pc_empty = self.pc_canvas.create_text(0, TILE_H // 2, text="No PCs configured",
                                                   anchor="w", font=self.font, fill=MUTED)
        self.pc_canvas.bind("<Configure>", lambda e: self._reflow())
        self.pc_canvas.bind("<Motion>", self._on_motion)
        self.pc_canvas.bind("<Leave>", lambda e: (self._hide_tooltip(),
                                                  self.pc_canvas.unbind_all("<MouseWheel>")))
        self.pc_canvas.bind("<Enter>", lambda e: self.pc_canvas.bind_all("<MouseWheel>", self._on_wheel))
        self.pc_canvas.bind("<Button-4>", lambda e: self.pc_canvas.yview_scroll(-1, "units"))
        self.pc_canvas.bind("<Button-5>", lambda e: self.pc_canvas.yview_scroll(1, "units"))
        self._legend(body)

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

    def _legend(self, parent: tk.Misc) -> None:
        legend = tk.Frame(parent, bg=CARD)
        legend.pack(fill="x", pady=(8, 0))
        for state, text in ((PcState.IN_SESSION, "In session (h:mm = how long)"),
                            (PcState.SEEN, "Seen, not yet a session"), (PcState.OFF, "Off")):
            fill, outline, _, _ = TILE_LOOK[state]
            swatch = tk.Canvas(legend, width=14, height=14, bg=CARD, highlightthickness=0)
            swatch.create_rectangle(1, 1, 13, 13, fill=fill, outline=outline)
            swatch.pack(side="left", padx=(0, 4))
            tk.Label(legend, text=text, font=self.font_small, bg=CARD, fg=MUTED).pack(side="left", padx=(0, 14))
        tk.Label(legend, text="Point at a PC for details", font=self.font_small, bg=CARD, fg=MUTED
                 ).pack(side="right")

    def _on_wheel(self, event) -> None:
        self.pc_canvas.yview_scroll(-1 if event.delta > 0 else 1, "units")

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
        self._hide_tooltip()
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
        self._render_pcs(status, now)
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

    def _reflow(self) -> None:
        """Lay the tiles out for the canvas's width (a wider window shows more per row)."""
        columns = max(1, (self.pc_canvas.winfo_width() + TILE_GAP) // (TILE_W + TILE_GAP))
        if columns == self._columns and len(self.tiles) == self._laid_out:
            return
        self._columns, self._laid_out = columns, len(self.tiles)
        canvas = self.pc_canvas
        for i, tile in enumerate(self.tiles):
            col, row = i % columns, i // columns
            x, y = 1 + col * (TILE_W + TILE_GAP), 1 + row * (TILE_H + TILE_GAP)
            canvas.coords(tile.rect, x, y, x + TILE_W, y + TILE_H)
            canvas.coords(tile.name, x + 8, y + 13)
            canvas.coords(tile.detail, x + 8, y + 29)
        rows = (len(self.tiles) + columns - 1) // columns
        full = max(TILE_H, rows * (TILE_H + TILE_GAP) - TILE_GAP) + 2  # + the 1 px outlines
        visible = min(max(full, PC_AREA_MIN_ROWS * (TILE_H + TILE_GAP)),
                      PC_AREA_MAX_ROWS * (TILE_H + TILE_GAP) - TILE_GAP + 2)
        canvas.configure(height=visible, scrollregion=(0, 0, columns * (TILE_W + TILE_GAP), full))
        if full > canvas.winfo_height() > 1:
            self.pc_scroll.pack(side="right", fill="y", padx=(6, 0))
        else:
            self.pc_scroll.pack_forget()

    def _ensure_tiles(self, count: int) -> None:
        if len(self.tiles) == count:
            return
        canvas = self.pc_canvas
        for tile in self.tiles:
            canvas.delete(tile.rect, tile.name, tile.detail)
        self.tiles = []
        for _ in range(count):
            rect = canvas.create_rectangle(0, 0, TILE_W, TILE_H, width=1)
            name = canvas.create_text(0, 0, anchor="w", font=self.font_tile)
            detail = canvas.create_text(0, 0, anchor="w", font=self.font_small)
            self.tiles.append(_Tile(rect, name, detail))
        canvas.itemconfigure(self.pc_empty, state="normal" if count == 0 else "hidden")
        self._columns = 0
        self._reflow()

    def _render_pcs(self, status: MonitorStatus, now: float) -> None:
        self._ensure_tiles(len(status.pcs))
        canvas = self.pc_canvas
        counts = {PcState.IN_SESSION: 0, PcState.SEEN: 0, PcState.OFF: 0}
        for tile, pc in zip(self.tiles, status.pcs):
            counts[pc.state] += 1
            tile.pc = pc
            name, detail = tile_look(pc, now)
            shown = (name, detail, pc.state)
            if shown == tile.shown:
                continue
            fill, outline, name_fg, detail_fg = TILE_LOOK[pc.state]
            state_changed = tile.shown is None or tile.shown[2] is not pc.state
            name_options = {"fill": name_fg} if state_changed else {}
            if tile.shown is None or tile.shown[0] != name:
                name_options["text"] = self._fit(name, TILE_W - 14)
            if state_changed:
                canvas.itemconfigure(tile.rect, fill=fill, outline=outline)
                canvas.itemconfigure(tile.detail, fill=detail_fg, text=detail)
            else:
                canvas.itemconfigure(tile.detail, text=detail)
            if name_options:
                canvas.itemconfigure(tile.name, **name_options)
            tile.shown = shown
            self.tile_updates += 1
        text = (f"{counts[PcState.IN_SESSION]} in session \u00b7 {counts[PcState.SEEN]} seen \u00b7 "
                f"{counts[PcState.OFF]} off  (of {len(status.pcs)})")
        if status.frozen:
            text += " \u00b7 frozen"
        _set(self.pc_summary, text=text)

    def _fit(self, text: str, width: int) -> str:
        """`text` shortened with an ellipsis to fit `width` pixels of the tile font."""
        if self.font_tile.measure(text) <= width:
            return text
        while text and self.font_tile.measure(text + "\u2026") > width:
            text = text[:-1]
        return text + "\u2026"

    def tile_at(self, x: int, y: int) -> _Tile | None:
        """The tile under canvas window coordinates (x, y)."""
        cx, cy = self.pc_canvas.canvasx(x), self.pc_canvas.canvasy(y)
        col, row = int(cx // (TILE_W + TILE_GAP)), int(cy // (TILE_H + TILE_GAP))
        index = row * max(self._columns, 1) + col
        if col >= self._columns or not 0 <= index < len(self.tiles):
            return None
        return self.tiles[index]

    def _on_motion(self, event) -> None:
        tile = self.tile_at(event.x, event.y)
        if tile is None or tile.pc is None or self.status is None:
            self._hide_tooltip()
            return
        text = tile_tooltip(tile.pc, self.status.at_wall)
        if self._tooltip is None:
            self._tooltip = tk.Toplevel(self.top, bg=TEXT)
            self._tooltip.overrideredirect(True)
            self._tooltip_label = tk.Label(self._tooltip, font=self.font_small, bg="#111827", fg="#ffffff",
                                           justify="left", padx=8, pady=5)
            self._tooltip_label.pack()
        _set(self._tooltip_label, text=text)
        self._tooltip.geometry(f"+{event.x_root + 14}+{event.y_root + 14}")

    def _hide_tooltip(self) -> None:
        if self._tooltip is not None:
            self._tooltip.destroy()
            self._tooltip = None

    @property
    def tooltip_text(self) -> str:
        return str(self._tooltip_label.cget("text")) if self._tooltip is not None else ""

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


def _set(widget: tk.Widget, **options) -> None:
    """configure() only what changed (Tk re-lays out on every configure)."""
    changed = {k: v for k, v in options.items() if widget.cget(k) != v}
    if changed:
        widget.configure(**changed)
