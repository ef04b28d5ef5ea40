"""--demo: Discord messages become files in a folder the owner can open, instead of posts."""

from __future__ import annotations

import itertools
import json
import re
import threading
from pathlib import Path

from sentinel.services.discord.messages import KINDS, Message, finish_payload


class FolderSink:
    """Implements the notifier's Sink: each message is `NNNN-<kind>.json` plus its attachments;
    the status board is `status-board.json`, rewritten in place."""

    def __init__(self, root: Path, shop_name: str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._shop_name = shop_name
        self._numbers = itertools.count(1)
        self._incidents: dict[tuple[str, float], int] = {}
        self._lock = threading.Lock()

    def accepts(self, kind: str) -> bool:
        return kind in KINDS

    def incident_number(self, key: str, started_wall: float) -> int:
        with self._lock:
            return self._incidents.setdefault((key, started_wall), len(self._incidents) + 1)

    def enqueue(self, message: Message) -> int:
        with self._lock:
            number = next(self._numbers)
        payload = finish_payload(message, self._shop_name)
        stem = f"{number:04d}-{message.kind}"
        for attachment in message.files:
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", attachment.filename)
            (self.root / f"{stem}-{safe}").write_bytes(attachment.data)
        payload["attachments"] = [f"{stem}-{a.filename}" for a in message.files]
        (self.root / f"{stem}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        return number

    def update_board(self, message: Message) -> None:
        text = json.dumps(finish_payload(message, self._shop_name), indent=2, ensure_ascii=False)
        (self.root / "status-board.json").write_text(text, encoding="utf-8")
