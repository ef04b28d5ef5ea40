"""One HTTP exchange with a test server on loopback: (response, body bytes, raw header text)."""

from __future__ import annotations

import http.client


def exchange(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             timeout: float = 10.0) -> tuple[http.client.HTTPResponse, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    return resp, data, "".join(f"{k}: {v}\n" for k, v in resp.getheaders())
