"""The composition root's lifecycle: a failed build leaves nothing behind, a stop keeps its deadline,
one reconfigure path reaches every part, and an unexpected exception is logged with its traceback."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import pytest

from sentinel import app, platform
from sentinel.config.model import Config
from sentinel.events import ConfigReloaded
from sentinel.paths import DataDir


def make_args(*extra: str):
    return app.parse_args(["--headless", *extra])


@pytest.fixture
def data(tmp_path):
    return DataDir(tmp_path / "data").create()


def threads_now() -> set[threading.Thread]:
    return set(threading.enumerate())


def wait_threads_back_to(before: set[threading.Thread], timeout: float = 3.0) -> set[threading.Thread]:
    """Threads started since `before` that are still alive at the deadline (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        extra = {t for t in threads_now() - before if t.is_alive()}
        if not extra or time.monotonic() >= deadline:
            return extra
        threading.Event().wait(0.02)


def lock_is_free(data: DataDir) -> bool:
    lock = platform.InstanceLock("App", data.root)
    try:
        lock.acquire()
    except Exception:
        return False
    lock.release()
    return True


def test_a_part_that_fails_to_build_leaves_no_lock_and_no_thread(data, tmp_path, monkeypatch):
    from sentinel.services.web import api

    config_path = tmp_path / "config.json"
    config_path.write_text("{}")

    def broken(*_args, **_kwargs):
        raise RuntimeError("the API could not be built")

    monkeypatch.setattr(api, "ApiServer", broken)
    before = threads_now()
    with pytest.raises(RuntimeError, match="could not be built"):
        app.Sentinel(make_args(), Config(), config_path, data, b"{}")
    assert wait_threads_back_to(before) == set()
    assert lock_is_free(data), "the App lock of the failed build is still held"


def test_a_part_that_fails_to_start_stops_the_ones_already_running(data, tmp_path, monkeypatch):
    from sentinel.monitor.engine import Monitor

    def broken(self):
        raise RuntimeError("the monitor could not start")

    monkeypatch.setattr(Monitor, "start", broken)
    before = threads_now()
    sentinel = app.Sentinel(make_args(), Config(), tmp_path / "config.json", data, b"{}")
    with pytest.raises(RuntimeError, match="could not start"):
        sentinel.start()
    assert sentinel.stop() is True
    assert wait_threads_back_to(before) == set()
    assert lock_is_free(data)


def test_stop_keeps_its_deadline_and_releases_everything(data, tmp_path):
    before = threads_now()
    sentinel = app.Sentinel(make_args(), Config(), tmp_path / "config.json", data, b"{}")
    sentinel.start()
    assert wait_threads_back_to(threads_now(), 0.0) == set()
    began = time.monotonic()
    assert sentinel.stop(app.STOP_DEADLINE_S) is True
    assert time.monotonic() - began < 3.0
    assert wait_threads_back_to(before) == set()
    assert lock_is_free(data)
    assert sentinel.stop() is True  # idempotent


def test_a_reloaded_config_reaches_every_part_the_same_way(data, tmp_path, monkeypatch):
    sentinel = app.Sentinel(make_args(), Config(), tmp_path / "config.json", data, b"{}")
    handler = logging.handlers.TimedRotatingFileHandler(tmp_path / "x.log", when="midnight", backupCount=30)
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    seen: list[tuple[str, Config]] = []

    def failing(config: Config) -> None:
        raise RuntimeError("this part cannot take it")

    sentinel._parts.insert(0, app.Part("broken", apply=failing))
    sentinel._parts.append(app.Part("probe", apply=lambda c: seen.append(("probe", c))))
    new = dataclasses.replace(Config(), system_settings=dataclasses.replace(
        Config().system_settings, log_retention_days=7))
    try:
        sentinel.bus.publish(ConfigReloaded(new, ("system_settings",)))
        assert sentinel.config is new
        assert seen == [("probe", new)]  # after a failing part, the others still get it
        assert handler.backupCount == 7  # log_retention_days is re-applied
        assert sentinel.monitor._pending is new
    finally:
        sentinel.stop()
        handler.close()


def test_an_unexpected_exception_is_logged_with_its_traceback_and_an_exit_code(tmp_path, monkeypatch, capsys):
    from sentinel.services.recording import storage

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("storage exploded")

    monkeypatch.setattr(storage, "Storage", broken)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    config = tmp_path / "config.json"
    config.write_text("{}")
    code = app.main(["--headless", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    for handler in logging.getLogger().handlers:
        handler.close()
    assert code == app.EXIT_CRASHED
    text = (tmp_path / "data" / "logs" / "sentinel.log").read_text()
    assert "unexpected failure" in text and "Traceback" in text and "storage exploded" in text
    assert "storage exploded" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_a_signal_while_starting_up_is_a_clean_stop(tmp_path):
    """SIGTERM the moment the demo says hello (the parts are still being built): exit 0, fast."""
    import signal

    from tests.helpers.apprun import AppRun

    for attempt in range(3):
        run = AppRun(AppRun.command("--demo", "--headless", "--data-dir", str(tmp_path / f"d{attempt}")),
                     env={"DISPLAY": ""})
        try:
            run.wait_line("no packets sent")
            rc, took = run.stop(signal.SIGTERM)
        finally:
            run.kill()
        assert (rc, took < 3.0) == (0, True), run.stderr_tail()
