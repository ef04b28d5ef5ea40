"""The bus: quick subscribers inline, slow ones on their own threads, in order, flushed on close."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sentinel.bus import EventBus
from sentinel.events import Event


@dataclass(frozen=True, slots=True)
class Tick(Event):
    n: int


def test_a_stuck_worker_subscriber_does_not_hold_up_the_publisher():
    bus = EventBus()
    release = threading.Event()
    slow_seen, quick_seen, threads = [], [], set()

    def slow(event):
        threads.add(threading.current_thread().name)
        release.wait(10)
        slow_seen.append(event.n)

    bus.subscribe(slow, worker=True)
    bus.subscribe(lambda event: quick_seen.append(event.n))
    started = time.monotonic()
    for n in range(100):
        bus.publish(Tick(n))
    assert time.monotonic() - started < 1.0  # the slow one waits 10 s per event if run inline
    assert quick_seen == list(range(100))
    assert slow_seen == []
    release.set()
    assert bus.close(5.0) == 0
    assert slow_seen == list(range(100))  # in publish order
    assert threading.current_thread().name not in threads


def test_close_delivers_everything_queued_and_nothing_after(caplog):
    bus = EventBus()
    seen = []
    bus.subscribe(lambda event: (time.sleep(0.001), seen.append(event.n)), worker=True)
    for n in range(200):
        bus.publish(Tick(n))
    assert bus.close(3.0) == 0
    assert seen == list(range(200))
    with caplog.at_level(logging.INFO, logger="sentinel.bus"):
        bus.publish(Tick(200))
        bus.publish(Tick(201))
    assert seen == list(range(200))
    assert sum("after the bus closed" in r.message for r in caplog.records) == 1


def test_close_gives_up_at_its_deadline_and_says_how_many_were_left():
    bus = EventBus()
    stuck = threading.Event()
    bus.subscribe(lambda event: stuck.wait(10), worker=True)
    for n in range(5):
        bus.publish(Tick(n))
    started = time.monotonic()
    left = bus.close(0.3)
    assert time.monotonic() - started < 2.0
    assert 4 <= left <= 5
    stuck.set()


def test_a_failing_subscriber_is_logged_once_until_it_recovers_and_the_others_still_run(caplog):
    bus = EventBus()
    seen_inline, seen_worker = [], []

    def flaky(event):  # the disk is full for the first 50 ticks
        if event.n < 50:
            raise OSError(28, "No space left on device")

    bus.subscribe(flaky, worker=True)
    bus.subscribe(lambda event: seen_worker.append(event.n), worker=True)
    bus.subscribe(flaky)
    bus.subscribe(lambda event: seen_inline.append(event.n))
    with caplog.at_level(logging.INFO, logger="sentinel.bus"):
        for n in range(51):
            bus.publish(Tick(n))
        assert bus.close(3.0) == 0
    assert seen_inline == seen_worker == list(range(51))
    failures = [r for r in caplog.records if "failed on Tick" in r.message]
    assert len(failures) == 2 and all(r.exc_info for r in failures)  # one per subscription
    assert sum("recovered" in r.message for r in caplog.records) == 2


def test_a_worker_that_falls_far_behind_drops_its_oldest_events(caplog):
    bus = EventBus(worker_queue_limit=10)
    taken, gate = threading.Event(), threading.Event()
    seen = []

    def slow(event):
        taken.set()
        gate.wait(10)
        seen.append(event.n)

    bus.subscribe(slow, worker=True)
    bus.publish(Tick(0))
    assert taken.wait(5)  # Tick(0) is being delivered; the next ones queue up
    for n in range(1, 31):
        bus.publish(Tick(n))
    gate.set()
    assert bus.close(3.0) == 0
    assert seen == [0, *range(21, 31)]
    assert sum("dropping its oldest" in r.message for r in caplog.records) == 1
