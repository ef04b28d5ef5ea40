"""Discord webhook delivery that never loses a message.

- `Message` is what the notifier builds; `Delivery.enqueue` stamps the shop name, footers and
  timestamps, validates it against Discord's limits and stores it in the outbox (SQLite)
  before anything is sent. Enqueue is an insert plus a wake-up: it never waits on the network.
- One `_Sender` thread per webhook kind drains its queue in order. A message leaves the outbox
  only when Discord confirmed it (`?wait=true` -> 200 with a message id) or rejected it for
  good (400).
- Rate limits: `X-RateLimit-Remaining` / `X-RateLimit-Reset-After` are honoured before sending,
  429 waits `retry_after` (seconds on v8+, milliseconds on the legacy unversioned API).
  5xx, timeouts and connection errors back off exponentially with jitter, capped.
- 401/403/404: the webhook is dead; its messages stay queued until the config gives that kind
  a new URL (`reconfigure`). A `DeliveryStatus` event tells the UI.

The decisions (`plan_send`, `after_headers`, `classify`, `retry_after_seconds`,
`Backoff.delay`, `mark_late`, `validate_payload`) are pure functions with time passed in.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Mapping

import requests

from sentinel.config.model import DiscordSettings, mask_webhook
from sentinel.events import DeliveryStatus
from sentinel.services.discord.outbox import Attachment, Outbox, StoredMessage
from sentinel.timefmt import clock, iso_utc, stamp

log = logging.getLogger(__name__)

KINDS = ("alerts", "occupancy", "screenshots")

# Discord's documented limits (message resource, embed limits, uploads).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBED_TOTAL = 6000  # title + description + field names/values + footer + author, all embeds
MAX_USERNAME = 80
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024

LATE_AFTER_S = 60.0  # delivered later than this after creation -> "delivered late"
RATE_MARGIN_S = 0.02  # added to Reset-After: our clock reads the header after the server wrote it
MAX_RETRY_AFTER_S = 3600.0  # never believe a 429 asking for more than this
PROBE_POLL_S = 0.02  # how often a sender re-checks while another one probes an unknown bucket
PROBE_TIMEOUT_S = 60.0  # a probe with no answer for this long no longer holds the others back
OUTBOX_POLL_S = 5.0  # an idle sender looks at the outbox this often
SAME_WINDOW_S = 0.1  # two reset times closer than this belong to the same rate-limit window

COLOURS = {
    "down": 0xE74C3C,
    "restored": 0x2ECC71,
    "config": 0xE67E22,
    "privacy": 0x9B59B6,
    "occupancy": 0x3498DB,
    "snapshot": 0x1ABC9C,
    "screenshot": 0x95A5A6,
    "test": 0x5865F2,
}


# ---------------------------------------------------------------------------------------------
# Messages and limits


@dataclass(frozen=True, slots=True)
class Message:
    """One webhook message as the notifier builds it (before shop name and footers)."""

    kind: str  # one of KINDS
    event_id: str
    created_wall: float
    content: str = ""
    embeds: tuple[dict, ...] = ()
    files: tuple[Attachment, ...] = ()


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def embed_chars(embed: Mapping) -> int:
    """Characters of one embed that count towards Discord's 6000 total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len((embed.get("footer") or {}).get("text", ""))
    total += len((embed.get("author") or {}).get("name", ""))
    for f in embed.get("fields", ()):
        total += len(f.get("name", "")) + len(f.get("value", ""))
    return total


