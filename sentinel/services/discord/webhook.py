"""HTTP to Discord webhooks: post (?wait=true), edit a message, tokens kept out of every log line."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Callable

import requests

from sentinel.config.checks import mask_webhook
from sentinel.config.model import DiscordSettings
from sentinel.services.discord.messages import KINDS, finish_payload, test_message
from sentinel.services.discord.outbox import Attachment
from sentinel.services.discord.ratelimit import classify, is_legacy_api


def _token_of(url: str) -> str:
    match = re.search(r"/webhooks/\d+/([^/?#]+)", url)
    return match.group(1) if match else ""


def scrub(text: str, url: str) -> str:
    """`text` with the webhook token removed (exception messages quote the URL)."""
    token = _token_of(url)
    text = text.replace(url, mask_webhook(url))
    return text.replace(token, "***") if token else text


class TokenFilter(logging.Filter):
    """Logging filter hiding any webhook token (attach to the app's handlers; urllib3 logs paths at DEBUG)."""

    _TOKEN = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9._-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._TOKEN.sub(r"\1***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never route through an environment proxy; loopback stays loopback
    return session


def send(session: requests.Session, url: str, payload: dict, files: tuple[Attachment, ...],
         timeout: tuple[float, float], message_id: str = "") -> requests.Response:
    """POST a new message with ?wait=true, or PATCH message `message_id`; JSON, or multipart
    payload_json + files[n] (an edit lists every attachment it keeps)."""
    if message_id:
        target, method = f"{url}/messages/{message_id}", session.patch
    else:
        target, method = url + "?wait=true", session.post
    if not files:
        return method(target, json=payload, timeout=timeout)
    body = dict(payload)
    body["attachments"] = [{"id": i, "filename": f.filename} for i, f in enumerate(files)]
    parts = [(f"files[{i}]", (f.filename, f.data, _mime(f.filename))) for i, f in enumerate(files)]
    return method(target, data={"payload_json": json.dumps(body)}, files=parts, timeout=timeout)


def _mime(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower()
    return {"webp": "image/webp", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(
        ext, "application/octet-stream")


def json_body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def send_test_messages(config, *, timeout: float = 5.0, wall_clock: Callable[[], float] = time.time,
                       session_factory: Callable[[], requests.Session] = new_session
                       ) -> list[tuple[str, bool, str]]:
    """Send one test message to each configured webhook now (no outbox); [(kind, ok, detail)].

    Kinds without a URL are reported as skipped (ok False). A 429 is retried once if it asks
    for less than `timeout` seconds. Tokens never appear in `detail`.
    """
    settings: DiscordSettings = config.discord_settings
    results = []
    session = session_factory()
    try:
        for kind in KINDS:
            url = getattr(settings, f"webhook_{kind}")
            if not url:
                results.append((kind, False, "no webhook configured"))
                continue
            payload = finish_payload(test_message(kind, wall_clock()), settings.shop_name)
            results.append((kind, *_send_once(session, url, payload, timeout)))
    finally:
        session.close()
    return results


def _send_once(session: requests.Session, url: str, payload: dict, timeout: float) -> tuple[bool, str]:
    for _ in range(2):
        try:
            response = send(session, url, payload, (), (timeout, timeout))
        except requests.RequestException as exc:
            return False, scrub(f"cannot reach Discord: {type(exc).__name__}: {exc}", url)
        verdict = classify(response.status_code, json_body(response), response.headers, is_legacy_api(url))
        if verdict.action == "delivered":
            return True, f"delivered ({verdict.detail})"
        if verdict.action == "rate_limited" and verdict.retry_after_s <= timeout:
            threading.Event().wait(verdict.retry_after_s)
            continue
        if verdict.action == "dead":
            return False, scrub(f"webhook is invalid or deleted ({verdict.detail})", url)
        return False, scrub(verdict.detail, url)
    return False, "rate limited"
