"""The dashboard's page and assets, shipped in the package (static/; PyInstaller: pyi_common.APP_DATAS).

No build step and no CDN: plain HTML, CSS and JavaScript, read once and served from memory.
"""

from __future__ import annotations

import functools
from pathlib import Path

from sentinel.services.web.http import HttpError, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
# The page loads only its own files and talks only to its own origin.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@functools.lru_cache(maxsize=16)
def _read(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def page(path: str) -> Response:
    """GET / (the page) or /static/<name> (an asset); 404 for anything else."""
    name = "index.html" if path == "/" else path[len("/static/"):]
    suffix = Path(name).suffix
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in _TYPES:
        raise HttpError(404, [("", "no such file")])
    try:
        body = _read(name)
    except OSError:
        raise HttpError(404, [("", "no such file")]) from None
    return Response(200, body, content_type=_TYPES[suffix],
                    headers={"Content-Security-Policy": _CSP, "X-Frame-Options": "DENY",
                             "Referrer-Policy": "no-referrer"})
