"""A local fake Discord webhook API: a real HTTP server on 127.0.0.1 (random port).

It behaves like Discord where CafeSentinel cares:
- POST /api/v10/webhooks/{id}/{token} (and the legacy unversioned /api/webhooks/...) with JSON
  or multipart (payload_json + files[n]); limits enforced (webhook names without "discord" or
  "clyde" too), 400 {code: 50035, errors} when broken.
- 204 without ?wait=true, 200 + a message object with an id with it.
- Dead webhooks: 404 {code: 10015} or 401 {code: 50027}.
- PATCH /api/v10/webhooks/{id}/{token}/messages/{message_id} edits a message it posted (200 +
  the message); a message deleted in the channel (`delete_message`) answers 404 {code: 10008}.
- Rate-limit headers on every reply; one bucket per webhook shared by its posts and edits: a
  fixed window of `limit` requests per `period` seconds; beyond it 429 {message, retry_after,
  global} + Retry-After (milliseconds on the legacy path, seconds on v8+). `sliding=True`
  instead counts every request of the last `period` seconds, refused ones too (a limiter that
  counts attempts): posters that retry too eagerly keep it full for everyone.
- Faults: scripted statuses (500, 502...), "reset" (RST before answering), "hang" (no answer
  for a while, then close), "slow" (answer after a delay), and offline() / online() which
  really closes and re-opens the listening port (connections are refused meanwhile).
Every accepted message is recorded in order with its decoded attachments. Everything bounded.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 30 * 1024 * 1024
MAX_RECORDS = 20_000
MAX_FILE = 10 * 1024 * 1024
_PATH = re.compile(r"^/api(?:/v(\d+))?/webhooks/(\d+)/([^/?]+)(?:/messages/(\d+))?$")


@dataclass
class Received:
    hook_id: str
    path: str
    legacy: bool
    payload: dict
    files: dict  # filename -> bytes
    at: float  # monotonic

    @property
    def content(self) -> str:
        return self.payload.get("content") or ""

    @property
    def titles(self) -> list[str]:
        return [e.get("title", "") for e in self.payload.get("embeds") or []]


@dataclass
class _Window:
    start: float = -math.inf
    count: int = 0
    times: deque = field(default_factory=deque)  # sliding: every request of the last period


@dataclass
class Edit:
    hook_id: str
    message_id: str
    payload: dict
    at: float  # monotonic


@dataclass
class Stats:
    requests: int = 0
    accepted: int = 0
    rejected_400: int = 0
    rate_limited: int = 0
    invalid: int = 0  # 401, 403 and 429: what Discord counts towards its IP ban
    log: deque = field(default_factory=lambda: deque(maxlen=MAX_RECORDS))  # (monotonic, status)


def _embed_problems(payload: dict, file_names: set[str]) -> dict:
    errors: dict = {}
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    if not isinstance(embeds, list):
        return {"embeds": "must be a list"}
    if len(content) > 2000:
        errors["content"] = "Must be 2000 or fewer in length."
    username = payload.get("username") or ""
    if len(username) > 80:
        errors["username"] = "Must be 80 or fewer in length."
    for word in ("discord", "clyde"):  # Discord refuses these in webhook names
        if word in username.lower():
            errors["username"] = f"Username cannot contain \"{word}\""
    if username.strip().lower() in ("everyone", "here"):
        errors["username"] = "Username is not allowed"
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    if not content and not embeds and not file_names:
        errors["_"] = "Cannot send an empty message"
    total = 0
    for i, e in enumerate(embeds):
        def bad(key, msg):
            errors[f"embeds.{i}.{key}"] = msg
        for key, limit in (("title", 256), ("description", 4096)):
            if len(e.get(key, "")) > limit:
                bad(key, f"Must be {limit} or fewer in length.")
        footer = (e.get("footer") or {}).get("text", "")
        author = (e.get("author") or {}).get("name", "")
        if len(footer) > 2048:
            bad("footer.text", "Must be 2048 or fewer in length.")
        if len(author) > 256:
            bad("author.name", "Must be 256 or fewer in length.")
        fields = e.get("fields", [])
        if len(fields) > 25:
            bad("fields", "Must be 25 or fewer in length.")
        for j, f in enumerate(fields):
            if not 1 <= len(f.get("name", "")) <= 256:
                bad(f"fields.{j}.name", "Must be between 1 and 256 in length.")
            if not 1 <= len(f.get("value", "")) <= 1024:
                bad(f"fields.{j}.value", "Must be between 1 and 1024 in length.")
        total += len(e.get("title", "")) + len(e.get("description", "")) + len(footer) + len(author)
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
        for key in ("image", "thumbnail"):
            url = (e.get(key) or {}).get("url", "")
            if url.startswith("attachment://") and url[13:] not in file_names:
                bad(f"{key}.url", "Attachment not found.")
    if total > 6000:
        errors["embeds"] = "Embed size exceeds maximum size of 6000"
    return errors


class FakeDiscord:
    """Start with `with FakeDiscord() as fake:`; URLs from `fake.url(hook_id)`."""

    def __init__(self, limit: int = 5, period: float = 2.0, port: int = 0, sliding: bool = False):
        self.limit = limit
        self.period = period
        self.sliding = sliding
        self.posted: dict[str, tuple[str, dict]] = {}  # message id -> (hook id, payload) still in the channel
        self.edits: list[Edit] = []
        self._lock = threading.Condition()
        self._windows: dict[str, _Window] = {}
        self._dead: dict[str, int] = {}  # hook_id -> 401 | 404
        self._faults: deque = deque()  # scripted next-request behaviours
        self.received: list[Received] = []
        self.stats = Stats()
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.global_429 = False  # mark every 429 as global
        self._conns: set = set()  # open client connections, cut by offline()
        self.in_flight = 0  # POSTs being handled right now

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> "FakeDiscord":
        self.online()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def online(self) -> None:
        """Listen (again) on the same port."""
        if self._server is not None:
            return
        fake = self

        class Handler(_Handler):
            owner = fake

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-discord", daemon=True)
        self._thread.start()

    def offline(self) -> None:
        """Close the listening socket: new connections are refused until online()."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(5)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # kept-alive connections would otherwise still be served
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._closing.set()
        self.offline()

    # -- setup -----------------------------------------------------------------------------

    def url(self, hook_id: str = "1001", token: str = "secret-token", legacy: bool = False) -> str:
        version = "" if legacy else "/v10"
        return f"http://127.0.0.1:{self.port}/api{version}/webhooks/{hook_id}/{token}"

    def kill(self, hook_id: str, status: int = 404) -> None:
        with self._lock:
            self._dead[hook_id] = status

    def revive(self, hook_id: str) -> None:
        with self._lock:
            self._dead.pop(hook_id, None)

    def delete_message(self, message_id: str) -> None:
        """Someone deleted the message in the channel: edits of it answer 404 Unknown Message."""
        with self._lock:
            self.posted.pop(message_id, None)

    def inject(self, *faults) -> None:
        """Queue behaviours for the next requests: 500, 502, "reset", ("hang", s), ("slow", s), ("status", 400)."""
        with self._lock:
            self._faults.extend(faults)

    # -- assertions ------------------------------------------------------------------------

    def messages(self, hook_id: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if hook_id is None or r.hook_id == hook_id]

    def wait_for(self, count: int, timeout: float = 10.0, hook_id: str | None = None) -> list[Received]:
        """Block until `count` messages were accepted (for hook_id), or raise AssertionError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [r for r in self.received if hook_id is None or r.hook_id == hook_id]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Discord got {len(got)} of {count} messages in {timeout} s")
                self._lock.wait(min(left, 0.1))

    def wait_in_flight(self, timeout: float = 10.0) -> None:
        """Block until a request is being handled (to crash a client mid-request)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.in_flight == 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no request in flight")
                self._lock.wait(min(left, 0.05))

    # -- request handling (called from handler threads) --------------------------------------

    def _next_fault(self):
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _rate(self, hook_id: str, now: float) -> tuple[bool, dict, float]:
        """(allowed, headers, seconds until reset). Counts the request when allowed."""
        with self._lock:
            w = self._windows.setdefault(hook_id, _Window())
            if self.sliding:
                while w.times and w.times[0] <= now - self.period:
                    w.times.popleft()
                allowed = len(w.times) < self.limit
                w.times.append(now)
                w.count = min(len(w.times), self.limit)
                # until fewer than `limit` of the requests made so far are in the window
                oldest = w.times[-self.limit] if len(w.times) >= self.limit else w.times[0]
                reset_after = max(0.0, oldest + self.period - now)
            else:
                if now >= w.start + self.period:
                    w.start, w.count = now, 0
                allowed = w.count < self.limit
                if allowed:
                    w.count += 1
                reset_after = max(0.0, w.start + self.period - now)
            # Round up to the millisecond, as Discord does: never announce a reset too early.
            reset_after = math.ceil(reset_after * 1000) / 1000
            headers = {
                "X-RateLimit-Bucket": f"bucket-{hook_id}",
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.limit - w.count),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            }
            return allowed, headers, reset_after

    def _record(self, item: Received) -> None:
        with self._lock:
            if len(self.received) < MAX_RECORDS:
                self.received.append(item)
            self.stats.accepted += 1
            self._lock.notify_all()

    def _count(self, status: int) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.log.append((time.monotonic(), status))
            if status == 429:
                self.stats.rate_limited += 1
            if status in (401, 403, 429):
                self.stats.invalid += 1
            if status == 400:
                self.stats.rejected_400 += 1


