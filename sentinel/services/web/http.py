"""The HTTP/1.x server under the API, the dashboard and the metrics: asyncio, standard library.

Why asyncio (bench/bench_web_servers.py measures the candidates): every connection is a
coroutine, not a thread, so slow clients (slowloris) and 50 dashboards holding a server-sent
events stream cost a socket each, and one thread serves them all. Blocking work (config
writes, SQLite, scrypt) runs on a small thread pool. The request head is parsed by the
standard library's own parser (http.server), so request lines, header limits and version
checks behave as they always did; what it does not give, this module adds: one JSON error
shape, a whole-head deadline, a body deadline, a connection cap answered with a JSON 503
(never a reset), and a lingering close so a refused client still reads its refusal.

The application gives two hooks: `await app.respond(request, server, read_body)` returns a
Response or a Stream (`read_body(n)` reads the body within the request's deadline, so the app
checks who asks before any body is read), and `app.gate(path, header_name, header_value,
client)` may refuse a request as soon as one header arrives (a wrong bearer token is refused
before the rest of the head).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.message
import io
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 256  # open connections at once (slow ones included); more get a JSON 503
MAX_LINE = 65536  # the stdlib's limit for the request line and each header line
MAX_HEADERS = 100  # the stdlib's limit
MAX_BODY_BYTES = 256 * 1024
REQUEST_DEADLINE_S = 10.0  # the whole head, then the whole body, must arrive within this
WRITE_DEADLINE_S = 10.0  # a response (or one SSE frame) must be taken by the client within this
LINGER_S = 1.0  # after replying, read and discard what the client still sends, at most this long
LINGER_BYTES = 1024 * 1024
WORKERS = 4  # threads for blocking handlers
SHUTDOWN_ROUNDS, SHUTDOWN_ROUND_S = 4, 0.25  # stop(): cancel what is left this often, this long apart
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class HttpError(Exception):
    """Raised by handlers: answered as JSON `{"errors": [{"path", "message"}]}`."""

    def __init__(self, status: int, errors: list[tuple[str, str]], headers: dict | None = None,
                 plain: list[str] | None = None):
        super().__init__(status)
        self.status = status
        self.errors = errors
        self.headers = headers or {}
        self.plain = plain  # per error, the words a form shows a person (optional)


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: email.message.Message
    client: tuple
    path: str = ""
    query: str = ""
    body: bytes = b""
    state: dict = field(default_factory=dict)  # what the app's gate learned (e.g. "auth")

    def __post_init__(self) -> None:
        url = urlsplit(self.target)
        self.path, self.query = url.path, url.query

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else str(value)

    @property
    def cookies(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for value in self.headers.get_all("Cookie") or []:
            for part in str(value).split(";"):
                name, eq, val = part.strip().partition("=")
                if eq and name and name not in out:
                    out[name] = val.strip()
        return out


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict = field(default_factory=dict)


@dataclass
class Stream:
    """A streaming response (server-sent events): `run(send)` awaits `send(bytes)` until it returns."""

    run: Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]]
    headers: dict = field(default_factory=dict)
    content_type: str = "text/event-stream; charset=utf-8"


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()


def error_response(status: int, errors: list[tuple[str, str]], headers: dict | None = None,
                   plain: list[str] | None = None) -> Response:
    """`plain`: for each error, the words a person reads in a form (added as "plain")."""
    items = [{"path": path, "message": message} for path, message in errors]
    for item, text in zip(items, plain or ()):
        item["plain"] = text
    return Response(status, encode_json({"errors": items}), headers=dict(headers or {}))


class _HeadParser(BaseHTTPRequestHandler):
    """The stdlib's request-line and header parsing, run on bytes already read (no socket)."""

    def __init__(self, head: bytes):  # not super().__init__(): that would serve a socket
        first, _, rest = head.partition(b"\n")
        self.raw_requestline = first + b"\n" if _ else first
        self.rfile = io.BytesIO(rest)
        self.wfile = io.BytesIO()
        self.client_address = ("", 0)
        self.request_version = "HTTP/0.9"
        self.command = None
        self.close_connection = True
        self.error: tuple[int, str] | None = None

    def send_error(self, code, message=None, explain=None) -> None:
        self.error = (int(code), message or HTTPStatus(code).phrase)

    def log_message(self, format, *args) -> None:  # noqa: A002 (stdlib signature)
        pass

    def parse(self) -> tuple[int, str] | None:
        """None when the head is a request we serve; else (status, message)."""
        if len(self.raw_requestline) > MAX_LINE:
            return 414, "request line too long"
        ok = self.parse_request()
        if not ok:
            return self.error or (400, "empty request line")
        if self.request_version == "HTTP/0.9":
            return 400, "HTTP/0.9 is not supported"
        if self.command not in METHODS:
            return 501, f"unsupported method ({self.command[:20]!r})"
        return None


