"""The sender threads: one per webhook kind drains its outbox queue in order.

A sender asks `ratelimit` when it may send, sends with `webhook`, and tells the outcome back
through the callables in `SenderParts`; it never reaches into `Delivery`. Every wait is on its
wake event (set by a new message, a new config, stop()).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

import requests

from sentinel.config.checks import mask_webhook
from sentinel.services.discord.messages import mark_late
from sentinel.services.discord.outbox import Board, Outbox, StoredMessage
from sentinel.services.discord.ratelimit import Backoff, RateLimits, classify, is_legacy_api
from sentinel.services.discord.webhook import json_body, scrub, send

log = logging.getLogger(__name__)

OUTBOX_POLL_S = 5.0  # an idle sender looks at the outbox this often (the guard may queue too)


@dataclass(frozen=True, slots=True)
class Counts:
    attempts: int = 0
    delivered: int = 0
    rate_limited: int = 0
    retries: int = 0
    dropped: int = 0
    board_edits: int = 0


class Counters:
    """Bumped by every sender thread, read by anyone: one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(Counts.__dataclass_fields__, 0)

    def add(self, name: str) -> None:
        with self._lock:
            self._values[name] += 1

    def snapshot(self) -> Counts:
        with self._lock:
            return Counts(**self._values)


@dataclass(frozen=True, slots=True)
class SenderParts:
    """What a sender works with; all thread-safe."""

    outbox: Outbox
    limits: RateLimits
    counters: Counters
    route: Callable[[str], str]  # kind -> URL to use now ("" while disabled or dead)
    outcome: Callable[[str, str, str], None]  # (kind, action, url) after each answer
    idle: Callable[[], object]  # called before each look at the outbox
    wall: Callable[[], float]
    mono: Callable[[], float]
    rand: Callable[[], float]
    timeout: tuple[float, float]
    backoff: Backoff
    session_factory: Callable[[], requests.Session]


class Sender(threading.Thread):
    """Drains one kind's queue in order (and, for alerts, the status board). Waits on `wake()`."""

    def __init__(self, kind: str, parts: SenderParts):
        super().__init__(name=f"discord-{kind}", daemon=True)
        self.kind = kind
        self._p = parts
        self._wake = threading.Event()
        self._stopping = False
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
        session = self._p.session_factory()
        failing = False
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    self._step(session)
                    failing = False
                except Exception:  # a database error, a bug: logged once, then the sender goes on
                    if not failing:
                        log.exception("Discord sender %s failed; trying again", self.kind)
                    failing = True
                    self._sleep(self._p.backoff.cap_s)
        finally:
            session.close()

    def _step(self, session) -> None:
        """One look at the queue: send its head (or the board), or wait."""
        self._p.idle()
        url = self._p.route(self.kind)
        message = self._p.outbox.head(self.kind) if url else None
        board = self._p.outbox.board() if url and message is None and self.kind == "alerts" else None
        if message is None and (board is None or not board.dirty):
            self._wake.wait(OUTBOX_POLL_S)
            return
        wait = self._p.limits.reserve(url, self._p.mono())
        if wait > 0:
            self._sleep(wait)
        elif message is not None:
            self._deliver(session, url, message)
        else:
            self._edit_board(session, url, board)

    def _request(self, session, url: str, payload: dict, files, message_id: str = ""):
        """(verdict, None) after an answer, or (None, error text) when there was none."""
        p = self._p
        p.counters.add("attempts")
        try:
            response = send(session, url, payload, files, p.timeout, message_id)
        except requests.RequestException as exc:
            p.limits.failed(url)
            return None, scrub(f"{type(exc).__name__}: {exc}", url)
        now = p.mono()
        p.limits.answered(url, response.status_code, response.headers, now)
        verdict = classify(response.status_code, json_body(response), response.headers, is_legacy_api(url))
        if verdict.action == "rate_limited":
            p.counters.add("rate_limited")
            wait = p.limits.limited(url, verdict, now, p.rand())
            log.info("Discord %s: 429 (retry_after %.3f s), waiting %.3f s%s", self.kind, verdict.retry_after_s,
                     wait, " (global)" if verdict.is_global else "")
        elif verdict.action in ("delivered", "gone"):
            if self._down_logged:
                log.info("Discord %s webhook reachable again", self.kind)
                self._down_logged = False
            self._failures = 0
        elif verdict.action == "dead":
            log.error("Discord %s webhook %s is dead (%s); its messages wait for a new URL", self.kind,
                      mask_webhook(url), scrub(verdict.detail, url))
        return verdict, None

    def _deliver(self, session, url: str, message: StoredMessage) -> None:
        p = self._p
        ended = p.outbox.incident_ended_wall(message.incident) if message.incident is not None else None
        payload = mark_late(message.payload, message.created_wall, p.wall(), ended_wall=ended, closes=message.closes)
        verdict, error = self._request(session, url, payload, message.files)
        if verdict is None:
            self._transient(error, message)
            return
        if verdict.action == "delivered":
            p.outbox.remove(message.id)
            p.counters.add("delivered")
        elif verdict.action in ("drop", "gone"):
            log.error("Discord %s rejected message %s (%s), dropping it: %s", self.kind, message.id,
                      (message.payload.get("embeds") or [{}])[0].get("title", ""), scrub(verdict.detail, url))
            p.outbox.remove(message.id)
            p.counters.add("dropped")
        elif verdict.action == "retry":
            self._transient(verdict.detail, message)
        p.outcome(self.kind, verdict.action, url)

    def _edit_board(self, session, url: str, board: Board) -> None:
        p = self._p
        hook = mask_webhook(url)
        message_id = board.message_id if board.hook == hook else ""
        verdict, error = self._request(session, url, board.payload, (), message_id)
        if verdict is None:
            self._transient(error)
            return
        if verdict.action == "delivered":
            p.outbox.board_sent(board.seq, hook, verdict.message_id or message_id)
            p.counters.add("board_edits")
        elif verdict.action == "gone":
            log.info("the status board message was deleted in Discord; posting a new one")
            p.outbox.board_gone()
        elif verdict.action == "drop":
            log.error("Discord rejected the status board (%s); waiting for the next change",
                      scrub(verdict.detail, url))
            p.outbox.board_sent(board.seq, hook, message_id)
        elif verdict.action == "retry":
            self._transient(verdict.detail)
        p.outcome(self.kind, verdict.action, url)

    def _transient(self, error: str, message: StoredMessage | None = None) -> None:
        p = self._p
        p.counters.add("retries")
        self._failures += 1
        if not self._down_logged:
            log.warning("Discord %s delivery failing (%s); retrying with backoff", self.kind, error)
            self._down_logged = True
        if message is not None:
            p.outbox.record_failure(message.id, error)
        self._sleep(p.backoff.delay(self._failures, p.rand()))
