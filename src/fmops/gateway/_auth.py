"""Who is calling: API keys checked against a per-replica cache that every key change invalidates.

Replicas poll the database's version number (bumped by every key, team or budget change), so a revoked
key is refused everywhere within `revocation_poll_s`; looked-up keys (and unknown ids) stay cached until
then, so a flood of bad keys costs no database query per request.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fmops.gateway._keys import secret_matches, split_key
from fmops.gateway._tenancy import KeyContext, Tenancy
from fmops.serving import APIError

log = logging.getLogger("fmops.gateway")
_MAX_CACHED = 100_000


def unauthorized(message: str) -> APIError:
    return APIError(401, message, type="invalid_request_error", code="invalid_api_key")


class KeyCache:
    def __init__(self, tenancy: Tenancy, poll_s: float) -> None:
        self.tenancy = tenancy
        self.poll_s = poll_s
        self._cache: dict[str, KeyContext | None] = {}
        self._version: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._version = await asyncio.to_thread(self.tenancy.version)
        self._task = asyncio.create_task(self._poll())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def invalidate(self) -> None:
        self._cache.clear()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                version = await asyncio.to_thread(self.tenancy.version)
            except Exception as exc:  # the database blinked: keep serving from the cache
                log.warning("key version poll failed: %s", exc)
                continue
            if version != self._version:
                self._version = version
                self._cache.clear()

    async def authenticate(self, authorization: str | None) -> KeyContext:
        if not authorization:
            raise unauthorized(
                "You didn't provide an API key. Send it as `Authorization: Bearer fmk_...` "
                "(create one with `fmops keys create`)."
            )
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise unauthorized("Expected `Authorization: Bearer <key>`.")
        parts = split_key(presented.strip())
        if parts is None:
            raise unauthorized("Incorrect API key provided: not an fmops key (fmk_...).")
        key_id, secret = parts
        if key_id in self._cache:
            context = self._cache[key_id]
        else:
            context = await asyncio.to_thread(self.tenancy.key_context, key_id)
            if len(self._cache) >= _MAX_CACHED:  # random key ids must not grow the cache without bound
                self._cache.clear()
            self._cache[key_id] = context
        if context is None or not secret_matches(context.salt, context.hash, secret):
            raise unauthorized("Incorrect API key provided.")
        if context.revoked:
            raise unauthorized("This API key has been revoked.")
        if context.expires_at is not None and context.expires_at <= datetime.now(UTC):
            raise unauthorized("This API key has expired.")
        return context
