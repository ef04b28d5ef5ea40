"""The PC tiles of the status window: one Canvas, a legend and a tooltip (Tk thread only).

Tiles are items on the Canvas, re-configured only when their text or state changes (a 254-PC
cafe costs one comparison per tile per tick), and re-flowed to the canvas's width: a bigger
window shows more tiles per row and more rows before it scrolls.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont

from sentinel.events import PcState, PcStatus
from sentinel.gui.forms import AMBER, CARD, GREY, MUTED, TEXT, set_if_changed
from sentinel.timefmt import clock_near, hm, hms

TILE_LOOK = {  # state -> (fill, outline, name colour, detail colour)
    PcState.IN_SESSION: ("#16a34a", "#15803d", "#ffffff", "#dcfce7"),
    PcState.SEEN: ("#fef3c7", "#f59e0b", TEXT, AMBER),
    PcState.OFF: ("#f3f4f6", "#d1d5db", MUTED, GREY),
}
SEEN_BY = {"ping": "Answers ping", "arp": "Answers ARP only (blocks ping)"}


TILE_W, TILE_H, TILE_GAP = 92, 42, 6
PC_AREA_MIN_ROWS, PC_AREA_MAX_ROWS = 2, 6  # more rows scroll


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


class _Tile:
    __slots__ = ("rect", "name", "detail", "shown", "pc")

    def __init__(self, rect: int, name: int, detail: int) -> None:
        self.rect, self.name, self.detail = rect, name, detail
        self.shown: tuple | None = None  # (name, detail, state) last drawn
        self.pc: PcStatus | None = None


class PcTiles:
    """The tiles for a list of PcStatus; `render(pcs, now)` on every status."""

    def __init__(self, body: tk.Misc, *, font: tkfont.Font, font_small: tkfont.Font, font_tile: tkfont.Font) -> None:
        self.font_small, self.font_tile = font_small, font_tile
        self.tiles: list[_Tile] = []
        self.columns = self._laid_out = 0  # the layout last drawn: columns, tiles
        self.tile_updates = 0  # tiles re-drawn since start (tests, benchmarks)
        self.now = 0.0
        self._tooltip: tk.Toplevel | None = None
        area = tk.Frame(body, bg=CARD)
        area.pack(fill="both", expand=True)
        self.canvas = tk.Canvas(area, height=PC_AREA_MIN_ROWS * (TILE_H + TILE_GAP), bg=CARD,
                                highlightthickness=0)
        self.scroll = tk.Scrollbar(area, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=self.scroll.set)
        self.canvas.pack(side="left", fill="both", expand=True)
        self.empty = self.canvas.create_text(0, TILE_H // 2, text="No PCs configured", anchor="w", font=font,
                                             fill=MUTED)
        self.canvas.bind("<Configure>", lambda e: self.reflow())
        self.canvas.bind("<Motion>", self._on_motion)
        self.canvas.bind("<Leave>", lambda e: (self.hide_tooltip(), self.canvas.unbind_all("<MouseWheel>")))
        self.canvas.bind("<Enter>", lambda e: self.canvas.bind_all("<MouseWheel>", self._on_wheel))
        self.canvas.bind("<Button-4>", lambda e: self.canvas.yview_scroll(-1, "units"))
        self.canvas.bind("<Button-5>", lambda e: self.canvas.yview_scroll(1, "units"))
        self._legend(body)

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
        self.canvas.yview_scroll(-1 if event.delta > 0 else 1, "units")

    def reflow(self) -> None:
        """Lay the tiles out for the canvas's width (a wider window shows more per row)."""
        columns = max(1, (self.canvas.winfo_width() + TILE_GAP) // (TILE_W + TILE_GAP))
        if columns == self.columns and len(self.tiles) == self._laid_out:
            return
        self.columns, self._laid_out = columns, len(self.tiles)
        canvas = self.canvas
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
            self.scroll.pack(side="right", fill="y", padx=(6, 0))
        else:
            self.scroll.pack_forget()

    def _ensure_tiles(self, count: int) -> None:
        if len(self.tiles) == count:
            return
        canvas = self.canvas
        for tile in self.tiles:
            canvas.delete(tile.rect, tile.name, tile.detail)
        self.tiles = []
        for _ in range(count):
            rect = canvas.create_rectangle(0, 0, TILE_W, TILE_H, width=1)
            name = canvas.create_text(0, 0, anchor="w", font=self.font_tile)
            detail = canvas.create_text(0, 0, anchor="w", font=self.font_small)
            self.tiles.append(_Tile(rect, name, detail))
        canvas.itemconfigure(self.empty, state="normal" if count == 0 else "hidden")
        self.columns = 0
        self.reflow()

    def render(self, pcs: tuple[PcStatus, ...], now: float) -> dict[PcState, int]:
        """Draw the PCs; returns how many are in each state."""
        self.now = now
        self._ensure_tiles(len(pcs))
        canvas = self.canvas
        counts = {PcState.IN_SESSION: 0, PcState.SEEN: 0, PcState.OFF: 0}
        for tile, pc in zip(self.tiles, pcs):
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
        return counts

    def _fit(self, text: str, width: int) -> str:
        """`text` shortened with an ellipsis to fit `width` pixels of the tile font."""
        if self.font_tile.measure(text) <= width:
            return text
        while text and self.font_tile.measure(text + "\u2026") > width:
            text = text[:-1]
        return text + "\u2026"

    def tile_at(self, x: int, y: int) -> _Tile | None:
        """The tile under canvas window coordinates (x, y)."""
        cx, cy = self.canvas.canvasx(x), self.canvas.canvasy(y)
        col, row = int(cx // (TILE_W + TILE_GAP)), int(cy // (TILE_H + TILE_GAP))
        index = row * max(self.columns, 1) + col
        if col >= self.columns or not 0 <= index < len(self.tiles):
            return None
        return self.tiles[index]

    def _on_motion(self, event) -> None:
        tile = self.tile_at(event.x, event.y)
        if tile is None or tile.pc is None:
            self.hide_tooltip()
            return
        text = tile_tooltip(tile.pc, self.now)
        if self._tooltip is None:
            self._tooltip = tk.Toplevel(self.canvas, bg=TEXT)
            self._tooltip.overrideredirect(True)
            self._tooltip_label = tk.Label(self._tooltip, font=self.font_small, bg="#111827", fg="#ffffff",
                                           justify="left", padx=8, pady=5)
            self._tooltip_label.pack()
        set_if_changed(self._tooltip_label, text=text)
        self._tooltip.geometry(f"+{event.x_root + 14}+{event.y_root + 14}")

    def hide_tooltip(self) -> None:
        if self._tooltip is not None:
            self._tooltip.destroy()
            self._tooltip = None

    @property
    def tooltip_text(self) -> str:
        return str(self._tooltip_label.cget("text")) if self._tooltip is not None else ""
