"""The status window: infrastructure, PC tiles, recent incidents, Discord backlog, problems.

Only the Tk thread calls into this module. `StatusWindow.apply(event)` takes the bus's
events (delivered by the Desktop's queue); everything shown is derived from them. PC tiles
are items on one Canvas, created once per PC count and re-configured only when their
text or state changes, so a 254-PC cafe costs one comparison per tile per tick.
Closing the window hides it; the app keeps running.
"""

from __future__ import annotations

import logging
import time
import tkinter as tk
from dataclasses import dataclass
from tkinter import font as tkfont
from typing import Callable, Iterable

from sentinel.events import (
    Component,
    ConfigRejected,
    ConfigReloaded,
    DeliveryStatus,
    Event,
    Health,
    IncidentConfirmed,
    IncidentEnded,
    MonitorStatus,
    PcState,
    PcStatus,
    PrivacyChanged,
)
from sentinel.timefmt import clock_near, hm, hms

log = logging.getLogger(__name__)

# Palette (light, neutral; health colours used only where they carry meaning)
BG = "#f3f4f6"
CARD = "#ffffff"
BORDER = "#d9dce1"
TEXT = "#1f2937"
MUTED = "#6b7280"
GREEN = "#15803d"
AMBER = "#b45309"
RED = "#c62828"
GREY = "#9ca3af"
BLUE = "#1d4ed8"

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
INFRA_ROWS = (Component.ROUTER, Component.SERVER, Component.INTERNET)

TILE_W, TILE_H, TILE_GAP = 92, 42, 6
TILE_COLUMNS = 9
PC_AREA_MAX_ROWS = 6  # more rows scroll
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


def tile_look(pc: PcStatus, now_wall: float) -> tuple[str, str]:
    """(name, detail) shown on a tile."""
    if pc.state is PcState.IN_SESSION:
        detail = hm(now_wall - pc.since_wall) if pc.since_wall is not None else "in session"
    elif pc.state is PcState.SEEN:
        detail = "seen"
    else:
        detail = "off"
    return pc.name, detail


class _Tile:
    __slots__ = ("rect", "name", "detail", "shown", "pc")

    def __init__(self, rect: int, name: int, detail: int) -> None:
        self.rect, self.name, self.detail = rect, name, detail
        self.shown: tuple | None = None  # (name, detail, state) last drawn
        self.pc: PcStatus | None = None


