"""The local API (SPEC.md section 7): JSON over HTTP on api_settings.bind:port, bearer token.

Standard library only: ThreadingHTTPServer is enough for a handful of local clients, and it
keeps the PyInstaller build free of a web framework. What the stdlib does not give, this
module adds: one JSON error shape for every failure (never an HTML page or a traceback), a
whole-request deadline (a client that trickles bytes cannot pin a thread), a cap on
concurrent connections, a size cap on bodies, and a lingering close so a client whose body
was refused still reads the refusal instead of a connection reset.

Every response body is JSON. Errors are `{"errors": [{"path": ..., "message": ...}]}`, where
`path` is a JSON path into the posted config, a query parameter name, or "" for the request.
"""

from __future__ import annotations

import dataclasses
import enum
import hmac
import io
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from sentinel.config.model import (ApiSettings, Config, atomic_write, config_from_dict, list_backups,
                             mask_webhook, normalise_webhook, parse_config, save_config)

log = logging.getLogger(__name__)

TOKEN_FILE_NAME = "api_token"  # in the data dir
MAX_BODY_BYTES = 256 * 1024
REQUEST_DEADLINE_S = 10.0  # whole request (line, headers, body) must arrive within this
MAX_CONNECTIONS = 16  # concurrent handler threads; more are refused with 503
SHUTDOWN_POLL_S = 0.1  # serve_forever notices stop() within this
LINGER_S = 1.0  # after replying, read and discard what the client still sends, at most this long
LINGER_BYTES = 1024 * 1024
AUTH_WARN_EVERY_S = 60.0  # unauthorised requests are logged at most this often
LIMIT_DEFAULT, LIMIT_MAX = 100, 1000
_MASKED_WEBHOOK = re.compile(r"/webhooks/(\d+)/\*\*\*/?$")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]{32,200}$")

StatusProvider = Callable[[], dict]
ListProvider = Callable[[int], list]
ConfigProvider = Callable[[], Config]


def ensure_api_token(data_root: Path) -> str:
    """The API token in `<data>/api_token`, created at first run (0600 on POSIX)."""
    path = Path(data_root) / TOKEN_FILE_NAME
    try:
        token = path.read_text(encoding="ascii").strip()
        if _TOKEN_CHARS.match(token):
            if os.name == "posix" and path.stat().st_mode & 0o077:
                path.chmod(0o600)
            return token
        log.warning("API token file %s is unreadable or damaged; writing a new token", path)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("API token file %s cannot be read (%s); writing a new token", path, exc)
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, token.encode("ascii"))  # mkstemp creates it 0600 on POSIX
    if os.name == "posix":
        path.chmod(0o600)
    log.info("API token created in %s", path)
    return token


class _BadRequest(Exception):
    def __init__(self, status: int, errors: list[tuple[str, str]], headers: dict | None = None):
        super().__init__(status)
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default, allow_nan=False, separators=(",", ":")).encode()


def _error_body(errors: list[tuple[str, str]]) -> dict:
    # mask_webhook on messages: a validation message may quote a posted URL.
    return {"errors": [{"path": path, "message": mask_webhook(message)} for path, message in errors]}