def validate_payload(payload: Mapping, files: Iterable[Attachment] = ()) -> list[str]:
    """Every way `payload` (+ files) breaks Discord's limits; [] when it is valid."""
    problems = []
    files = list(files)
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    if not content and not embeds and not files:
        problems.append("message is empty (no content, embeds or files)")
    if len(content) > MAX_CONTENT:
        problems.append(f"content has {len(content)} characters (max {MAX_CONTENT})")
    if len(payload.get("username") or "") > MAX_USERNAME:
        problems.append(f"username longer than {MAX_USERNAME}")
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"{len(embeds)} embeds (max {MAX_EMBEDS})")
    total = 0
    for i, e in enumerate(embeds):
        where = f"embeds[{i}]"
        for key, limit in (("title", MAX_TITLE), ("description", MAX_DESCRIPTION)):
            if len(e.get(key, "")) > limit:
                problems.append(f"{where}.{key} longer than {limit}")
        if len((e.get("footer") or {}).get("text", "")) > MAX_FOOTER:
            problems.append(f"{where}.footer.text longer than {MAX_FOOTER}")
        if len((e.get("author") or {}).get("name", "")) > MAX_AUTHOR_NAME:
            problems.append(f"{where}.author.name longer than {MAX_AUTHOR_NAME}")
        fields = e.get("fields", [])
        if len(fields) > MAX_FIELDS:
            problems.append(f"{where} has {len(fields)} fields (max {MAX_FIELDS})")
        for j, f in enumerate(fields):
            if not f.get("name") or len(f["name"]) > MAX_FIELD_NAME:
                problems.append(f"{where}.fields[{j}].name must be 1..{MAX_FIELD_NAME} characters")
            if not f.get("value") or len(f["value"]) > MAX_FIELD_VALUE:
                problems.append(f"{where}.fields[{j}].value must be 1..{MAX_FIELD_VALUE} characters")
        total += embed_chars(e)
    if total > MAX_EMBED_TOTAL:
        problems.append(f"embeds have {total} characters in total (max {MAX_EMBED_TOTAL})")
    if len(files) > MAX_FILES:
        problems.append(f"{len(files)} files (max {MAX_FILES})")
    names = {f.filename for f in files}
    for f in files:
        if len(f.data) > MAX_FILE_BYTES:
            problems.append(f"file {f.filename} is {len(f.data)} bytes (max {MAX_FILE_BYTES})")
    for i, e in enumerate(embeds):
        for key in ("image", "thumbnail"):
            url = (e.get(key) or {}).get("url", "")
            if url.startswith("attachment://") and url[len("attachment://"):] not in names:
                problems.append(f"embeds[{i}].{key} refers to a file that is not attached")
    return problems


def fit_lines(lines: list[str], budget: int) -> tuple[str, int]:
    """Join as many whole lines as fit in `budget` characters; returns (text, lines used)."""
    out, used = [], 0
    for line in lines:
        line = clip(line, budget)
        extra = len(line) + (1 if out else 0)
        if used + extra > budget:
            break
        out.append(line)
        used += extra
    return "\n".join(out), len(out)


def pack_lines(title: str, lines: list[str], *, colour: int, footer_reserve: int = 120,
               description_budget: int = 3000, first_description: str = "") -> list[tuple[dict, ...]]:
    """Spread `lines` over as many embeds and messages as needed; every message stays valid.

    Returns a tuple of embeds per message. Titles get "(part i/n)" when there is more than one.
    `footer_reserve` keeps room for the footer Delivery adds to every embed.
    """
    chunks: list[str] = []
    rest = ([first_description, ""] if first_description else []) + list(lines)
    if not any(rest):
        rest = ["-"]
    while rest:
        text, used = fit_lines(rest, description_budget)
        if used == 0:  # a single huge line: clip it
            text, used = clip(rest[0], description_budget), 1
        chunks.append(text)
        rest = rest[used:]
    per_embed_cost = MAX_TITLE + footer_reserve
    messages: list[list[dict]] = [[]]
    total = 0
    for text in chunks:
        cost = len(text) + per_embed_cost
        if messages[-1] and (len(messages[-1]) >= MAX_EMBEDS or total + cost > MAX_EMBED_TOTAL):
            messages.append([])
            total = 0
        messages[-1].append({"description": text, "color": colour})
        total += cost
    n = len(messages)
    for i, embeds in enumerate(messages):
        embeds[0]["title"] = clip(title if n == 1 else f"{title} (part {i + 1}/{n})", MAX_TITLE)
    return [tuple(m) for m in messages]


