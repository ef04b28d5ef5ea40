"""The web server under the real app: resource use, load, and change-to-browser latency.

1. latency (in-process, loopback): a MonitorStatus handed to the status board -> the SSE frame
   complete at a client; median and p99, with 1 and with 50 clients connected.
2. typical (root: the real app, headless, in a namespace cafe with 3 targets + 20 PCs at 2 s):
   3 dashboards on SSE and a Prometheus-like scrape of /metrics every 15 s; CPU (% of one
   core) and RSS of the app.
3. load (same app): 50 SSE clients plus 10 API requests a second for 60 s; errors, the monitor's
   tick jitter (from the frames' tick times) against a quiet baseline, RSS over the run.

    python3 bench/bench_web.py [--seconds 60] [--skip-cafe]

Load clients run inside the cafe's monitor namespace and talk only to its loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinel.config.model import ApiSettings, Config, save_config  # noqa: E402
from sentinel.events import Component, Health, MonitorStatus, PcState, PcStatus, TargetStatus  # noqa: E402
from sentinel.services.web.api import ApiServer, ensure_api_token  # noqa: E402
from sentinel.services.web.status import StatusBoard  # noqa: E402

APP_PORT = 5000  # inside the cafe's monitor namespace
SAMPLES = 200


def p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]


# -- 1. latency, in-process ---------------------------------------------------------------------

def _status(n: int) -> MonitorStatus:
    at = 1_700_000_000.0 + n
    targets = tuple(TargetStatus(c, "198.51.100.1", Health.UP, at, 1.0)
                    for c in (Component.ROUTER, Component.SERVER, Component.INTERNET))
    pcs = tuple(PcStatus(i, f"PC-{i}", f"198.51.100.{109 + i}", PcState.IN_SESSION, at, 0.3, at, "ping")
                for i in range(1, 21))
    return MonitorStatus(at, True, True, False, targets, pcs, 0)


def _sse_connect(port: int, token: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return s


def latency(clients: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        save_config(Config(), root / "config.json", root / "backups")
        token = ensure_api_token(root)
        board = StatusBoard()
        api = ApiServer(ApiSettings(port=0), token, status=board.as_dict, incidents=lambda n: [],
                        sessions=lambda n: [], current_config=Config, config_path=root / "config.json",
                        backup_dir=root / "backups", today=board.today)
        board.listen(api.notify)
        api.start()
        port = api.address[1]
        others = [_sse_connect(port, token) for _ in range(clients - 1)]
        stop = threading.Event()

        def drain() -> None:  # the other dashboards read their frames too
            sel = selectors.DefaultSelector()
            for s in others:
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            while not stop.is_set():
                for key, _ in sel.select(0.1):
                    try:
                        key.fileobj.recv(65536)
                    except BlockingIOError:
                        pass

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        me = _sse_connect(port, token)
        buffer = b""
        times = []
        try:
            for n in range(SAMPLES + 5):
                marker = b'"at_wall":%d.0' % (1_700_000_000 + n)
                started = time.perf_counter()
                board.on_event(_status(n))
                while marker not in buffer or not buffer.endswith(b"\n\n"):
                    buffer += me.recv(65536)
                if n >= 5:  # warm-up
                    times.append(time.perf_counter() - started)
                buffer = b""
                time.sleep(0.01)
        finally:
            stop.set()
            drainer.join(2)
            for s in others + [me]:
                s.close()
            api.stop()
        return times


# -- 2 and 3. the real app in a namespace cafe --------------------------------------------------

async def _load_client(port: int, token: str, seconds: float, sse_clients: int, api_rate: float,
                       scrape_every_s: float) -> dict:
    """Runs inside the monitor namespace: SSE dashboards and an API client, all counted."""
    result = {"sse_errors": 0, "sse_frames": 0, "api_errors": 0, "api_requests": 0, "api_latency": [],
              "ticks": []}
    auth = f"Authorization: Bearer {token}\r\n"
    end = time.monotonic() + seconds

    async def dashboard(first: bool) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET /events HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                result["sse_errors"] += 1
                return
            while time.monotonic() < end:
                frame = await asyncio.wait_for(reader.readuntil(b"\n\n"), max(end - time.monotonic(), 0.01))
                if b"data: " in frame:
                    result["sse_frames"] += 1
                    if first:
                        data = json.loads(frame.split(b"data: ", 1)[1])
                        if data.get("monitor"):
                            result["ticks"].append(data["monitor"]["at_wall"])
            writer.close()
        except asyncio.TimeoutError:
            pass  # the run ended while waiting for a frame
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result["sse_errors"] += 1

    async def request(path: str) -> None:
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n".encode())
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            ok = reply.startswith(b"HTTP/1.1 200")
        except (OSError, asyncio.TimeoutError):
            ok = False
        result["api_requests"] += 1
        result["api_errors"] += not ok
        result["api_latency"].append(time.perf_counter() - started)

    async def api_client() -> None:
        paths = ["/api/status", "/api/incidents?limit=10", "/api/config", "/api/sessions?limit=10"]
        n = 0
        next_at = time.monotonic()
        next_scrape = time.monotonic()
        while time.monotonic() < end:
            now = time.monotonic()
            if scrape_every_s and now >= next_scrape:
                asyncio.ensure_future(request("/metrics"))
                next_scrape += scrape_every_s
            if api_rate and now >= next_at:
                asyncio.ensure_future(request(paths[n % len(paths)]))
                n += 1
                next_at += 1.0 / api_rate
            await asyncio.sleep(0.01)

    await asyncio.gather(*(dashboard(i == 0) for i in range(sse_clients)), api_client())
    await asyncio.sleep(0.5)
    return result


def _run_load(cafe, token: str, seconds: float, sse_clients: int, api_rate: float, scrape_every_s: float) -> dict:
    args = json.dumps([APP_PORT, token, seconds, sse_clients, api_rate, scrape_every_s])
    proc = cafe.exec_python_in_mon(
        f"import asyncio, json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_web; "
        f"print(json.dumps(asyncio.run(bench_web._load_client(*json.loads({args!r})))))",
        timeout=seconds + 60)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _jitter(ticks: list[float], interval: float) -> tuple[float, float, float]:
    deviations = [abs(b - a - interval) * 1000 for a, b in zip(ticks, ticks[1:])]
    return (statistics.median(deviations), p99(deviations), max(deviations)) if deviations else (0, 0, 0)


def cafe_runs(seconds: float) -> None:
    import psutil

    from tests.helpers import netns
    from tests.helpers.apprun import AppRun, write_config

    config = {
        "targets": {"router": netns.ROUTER, "server": netns.SERVER, "internet": netns.INTERNET[0]},
        "monitor_settings": {"interval_seconds": 2, "pc_subnet": netns.PC_SUBNET,
                             "pc_start_range": netns.PC_START, "pc_count": 20},
        "verification_settings": {"secondary_target": netns.INTERNET[1]},
        "api_settings": {"port": APP_PORT},
    }
    with netns.Cafe.create("csw", pcs=20) as cafe, tempfile.TemporaryDirectory() as tmp:
        path = write_config(Path(tmp) / "cafe.json", config)
        data = Path(tmp) / "d"
        app = AppRun(AppRun.command("--headless", "--config", str(path), "--data-dir", str(data)),
                     popen=lambda a, **kw: cafe.run_in_mon(a, **kw))
        try:
            app.wait_line("in session", timeout=30)
            proc = psutil.Process(app.proc.pid)
            token = (data / "api_token").read_text().strip()
            threading.Event().wait(5.0)

            def measured(**load):
                rss = []
                stop = threading.Event()

                def sample() -> None:
                    while not stop.wait(5.0):
                        rss.append(proc.memory_info().rss / 2**20)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
                result = _run_load(cafe, token, seconds, **load)
                t1, c1 = time.monotonic(), sum(proc.cpu_times()[:2])
                stop.set()
                sampler.join(6)
                rss.append(proc.memory_info().rss / 2**20)
                return result, 100 * (c1 - c0) / (t1 - t0), rss

            quiet, quiet_cpu, quiet_rss = measured(sse_clients=1, api_rate=0, scrape_every_s=0)
            typical, cpu, rss = measured(sse_clients=3, api_rate=0, scrape_every_s=15)
            print(f"typical ({seconds:.0f} s, 3 dashboards, /metrics every 15 s): CPU {cpu:.2f} % of a core, "
                  f"RSS {rss[-1]:.1f} MB (max {max(rss):.1f}); errors {typical['sse_errors'] + typical['api_errors']}")
            print(f"quiet (1 dashboard): CPU {quiet_cpu:.2f} %, RSS {quiet_rss[-1]:.1f} MB")
            load, load_cpu, load_rss = measured(sse_clients=50, api_rate=10, scrape_every_s=15)
            lat = load["api_latency"]
            print(f"load ({seconds:.0f} s, 50 SSE + 10 req/s): {load['api_requests']} requests, "
                  f"{load['api_errors']} API errors, {load['sse_errors']} SSE errors, {load['sse_frames']} frames; "
                  f"API median {statistics.median(lat) * 1000:.1f} ms p99 {p99(lat) * 1000:.1f} ms; "
                  f"CPU {load_cpu:.2f} %")
            print("load RSS MB every 5 s: " + " ".join(f"{v:.1f}" for v in load_rss))
            for name, run in (("quiet", quiet), ("typical", typical), ("load", load)):
                med, p, worst = _jitter(run["ticks"], 2.0)
                print(f"tick jitter {name:8s}: median {med:.1f} ms, p99 {p:.1f} ms, max {worst:.1f} ms "
                      f"({len(run['ticks'])} ticks)")
            app.stop()
        finally:
            app.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skip-cafe", action="store_true", help="only the in-process latency")
    args = parser.parse_args()
    for clients in (1, 50):
        times = latency(clients)
        print(f"change-to-browser latency, {clients:2d} SSE client(s): median {statistics.median(times) * 1000:.2f} ms, "
              f"p99 {p99(times) * 1000:.2f} ms ({len(times)} changes)")
    if not args.skip_cafe:
        if os.geteuid() != 0:
            sys.exit("the cafe runs need root (network namespaces)")
        cafe_runs(args.seconds)


if __name__ == "__main__":
    main()
