"""GET /events over raw sockets: frames, Last-Event-ID on reconnect, coalescing for slow readers,
and the stream ending cleanly when the server stops."""

from __future__ import annotations

import json
import socket
import time

import pytest

from sentinel.events import Health
from tests.helpers.web_scene import Scene


@pytest.fixture
def scene(tmp_path):
    built = Scene(tmp_path)
    built.publish(built.status(time.time()))
    yield built
    built.close()


def open_stream(scene: Scene, last_id: str | None = None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", scene.api.address[1]), timeout=5)
    extra = f"Last-Event-ID: {last_id}\r\n" if last_id else ""
    s.sendall(f"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {scene.token}\r\n{extra}\r\n".encode())
    return s


class Reader:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return head

    def event(self, timeout: float = 5.0) -> dict | None:
        """The next data frame as {"id", "data"}, or None when none comes within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" in self.buffer:
                block, self.buffer = self.buffer.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line
                              and not line.startswith(":"))
                if "data" in fields:
                    return {"id": fields.get("id"), "data": json.loads(fields["data"])}
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise ConnectionError("stream closed")
            self.buffer += chunk


def test_frames_carry_the_picture_and_last_event_id_skips_what_the_page_has(scene):
    with open_stream(scene) as s:
        reader = Reader(s)
        head = reader.head()
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Type: text/event-stream" in head
        assert b"retry: 2000" in reader.buffer or reader.sock.recv(100).startswith(b"retry:")
        first = reader.event()
        assert first["data"]["monitor"]["targets"][0]["state"] == "up"
        assert first["data"]["shop"] == "Riverside LAN" and "today" in first["data"]
        seen = first["id"]
    with open_stream(scene, last_id=seen) as s:  # a reconnect: the page already shows `seen`
        reader = Reader(s)
        reader.head()
        assert reader.event(timeout=0.5) is None, "nothing new: no frame"
        scene.publish(scene.status(time.time(), router=Health.DOWN))
        frame = reader.event()
        assert frame["id"] != seen and frame["data"]["monitor"]["targets"][0]["state"] == "down"
    with open_stream(scene, last_id="another-boot-7") as s:  # from before a restart: the picture at once
        reader = Reader(s)
        reader.head()
        assert reader.event(timeout=2.0)["data"]["monitor"]["targets"][0]["state"] == "down"


def test_a_reader_that_lags_gets_the_newest_picture_not_a_backlog(scene):
    with open_stream(scene) as s:
        reader = Reader(s)
        reader.head()
        reader.event()
        for n in range(200):
            scene.publish(scene.status(time.time(), in_session=n % 20))
        last = scene.status(time.time(), internet=Health.DOWN, in_session=5)
        scene.publish(last)
        frames = []
        while True:
            frame = reader.event(timeout=0.5)
            if frame is None:
                break
            frames.append(frame)
        assert frames and frames[-1]["data"]["monitor"]["targets"][2]["state"] == "down"
        assert len(frames) < 200, f"{len(frames)} frames: changes are coalesced"


def test_the_stream_needs_a_login_and_ends_when_the_server_stops(scene):
    with socket.create_connection(("127.0.0.1", scene.api.address[1]), timeout=5) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 401")
    s = open_stream(scene)
    reader = Reader(s)
    reader.head()
    reader.event()
    started = time.monotonic()
    scene.api.stop()
    assert time.monotonic() - started < 3.0
    with pytest.raises(ConnectionError):
        reader.event(timeout=3.0)
    s.close()
