"""Dashboard logins: random session ids held in memory, idle and absolute expiry, a CSRF token each.

Time is an argument (monotonic seconds), so expiry is tested without waiting. A restart logs
everybody out, which is the safe direction. The cookie is HttpOnly and SameSite=Strict; it is
not marked Secure because the server speaks plain HTTP (behind Tailscale the tunnel encrypts).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass

COOKIE = "cafesentinel_session"
IDLE_S = 30 * 60.0  # a session unused this long ends
MAX_AGE_S = 12 * 3600.0  # and every session ends this long after the login
MAX_SESSIONS = 32  # the oldest is dropped beyond this


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    csrf: str
    created: float
    last_used: float

    def alive(self, now: float) -> bool:
        return now - self.last_used < IDLE_S and now - self.created < MAX_AGE_S


class Sessions:
    """Thread-safe: the web loop and its workers both look sessions up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Session] = {}

    def create(self, now: float) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24), now, now)
        with self._lock:
            self._by_id = {sid: s for sid, s in self._by_id.items() if s.alive(now)}
            while len(self._by_id) >= MAX_SESSIONS:
                oldest = min(self._by_id.values(), key=lambda s: s.created)
                del self._by_id[oldest.sid]
            self._by_id[session.sid] = session
        return session

    def get(self, sid: str | None, now: float) -> Session | None:
        """The live session for a cookie value (and mark it used), or None."""
        if not sid:
            return None
        with self._lock:
            for known, session in self._by_id.items():
                if hmac.compare_digest(known.encode(), sid.encode("utf-8", "replace")):
                    break
            else:
                return None
            if not session.alive(now):
                del self._by_id[known]
                return None
            session = Session(session.sid, session.csrf, session.created, now)
            self._by_id[known] = session
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()


def set_cookie(session: Session) -> str:
    return f"{COOKIE}={session.sid}; Path=/; HttpOnly; SameSite=Strict; Max-Age={int(MAX_AGE_S)}"


def clear_cookie() -> str:
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