def finish_payload(message: Message, shop_name: str) -> dict:
    """The webhook body: username = shop, footer "<shop> · <event id>" and a timestamp on every embed."""
    footer = clip(f"{shop_name} · {message.event_id}", MAX_FOOTER)
    embeds = []
    for embed in message.embeds:
        e = dict(embed)
        e["footer"] = {"text": footer}
        e.setdefault("timestamp", iso_utc(message.created_wall))
        embeds.append(e)
    payload: dict = {"username": clip(shop_name, MAX_USERNAME) or "CafeSentinel"}
    if message.content:
        payload["content"] = clip(message.content, MAX_CONTENT)
    if embeds:
        payload["embeds"] = embeds
    return payload


def mark_late(payload: dict, created_wall: float, now_wall: float) -> dict:
    """Payload to send now: says "delivered late; happened at ..." when sent > LATE_AFTER_S late.

    The embed timestamps keep the original time.
    """
    if now_wall - created_wall <= LATE_AFTER_S:
        return payload
    same_day = datetime.fromtimestamp(created_wall).date() == datetime.fromtimestamp(now_wall).date()
    note = f"*delivered late; happened at {(clock(created_wall) if same_day else stamp(created_wall))}*"
    content = payload.get("content") or ""
    marked = dict(payload)
    marked["content"] = clip(f"{note}\n{content}" if content else note, MAX_CONTENT)
    return marked


# ---------------------------------------------------------------------------------------------
# Pure rate-limit and retry decisions


@dataclass(frozen=True, slots=True)
class Bucket:
    """What we know about one webhook's rate limit. Times are monotonic seconds."""

    remaining: int | None = None  # None: unknown (no headers yet, or the window has reset)
    reset_at: float = 0.0
    blocked_until: float = 0.0  # from a 429 (or a global 429)
    probe_since: float | None = None  # a request is out to learn the unknown bucket


def plan_send(bucket: Bucket, now: float) -> tuple[float, Bucket]:
    """(seconds to wait, bucket). Wait 0 means: send now, and the bucket counts the request.

    While the bucket is unknown only one request (the probe) goes out; senders sharing the
    webhook wait for its headers rather than all guessing at once.
    """
    if now < bucket.blocked_until:
        return bucket.blocked_until - now, bucket
    if bucket.remaining is not None and now < bucket.reset_at:
        if bucket.remaining <= 0:
            return bucket.reset_at - now, bucket
        return 0.0, dataclasses.replace(bucket, remaining=bucket.remaining - 1)
    if bucket.probe_since is not None and now - bucket.probe_since < PROBE_TIMEOUT_S:
        return PROBE_POLL_S, bucket
    return 0.0, dataclasses.replace(bucket, remaining=None, probe_since=now)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def after_headers(bucket: Bucket, headers: Mapping[str, str], now: float) -> Bucket:
    """Update the bucket from X-RateLimit-Remaining / X-RateLimit-Reset-After of any response.

    Within the same window the lower count wins: responses of concurrent requests may arrive
    out of order, and local reservations already counted requests still in flight.
    """
    remaining = _number(headers.get("X-RateLimit-Remaining"))
    reset_after = _number(headers.get("X-RateLimit-Reset-After"))
    if remaining is None or reset_after is None:
        return dataclasses.replace(bucket, probe_since=None)
    reset_at = now + reset_after + RATE_MARGIN_S
    count = int(remaining)
    same_window = bucket.remaining is not None and reset_at <= bucket.reset_at + SAME_WINDOW_S
    if same_window:
        count = min(count, bucket.remaining)
        reset_at = max(reset_at, bucket.reset_at)
    return dataclasses.replace(bucket, remaining=count, reset_at=reset_at, probe_since=None)


def after_failure(bucket: Bucket) -> Bucket:
    """No response (connection error, timeout): the probe is over without news."""
    return dataclasses.replace(bucket, probe_since=None)