class _DeadlineReader(io.RawIOBase):
    """Socket reads that fail with TimeoutError once the request's deadline has passed."""

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server_version = "CafeSentinel"
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    server: "_Server"

    def setup(self) -> None:
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        deadline = time.monotonic() + self.server.api.request_timeout_s
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, deadline))
        self.wfile = self.connection.makefile("wb")  # buffered: loops over partial sends
        self._responded = False

    def parse_request(self) -> bool:
        ok = super().parse_request()
        if ok and self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not supported")
            return False
        if not ok and not self._responded:  # the stdlib sends nothing for a blank request line
            self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
        return ok

    def send_error(self, code, message=None, explain=None) -> None:
        """Every error the stdlib raises (bad request line, 414, 431, 501, 505) as JSON."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._send_json(code, _error_body([("", message or phrase)]))

    def _send_json(self, status: int, payload: Any, headers: dict | None = None) -> None:
        body = _encode(payload)
        self._responded = True
        if self.request_version == "HTTP/0.9":
            # The stdlib's default before the version is parsed; an HTTP/0.9 reply would have
            # no status line, so answer as HTTP/1.0 (also for "GET /path" without a version).
            self.request_version = "HTTP/1.0"
        self.connection.settimeout(self.server.api.request_timeout_s)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args) -> None:  # noqa: A002 (stdlib signature)
        # Request lines and status codes only; headers (the token) are never logged.
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        try:
            status, payload, headers = self.server.api.handle(self)
        except _BadRequest as exc:
            status, payload, headers = exc.status, _error_body(exc.errors), exc.headers
        except OSError:  # the client timed out or went away while sending its body
            self.close_connection = True
            return
        except Exception:
            log.exception("API request %s %s failed", self.command, urlsplit(self.path).path[:100])
            status, payload, headers = 500, _error_body([("", "internal error, see the log")]), {}
        try:
            self._send_json(status, payload, headers)
        except (ValueError, TypeError):  # the provider returned NaN or something that is not JSON
            log.exception("API response for %s is not JSON", urlsplit(self.path).path[:100])
            self._send_json(500, _error_body([("", "internal error, see the log")]))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = os.name != "nt"  # on Windows SO_REUSEADDR would let two servers share a port
    request_queue_size = 32

    def __init__(self, address: tuple[str, int], api: "ApiServer"):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.api = api
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if os.name == "nt" and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        super().server_bind()

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            log.debug("API busy: refusing a connection from %s", client_address)
            try:
                request.settimeout(0.2)
                body = _encode(_error_body([("", "too many connections")]))
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                                % (len(body), body))
            except OSError:
                pass
            self.close_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown_request(self, request) -> None:
        """Half-close, then drain briefly: closing with unread input would reset the connection."""
        try:
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_S
            drained = 0
            while drained < LINGER_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                request.settimeout(remaining)
                chunk = request.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass
        self.close_request(request)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # resets, timeouts: the client's problem
            log.debug("API connection from %s dropped: %s", client_address, sys.exc_info()[1])
        else:
            log.exception("API connection from %s failed", client_address)


class ApiServer:
    """The local API. start()/stop() it; reconfigure() on every ConfigReloaded.

    Providers are called on request threads: they must be thread-safe and quick.
    `current_config` is the config in force (used when the file on disk is invalid).
    """

    def __init__(self, settings: ApiSettings, token: str, *,
                 status: StatusProvider, incidents: ListProvider, sessions: ListProvider,
                 current_config: ConfigProvider, config_path: Path, backup_dir: Path,
                 request_timeout_s: float = REQUEST_DEADLINE_S):
        if not token:
            raise ValueError("the API needs a token")
        self._settings = settings
        self._token = token.encode("ascii")
        self._status = status
        self._incidents = incidents
        self._sessions = sessions
        self._current_config = current_config
        self.config_path = Path(config_path)
        self.backup_dir = Path(backup_dir)
        self.request_timeout_s = request_timeout_s
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._config_lock = threading.Lock()
        self._auth_log_lock = threading.Lock()
        self._auth_failures = 0
        self._auth_warned_at: float | None = None
        self.last_error: str | None = None
        self._routes = {
            "/api/status": {"GET": self._get_status},
            "/api/config": {"GET": self._get_config, "POST": self._post_config},
            "/api/config/backups": {"GET": self._get_backups},
            "/api/incidents": {"GET": self._get_incidents},
            "/api/sessions": {"GET": self._get_sessions},
        }

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) actually bound, or None when not running."""
        server = self._server
        return server.server_address[:2] if server else None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> bool:
        """Bind and serve on a daemon thread. A busy port is logged once; the app carries on."""
        with self._lifecycle:
            return self._start_locked()

    def stop(self) -> None:
        with self._lifecycle:
            self._stop_locked()

    def reconfigure(self, settings: ApiSettings) -> None:
        """Apply new api_settings: re-bind only if enabled/bind/port changed."""
        with self._lifecycle:
            if settings == self._settings and (self._server is not None) == settings.enabled:
                return
            self._stop_locked()
            self._settings = settings
            self._start_locked()

    def _start_locked(self) -> bool:
        if self._server is not None:
            return True
        s = self._settings
        if not s.enabled:
            log.info("local API disabled (api_settings.enabled is false)")
            return False
        try:
            server = _Server((s.bind, s.port), self)
        except OSError as exc:
            self.last_error = _bind_error(s.bind, s.port, exc)
            log.error("%s", self.last_error)
            return False
        self.last_error = None
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                                        name="api", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        if not ipaddress.ip_address(host).is_loopback:
            log.warning("local API listens on %s:%s, reachable from the network (plain HTTP)", host, port)
        log.info("local API listening on http://%s:%s/api/", host, port)
        return True

    def _stop_locked(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(5.0)
        log.info("local API stopped")

    # -- request handling (called on the connection's thread) ------------------------------

    def handle(self, request: _Handler) -> tuple[int, Any, dict]:
        self._authorise(request)
        url = urlsplit(request.path)
        methods = self._routes.get(url.path)
        if methods is None:
            raise _BadRequest(404, [("", f"no such endpoint: {url.path[:100]}")])
        action = methods.get(request.command)
        if action is None:
            raise _BadRequest(405, [("", f"{request.command} is not allowed here")],
                              {"Allow": ", ".join(methods)})
        return action(request, url.query)

    def _authorise(self, request: _Handler) -> None:
        values = request.headers.get_all("Authorization") or []
        presented = None
        if len(values) == 1:
            scheme, _, credentials = str(values[0]).strip().partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                presented = credentials.strip().encode("latin-1", "replace")
        if presented is not None and hmac.compare_digest(presented, self._token):
            return
        with self._auth_log_lock:
            self._auth_failures += 1
            now = time.monotonic()
            if self._auth_warned_at is None or now - self._auth_warned_at >= AUTH_WARN_EVERY_S:
                log.warning("local API: %d unauthorised request(s) (missing or wrong token), latest from %s",
                            self._auth_failures, request.client_address[0])
                self._auth_failures, self._auth_warned_at = 0, now
        challenge = 'Bearer realm="CafeSentinel"' + (', error="invalid_token"' if presented else "")
        raise _BadRequest(401, [("", "missing or wrong bearer token (Authorization: Bearer <token>)")],
                          {"WWW-Authenticate": challenge})

    def _get_status(self, request, query):
        _query_params(query, ())
        return 200, self._status(), {}

    def _get_incidents(self, request, query):
        limit = _limit(_query_params(query, ("limit",)))
        return 200, {"incidents": self._incidents(limit), "limit": limit}, {}

    def _get_sessions(self, request, query):
        limit = _limit(_query_params(query, ("limit",)))
        return 200, {"sessions": self._sessions(limit), "limit": limit}, {}

    def _get_backups(self, request, query):
        _query_params(query, ())
        backups = []
        for path in list_backups(self.backup_dir):
            try:
                st = path.stat()
            except OSError:
                continue  # pruned between listing and stat
            backups.append({"name": path.name, "size": st.st_size, "modified_wall": st.st_mtime,
                            "modified": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))})
        return 200, {"backups": backups}, {}

    def _config_on_disk(self) -> Config | None:
        try:
            return parse_config(self.config_path.read_bytes())[0]
        except OSError:
            return None

    def _get_config(self, request, query):
        """The saved config (what the watcher applies), or the one in force if the file is bad."""
        _query_params(query, ())
        config, source = self._config_on_disk(), "file"
        if config is None:
            config, source = self._current_config(), "in-force"
        return 200, config.masked_dict(), {"X-Config-Source": source}

    def _post_config(self, request, query):
        _query_params(query, ())
        raw = _read_json_body(request)
        with self._config_lock:
            on_disk = self._config_on_disk()
            raw, unmask_errors = unmask_webhooks(raw, on_disk or self._current_config())
            try:
                config, problems = config_from_dict(raw)
            except RecursionError:
                config, problems = None, [("", "body is nested too deeply")]
            except OverflowError:  # config.Number cannot compare a huge int with a float
                config, problems = None, [("", "a number is too large")]
            unmasked_paths = {path for path, _ in unmask_errors}
            problems = unmask_errors + [p for p in problems if p[0] not in unmasked_paths]
            if problems:
                log.info("config POST rejected: %s", ", ".join(path or "(body)" for path, _ in problems))
                raise _BadRequest(400, problems)
            if config != on_disk:  # an identical POST leaves the file and the backups alone
                save_config(config, self.config_path, self.backup_dir)
                log.info("config saved through the local API")
        return 200, config.masked_dict(), {}


