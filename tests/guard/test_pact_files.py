"""heartbeat.json and guard.json are fixed-size records rewritten in place (no new disk space)."""

from __future__ import annotations

import json

from sentinel.services.keepalive.pact import RECORD_BYTES, read_record, write_record


def test_a_record_is_rewritten_in_place(tmp_path):
    path = tmp_path / "heartbeat.json"
    write_record(path, {"seq": 1})
    inode = path.stat().st_ino
    write_record(path, {"seq": 2, "longer": "x" * 100})
    write_record(path, {"seq": 3})
    assert path.stat().st_ino == inode and path.stat().st_size == RECORD_BYTES
    assert read_record(path) == {"seq": 3}


def test_an_old_style_record_is_replaced_whole(tmp_path):
    path = tmp_path / "guard.json"
    path.write_text(json.dumps({"pid": 1, "app": None, "padding": "y" * 2000}))
    write_record(path, {"pid": 2})
    assert read_record(path) == {"pid": 2} and path.stat().st_size == RECORD_BYTES


def test_damaged_or_missing_records_read_as_none(tmp_path):
    assert read_record(tmp_path / "missing.json") is None
    for raw in (b"", b"{\"seq\": 1", b"[1, 2]", b"\xff" * 10):
        (tmp_path / "bad.json").write_bytes(raw)
        assert read_record(tmp_path / "bad.json") is None
