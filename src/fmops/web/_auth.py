"""Who is looking: sessions made from a key, and the CSRF token every form and htmx request carries.

Without `--auth` the console is read-only for everyone (and only listens on loopback). With `--auth`, a
person signs in with the admin key ($FMOPS_ADMIN_KEY), a team key of the gateway (when the gateway is
installed) or a reviewer key; the session lives in server memory, its cookie is HttpOnly and SameSite=Strict,
and keys are compared in constant time and never rendered.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

SESSION_COOKIE = "fmops_session"
CSRF_COOKIE = "fmops_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class Identity(BaseModel, frozen=True):
    """The signed-in person: what they may see and do."""

    name: str
    role: Literal["viewer", "admin", "team", "reviewer"]
    team: str | None = None

    @property
    def can_act(self) -> bool:
        return self.role != "viewer"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


VIEWER = Identity(name="viewer", role="viewer")

#: Resolves a key to an identity (None when it is not this resolver's kind of key).
KeyResolver = Callable[[str], Identity | None]


class Sessions:
    """Session tokens -> identities, in memory (a restart signs everyone out)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Identity] = {}
        self._lock = threading.Lock()

    def open(self, identity: Identity) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = identity
        return token

    def get(self, token: str | None) -> Identity | None:
        if not token:
            return None
        with self._lock:
            return self._sessions.get(token)

    def close(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)


def admin_resolver(admin_key: str) -> KeyResolver:
    def resolve(key: str) -> Identity | None:
        if admin_key and hmac.compare_digest(key.encode(), admin_key.encode()):
            return Identity(name="admin", role="admin")
        return None

    return resolve


def gateway_team_resolver(engine: Callable[[], Any]) -> KeyResolver | None:
    """Team keys of the gateway (`fmk_...`), when `fmops.gateway` is installed: the key's team, unless the
    key is unknown, revoked or expired (the gateway's own check, `verify_key`)."""
    try:
        from fmops.gateway import verify_key
    except ImportError:
        return None

    def resolve(key: str) -> Identity | None:
        verified = verify_key(engine(), key)
        if verified is None:
            return None
        return Identity(name=verified.team, role="team", team=verified.team_id)

    return resolve


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    """Double-submit check: the form (or header) must carry the value of the CSRF cookie."""
    return bool(cookie) and bool(submitted) and hmac.compare_digest(str(cookie), str(submitted))
