"""An opt-in response cache per route (`cache: {ttl_s: 300}`): the same request from the same team within
the TTL is answered from this replica's memory, without calling the deployment.

Only whole (non-streamed) answers with status 200 are kept. Entries are per team, so a team never learns
from timing what another asked. A hit is billed nothing (nothing was spent upstream) and recorded in the
ledger with `cache_hit` true and the tokens of the answer it repeats.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fmops.gateway._json import dumps, loads


class ResponseCache:
    def __init__(self, ttl_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes, Any]] = OrderedDict()

    @staticmethod
    def key(team_id: str, endpoint: str, body: dict[str, Any]) -> str:
        """The request's identity: team, endpoint and body (keys sorted; the end-user id left out)."""
        request = {k: v for k, v in body.items() if k != "user"}
        text = json.dumps([team_id, endpoint, request], sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> tuple[dict[str, Any], Any] | None:
        """(a fresh copy of the cached body, the deployment that answered it), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, body, deployment = entry
        if expires <= self.clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return loads(body), deployment

    def put(self, key: str, body: dict[str, Any], deployment: Any) -> None:
        self._entries[key] = (self.clock() + self.ttl_s, dumps(body), deployment)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
