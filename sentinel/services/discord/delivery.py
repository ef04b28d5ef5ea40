"""Discord webhook delivery that never loses a message.

One way through: the notifier builds a `Message` (messages.py), `Delivery.enqueue` admits it
(`admit`: shop name, footer, cleaned text, Discord's limits) into the outbox before anything is
sent, and one `Sender` thread (sender.py) per webhook kind drains that kind in order. A message leaves the
outbox only when Discord confirmed it (`?wait=true` -> 200 with a message id) or rejected it for
good (400). Rate limits and retries are decided in ratelimit.py; a 401/403/404 webhook is dead
until the config gives that kind a new URL. The alerts sender also keeps the live status board
(one message edited in place) once its queue is empty.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

import requests

from sentinel.config.model import DiscordSettings
from sentinel.events import DeliveryStatus
from sentinel.services.discord.limits import validate_payload
from sentinel.services.discord.messages import KINDS, Message, finish_payload, report
from sentinel.services.discord.outbox import Board, Outbox
from sentinel.services.discord.ratelimit import Backoff, RateLimits
from sentinel.services.discord.sender import Counters, Counts, Sender, SenderParts
from sentinel.services.discord.webhook import new_session

log = logging.getLogger(__name__)

MAX_PENDING = 1000  # messages kept in memory while the outbox cannot take them (disk full)


def admit(outbox: Outbox, message: Message, shop_name: str) -> int | None:
    """The one door into the outbox: finish, validate and store `message`; its id, or None if invalid.

    Raises sqlite3.Error when the database cannot take it (disk full, I/O error).
    """
    if message.kind not in KINDS:
        raise ValueError(f"unknown webhook kind {message.kind!r}")
    payload = finish_payload(message, shop_name)
    problems = validate_payload(payload, message.files)
    if problems:
        log.error("not queueing an invalid %s message (%s): %s", message.kind,
                  (payload.get("embeds") or [{}])[0].get("title", ""), "; ".join(problems))
        return None
    return outbox.add(message.kind, message.created_wall, payload, message.files,
                      incident=message.incident, closes=message.closes)


def enqueue_report(db_path: Path, settings: DiscordSettings, title: str, text: str,
                   now_wall: float | None = None) -> bool:
    """For another process (the guard): queue an alert in the app's outbox, for the app's sender.

    False when Discord or the alerts webhook is off. Opens and closes the outbox itself.
    """
    if not settings.enabled or not settings.webhook_alerts:
        return False
    outbox = Outbox(db_path)
    try:
        return admit(outbox, report(title, text, time.time() if now_wall is None else now_wall),
                     settings.shop_name) is not None
    finally:
        outbox.close()


class Delivery:
    """The Discord layer: the outbox (opened by the caller, once) and one sender per webhook kind.

    `enqueue` only accepts a message when Discord is enabled and its kind has a webhook URL;
    otherwise the message is not queued at all (returns None). Messages already queued for a
    kind that is later disabled stay in the outbox and go out once it is enabled again.
    """

    def __init__(self, outbox: Outbox, settings: DiscordSettings, *,
                 publish: Callable[[object], None] | None = None,
                 wall_clock: Callable[[], float] = time.time,
                 mono_clock: Callable[[], float] = time.monotonic,
                 timeout: tuple[float, float] = (5.0, 30.0),
                 backoff: Backoff = Backoff(),
                 rand: Callable[[], float] = random.random,
                 limits: RateLimits | None = None,
                 session_factory: Callable[[], requests.Session] = new_session):
        self._outbox = outbox
        self._publish = publish
        self._wall, self._mono = wall_clock, mono_clock
        self._lock = threading.Lock()
        self._settings = settings
        self._dead: dict[str, str] = {}  # kind -> the URL that answered 401/403/404
        self._pending: deque[Message] = deque()  # admitted in order once the outbox takes them again
        self._limits = limits if limits is not None else RateLimits()
        self._counters = Counters()
        self._last_status: DeliveryStatus | None = None
        self._last_delivered_wall: float | None = None  # when Discord last confirmed a message (the window)
        parts = SenderParts(outbox, self._limits, self._counters, self._usable_url, self._on_outcome,
                            self.store_pending, wall_clock, mono_clock, rand, timeout, backoff, session_factory)
        self._senders = {kind: Sender(kind, parts) for kind in KINDS}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for sender in self._senders.values():
            sender.start()
        self._status_changed()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the senders; a request in flight may finish (bounded by `timeout`).

        Nothing is lost by stopping: unconfirmed messages stay queued; messages enqueued after
        stop() are stored and go out on the next start of the app.
        """
        for sender in self._senders.values():
            sender.stop()
        deadline = time.monotonic() + timeout
        for sender in self._senders.values():
            if sender.is_alive():
                sender.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Close the outbox (after stop())."""
        self._outbox.close()

    # -- configuration ---------------------------------------------------------------------

    @property
    def shop_name(self) -> str:
        with self._lock:
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
        """Store `message` durably and wake its sender; None when that kind is off or it is invalid.

        When the database cannot take it (disk full), it waits in memory, in order, and is
        stored as soon as the database can: a failing message never blocks the ones after it.
        """
        if message.kind not in KINDS:
            raise ValueError(f"unknown webhook kind {message.kind!r}")
        if not self.accepts(message.kind):
            return None
        with self._lock:
            queue_behind = bool(self._pending)
            if queue_behind:
                if len(self._pending) >= MAX_PENDING:
                    log.error("the outbox cannot store messages and %d wait in memory; dropping a %s message",
                              MAX_PENDING, message.kind)
                    return None
                self._pending.append(message)
        if queue_behind:
            return dict(self.store_pending()).get(id(message))
        try:
            stored = admit(self._outbox, message, self.shop_name)
        except sqlite3.Error as exc:
            log.warning("the outbox cannot store messages (%s); keeping them in memory", exc)
            with self._lock:
                self._pending.append(message)
            return None
        self._stored(message, stored)
        return stored

    def store_pending(self) -> list[tuple[int, int | None]]:
        """Move messages waiting in memory into the outbox, oldest first, until one fails.

        Returns (id(message), outbox id or None) for each one that left memory.
        """
        done = []
        while True:
            with self._lock:
                if not self._pending:
                    return done
                message = self._pending[0]
            try:
                stored = admit(self._outbox, message, self.shop_name)
            except sqlite3.Error:
                return done
            except Exception:
                log.exception("a %s message could not be stored; skipping it", message.kind)
                stored = None
            with self._lock:
                self._pending.popleft()
            self._stored(message, stored)
            done.append((id(message), stored))

    def _stored(self, message: Message, stored: int | None) -> None:
        if stored is not None:
            self._senders[message.kind].wake()
            self._status_changed()

    def incident_number(self, key: str, started_wall: float) -> int | None:
        """The short, durable number of an incident (#12); None when the database cannot say."""
        try:
            return self._outbox.incident_number(key, started_wall)
        except sqlite3.Error as exc:
            log.warning("no incident number (%s)", exc)
            return None

    def update_board(self, message: Message) -> None:
        """The status board should now show `message` (alerts channel); the alerts sender edits it."""
        with self._lock:
            enabled = self._settings.enabled and self._settings.status_board and bool(self._url_of("alerts"))
        if not enabled:
            return
        self._outbox.set_board(finish_payload(message, self.shop_name))
        self._senders["alerts"].wake()

    def board(self) -> Board | None:
        """What the status board should show and what Discord has (message id)."""
        return self._outbox.board()

    def backlog(self) -> dict[str, int]:
        return self._outbox.backlog()

    def counters(self) -> Counts:
        return self._counters.snapshot()

    def dead_kinds(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._dead))

    # -- what the senders report -----------------------------------------------------------

    def _on_outcome(self, kind: str, action: str, url: str) -> None:
        if action == "delivered":
            with self._lock:
                self._last_delivered_wall = self._wall()
        if action == "dead":
            with self._lock:
                if self._url_of(kind) == url:
                    self._dead[kind] = url
            self._status_changed(force=True)
        else:
            self._status_changed()

    def _last_delivered(self) -> float | None:
        with self._lock:
            return self._last_delivered_wall

    def _throttled_kinds(self) -> tuple[str, ...]:
        with self._lock:
            urls = {kind: self._url_of(kind) for kind in KINDS if self._url_of(kind)}
        throttled = self._limits.throttled(set(urls.values()), self._mono())
        return tuple(kind for kind, url in urls.items() if url in throttled)

    def _status_changed(self, force: bool = False) -> None:
        if self._publish is None:
            return
        backlog = self._outbox.backlog()
        status = DeliveryStatus(backlog=tuple((k, backlog.get(k, 0)) for k in KINDS), dead=self.dead_kinds(),
                                at_wall=self._wall(), throttled=self._throttled_kinds(),
                                delivered=self._counters.snapshot().delivered,
                                last_delivered_wall=self._last_delivered())
        with self._lock:
            last = self._last_status
            if not force and last is not None and (last.backlog, last.dead, last.throttled, last.delivered) == (
                    status.backlog, status.dead, status.throttled, status.delivered):
                return
            self._last_status = status
        try:
            self._publish(status)
        except Exception:
            log.exception("publishing DeliveryStatus failed")