class _Handler(BaseHTTPRequestHandler):
    owner: FakeDiscord
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def setup(self):
        super().setup()
        with self.owner._lock:
            self.owner._conns.add(self.connection)

    def finish(self):
        with self.owner._lock:
            self.owner._conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _reply(self, status: int, body: object | None, headers: dict | None = None) -> None:
        self.owner._count(status)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST."""
        self.owner._count(0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_POST(self):  # noqa: N802 (http.server API)
        self._handle("POST")

    def do_PATCH(self):  # noqa: N802
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        with self.owner._lock:
            self.owner.in_flight += 1
            self.owner._lock.notify_all()
        try:
            self._request(method)
        finally:
            with self.owner._lock:
                self.owner.in_flight -= 1

    def _request(self, method: str):
        owner = self.owner
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._reply(413, {"message": "Request entity too large", "code": 40005})
        raw = self.rfile.read(length)
        match = _PATH.match(path)
        if not match:
            return self._reply(404, {"message": "404: Not Found", "code": 0})
        version, hook_id, _token, edited_id = match.groups()
        if (method == "PATCH") != (edited_id is not None):
            return self._reply(405, {"message": "405: Method Not Allowed", "code": 0})
        legacy = version is None or int(version) < 8
        fault = owner._next_fault()
        if fault == "reset":
            return self._reset()
        if isinstance(fault, tuple) and fault[0] == "hang":
            owner._closing.wait(min(fault[1], 30))
            return self._reset()
        if isinstance(fault, tuple) and fault[0] == "slow":
            owner._closing.wait(min(fault[1], 30))
        if isinstance(fault, int):
            return self._reply(fault, {"message": f"fault {fault}", "code": 0})
        with owner._lock:
            dead = owner._dead.get(hook_id)
        if dead == 404:
            return self._reply(404, {"message": "Unknown Webhook", "code": 10015})
        if dead == 401:
            return self._reply(401, {"message": "Invalid Webhook Token", "code": 50027})
        now = time.monotonic()
        allowed, headers, reset_after = owner._rate(hook_id, now)
        if not allowed:
            retry = max(reset_after, 0.001)
            is_global = owner.global_429
            headers["X-RateLimit-Scope"] = "global" if is_global else "user"
            if is_global:
                headers["X-RateLimit-Global"] = "true"
            if legacy:
                headers["Retry-After"] = str(math.ceil(retry * 1000))
                body = {"message": "You are being rate limited.", "retry_after": math.ceil(retry * 1000),
                        "global": is_global}
            else:
                headers["Retry-After"] = str(math.ceil(retry))
                body = {"message": "You are being rate limited.", "retry_after": retry, "global": is_global}
            return self._reply(429, body, headers)
        try:
            payload, files = self._parse(raw)
        except ValueError as exc:
            return self._reply(400, {"message": "Invalid Form Body", "code": 50035,
                                     "errors": {"_": str(exc)}}, headers)
        errors = _embed_problems(payload, set(files))
        if len(files) > 10:
            errors["files"] = "Must be 10 or fewer."
        for name, data in files.items():
            if len(data) > MAX_FILE:
                errors[f"files.{name}"] = "File too large"
        if errors:
            return self._reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": errors},
                               headers)
        if edited_id is not None:
            return self._edit(hook_id, edited_id, payload, files, headers, now)
        owner._record(Received(hook_id, path, legacy, payload, files, now))
        if "wait=true" not in query:
            return self._reply(204, None, headers)
        message_id = str(next(owner._ids))
        with owner._lock:
            owner.posted[message_id] = (hook_id, payload)
        return self._reply(200, self._message(message_id, hook_id, payload, files), headers)

    @staticmethod
    def _message(message_id: str, hook_id: str, payload: dict, files: dict) -> dict:
        return {
            "id": message_id, "type": 0, "channel_id": "1", "webhook_id": hook_id,
            "content": payload.get("content", ""), "embeds": payload.get("embeds", []),
            "attachments": [{"id": str(i), "filename": n, "size": len(d)}
                            for i, (n, d) in enumerate(files.items())],
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }

    def _edit(self, hook_id: str, message_id: str, payload: dict, files: dict, headers: dict, now: float):
        owner = self.owner
        with owner._lock:
            known = owner.posted.get(message_id)
            if known is not None and known[0] == hook_id:
                shown = {**known[1], **payload}
                owner.posted[message_id] = (hook_id, shown)
                owner.edits.append(Edit(hook_id, message_id, payload, now))
                owner._lock.notify_all()
        if known is None or known[0] != hook_id:
            return self._reply(404, {"message": "Unknown Message", "code": 10008}, headers)
        return self._reply(200, self._message(message_id, hook_id, shown, files), headers)

    def _parse(self, raw: bytes) -> tuple[dict, dict]:
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            try:
                payload = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"bad JSON: {exc}") from None
            if not isinstance(payload, dict):
                raise ValueError("JSON body must be an object")
            return payload, {}
        if ctype.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode() + raw)
            payload, files = None, {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                if name == "payload_json":
                    payload = json.loads(data)
                elif name and re.fullmatch(r"files\[\d+\]", name):
                    files[part.get_filename() or name] = data
                else:
                    raise ValueError(f"unexpected form field {name!r}")
            if not isinstance(payload, dict):
                raise ValueError("payload_json missing")
            return payload, files
        raise ValueError(f"unsupported content type {ctype!r}")