def is_legacy_api(url: str) -> bool:
    """Unversioned (`/api/webhooks/...`) or pre-v8 paths answer 429 retry_after in milliseconds."""
    match = re.search(r"/api(?:/v(\d+))?/webhooks/", url)
    if not match:
        return False
    return match.group(1) is None or int(match.group(1)) < 8


def retry_after_seconds(body: object, headers: Mapping[str, str], legacy: bool) -> float:
    """How long a 429 asks us to wait, in seconds: body retry_after, else Retry-After, else Reset-After."""
    scale = 0.001 if legacy else 1.0
    value = _number(body.get("retry_after")) if isinstance(body, dict) else None
    if value is None:
        value = _number(headers.get("Retry-After"))
    if value is not None:
        return min(value * scale, MAX_RETRY_AFTER_S)
    reset_after = _number(headers.get("X-RateLimit-Reset-After"))
    return min(reset_after, MAX_RETRY_AFTER_S) if reset_after is not None else 1.0


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, failures: int, rand: float) -> float:
        """Capped exponential backoff with jitter; `rand` in [0, 1). failures >= 1."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(failures - 1, 30)))
        return ceiling * (0.5 + 0.5 * rand)


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str  # "delivered", "rate_limited", "drop", "dead", "retry"
    detail: str = ""
    wait_s: float = 0.0
    is_global: bool = False


def classify(status: int, body: object, headers: Mapping[str, str], legacy: bool) -> Verdict:
    """What to do with a webhook response."""
    if status == 200:
        if isinstance(body, dict) and body.get("id"):
            return Verdict("delivered", f"message id {body['id']}")
        return Verdict("retry", "200 without a message id")
    if 200 <= status < 300:
        # A relay that ignores ?wait=true: accepted, but not confirmed. Retrying would duplicate.
        return Verdict("delivered", f"HTTP {status} (unconfirmed)")
    if status == 429:
        is_global = bool(body.get("global")) if isinstance(body, dict) else False
        is_global = is_global or headers.get("X-RateLimit-Global", "").lower() == "true"
        return Verdict("rate_limited", "HTTP 429", retry_after_seconds(body, headers, legacy), is_global)
    text = json.dumps(body)[:500] if body is not None else ""
    if status in (401, 403, 404):
        return Verdict("dead", f"HTTP {status} {text}")
    if status in (400, 413):
        return Verdict("drop", f"HTTP {status} {text}")
    return Verdict("retry", f"HTTP {status}")


# ---------------------------------------------------------------------------------------------
# HTTP


def _token_of(url: str) -> str:
    match = re.search(r"/webhooks/\d+/([^/?#]+)", url)
    return match.group(1) if match else ""


def scrub(text: str, url: str) -> str:
    """`text` with the webhook token removed (exception messages quote the URL)."""
    token = _token_of(url)
    text = text.replace(url, mask_webhook(url))
    return text.replace(token, "***") if token else text


class TokenFilter(logging.Filter):
    """Logging filter hiding any webhook token (attach to the app's handlers; urllib3 logs paths at DEBUG)."""

    _TOKEN = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9._-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._TOKEN.sub(r"\1***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never route through an environment proxy; loopback stays loopback
    return session


def post_message(session: requests.Session, url: str, payload: dict, files: tuple[Attachment, ...],
                 timeout: tuple[float, float]) -> requests.Response:
    """POST one message with ?wait=true: JSON, or multipart payload_json + files[n]."""
    target = url + "?wait=true"
    if not files:
        return session.post(target, json=payload, timeout=timeout)
    body = dict(payload)
    body["attachments"] = [{"id": i, "filename": f.filename} for i, f in enumerate(files)]
    parts = [(f"files[{i}]", (f.filename, f.data, _mime(f.filename))) for i, f in enumerate(files)]
    return session.post(target, data={"payload_json": json.dumps(body)}, files=parts, timeout=timeout)


def _mime(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower()
    return {"webp": "image/webp", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(
        ext, "application/octet-stream")


def _json_body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Delivery: outbox + sender threads


class _Limiter:
    """A Bucket shared by every sender posting to the same webhook (kinds may share a URL)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bucket = Bucket()


class _GlobalGate:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blocked_until = 0.0


@dataclass
class _Counters:
    attempts: int = 0
    delivered: int = 0
    rate_limited: int = 0
    retries: int = 0
    dropped: int = 0


class _Sender(threading.Thread):
    """Drains one kind's queue in order. All waits go through `self._wake` (set by enqueue/stop)."""

    def __init__(self, delivery: "Delivery", kind: str):
        super().__init__(name=f"discord-{kind}", daemon=True)
        self.kind = kind
        self._d = delivery
        self._wake = threading.Event()
        self._stopping = False
        self._session = delivery._session_factory()
        self._failures = 0  # consecutive transient failures (backoff)
        self._down_logged = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._wake.wait(seconds)

    def run(self) -> None:
        try:
            while not self._stopping:
                self._wake.clear()
                url = self._d._usable_url(self.kind)
                message = self._d._outbox.head(self.kind) if url else None
                if message is None:
                    self._wake.wait(OUTBOX_POLL_S)  # the guard, another process, may queue too
                    continue
                wait = self._d._reserve(url)
                if wait > 0:
                    self._sleep(wait)
                    continue
                self._attempt(url, message)
        except Exception:
            log.exception("Discord sender %s crashed", self.kind)
        finally:
            self._session.close()

    def _attempt(self, url: str, message: StoredMessage) -> None:
        d = self._d
        d.counters.attempts += 1
        payload = mark_late(message.payload, message.created_wall, d._wall())
        try:
            response = post_message(self._session, url, payload, message.files, d._timeout)
        except requests.RequestException as exc:
            d._request_failed(url)
            self._transient(message, scrub(f"{type(exc).__name__}: {exc}", url))
            return
        body = _json_body(response)
        now = d._mono()
        d._update_bucket(url, response.headers, now)
        verdict = classify(response.status_code, body, response.headers, is_legacy_api(url))
        if verdict.action == "delivered":
            if self._down_logged:
                log.info("Discord %s webhook reachable again", self.kind)
                self._down_logged = False
            self._failures = 0
            d._outbox.remove(message.id)
            d.counters.delivered += 1
            d.last_delivered_wall = d._wall()
            d._status_changed()
        elif verdict.action == "rate_limited":
            d.counters.rate_limited += 1
            log.info("Discord %s: 429, waiting %.3f s%s", self.kind, verdict.wait_s,
                     " (global)" if verdict.is_global else "")
            d._block(url, now + verdict.wait_s, verdict.is_global)
        elif verdict.action == "drop":
            log.error("Discord %s rejected message %s (%s), dropping it: %s", self.kind, message.id,
                      (message.payload.get("embeds") or [{}])[0].get("title", ""), scrub(verdict.detail, url))
            d._outbox.remove(message.id)
            d.counters.dropped += 1
            d._status_changed()
        elif verdict.action == "dead":
            log.error("Discord %s webhook %s is dead (%s); its messages wait for a new URL", self.kind,
                      mask_webhook(url), scrub(verdict.detail, url))
            d._mark_dead(self.kind, url)
        else:
            self._transient(message, verdict.detail)

    def _transient(self, message: StoredMessage, error: str) -> None:
        d = self._d
        d.counters.retries += 1
        self._failures += 1
        delay = d._backoff.delay(self._failures, d._rand())
        if not self._down_logged:
            log.warning("Discord %s delivery failing (%s); retrying with backoff", self.kind, error)
            self._down_logged = True
        d._outbox.record_failure(message.id, error)
        self._sleep(delay)


class Delivery:
    """The Discord layer: a durable outbox and one sender thread per webhook kind.

    `enqueue` only accepts a message when Discord is enabled and its kind has a webhook URL;
    otherwise the message is not queued at all (returns None). Messages already queued for a
    kind that is later disabled stay in the outbox and go out once it is enabled again.
    """

    def __init__(self, db_path: Path, settings: DiscordSettings, *,
                 publish: Callable[[object], None] | None = None,
                 wall_clock: Callable[[], float] = time.time,
                 mono_clock: Callable[[], float] = time.monotonic,
                 timeout: tuple[float, float] = (5.0, 30.0),
                 backoff: Backoff = Backoff(),
                 rand: Callable[[], float] = random.random,
                 session_factory: Callable[[], requests.Session] = new_session):
        self._outbox = Outbox(db_path)
        self._publish = publish
        self._wall, self._mono, self._rand = wall_clock, mono_clock, rand
        self._timeout, self._backoff = timeout, backoff
        self._session_factory = session_factory
        self._lock = threading.Lock()
        self._settings = settings
        self._dead: dict[str, str] = {}  # kind -> the URL that answered 401/403/404
        self._limiters: dict[str, _Limiter] = {}
        self._gate = _GlobalGate()
        self._senders = {kind: _Sender(self, kind) for kind in KINDS}
        self._last_status: tuple | None = None
        self.counters = _Counters()
        self.last_delivered_wall: float | None = None  # when Discord last confirmed a message

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for sender in self._senders.values():
            sender.start()
        self._status_changed()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the senders; a request in flight may finish (bounded by `timeout`).

        The outbox stays open: messages enqueued after stop() are stored and go out on the next
        start of the app. Nothing is lost by stopping: unconfirmed messages stay queued.
        """
        for sender in self._senders.values():
            sender.stop()
        deadline = time.monotonic() + timeout
        for sender in self._senders.values():
            if sender.is_alive():
                sender.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Close the outbox's database connection (after stop())."""
        self._outbox.close()

    # -- configuration ---------------------------------------------------------------------

    @property
    def shop_name(self) -> str:
        return self._settings.shop_name

    def reconfigure(self, settings: DiscordSettings) -> None:
        """Apply new webhook URLs / shop name / enabled flag. A new URL revives a dead kind."""
        with self._lock:
            self._settings = settings
            for kind in list(self._dead):
                if self._url_of(kind) != self._dead[kind]:
                    del self._dead[kind]
                    log.info("Discord %s webhook changed; delivering its backlog again", kind)
        for sender in self._senders.values():
            sender.wake()
        self._status_changed(force=True)

    def _url_of(self, kind: str) -> str:
        return getattr(self._settings, f"webhook_{kind}", "")

    def accepts(self, kind: str) -> bool:
        """True when messages of `kind` are queued (Discord enabled and a webhook set)."""
        with self._lock:
            return bool(self._settings.enabled and self._url_of(kind))

    def _usable_url(self, kind: str) -> str:
        with self._lock:
            if not self._settings.enabled or kind in self._dead:
                return ""
            return self._url_of(kind)

    # -- queueing --------------------------------------------------------------------------

    def enqueue(self, message: Message) -> int | None:
        """Store `message` durably and wake its sender; None when that kind is disabled or invalid."""
        if message.kind not in KINDS:
            raise ValueError(f"unknown webhook kind {message.kind!r}")
        if not self.accepts(message.kind):
            return None
        payload = finish_payload(message, self.shop_name)
        problems = validate_payload(payload, message.files)
        if problems:
            log.error("not queueing an invalid %s message (%s): %s", message.kind, message.event_id,
                      "; ".join(problems))
            return None
        message_id = self._outbox.add(message.kind, message.created_wall, payload, message.files)
        self._senders[message.kind].wake()
        self._status_changed()
        return message_id

    def backlog(self) -> dict[str, int]:
        return self._outbox.backlog()

    def dead_kinds(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._dead))

    # -- used by the senders ---------------------------------------------------------------

    def _limiter(self, url: str) -> _Limiter:
        with self._lock:
            return self._limiters.setdefault(url, _Limiter())

    def _reserve(self, url: str) -> float:
        now = self._mono()
        with self._gate.lock:
            if now < self._gate.blocked_until:
                return self._gate.blocked_until - now
        limiter = self._limiter(url)
        with limiter.lock:
            wait, limiter.bucket = plan_send(limiter.bucket, now)
        return wait

    def _update_bucket(self, url: str, headers: Mapping[str, str], now: float) -> None:
        limiter = self._limiter(url)
        with limiter.lock:
            limiter.bucket = after_headers(limiter.bucket, headers, now)

    def _request_failed(self, url: str) -> None:
        limiter = self._limiter(url)
        with limiter.lock:
            limiter.bucket = after_failure(limiter.bucket)

    def _block(self, url: str, until: float, is_global: bool) -> None:
        limiter = self._limiter(url)
        with limiter.lock:
            limiter.bucket = dataclasses.replace(limiter.bucket, blocked_until=until, remaining=0,
                                                 reset_at=max(limiter.bucket.reset_at, until), probe_since=None)
        if is_global:
            with self._gate.lock:
                self._gate.blocked_until = max(self._gate.blocked_until, until)

    def _mark_dead(self, kind: str, url: str) -> None:
        with self._lock:
            if self._url_of(kind) == url:
                self._dead[kind] = url
        self._status_changed(force=True)

    def _status_changed(self, force: bool = False) -> None:
        if self._publish is None:
            return
        backlog = self._outbox.backlog()
        status = (tuple((k, backlog.get(k, 0)) for k in KINDS), self.dead_kinds(), self.counters.delivered)
        with self._lock:
            if status == self._last_status and not force:
                return
            self._last_status = status
        try:
            self._publish(DeliveryStatus(backlog=status[0], dead=status[1], at_wall=self._wall(),
                                         delivered=status[2], last_delivered_wall=self.last_delivered_wall))
        except Exception:
            log.exception("publishing DeliveryStatus failed")


# ---------------------------------------------------------------------------------------------
# --send-test


def send_test_messages(config, *, timeout: float = 5.0, wall_clock: Callable[[], float] = time.time,
                       session_factory: Callable[[], requests.Session] = new_session
                       ) -> list[tuple[str, bool, str]]:
    """Send one test message to each configured webhook now (no outbox); [(kind, ok, detail)].

    Kinds without a URL are reported as skipped (ok False). A 429 is retried once if it asks
    for less than `timeout` seconds. Tokens never appear in `detail`.
    """
    settings: DiscordSettings = config.discord_settings
    results = []
    session = session_factory()
    try:
        for kind in KINDS:
            url = getattr(settings, f"webhook_{kind}")
            if not url:
                results.append((kind, False, "no webhook configured"))
                continue
            now = wall_clock()
            message = Message(kind=kind, event_id="test", created_wall=now, embeds=({
                "title": "Test message",
                "description": f"CafeSentinel can post to the {kind} channel. Sent {stamp(now)}.",
                "color": COLOURS["test"],
            },))
            payload = finish_payload(message, settings.shop_name)
            results.append((kind, *_send_once(session, url, payload, timeout)))
    finally:
        session.close()
    return results


def _send_once(session: requests.Session, url: str, payload: dict, timeout: float) -> tuple[bool, str]:
    for _ in range(2):
        try:
            response = post_message(session, url, payload, (), (timeout, timeout))
        except requests.RequestException as exc:
            return False, scrub(f"cannot reach Discord: {type(exc).__name__}: {exc}", url)
        body = _json_body(response)
        verdict = classify(response.status_code, body, response.headers, is_legacy_api(url))
        if verdict.action == "delivered":
            return True, f"delivered ({verdict.detail})"
        if verdict.action == "rate_limited" and verdict.wait_s <= timeout:
            threading.Event().wait(verdict.wait_s)
            continue
        if verdict.action == "dead":
            return False, scrub(f"webhook is invalid or deleted ({verdict.detail})", url)
        return False, scrub(verdict.detail, url)
    return False, "rate limited"
