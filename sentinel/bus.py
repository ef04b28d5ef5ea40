"""A small publish/subscribe hub, built once by the composition root.

The thread that keeps time (the monitor tick) only publishes. A quick subscriber (the GUI's
queue, the status board) runs on the publisher's thread; a slow one (disk, images, stdout)
subscribes with `worker=True` and gets its events in order on a thread of its own, behind a
bounded queue, so a locked CSV or a stuck disk never holds up the tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

from sentinel.events import Event

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]

WORKER_QUEUE_LIMIT = 10_000  # events waiting for one worker subscriber (hours of ticks)


class _Guarded:
    """Calls one subscriber; a failure is logged when it starts and when it recovers, not every time."""

    def __init__(self, subscriber: Subscriber, name: str):
        self.subscriber = subscriber
        self.name = name
        self._failing = False

    def __call__(self, event: Event) -> None:
        try:
            self.subscriber(event)
        except Exception:
            if not self._failing:
                log.exception("subscriber %s failed on %s (logged once until it recovers)",
                              self.name, type(event).__name__)
            self._failing = True
            return
        if self._failing:
            log.info("subscriber %s recovered", self.name)
            self._failing = False


class _Worker:
    """One thread delivering one subscriber's events in publish order."""

    def __init__(self, deliver: _Guarded, limit: int):
        self._deliver = deliver
        self._limit = limit
        self._queue: deque[Event] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"bus-{deliver.name}", daemon=True)
        self._thread.start()

    def put(self, event: Event) -> bool:
        """Queue `event`; False once the worker is closing (nothing is delivered after close)."""
        with self._cond:
            if self._closing:
                return False
            if len(self._queue) >= self._limit:
                self._queue.popleft()
                self._dropped += 1
                if self._dropped == 1:
                    log.error("subscriber %s is %d events behind; dropping its oldest events",
                              self._deliver.name, self._limit)
            self._queue.append(event)
            self._cond.notify()
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                event = self._queue.popleft()
            self._deliver(event)

    def close(self) -> None:
        """Stop taking events; the thread delivers what is queued, then ends."""
        with self._cond:
            self._closing = True
            self._cond.notify()

    def join(self, deadline: float) -> int:
        """Wait until `deadline` (monotonic) for the queue to be delivered; events left."""
        self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            return len(self._queue) if self._thread.is_alive() else 0


class EventBus:
    """publish() calls the quick subscribers on the publisher's thread and queues the workers' events.

    Every subscriber sees events in publish order. One failing subscriber is logged (once until
    it recovers) and the others still run. close() delivers what the workers still hold, within
    a deadline, so a clean stop loses nothing.
    """

    def __init__(self, worker_queue_limit: int = WORKER_QUEUE_LIMIT) -> None:
        self._subscribers: list[tuple[Subscriber, Callable[[Event], object]]] = []
        self._workers: dict[Subscriber, _Worker] = {}
        self._limit = worker_queue_limit
        self._lock = threading.Lock()
        self._late_logged = False

    def subscribe(self, subscriber: Subscriber, *, worker: bool = False) -> None:
        """`worker=True`: `subscriber` runs on its own thread (for anything touching disk or images)."""
        guarded = _Guarded(subscriber, getattr(subscriber, "__qualname__", repr(subscriber)))
        with self._lock:
            if worker:
                self._workers[subscriber] = entry = _Worker(guarded, self._limit)
                self._subscribers.append((subscriber, entry.put))
            else:
                self._subscribers.append((subscriber, guarded))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s[0] != subscriber]
            worker = self._workers.pop(subscriber, None)
        if worker is not None:
            worker.close()
            worker.join(time.monotonic() + 1.0)

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for _, deliver in subscribers:
            if deliver(event) is False and not self._late_logged:
                self._late_logged = True
                log.info("%s published after the bus closed; its workers no longer take events",
                            type(event).__name__)

    def close(self, timeout: float) -> int:
        """Deliver what the workers hold (all of them at once, within `timeout` s); events left over."""
        deadline = time.monotonic() + timeout
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.close()
        left = sum(worker.join(deadline) for worker in workers)
        if left:
            log.error("stopping: %d events were still waiting for slow subscribers", left)
        return left
