"""Screenshot capture + WebP encode under Xvfb 1920x1080 with a desktop-like Tk screen.

    python3 bench/bench_capture.py [--runs 11]

Prints medians: grab only, encode only, capture+encode (quality 80, ratio 1.0) with bytes,
the libwebp `method` comparison, and the resize filter cost at smaller ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from sentinel.services.screens import screenshots  # noqa: E402
from sentinel.services.screens.screenshots import capture_webp, encode_webp, grab_primary  # noqa: E402
from tests.helpers.xvfb import Xvfb  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
LOREM = ("Router 198.51.100.1 up 2 ms | PC-07 in session 1:42:10 | invoice #20931 paid 45.00 "
         "def tick(self, now): return self.core.step(state, reading, now) ")


def wallpaper() -> Image.Image:
    """A photo-ish gradient with soft noise and shapes (what most desktops show behind windows)."""
    rng = random.Random(7)
    image = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    image = Image.merge("RGB", (image, image.rotate(90).resize((WIDTH, HEIGHT)), Image.new("L", (WIDTH, HEIGHT), 120)))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, r = rng.randrange(WIDTH), rng.randrange(HEIGHT), rng.randrange(20, 160)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    noise = Image.effect_noise((WIDTH, HEIGHT), 24).convert("RGB")
    return Image.blend(image, noise, 0.15)


def build_desktop(tkinter, display: str):
    from PIL import ImageTk

    root = tkinter.Tk(screenName=display)
    root.overrideredirect(True)
    root.geometry(f"{WIDTH}x{HEIGHT}+0+0")
    photo = ImageTk.PhotoImage(wallpaper(), master=root)
    tkinter.Label(root, image=photo, bd=0).place(x=0, y=0)
    root._photo = photo  # keep a reference

    rng = random.Random(3)
    for i, (x, y, w, h) in enumerate([(60, 50, 900, 560), (700, 300, 760, 520), (1300, 80, 560, 420)]):
        frame = tkinter.Frame(root, bd=2, relief="raised", bg="#dcdcdc")
        frame.place(x=x, y=y, width=w, height=h)
        tkinter.Label(frame, text=f"Window {i + 1} - CafeSentinel notes.txt", bg="#2b5797", fg="white",
                      anchor="w").pack(fill="x")
        bar = tkinter.Frame(frame, bg="#dcdcdc")
        bar.pack(fill="x")
        for name in ("File", "Edit", "View", "Refresh", "Send test"):
            tkinter.Button(bar, text=name).pack(side="left", padx=2, pady=2)
        body = tkinter.Frame(frame)
        body.pack(fill="both", expand=True)
        listbox = tkinter.Listbox(body, width=18)
        for n in range(40):
            listbox.insert("end", f"PC-{n + 1:02d}  {rng.choice(['in session', 'off', 'seen'])}")
        listbox.pack(side="left", fill="y")
        text = tkinter.Text(body, wrap="word")
        for line in range(60):
            text.insert("end", f"{line:3d}  {LOREM[rng.randrange(40):]}\n")
        text.pack(side="left", fill="both", expand=True)
        tkinter.Entry(frame).pack(fill="x")
    taskbar = tkinter.Frame(root, bg="#1f1f1f")
    taskbar.place(x=0, y=HEIGHT - 40, width=WIDTH, height=40)
    for name in ("Start", "Browser", "Game launcher", "CafeSentinel", "Cashier"):
        tkinter.Button(taskbar, text=name).pack(side="left", padx=4, pady=4)
    tkinter.Label(taskbar, text="14:02  21/11/2025", bg="#1f1f1f", fg="white").pack(side="right", padx=10)
    for _ in range(5):
        root.update()
    return root


class Timing:
    """Median wall and CPU milliseconds (CPU time is steadier on a busy shared machine)."""

    def __init__(self, wall: list[float], cpu: list[float]) -> None:
        self.wall, self.cpu = statistics.median(wall), statistics.median(cpu)

    def __format__(self, spec: str) -> str:
        return f"{self.wall:7.1f} ms (cpu {self.cpu:6.1f})"


def median_ms(fn, runs: int) -> tuple[Timing, object]:
    wall, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return Timing(wall, cpu), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    import tkinter

    with Xvfb(WIDTH, HEIGHT) as server:
        os.environ["DISPLAY"] = server.display
        root = build_desktop(tkinter, server.display)
        try:
            run(args.runs)
        finally:
            root.destroy()
    return 0


def run(runs: int) -> None:
    import mss

    frame = grab_primary()
    assert Image.frombytes("RGB", (frame.width, frame.height), frame.bgrx, "raw", "BGRX").getbbox() is not None
    print(f"screen {frame.width}x{frame.height}, {runs} runs each, median; chosen method={screenshots.WEBP_METHOD}")

    grab_ms, _ = median_ms(grab_primary, runs)
    with mss.MSS() as sct:
        monitor = sct.primary_monitor
        reused_ms, _ = median_ms(lambda: sct.grab(monitor), runs)
    encode_ms, data = median_ms(lambda: encode_webp(frame, 80, 1.0), runs)
    total_ms, data = median_ms(lambda: capture_webp(80, 1.0), runs)
    print(f"grab only (new mss.MSS each time)   {grab_ms}")
    print(f"grab only (reused mss.MSS)          {reused_ms}")
    print(f"encode only q80 r1.0                {encode_ms}")
    print(f"capture+encode q80 r1.0             {total_ms}  {len(data) / 1024:7.1f} KiB")

    print("\nmethod comparison (encode only, q80, r1.0)")
    for method in range(7):
        ms, data = median_ms(lambda: encode_webp(frame, 80, 1.0, method), max(5, runs // 2))
        mark = "  <- chosen" if method == screenshots.WEBP_METHOD else ""
        print(f"  method {method}  {ms}  {len(data) / 1024:7.1f} KiB{mark}")

    print("\nresize ratio (encode incl. resize, q80, chosen method)")
    for ratio in (0.75, 0.5, 0.25):
        ms, data = median_ms(lambda: encode_webp(frame, 80, ratio), runs)
        print(f"  ratio {ratio:4}  {ms}  {len(data) / 1024:7.1f} KiB")
    image = Image.frombytes("RGB", (frame.width, frame.height), frame.bgrx, "raw", "BGRX")
    for ratio in (0.5, 0.25):
        size = (round(WIDTH * ratio), round(HEIGHT * ratio))
        for name, resample in (("lanczos", Image.Resampling.LANCZOS), ("bicubic", Image.Resampling.BICUBIC)):
            ms, _ = median_ms(lambda: image.resize(size, resample), runs)
            print(f"  resize only to {ratio:4}, {name:8} {ms}")

if __name__ == "__main__":
    raise SystemExit(main())
