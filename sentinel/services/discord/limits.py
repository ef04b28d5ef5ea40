"""Discord's limits on a webhook message, and text made safe to store and send.

Everything that enters the outbox passes `clean` (lone surrogates and control characters
would make the JSON unstorable or the message unreadable) and `validate_payload` (Discord
answers 400 to a message that breaks a limit, and a 400 message is lost).
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, Mapping

# Discord's documented limits (message resource, embed limits, uploads).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBED_TOTAL = 6000  # title + description + field names/values + footer + author, all embeds
MAX_USERNAME = 80
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024

_KEEP = {"\n", "\t"}


def clean_text(text: str) -> str:
    """`text` without control characters (newlines and tabs stay); a lone surrogate becomes U+FFFD."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            out.append("\ufffd")
        elif category == "Cc" and char not in _KEEP:
            continue
        else:
            out.append(char)
    return "".join(out)


def clean(value):
    """A JSON-like value with every string (keys too) passed through `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def embed_chars(embed: Mapping) -> int:
    """Characters of one embed that count towards Discord's 6000 total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len((embed.get("footer") or {}).get("text", ""))
    total += len((embed.get("author") or {}).get("name", ""))
    for f in embed.get("fields", ()):
        total += len(f.get("name", "")) + len(f.get("value", ""))
    return total


def validate_payload(payload: Mapping, files: Iterable = ()) -> list[str]:
    """Every way `payload` (+ files with .filename and .data) breaks Discord's limits; [] when valid."""
    problems = []
    files = list(files)
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    if not content and not embeds and not files:
        problems.append("message is empty (no content, embeds or files)")
    if len(content) > MAX_CONTENT:
        problems.append(f"content has {len(content)} characters (max {MAX_CONTENT})")
    if len(payload.get("username") or "") > MAX_USERNAME:
        problems.append(f"username longer than {MAX_USERNAME}")
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"{len(embeds)} embeds (max {MAX_EMBEDS})")
    total = 0
    for i, e in enumerate(embeds):
        where = f"embeds[{i}]"
        for key, limit in (("title", MAX_TITLE), ("description", MAX_DESCRIPTION)):
            if len(e.get(key, "")) > limit:
                problems.append(f"{where}.{key} longer than {limit}")
        if len((e.get("footer") or {}).get("text", "")) > MAX_FOOTER:
            problems.append(f"{where}.footer.text longer than {MAX_FOOTER}")
        if len((e.get("author") or {}).get("name", "")) > MAX_AUTHOR_NAME:
            problems.append(f"{where}.author.name longer than {MAX_AUTHOR_NAME}")
        fields = e.get("fields", [])
        if len(fields) > MAX_FIELDS:
            problems.append(f"{where} has {len(fields)} fields (max {MAX_FIELDS})")
        for j, f in enumerate(fields):
            if not f.get("name") or len(f["name"]) > MAX_FIELD_NAME:
                problems.append(f"{where}.fields[{j}].name must be 1..{MAX_FIELD_NAME} characters")
            if not f.get("value") or len(f["value"]) > MAX_FIELD_VALUE:
                problems.append(f"{where}.fields[{j}].value must be 1..{MAX_FIELD_VALUE} characters")
        total += embed_chars(e)
    if total > MAX_EMBED_TOTAL:
        problems.append(f"embeds have {total} characters in total (max {MAX_EMBED_TOTAL})")
    if len(files) > MAX_FILES:
        problems.append(f"{len(files)} files (max {MAX_FILES})")
    names = {f.filename for f in files}
    for f in files:
        if len(f.data) > MAX_FILE_BYTES:
            problems.append(f"file {f.filename} is {len(f.data)} bytes (max {MAX_FILE_BYTES})")
    for i, e in enumerate(embeds):
        for key in ("image", "thumbnail"):
            url = (e.get(key) or {}).get("url", "")
            if url.startswith("attachment://") and url[len("attachment://"):] not in names:
                problems.append(f"embeds[{i}].{key} refers to a file that is not attached")
    return problems


def fit_lines(lines: list[str], budget: int) -> tuple[str, int]:
    """Join as many whole lines as fit in `budget` characters; returns (text, lines used)."""
    out, used = [], 0
    for line in lines:
        line = clip(line, budget)
        extra = len(line) + (1 if out else 0)
        if used + extra > budget:
            break
        out.append(line)
        used += extra
    return "\n".join(out), len(out)


def pack_lines(title: str, lines: list[str], *, colour: int, footer_reserve: int = 120,
               description_budget: int = 3000, first_description: str = "") -> list[tuple[dict, ...]]:
    """Spread `lines` over as many embeds and messages as needed; every message stays valid.

    Returns a tuple of embeds per message. Titles get "(part i/n)" when there is more than one.
    `footer_reserve` keeps room for the footer added to every embed.
    """
    chunks: list[str] = []
    rest = ([first_description, ""] if first_description else []) + list(lines)
    if not any(rest):
        rest = ["-"]
    while rest:
        text, used = fit_lines(rest, description_budget)
        if used == 0:  # a single huge line: clip it
            text, used = clip(rest[0], description_budget), 1
        chunks.append(text)
        rest = rest[used:]
    per_embed_cost = MAX_TITLE + footer_reserve
    messages: list[list[dict]] = [[]]
    total = 0
    for text in chunks:
        cost = len(text) + per_embed_cost
        if messages[-1] and (len(messages[-1]) >= MAX_EMBEDS or total + cost > MAX_EMBED_TOTAL):
            messages.append([])
            total = 0
        messages[-1].append({"description": text, "color": colour})
        total += cost
    n = len(messages)
    for i, embeds in enumerate(messages):
        embeds[0]["title"] = clip(title if n == 1 else f"{title} (part {i + 1}/{n})", MAX_TITLE)
    return [tuple(m) for m in messages]