class HttpServer:
    """Binds synchronously, serves on its own thread with its own event loop; stop() is graceful."""

    def __init__(self, app, *, request_timeout_s: float = REQUEST_DEADLINE_S, max_connections: int = MAX_CONNECTIONS):
        self.app = app
        self.request_timeout_s = request_timeout_s
        self.max_connections = max_connections
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        return self._sock.getsockname()[:2] if self._sock is not None else None

    @property
    def connections(self) -> int:
        return len(self._tasks)

    def start(self, host: str, port: int) -> None:
        """Raises OSError when the address cannot be bound."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name == "nt" and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:  # on Windows SO_REUSEADDR would let two servers share a port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="web-worker")
        self._started.clear()
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)
        self._thread.start()
        self._started.wait(5.0)

    def stop(self, timeout: float = 3.0) -> None:
        loop, thread = self.loop, self._thread
        if loop is not None and self._stopping is not None:
            try:
                loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:  # the loop already ended
                pass
        if thread is not None:
            thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread = self._pool = self.loop = None
        self._sock = None

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the server's loop (from any thread); ignored when not running."""
        loop = self.loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(callback)
            except RuntimeError:
                pass

    async def in_worker(self, fn: Callable, *args) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        except Exception:
            log.exception("web server loop failed")
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self._sock, limit=MAX_LINE + 2)
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for writer in self._tasks.values():  # drop every connection, then end its task
                writer.transport.abort()
            for _ in range(SHUTDOWN_ROUNDS):
                # Again if need be: Python 3.11's wait_for can lose a cancel that meets a finished write.
                pending = list(self._tasks)
                if not pending:
                    break
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending, timeout=SHUTDOWN_ROUND_S)
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks[task] = writer
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        try:
            if len(self._tasks) > self.max_connections:
                log.debug("web busy: refusing a connection from %s", writer.get_extra_info("peername"))
                await self._reply(writer, "GET", error_response(
                    503, [("", "too many connections")], {"Retry-After": "1"}))
            else:
                await self._exchange(reader, writer)
            await self._linger(reader, writer)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or was too slow
        except Exception:
            log.exception("web connection failed")
        finally:
            writer.close()
            self._tasks.pop(task, None)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        deadline = time.monotonic() + self.request_timeout_s
        head, refused = await self._read_head(reader, deadline, writer.get_extra_info("peername") or ("", 0))
        if head is None:
            return
        # A bad request line outranks a refusal found in the headers, as in the stdlib's order.
        parser = _HeadParser(head if refused is None else head.split(b"\n", 1)[0] + b"\n")
        problem = parser.parse()
        if problem is not None:
            await self._reply(writer, parser.command, error_response(problem[0], [("", problem[1])]))
            return
        if refused is not None:
            await self._reply(writer, parser.command, refused)
            return
        request = Request(parser.command, parser.path, parser.request_version, parser.headers,
                          writer.get_extra_info("peername") or ("", 0))
        result = await self.app.respond(request, self, lambda length: self._read_body(reader, length, deadline))
        if isinstance(result, Stream):
            await self._stream(writer, request, result)
        else:
            await self._reply(writer, request.method, result)

    async def _read_head(self, reader: asyncio.StreamReader, deadline: float,
                         client: tuple) -> tuple[bytes | None, Response | None]:
        """The request line and headers; a Response instead when a header alone refuses it."""
        lines: list[bytes] = []
        target = ""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError
            try:
                line = await asyncio.wait_for(reader.readline(), remaining)
            except ValueError:  # longer than the stream limit
                first = not lines
                return b"GET / HTTP/1.0\r\n", error_response(
                    414 if first else 431, [("", "request line too long" if first else "header line too long")])
            if not lines:
                if not line:
                    return None, None  # connected and closed without a word
                lines.append(line)
                parts = line.split()
                target = parts[1].decode("latin-1", "replace") if len(parts) > 1 else ""
                if line.strip():
                    continue
                return line, None  # a blank request line: the parser answers it
            lines.append(line)
            if line in (b"\r\n", b"\n", b""):
                return b"".join(lines), None
            if len(lines) > MAX_HEADERS + 1:
                return lines[0], error_response(431, [("", f"more than {MAX_HEADERS} headers")])
            name, colon, value = line.partition(b":")
            if colon:
                refusal = self.app.gate(urlsplit(target).path, name.strip().decode("latin-1").lower(), value.strip(),
                                        client)
                if refusal is not None:
                    return lines[0], refusal

    async def _read_body(self, reader: asyncio.StreamReader, length: int, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        try:
            return await asyncio.wait_for(reader.readexactly(length), max(remaining, 0.001))
        except asyncio.IncompleteReadError as exc:
            return exc.partial

    async def _reply(self, writer: asyncio.StreamWriter, method: str | None, response: Response) -> None:
        head = [f"HTTP/1.1 {response.status} {_phrase(response.status)}",
                "Server: CafeSentinel",
                f"Content-Type: {response.content_type}",
                f"Content-Length: {len(response.body)}",
                "Cache-Control: no-store",
                "X-Content-Type-Options: nosniff",
                "Connection: close"]
        head += [f"{name}: {value}" for name, value in response.headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        writer.write(data if method == "HEAD" else data + response.body)
        await asyncio.wait_for(writer.drain(), WRITE_DEADLINE_S)

    async def _stream(self, writer: asyncio.StreamWriter, request: Request, stream: Stream) -> None:
        head = ["HTTP/1.1 200 OK", "Server: CafeSentinel", f"Content-Type: {stream.content_type}",
                "Cache-Control: no-store", "X-Content-Type-Options: nosniff", "Connection: close",
                "X-Accel-Buffering: no"]
        head += [f"{name}: {value}" for name, value in stream.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))

        async def send(data: bytes) -> None:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), WRITE_DEADLINE_S)  # a stuck client is dropped

        await send(b"")
        await stream.run(send)

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then drain briefly: closing with unread input would reset the connection."""
        if writer.can_write_eof():
            writer.write_eof()
        deadline = time.monotonic() + LINGER_S
        drained = 0
        while drained < LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except (asyncio.TimeoutError, OSError):
                break
            if not chunk:
                break
            drained += len(chunk)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