class StatusWindow:
    """A Toplevel showing the latest picture. `apply(event)` for every bus event."""

    def __init__(self, master: tk.Misc, *, clock: Callable[[], float] = time.time,
                 recent_incidents: Callable[[], Iterable[IncidentRow]] | None = None,
                 shop_name: str = "", icon_photo: tk.PhotoImage | None = None) -> None:
        self._clock = clock
        self.top = tk.Toplevel(master, bg=BG)
        self.top.title("CafeSentinel")
        self.top.protocol("WM_DELETE_WINDOW", self.hide)
        self.top.resizable(False, True)
        if icon_photo is not None:
            self.top.iconphoto(False, icon_photo)
        self._fonts(master)
        self.status: MonitorStatus | None = None
        self.incidents: dict[str, IncidentRow] = {}
        self.problems: tuple[tuple[str, str], ...] = ()
        self.privacy: PrivacyChanged | None = None
        self.delivery: DeliveryStatus | None = None
        self.tiles: list[_Tile] = []
        self.tile_updates = 0  # tiles re-drawn since start (tests, benchmarks)
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
        base = tkfont.nametofont("TkDefaultFont").actual()
        family = base["family"]
        self.font = tkfont.Font(master, family=family, size=10)
        self.font_small = tkfont.Font(master, family=family, size=9)
        self.font_bold = tkfont.Font(master, family=family, size=10, weight="bold")
        self.font_title = tkfont.Font(master, family=family, size=14, weight="bold")
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
        top = self.top
        outer = tk.Frame(top, bg=BG)
        outer.pack(fill="both", expand=True, padx=PAD, pady=PAD)

        header = tk.Frame(outer, bg=BG)
        header.pack(fill="x", pady=(0, 8))
        self.title_label = tk.Label(header, text=shop_name or "CafeSentinel", font=self.font_title,
                                    bg=BG, fg=TEXT)
        self.title_label.pack(side="left")
        self.updated_label = tk.Label(header, text="Waiting for the first check\u2026",
                                      font=self.font_small, bg=BG, fg=MUTED)
        self.updated_label.pack(side="right", anchor="s")

        self.banner_frame = tk.Frame(outer, bg=BG)
        self.banner_frame.pack(fill="x")

        net, body, self.net_aside = self._card(outer, "Network")
        net.pack(fill="x", pady=(0, 10))
        self.infra_rows: dict[Component, dict[str, tk.Widget]] = {}
        for r, component in enumerate(INFRA_ROWS):
            dot = tk.Canvas(body, width=14, height=14, bg=CARD, highlightthickness=0)
            oval = dot.create_oval(2, 2, 12, 12, fill=GREY, outline="")
            dot.grid(row=r, column=0, padx=(0, 8), pady=3)
            widgets = {
                "dot": dot,
                "name": tk.Label(body, text=component.label, font=self.font_bold, bg=CARD, fg=TEXT,
                                 width=9, anchor="w"),
                "state": tk.Label(body, text="\u2014", font=self.font_bold, bg=CARD, fg=MUTED,
                                  width=14, anchor="w"),
                "address": tk.Label(body, text="", font=self.font, bg=CARD, fg=MUTED, width=18, anchor="w"),
                "latency": tk.Label(body, text="", font=self.font, bg=CARD, fg=TEXT, width=8, anchor="e"),
                "since": tk.Label(body, text="", font=self.font, bg=CARD, fg=MUTED, width=28, anchor="w"),
            }
            widgets["oval"] = oval
            for c, key in enumerate(("name", "state", "address", "latency", "since"), start=1):
                widgets[key].grid(row=r, column=c, sticky="w" if key != "latency" else "e",
                                  padx=(0, 14), pady=3)
            self.infra_rows[component] = widgets
        body.grid_columnconfigure(5, weight=1)

        pcs, body, self.pc_summary = self._card(outer, "PCs")
        pcs.pack(fill="both", expand=True, pady=(0, 10))
        width = TILE_COLUMNS * (TILE_W + TILE_GAP) - TILE_GAP + 2
        self.pc_canvas = tk.Canvas(body, width=width, height=TILE_H, bg=CARD, highlightthickness=0)
        self.pc_scroll = tk.Scrollbar(body, orient="vertical", command=self.pc_canvas.yview)
        self.pc_canvas.configure(yscrollcommand=self.pc_scroll.set)
        self.pc_canvas.pack(side="left", fill="both", expand=True)
        self.pc_empty = self.pc_canvas.create_text(0, TILE_H // 2, text="No PCs configured",
                                                   anchor="w", font=self.font, fill=MUTED)
        self.pc_canvas.bind("<Enter>", lambda e: self.pc_canvas.bind_all("<MouseWheel>", self._on_wheel))
        self.pc_canvas.bind("<Leave>", lambda e: self.pc_canvas.unbind_all("<MouseWheel>"))
        self.pc_canvas.bind("<Button-4>", lambda e: self.pc_canvas.yview_scroll(-1, "units"))
        self.pc_canvas.bind("<Button-5>", lambda e: self.pc_canvas.yview_scroll(1, "units"))

        bottom = tk.Frame(outer, bg=BG)
        bottom.pack(fill="x")
        bottom.grid_columnconfigure(0, weight=3, uniform="bottom")
        bottom.grid_columnconfigure(1, weight=2, uniform="bottom")
        inc, self.incident_body, _ = self._card(bottom, "Recent incidents")
        inc.grid(row=0, column=0, sticky="nsew", padx=(0, 10))
        dis, body, _ = self._card(bottom, "Discord")
        dis.grid(row=0, column=1, sticky="nsew")
        self.delivery_label = tk.Label(body, text="", font=self.font, bg=CARD, fg=TEXT, justify="left",
                                       anchor="nw", wraplength=250)
        self.delivery_label.pack(fill="x", anchor="w")
        self.dead_label = tk.Label(body, text="", font=self.font_bold, bg=CARD, fg=RED, justify="left",
                                   anchor="nw", wraplength=250)

        self.footer = tk.Label(outer, text="", font=self.font_small, bg=BG, fg=MUTED, anchor="w")
        self.footer.pack(fill="x", pady=(8, 0))

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
        self.top.withdraw()

    # ----- events

    def apply(self, event: Event) -> None:
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
            shop = getattr(getattr(event.config, "discord_settings", None), "shop_name", "")
            self.set_shop_name(shop)
            self._render_banners()
        elif isinstance(event, PrivacyChanged):
            self.privacy = event if event.on else None
            self._render_banners()

    def set_shop_name(self, name: str) -> None:
        self.title_label.configure(text=name or "CafeSentinel")
        self.top.title(f"CafeSentinel \u2014 {name}" if name else "CafeSentinel")

    def set_status(self, status: MonitorStatus) -> None:
        previous = self.status
        self.status = status
        now = status.at_wall
        self.updated_label.configure(text=f"Updated {clock_near(now, self._clock())}")
        self._render_infra(status, now)
        self._render_pcs(status, now)
        if previous is None or previous.frozen != status.frozen or previous.configured != status.configured:
            self._render_banners()
        self.footer.configure(text=f"Blips since start: {status.blips}")

    # ----- rendering

    def _render_infra(self, status: MonitorStatus, now: float) -> None:
        by_component = {t.component: t for t in status.targets}
        for component, w in self.infra_rows.items():
            target = by_component.get(component)
            health = target.health if target is not None else Health.UNCONFIGURED
            dot, word, colour = HEALTH_LOOK[health]
            w["dot"].itemconfigure(w["oval"], fill=dot)
            _set(w["state"], text=word, fg=colour)
            _set(w["address"], text=target.address if target and target.address else "not set")
            latency = target.latency_ms if target is not None and health is Health.UP else None
            _set(w["latency"], text="" if latency is None else f"{latency:.0f} ms")
            since = ""
            if target is not None and target.since_wall is not None and health is not Health.UNCONFIGURED:
                since = f"since {clock_near(target.since_wall, now)}"
                if component is Component.INTERNET and health is Health.UNKNOWN:
                    since = f"behind router \u00b7 {since}"
                if health in (Health.DOWN, Health.FAILING):
                    since += f"  ({hms(now - target.since_wall)})"
            _set(w["since"], text=since)
        worst = [t.health for t in status.targets]
        if Health.DOWN in worst:
            aside, colour = "Outage", RED
        elif not status.configured:
            aside, colour = "Not configured", MUTED
        elif all(h in (Health.UP, Health.UNCONFIGURED) for h in worst):
            aside, colour = "All OK", GREEN
        else:
            aside, colour = "Checking\u2026", AMBER
        _set(self.net_aside, text=aside, fg=colour)

    def _ensure_tiles(self, count: int) -> None:
        if len(self.tiles) == count:
            return
        canvas = self.pc_canvas
        for tile in self.tiles:
            canvas.delete(tile.rect, tile.name, tile.detail)
        self.tiles = []
        for i in range(count):
            col, row = i % TILE_COLUMNS, i // TILE_COLUMNS
            x, y = 1 + col * (TILE_W + TILE_GAP), 1 + row * (TILE_H + TILE_GAP)
            rect = canvas.create_rectangle(x, y, x + TILE_W, y + TILE_H, width=1)
            name = canvas.create_text(x + 8, y + 13, anchor="w", font=self.font_tile)
            detail = canvas.create_text(x + 8, y + 29, anchor="w", font=self.font_small)
            self.tiles.append(_Tile(rect, name, detail))
        rows = (count + TILE_COLUMNS - 1) // TILE_COLUMNS
        full = max(TILE_H, rows * (TILE_H + TILE_GAP) - TILE_GAP) + 2  # + the 1 px outlines
        visible = min(full, PC_AREA_MAX_ROWS * (TILE_H + TILE_GAP) - TILE_GAP + 2)
        canvas.configure(height=visible, scrollregion=(0, 0, TILE_COLUMNS * (TILE_W + TILE_GAP) - TILE_GAP + 2, full))
        canvas.itemconfigure(self.pc_empty, state="normal" if count == 0 else "hidden")
        if full > visible:
            self.pc_scroll.pack(side="right", fill="y", padx=(6, 0))
        else:
            self.pc_scroll.pack_forget()

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
        total = len(status.pcs)
        text = (f"{counts[PcState.IN_SESSION]} in session \u00b7 {counts[PcState.SEEN]} seen \u00b7 "
                f"{counts[PcState.OFF]} off  (of {total})")
        _set(self.pc_summary, text=text)

    def _fit(self, text: str, width: int) -> str:
        """`text` shortened with an ellipsis to fit `width` pixels of the tile font."""
        if self.font_tile.measure(text) <= width:
            return text
        while text and self.font_tile.measure(text + "\u2026") > width:
            text = text[:-1]
        return text + "\u2026"

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
                when = f"{start} \u2192 {clock_near(row.ended_wall, now)}"
                length = hms(row.duration_s or 0)
            tk.Label(self.incident_body, text=when, font=self.font, bg=CARD, fg=TEXT, anchor="w"
                     ).grid(row=r, column=1, sticky="w", padx=(0, 12), pady=1)
            tk.Label(self.incident_body, text=length, font=self.font_bold if ongoing else self.font, bg=CARD,
                     fg=colour, anchor="e").grid(row=r, column=2, sticky="e", pady=1)
        self.incident_body.grid_columnconfigure(2, weight=1)

    def _render_delivery(self) -> None:
        d = self.delivery
        if d is None:
            _set(self.delivery_label, text="No messages sent yet", fg=MUTED)
        else:
            waiting = [(kind, n) for kind, n in d.backlog if n]
            total = sum(n for _, n in waiting)
            if total == 0:
                _set(self.delivery_label, text="All messages delivered", fg=GREEN)
            else:
                parts = ", ".join(f"{kind} {n}" for kind, n in waiting)
                noun = "message" if total == 1 else "messages"
                _set(self.delivery_label, text=f"{total} {noun} waiting\n({parts})", fg=AMBER)
        if d is not None and d.dead:
            self.dead_label.configure(
                text="Webhook not working (401/404): " + ", ".join(d.dead) + "\nFix it in the settings.")
            self.dead_label.pack(fill="x", anchor="w", pady=(6, 0))
        else:
            self.dead_label.pack_forget()

    def banners(self) -> list[tuple[str, str]]:
        """(kind, text) of the notices shown above the network card."""
        out = []
        if self.problems:
            n = len(self.problems)
            lines = [f"Config file rejected ({n} problem{'s' if n != 1 else ''}); the last good config "
                     "stays in force:"]
            lines += [f"  {path or '(file)'}: {message}" for path, message in self.problems[:MAX_PROBLEMS_SHOWN]]
            if n > MAX_PROBLEMS_SHOWN:
                lines.append(f"  \u2026 and {n - MAX_PROBLEMS_SHOWN} more (see the log)")
            out.append(("error", "\n".join(lines)))
        if self.status is not None and not self.status.configured:
            out.append(("info", "No targets configured yet: nothing is being checked. Run the setup."))
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
        for kind, text in self.banners():
            bg, fg = looks[kind]
            tk.Label(self.banner_frame, text=text, font=self.font, bg=bg, fg=fg, justify="left", anchor="w",
                     padx=PAD, pady=6, highlightthickness=1, highlightbackground=fg
                     ).pack(fill="x", pady=(0, 8))


def _set(widget: tk.Widget, **options) -> None:
    """configure() only what changed (Tk re-lays out on every configure)."""
    changed = {k: v for k, v in options.items() if widget.cget(k) != v}
    if changed:
        widget.configure(**changed)
