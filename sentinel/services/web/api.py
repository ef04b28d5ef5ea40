"""The one HTTP server (README "Local API", "Web dashboard"): the JSON API, the dashboard, login, metrics.

JSON over HTTP on api_settings.bind:port. Scripts send `Authorization: Bearer <token>`; a
browser logs in with the admin password and gets a session cookie (HttpOnly, SameSite=Strict)
plus a CSRF token for its POSTs. The transport (asyncio, limits, SSE streaming) is in http.py.

Every API response body is JSON. Errors are `{"errors": [{"path": ..., "message": ...}]}`, where
`path` is a JSON path into the posted config, a query parameter name, or "" for the request.
`POST /api/config` merges: sections and keys left out keep their saved values.
"""

from __future__ import annotations

import dataclasses
import enum
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from sentinel import __version__
from sentinel.config.model import (
    ApiSettings,
    Config,
    config_from_dict,
    list_backups,
    parse_config,
    save_config,
)
from sentinel.files import atomic_write
from sentinel.services.web import static
from sentinel.services.web.http import (
    MAX_CONNECTIONS,
    REQUEST_DEADLINE_S,
    HttpError,
    HttpServer,
    Request,
    Response,
    Stream,
    error_response,
)
from sentinel.services.web.inputs import (checked_body, http_error, limit_param, merge_config, parse_json_body,
                                          query_params, unmask_webhooks, whole_param)
from sentinel.services.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from sentinel.services.web.sessions import COOKIE, Sessions, clear_cookie, set_cookie
from sentinel.services.web.sse import EventHub
from sentinel.timefmt import spoken

log = logging.getLogger(__name__)

TOKEN_FILE_NAME = "api_token"  # in the data dir
AUTH_WARN_EVERY_S = 60.0  # unauthorised requests are logged at most this often
LOG_LINES_DEFAULT, LOG_LINES_MAX = 200, 5000
DASHBOARD_INCIDENTS = 10  # newest incidents on the page
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9._-]+")
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


def mask_secrets(text: str, token: str) -> str:
    """A log line fit for the browser: webhook tokens and the API token hidden."""
    text = _WEBHOOK_TOKEN.sub(r"\1***", text)
    return text.replace(token, "***") if token else text