def unmask_webhooks(raw: Any, current: Config) -> tuple[Any, list[tuple[str, str]]]:
    """Put the current token back where a posted webhook is the masked form of the current one.

    `GET /api/config` hides tokens as `…/webhooks/{id}/***`; posting that back means "keep
    this webhook". A masked value that is not the current webhook of that key cannot be
    resolved: it is reported so the owner pastes the full URL.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("discord_settings"), dict):
        return raw, []
    section = dict(raw["discord_settings"])
    errors = []
    for key, value in section.items():
        if not key.startswith("webhook_") or not isinstance(value, str):
            continue
        match = _MASKED_WEBHOOK.search(value.strip())
        if not match:
            continue
        existing = getattr(current.discord_settings, key, "") or ""
        candidate = value.strip()[:match.start()] + f"/webhooks/{match.group(1)}/"
        if existing and _same_webhook(candidate + existing.rsplit("/", 1)[-1], existing):
            section[key] = existing
        else:
            section[key] = ""
            errors.append((f"discord_settings.{key}",
                           "is a masked webhook (…/***) that is not the current one for this key; "
                           "paste the full webhook URL to change it"))
    return {**raw, "discord_settings": section}, errors


def _same_webhook(candidate: str, existing: str) -> bool:
    try:
        return normalise_webhook(candidate) == existing
    except ValueError:
        return False


def _query_params(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True, max_num_fields=10,
                          errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest(400, [("", "malformed query string")]) from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise _BadRequest(400, [(name[:50], "unknown query parameter")])
        if name in params:
            raise _BadRequest(400, [(name, "given more than once")])
        params[name] = value
    return params


def _limit(params: dict[str, str]) -> int:
    text = params.get("limit")
    if text is None:
        return LIMIT_DEFAULT
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text) <= LIMIT_MAX:
        raise _BadRequest(400, [("limit", f"must be a whole number from 1 to {LIMIT_MAX}")])
    return int(text)


def _read_json_body(request: _Handler) -> Any:
    headers = request.headers
    if headers.get("Transfer-Encoding"):
        raise _BadRequest(400, [("", "chunked bodies are not supported; send Content-Length")])
    lengths = headers.get_all("Content-Length") or []
    if len(lengths) != 1 or not re.fullmatch(r"\s*[0-9]{1,20}\s*", str(lengths[0])):
        raise _BadRequest(400, [("", "one valid Content-Length header is required")])
    length = int(lengths[0])
    if length > MAX_BODY_BYTES:
        raise _BadRequest(413, [("", f"body is larger than {MAX_BODY_BYTES} bytes")])
    ctype = str(headers.get("Content-Type", ""))
    media, _, params = ctype.partition(";")
    charset = params.strip().lower().replace(" ", "")
    if media.strip().lower() != "application/json" or charset not in ("", "charset=utf-8", 'charset="utf-8"'):
        raise _BadRequest(400, [("", "Content-Type must be application/json (UTF-8)")])
    body = request.rfile.read(length)
    if len(body) != length:
        raise _BadRequest(400, [("", f"body ended after {len(body)} of {length} bytes")])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadRequest(400, [("", f"body is not UTF-8 (bad byte at offset {exc.start})")]) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise _BadRequest(400, [("", "body is nested too deeply")]) from None
    except json.JSONDecodeError as exc:
        raise _BadRequest(400, [("", f"broken JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]) from None
    except ValueError as exc:  # NaN/Infinity, or an integer with too many digits
        raise _BadRequest(400, [("", f"invalid JSON value: {str(exc)[:100]}")]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _bind_error(host: str, port: int, exc: OSError) -> str:
    in_use = {98, 48, 10048}  # EADDRINUSE on Linux, macOS; WSAEADDRINUSE
    if exc.errno in in_use or getattr(exc, "winerror", None) in in_use:
        reason = "the port is already in use by another program"
    elif exc.errno == 13 or getattr(exc, "winerror", None) == 10013:
        reason = "access denied (a reserved or excluded port?)"
    else:
        reason = exc.strerror or str(exc)
    return (f"local API not started: cannot listen on {host}:{port}: {reason}. "
            f"Change api_settings.port in config.json; monitoring carries on without the API.")
