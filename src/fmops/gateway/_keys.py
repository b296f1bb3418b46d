"""API keys: `fmk_<16 hex id>_<secret>`. The id is looked up; only a salted hash of the secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "fmk_"
_ID_LEN = 16


def new_key() -> tuple[str, str, str, str]:
    """(the full key to show once, its id, salt, hash)."""
    key_id = secrets.token_hex(_ID_LEN // 2)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return f"{PREFIX}{key_id}_{secret}", key_id, salt, hash_secret(salt, secret)


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key, else None."""
    if not key.startswith(PREFIX) or len(key) < len(PREFIX) + _ID_LEN + 2:
        return None
    key_id = key[len(PREFIX) : len(PREFIX) + _ID_LEN]
    if key[len(PREFIX) + _ID_LEN] != "_":
        return None
    return key_id, key[len(PREFIX) + _ID_LEN + 1 :]


def secret_matches(salt: str, stored_hash: str, secret: str) -> bool:
    """Constant-time comparison of the secret's hash with the stored one."""
    return hmac.compare_digest(hash_secret(salt, secret), stored_hash)


def admin_key_matches(presented: str | None, expected: str | None) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