class ApiServer:
    """The one HTTP server: JSON API, dashboard, login, metrics. start()/stop(); reconfigure() on ConfigReloaded.

    Providers are called on worker threads: they must be thread-safe and quick. `current_config`
    is the config in force (used when the file on disk is invalid). `verify_admin(password)`
    returns an object with `ok`, `locked_for_s`, `tries_left` (the vault's AttemptResult), or
    None when no admin password is set up. The dashboard shows `status`, `today` (the day's
    timeline) and the newest incidents; call notify() whenever they may have changed.
    `settings_form()` is the desktop Settings' layout (tabs, groups, fields) for the web form,
    and `explain(path, message)` the plain words it shows for a problem.
    """

    def __init__(self, settings: ApiSettings, token: str, *,
                 status: StatusProvider, incidents: ListProvider, sessions: ListProvider,
                 current_config: ConfigProvider, config_path: Path, backup_dir: Path,
                 request_timeout_s: float = REQUEST_DEADLINE_S, max_connections: int = MAX_CONNECTIONS,
                 today: StatusProvider | None = None, metrics: Callable[[], bytes] | None = None,
                 verify_admin: Callable[[str], Any] | None = None, log_path: Path | None = None,
                 settings_form: Callable[[], dict | None] | None = None,
                 explain: Callable[[str, str], str] | None = None, clock: Callable[[], float] = time.monotonic):
        if not token:
            raise ValueError("the API needs a token")
        self._settings = settings
        self._token_text = token
        self._token = token.encode("ascii")
        self._status = status
        self._incidents = incidents
        self._sessions_list = sessions
        self._current_config = current_config
        self._today = today
        self._metrics = metrics
        self._verify_admin = verify_admin
        self._log_path = Path(log_path) if log_path else None
        self._settings_form = settings_form
        self._explain = explain
        self._clock = clock
        self.config_path = Path(config_path)
        self.backup_dir = Path(backup_dir)
        self.request_timeout_s = request_timeout_s
        self.max_connections = max_connections
        self.logins = Sessions()
        self.hub = EventHub(self._dashboard_frame)
        self._server: HttpServer | None = None
        self._lifecycle = threading.Lock()
        self._config_lock = threading.Lock()
        self._login_lock = threading.Lock()
        self._auth_log_lock = threading.Lock()
        self._auth_failures = 0
        self._auth_warned_at: float | None = None
        self.last_error: str | None = None
        self._routes = {
            "/api/status": {"GET": self._get_status},
            "/api/config": {"GET": self._get_config, "POST": self._post_config},
            "/api/config/backups": {"GET": self._get_backups},
            "/api/config/form": {"GET": self._get_form},
            "/api/incidents": {"GET": self._get_incidents},
            "/api/sessions": {"GET": self._get_sessions},
            "/api/logs": {"GET": self._get_logs},
            "/metrics": {"GET": self._get_metrics},
        }
        self._public = {"/api/session": {"GET": self._get_session},
                        "/api/login": {"POST": self._post_login},
                        "/api/logout": {"POST": self._post_logout}}

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) actually bound, or None when not running."""
        server = self._server
        return server.address if server else None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def _thread(self) -> threading.Thread | None:
        return self._server._thread if self._server else None

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

    def notify(self) -> None:
        """The dashboard's picture may have changed (any thread): SSE clients get a new frame."""
        server = self._server
        if server is not None:
            server.call_soon(self.hub.changed)

    def _start_locked(self) -> bool:
        if self._server is not None:
            return True
        s = self._settings
        if not s.enabled:
            log.info("local API disabled (api_settings.enabled is false)")
            return False
        self.hub = EventHub(self._dashboard_frame)
        server = HttpServer(self, request_timeout_s=self.request_timeout_s, max_connections=self.max_connections)
        try:
            server.start(s.bind, s.port)
        except OSError as exc:
            self.last_error = _bind_error(s.bind, s.port, exc)
            log.error("%s", self.last_error)
            return False
        self.last_error = None
        self._server = server
        host, port = server.address
        if not ipaddress.ip_address(host).is_loopback:
            log.warning("local API listens on %s:%s, reachable from the network (plain HTTP)", host, port)
        log.info("web server listening on http://%s:%s/ (dashboard, /api/, /metrics)", host, port)
        return True

    def _stop_locked(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        log.info("local API stopped")

    # -- the connection's hooks (called on the server's loop) ------------------------------

    def gate(self, path: str, name: str, value: bytes, client: tuple) -> Response | None:
        """Refuse a wrong bearer token as soon as its header arrives, before the rest of the head."""
        if name != "authorization" or self._is_public(path):
            return None
        if self._bearer_ok(value.decode("latin-1")):
            return None
        return self._unauthorised(value.strip() != b"", client[0] if client else "")

    async def respond(self, request: Request, server: HttpServer, read_body) -> Response | Stream:
        try:
            result = await self._route(request, server, read_body)
        except HttpError as exc:
            return error_response(exc.status, exc.errors, exc.headers, exc.plain)
        except (TimeoutError, ConnectionError):  # the client was too slow sending its body, or went away
            raise
        except Exception:
            log.exception("API request %s %s failed", request.method, request.path[:100])
            return error_response(500, [("", "internal error, see the log")])
        if isinstance(result, (Response, Stream)):
            return result
        status, payload, headers = result
        try:
            return Response(status, _encode(payload), headers=headers)
        except (ValueError, TypeError):  # the provider returned NaN or something that is not JSON
            log.exception("API response for %s is not JSON", request.path[:100])
            return error_response(500, [("", "internal error, see the log")])

    async def _route(self, request: Request, server: HttpServer, read_body):
        if request.method in ("GET", "HEAD") and (request.path == "/" or request.path.startswith("/static/")):
            return static.page(request.path)
        public = self._public.get(request.path)
        if public is not None:
            action = self._method(public, request)
            if request.method == "POST":
                self._refuse_cross_site(request)
                request.body = await checked_body(request, read_body, json_body=request.path == "/api/login")
            return await server.in_worker(action, request)
        self._authorise(request)
        if request.path == "/events":
            self._method({"GET": None}, request)
            query_params(request.query, ())
            hub = self.hub
            return Stream(lambda send: hub.serve(send, request.header("Last-Event-ID"), server.in_worker))
        methods = self._routes.get(request.path)
        if methods is None:
            raise http_error(404, [("", f"no such endpoint: {request.path[:100]}")])
        action = self._method(methods, request)
        if request.method == "POST":
            if request.state["auth"] == "cookie":
                self._check_csrf(request)
            request.body = await checked_body(request, read_body, json_body=True)
        return await server.in_worker(action, request)

    @staticmethod
    def _method(methods: dict, request: Request):
        if request.method not in methods:
            raise http_error(405, [("", f"{request.method} is not allowed here")], {"Allow": ", ".join(methods)})
        return methods[request.method]

    # -- who may ask -----------------------------------------------------------------------

    def _is_public(self, path: str) -> bool:
        return path == "/" or path.startswith("/static/") or path in self._public

    def _bearer_ok(self, value: str) -> bool:
        scheme, _, credentials = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return False
        return hmac.compare_digest(credentials.strip().encode("latin-1", "replace"), self._token)

    def _authorise(self, request: Request) -> None:
        values = request.headers.get_all("Authorization") or []
        if len(values) == 1 and self._bearer_ok(str(values[0])):
            request.state["auth"] = "token"
            return
        if not values:
            session = self.logins.get(request.cookies.get(COOKIE), self._clock())
            if session is not None:
                request.state["auth"], request.state["session"] = "cookie", session
                return
        response = self._unauthorised(bool(values), request.client[0] if request.client else "")
        raise HttpError(response.status, [("", "log in, or send Authorization: Bearer <token>")],
                        {"WWW-Authenticate": response.headers["WWW-Authenticate"]})

    def _unauthorised(self, presented: bool, client: str) -> Response:
        with self._auth_log_lock:
            self._auth_failures += 1
            now = time.monotonic()
            if self._auth_warned_at is None or now - self._auth_warned_at >= AUTH_WARN_EVERY_S:
                log.warning("local API: %d unauthorised request(s) (missing or wrong token), latest from %s",
                            self._auth_failures, client)
                self._auth_failures, self._auth_warned_at = 0, now
        challenge = 'Bearer realm="CafeSentinel"' + (', error="invalid_token"' if presented else "")
        return error_response(401, [("", "missing or wrong bearer token (Authorization: Bearer <token>)")],
                              {"WWW-Authenticate": challenge})

    def _refuse_cross_site(self, request: Request) -> None:
        """A browser says where a request comes from: anything but this origin is refused."""
        site = request.header("Sec-Fetch-Site").lower()
        origin = request.header("Origin")
        host = request.header("Host")
        if site and site not in ("same-origin", "none"):
            raise http_error(403, [("", "cross-site request refused")])
        if origin and urlsplit(origin).netloc.lower() != host.lower():
            raise http_error(403, [("", "cross-site request refused")])

    def _check_csrf(self, request: Request) -> None:
        self._refuse_cross_site(request)
        sent = request.header("X-CSRF-Token").encode("latin-1", "replace")
        if not hmac.compare_digest(sent, request.state["session"].csrf.encode()):
            raise http_error(403, [("", "missing or wrong X-CSRF-Token (reload the page)")])

    # -- login -----------------------------------------------------------------------------

    def _get_session(self, request: Request):
        query_params(request.query, ())
        session = self.logins.get(request.cookies.get(COOKIE), self._clock())
        return 200, {"logged_in": session is not None, "csrf": session.csrf if session else None,
                     "login_available": self._verify_admin is not None}, {}

    def _post_login(self, request: Request):
        body = parse_json_body(request.body)
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(password, str) or not password or len(password) > 1024:
            raise http_error(400, [("password", "send {\"password\": \"...\"}")])
        if self._verify_admin is None:
            raise http_error(503, [("", "web login is not available: no admin password is set up on the cafe PC")])
        with self._login_lock:  # one scrypt at a time; tries are counted in order
            attempt = self._verify_admin(password)
        if attempt is None:
            raise http_error(503, [("", "web login is not available: no admin password is set up on the cafe PC")])
        if attempt.ok:
            session = self.logins.create(self._clock())
            log.info("web login from %s", request.client[0] if request.client else "?")
            return 200, {"logged_in": True, "csrf": session.csrf}, {"Set-Cookie": set_cookie(session)}
        log.warning("web login: wrong admin password from %s", request.client[0] if request.client else "?")
        if attempt.locked_for_s > 0:
            wait = int(attempt.locked_for_s + 0.999)
            raise HttpError(429, [("password", f"too many wrong passwords: locked for {spoken(wait)}")],
                            {"Retry-After": str(wait)})
        raise http_error(401, [("password", f"wrong password ({attempt.tries_left} tries left before a lockout)")])

    def _post_logout(self, request: Request):
        self.logins.drop(request.cookies.get(COOKIE))
        return 200, {"logged_in": False}, {"Set-Cookie": clear_cookie()}

    # -- the dashboard's stream ------------------------------------------------------------

    def dashboard(self) -> dict:
        """The picture the page shows (each SSE frame): the status window's content and today."""
        return {**self._status(), "today": self._today() if self._today else None,
                "incidents": self._incidents(DASHBOARD_INCIDENTS),
                "shop": self._current_config().discord_settings.shop_name, "version": __version__}

    def _dashboard_frame(self) -> bytes:
        return _encode(self.dashboard())

    # -- endpoints (worker threads) --------------------------------------------------------

    def _get_status(self, request: Request):
        query_params(request.query, ())
        return 200, self._status(), {}

    def _get_incidents(self, request: Request):
        limit = limit_param(query_params(request.query, ("limit",)))
        return 200, {"incidents": self._incidents(limit), "limit": limit}, {}

    def _get_sessions(self, request: Request):
        limit = limit_param(query_params(request.query, ("limit",)))
        return 200, {"sessions": self._sessions_list(limit), "limit": limit}, {}

    def _get_metrics(self, request: Request):
        query_params(request.query, ())
        if self._metrics is None:
            raise http_error(404, [("", "metrics are not available")])
        return Response(200, self._metrics(), content_type=METRICS_CONTENT_TYPE)

    def _get_logs(self, request: Request):
        params = query_params(request.query, ("lines",))
        lines = whole_param(params, "lines", LOG_LINES_DEFAULT, LOG_LINES_MAX)
        tail = _tail(self._log_path, lines) if self._log_path else []
        return 200, {"lines": [mask_secrets(line, self._token_text) for line in tail], "limit": lines}, {}

    def _get_backups(self, request: Request):
        query_params(request.query, ())
        backups = []
        for path in list_backups(self.backup_dir):
            try:
                st = path.stat()
            except OSError:
                continue  # pruned between listing and stat
            backups.append({"name": path.name, "size": st.st_size, "modified_wall": st.st_mtime,
                            "modified": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))})
        return 200, {"backups": backups}, {}

    def _get_form(self, request: Request):
        query_params(request.query, ())
        form = self._settings_form() if self._settings_form else None
        if form is None:
            raise http_error(404, [("", "no settings layout: the page shows every key as it is in config.json")])
        return 200, form, {}

    def _config_on_disk(self) -> Config | None:
        try:
            return parse_config(self.config_path.read_bytes())[0]
        except OSError:
            return None

    def _get_config(self, request: Request):
        """The saved config (what the watcher applies), or the one in force if the file is bad."""
        query_params(request.query, ())
        config, source = self._config_on_disk(), "file"
        if config is None:
            config, source = self._current_config(), "in-force"
        return 200, config.masked_dict(), {"X-Config-Source": source}

    def _post_config(self, request: Request):
        """Merge the posted sections and keys onto the saved config, validate the whole, save it."""
        query_params(request.query, ())
        raw = parse_json_body(request.body)
        with self._config_lock:
            on_disk = self._config_on_disk()
            base = on_disk or self._current_config()
            raw, unmask_errors = unmask_webhooks(raw, base)
            try:
                config, problems = config_from_dict(merge_config(base.to_dict(), raw))
            except RecursionError:
                config, problems = None, [("", "body is nested too deeply")]
            except OverflowError:  # config.Number cannot compare a huge int with a float
                config, problems = None, [("", "a number is too large")]
            unmasked_paths = {path for path, _ in unmask_errors}
            problems = unmask_errors + [p for p in problems if p[0] not in unmasked_paths]
            if problems:
                log.info("config POST rejected: %s", ", ".join(path or "(body)" for path, _ in problems))
                raise self._problems(problems)
            if config != on_disk:  # an identical POST leaves the file and the backups alone
                save_config(config, self.config_path, self.backup_dir)
                log.info("config saved through the local API (%s)", request.state.get("auth"))
        return 200, config.masked_dict(), {}


    def _problems(self, problems: list[tuple[str, str]]) -> HttpError:
        """400 with each problem; `plain` adds the words the Settings form shows (when known)."""
        error = http_error(400, problems)
        if self._explain is None:
            return error
        plain = []
        for path, message in error.errors:
            try:
                plain.append(self._explain(path, message))
            except Exception:  # a wording helper must never turn a 400 into a 500
                log.exception("explaining %s failed", path)
                plain.append(message)
        return HttpError(400, error.errors, plain=plain)


def _tail(path: Path, lines: int) -> list[str]:
    """The newest `lines` lines of a text file, read from its end."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            block, data = 64 * 1024, b""
            while end > 0 and data.count(b"\n") <= lines:
                start = max(end - block, 0)
                f.seek(start)
                data = f.read(end - start) + data
                end = start
    except FileNotFoundError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


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
