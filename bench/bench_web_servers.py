"""Which HTTP server should carry the API, the dashboard (SSE) and the metrics? Measured.

For each candidate, in a fresh process on 127.0.0.1: RSS of the server stack after import
(over a bare interpreter), RSS and threads while it holds 50 SSE streams, how many of the 50
got a frame within 2 s, and whether a real client is still served while 16 slowloris
connections trickle headers. Also the installed size of the candidate's packages (what a
PyInstaller build would carry). Candidates that are not installed are skipped; install them
somewhere outside the project to compare:

    pip install --target /tmp/weblibs waitress flask aiohttp bottle
    python3 bench/bench_web_servers.py --libs /tmp/weblibs
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

SSE_CLIENTS, SLOW_CLIENTS = 50, 16

SERVERS = {
    "stdlib-threading": """
import json, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/events":
            self.send_response(200); self.send_header("Content-Type", "text/event-stream"); self.end_headers()
            n = 0
            while True:
                self.wfile.write(b"data: %d\\n\\n" % n); self.wfile.flush(); n += 1; time.sleep(0.5)
        body = b'{"ok":true}'
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
s = ThreadingHTTPServer(("127.0.0.1", 0), H); s.daemon_threads = True
ready(s.server_address[1]); s.serve_forever()
""",
    "stdlib-asyncio": """
import asyncio
async def handle(reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\\r\\n\\r\\n"), 10)
    except Exception:
        writer.close(); return
    if head.startswith(b"GET /events"):
        writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: text/event-stream\\r\\n\\r\\n")
        n = 0
        while True:
            writer.write(b"data: %d\\n\\n" % n); await writer.drain(); n += 1; await asyncio.sleep(0.5)
    writer.write(b'HTTP/1.1 200 OK\\r\\nContent-Length: 11\\r\\nConnection: close\\r\\n\\r\\n{"ok":true}')
    await writer.drain(); writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    await server.serve_forever()
asyncio.run(main())
""",
    "waitress": """
import time, waitress
def app(environ, start_response):
    if environ["PATH_INFO"] == "/events":
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        def stream():
            n = 0
            while True:
                yield b"data: %d\\n\\n" % n; n += 1; time.sleep(0.5)
        return stream()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok":true}']
from waitress.server import create_server
s = create_server(app, host="127.0.0.1", port=0)
ready(s.effective_port); s.run()
""",
    "flask+werkzeug": """
import time
from flask import Flask, Response
from werkzeug.serving import make_server
app = Flask("b")
@app.get("/events")
def events():
    def stream():
        n = 0
        while True:
            yield "data: %d\\n\\n" % n; n += 1; time.sleep(0.5)
    return Response(stream(), mimetype="text/event-stream")
@app.get("/ping")
def ping():
    return {"ok": True}
import logging; logging.getLogger("werkzeug").disabled = True
s = make_server("127.0.0.1", 0, app, threaded=True)
ready(s.server_port); s.serve_forever()
""",
    "aiohttp": """
import asyncio
from aiohttp import web
async def events(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"}); await resp.prepare(request)
    n = 0
    while True:
        await resp.write(b"data: %d\\n\\n" % n); n += 1; await asyncio.sleep(0.5)
async def ping(request):
    return web.json_response({"ok": True})
async def main():
    app = web.Application(); app.router.add_get("/events", events); app.router.add_get("/ping", ping)
    runner = web.AppRunner(app, access_log=None); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0); await site.start()
    ready(site._server.sockets[0].getsockname()[1])
    await asyncio.Event().wait()
asyncio.run(main())
""",
}
PACKAGES = {"waitress": ["waitress"], "flask+werkzeug": ["flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous",
                                                         "click", "blinker"],
            "aiohttp": ["aiohttp", "multidict", "yarl", "propcache", "frozenlist", "aiosignal", "attr",
                        "aiohappyeyeballs", "idna"], "bottle": ["bottle"]}
IMPORTS = {"stdlib-threading": "import http.server", "stdlib-asyncio": "import asyncio",
           "waitress": "import waitress.server", "flask+werkzeug": "import flask, werkzeug.serving",
           "aiohttp": "import aiohttp.web"}
PRELUDE = "import os, sys\ndef ready(port):\n    print(port, flush=True)\n"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def package_size_mb(names: list[str]) -> float:
    total = 0
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        files = root.rglob("*") if root.is_dir() else [root]
        total += sum(f.stat().st_size for f in files if f.is_file() and "__pycache__" not in f.parts)
    return total / 1e6


def import_rss_kb(code: str, env: dict) -> int:
    probe = (f"{code}\nimport os\nfor l in open('/proc/self/status'):\n"
             "    l.startswith('VmRSS:') and print(l.split()[1])")
    return int(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                              check=True, timeout=60).stdout)


def get(port: int, path: str, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + timeout
        while b"data:" not in data and b'"ok"' not in data and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def measure(name: str, env: dict) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", PRELUDE + SERVERS[name]], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline())
        idle = rss_kb(proc.pid)
        streams, got = [], 0
        for _ in range(SSE_CLIENTS):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            streams.append(s)
        deadline = time.monotonic() + 2.0
        for s in streams:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data = b""
                while b"data:" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                got += b"data:" in data
            except OSError:
                pass
        busy, busy_threads = rss_kb(proc.pid), threads(proc.pid)
        for s in streams:
            s.close()
        slow = []
        for _ in range(SLOW_CLIENTS):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")  # never finished
            slow.append(s)
        time.sleep(0.3)  # let the server take them all in (bench only)
        try:
            served = b'"ok"' in get(port, "/ping", 2.0)
        except OSError:
            served = False
        for s in slow:
            s.close()
        return {"idle_rss_mb": idle / 1024, "rss_50_sse_mb": busy / 1024, "threads_50_sse": busy_threads,
                "sse_frames_in_2s": got, "served_past_slowloris": served}
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--libs", help="extra directory with the candidate packages")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.libs:
        sys.path.insert(0, args.libs)
        env["PYTHONPATH"] = args.libs + os.pathsep + env.get("PYTHONPATH", "")
    base = import_rss_kb("pass", env)
    print(f"bare interpreter RSS {base / 1024:.1f} MB; {SSE_CLIENTS} SSE clients, {SLOW_CLIENTS} slowloris")
    for name in SERVERS:
        try:
            extra = import_rss_kb(IMPORTS[name], env) - base
        except subprocess.CalledProcessError:
            print(f"{name:17s} not installed, skipped")
            continue
        row = measure(name, env)
        size = package_size_mb(PACKAGES.get(name, []))
        print(f"{name:17s} import +{extra / 1024:5.1f} MB  size {size:5.1f} MB  idle {row['idle_rss_mb']:5.1f} MB  "
              f"50 SSE {row['rss_50_sse_mb']:5.1f} MB {row['threads_50_sse']:3d} threads "
              f"{row['sse_frames_in_2s']:2d}/50 streams live  served past slowloris: {row['served_past_slowloris']}")
    if importlib.util.find_spec("bottle"):
        print(f"bottle            size {package_size_mb(PACKAGES['bottle']):5.1f} MB (a router: runs on wsgiref, "
              "single-threaded, or on one of the servers above)")
    print(json.dumps({"python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
