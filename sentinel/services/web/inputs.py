"""What a client sends, read strictly: query parameters, request bodies, JSON, and config patches
(merged onto the saved config, masked webhooks resolved). Every refusal is an HttpError with the
JSON error shape."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from sentinel.config.checks import mask_webhook, normalise_webhook
from sentinel.config.model import Config
from sentinel.services.web.http import MAX_BODY_BYTES, HttpError, Request

LIMIT_DEFAULT, LIMIT_MAX = 100, 1000
_MASKED_WEBHOOK = re.compile(r"/webhooks/(\d+)/\*\*\*/?$")


def http_error(status: int, errors: list[tuple[str, str]], headers: dict | None = None) -> HttpError:
    # mask_webhook on messages: a validation message may quote a posted URL.
    return HttpError(status, [(path, mask_webhook(message)) for path, message in errors], headers)


def merge_config(base: dict, patch: Any, cls: type = Config) -> Any:
    """`patch` laid over `base`: sections (and nested sections) merge key by key; any other value
    (a number, a string, pc_names, opening days) replaces the base's whole. Keys the schema does
    not know are kept, so validation names them."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch
    sections = {f.name: f.default_factory for f in dataclasses.fields(cls)
                if f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory)}
    merged = dict(base)
    for key, value in patch.items():
        if key in sections and isinstance(value, dict):
            merged[key] = merge_config(base.get(key, {}), value, sections[key])
        else:
            merged[key] = value
    return merged


def unmask_webhooks(raw: Any, current: Config) -> tuple[Any, list[tuple[str, str]]]:
    """Put the current token back where a posted webhook is the masked form of the current one.

    `GET /api/config` hides tokens as `…/webhooks/{id}/***`; posting that back means "keep
    this webhook". A masked value that is not the current webhook of that key cannot be
    resolved: it is reported so the owner pastes the full URL.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("discord_settings"), dict):
        return raw, []
    section = dict(raw["discord_settings"])
    errors = []
    for key, value in section.items():
        if not key.startswith("webhook_") or not isinstance(value, str):
            continue
        match = _MASKED_WEBHOOK.search(value.strip())
        if not match:
            continue
        existing = getattr(current.discord_settings, key, "") or ""
        candidate = value.strip()[:match.start()] + f"/webhooks/{match.group(1)}/"
        if existing and _same_webhook(candidate + existing.rsplit("/", 1)[-1], existing):
            section[key] = existing
        else:
            section[key] = ""
            errors.append((f"discord_settings.{key}",
                           "is a masked webhook (…/***) that is not the current one for this key; "
                           "paste the full webhook URL to change it"))
    return {**raw, "discord_settings": section}, errors


def _same_webhook(candidate: str, existing: str) -> bool:
    try:
        return normalise_webhook(candidate) == existing
    except ValueError:
        return False


def query_params(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True, max_num_fields=10,
                          errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise http_error(400, [("", "malformed query string")]) from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise http_error(400, [(name[:50], "unknown query parameter")])
        if name in params:
            raise http_error(400, [(name, "given more than once")])
        params[name] = value
    return params


def whole_param(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text) <= maximum:
        raise http_error(400, [(name, f"must be a whole number from 1 to {maximum}")])
    return int(text)


def limit_param(params: dict[str, str]) -> int:
    return whole_param(params, "limit", LIMIT_DEFAULT, LIMIT_MAX)


async def checked_body(request: Request, read_body, json_body: bool) -> bytes:
    """Check the body's headers, then read it (within the request's deadline)."""
    headers = request.headers
    if headers.get("Transfer-Encoding"):
        raise http_error(400, [("", "chunked bodies are not supported; send Content-Length")])
    lengths = headers.get_all("Content-Length") or []
    if len(lengths) != 1 or not re.fullmatch(r"\s*[0-9]{1,20}\s*", str(lengths[0])):
        raise http_error(400, [("", "one valid Content-Length header is required")])
    length = int(lengths[0])
    if length > MAX_BODY_BYTES:
        raise http_error(413, [("", f"body is larger than {MAX_BODY_BYTES} bytes")])
    if json_body:
        media, _, params = str(headers.get("Content-Type", "")).partition(";")
        charset = params.strip().lower().replace(" ", "")
        if media.strip().lower() != "application/json" or charset not in ("", "charset=utf-8", 'charset="utf-8"'):
            raise http_error(400, [("", "Content-Type must be application/json (UTF-8)")])
    body = await read_body(length)
    if len(body) != length:
        raise http_error(400, [("", f"body ended after {len(body)} of {length} bytes")])
    return body


def parse_json_body(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise http_error(400, [("", f"body is not UTF-8 (bad byte at offset {exc.start})")]) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise http_error(400, [("", "body is nested too deeply")]) from None
    except json.JSONDecodeError as exc:
        raise http_error(400, [("", f"broken JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]) from None
    except ValueError as exc:  # NaN/Infinity, or an integer with too many digits
        raise http_error(400, [("", f"invalid JSON value: {str(exc)[:100]}")]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
