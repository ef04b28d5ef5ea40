"""A small synchronous publish/subscribe hub, built once by the composition root."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from sentinel.events import Event

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]


class EventBus:
    """publish() calls every subscriber on the publisher's thread, in subscription order.

    Subscribers must be quick (queue slow work for their own thread). One failing
    subscriber is logged and the others still run.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("subscriber %r failed on %s", subscriber, type(event).__name__)
