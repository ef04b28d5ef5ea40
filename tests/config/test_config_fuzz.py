"""A permanent config fuzz: 600 mutated config files (types, huge numbers, deep nesting, unicode,
truncation, binary). Every one is either a valid config that can be written back, or a list of
problems each naming where it is; nothing raises, not the parser, the hot reload or --check-config."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel.bus import EventBus
from sentinel.config.checks import HugeNumber
from sentinel.config.model import Config, parse_config, save_config
from sentinel.config.watch import ConfigWatcher
from sentinel.events import ConfigRejected, ConfigReloaded

REPO = Path(__file__).resolve().parents[2]
SHIPPED = json.loads((REPO / "config.json").read_text())
CASES = 600
SEED = 20261201

RAW_VALUES = (  # JSON text spliced in where a value goes
    "null", "true", "false", "0", "-1", "1.5", "1e308", "-1e999", "NaN", "Infinity", '""', '"x"',
    "[]", "{}", "[1, 2]", '{"a": 1}', "9" * 5000, "-" + "9" * 4400, "1" + "0" * 40, '"\\ud800"',
    '"\\udfff x"', '"\\u0000"', '"\\u001b[31m"', '"\\u202e"', '"' + "A" * 20000 + '"', '"\U0001F4A5 caf\u00e9"',
    '"192.168.1.1"', '"255.255.255.255"', '"http://127.0.0.1:1\\\\@198.51.100.7/api/webhooks/1/t"',
    "[" * 200 + "]" * 200, '{"a":' * 300 + "1" + "}" * 300,
)


def leaf_paths(value, path=()):
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            yield from leaf_paths(sub, path + (key,))
    yield path


def mutate(rng: random.Random) -> bytes:
    doc = json.loads(json.dumps(SHIPPED))
    paths = [p for p in leaf_paths(doc) if p]
    splices = {}
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        action = rng.random()
        if action < 0.6:
            marker = f"@@{len(splices)}@@"
            splices[json.dumps(marker)] = rng.choice(RAW_VALUES)
            parent[path[-1]] = marker
        elif action < 0.75:
            parent.pop(path[-1], None)
        elif action < 0.9:
            parent[rng.choice(["extra", "\ud800", "", "pc_count ", path[-1].upper()])] = 1
        else:
            parent[path[-1]] = doc  # a section where a value goes (serialised once, below)
            doc = json.loads(json.dumps(SHIPPED))
            parent = None
    text = json.dumps(doc, indent=rng.choice([None, 2]))
    for marker, raw in splices.items():
        text = text.replace(marker, raw, 1)
    data = text.encode("utf-8", "surrogatepass")
    damage = rng.random()
    if damage < 0.1:
        data = data[: rng.randint(0, len(data))]
    elif damage < 0.2:
        for _ in range(rng.randint(1, 8)):
            spot = rng.randrange(len(data))
            data = data[:spot] + bytes([rng.randrange(256)]) + data[spot + 1:]
    elif damage < 0.25:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
    elif damage < 0.3:
        data = text.encode(rng.choice(["utf-16", "latin-1", "utf-8-sig"]), "replace")
    return data


def cases() -> list[bytes]:
    rng = random.Random(SEED)
    return [mutate(rng) for _ in range(CASES)]


def as_json_object(data: bytes):
    """The decoded document when it is a JSON object this process can read, else None."""
    try:
        value = json.loads(data.decode("utf-8-sig"), parse_int=lambda t: HugeNumber(len(t)) if len(t) > 30 else int(t))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def test_every_mutated_file_is_a_config_or_named_problems(tmp_path):
    accepted = rejected = 0
    for n, data in enumerate(cases()):
        config, problems = parse_config(data)
        if config is not None:
            assert problems == [], n
            accepted += 1
            save_config(config, tmp_path / "config.json", tmp_path / "backups")  # what is accepted can be written
            again, problems = parse_config((tmp_path / "config.json").read_bytes())
            assert problems == [] and again == config, n
            json.dumps(config.masked_dict())
            continue
        rejected += 1
        assert problems, n
        for path, message in problems:
            assert isinstance(path, str) and isinstance(message, str) and message.strip(), (n, path, message)
            (path + message).encode("utf-8")  # printable and loggable: no lone surrogate leaks out
            assert len(message) < 400, (n, message[:80])
        if as_json_object(data) is not None and not any(path == "" for path, _ in problems):
            assert all(path for path, _ in problems), n
    assert accepted + rejected == CASES >= 500
    assert accepted > 20 and rejected > 400  # the mutations exercise both sides


def test_hot_reload_of_every_mutated_file_keeps_monitoring(tmp_path):
    path = tmp_path / "config.json"
    good = json.dumps(SHIPPED).encode()
    path.write_bytes(good)
    bus, events = EventBus(), []
    bus.subscribe(events.append)
    watcher = ConfigWatcher(path, parse_config(good)[0], bus, good, tmp_path / "last_good.json")
    for n, data in enumerate(cases()):
        path.write_bytes(data + b" " * (n % 2))  # a new size each time, so the stat check sees the change
        events.clear()
        before = watcher.config
        watcher.check()
        if parse_config(data)[0] is None:
            assert watcher.config is before, n
            assert any(isinstance(e, ConfigRejected) for e in events), n
        else:
            assert isinstance(watcher.config, Config), n
            assert not any(isinstance(e, ConfigRejected) for e in events), n
    assert any(isinstance(e, (ConfigReloaded, ConfigRejected)) for e in events)


@pytest.mark.timeout(120)
def test_check_config_never_shows_a_traceback(tmp_path):
    sample = cases()[::24]  # 25 files through the real command line
    for n, data in enumerate(sample):
        path = tmp_path / f"config-{n}.json"
        path.write_bytes(data)
        run = subprocess.run([sys.executable, str(REPO / "sentinel_app.py"), "--check-config", "--config", str(path)],
                             capture_output=True, timeout=60, cwd=REPO)
        out = run.stdout.decode("utf-8", "replace") + run.stderr.decode("utf-8", "replace")
        assert run.returncode in (0, 1), (n, out[-500:])
        assert "Traceback" not in out, (n, out[-2000:])
