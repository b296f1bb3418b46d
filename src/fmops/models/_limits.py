"""Concurrency that adapts to overload (AIMD), request/token budgets per minute, and retry backoff."""

from __future__ import annotations

import asyncio
import random
import time
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.core.errors import BadInputError


class Limits(BaseModel):
    """How hard one model may be driven. Set per model with `-M max_concurrency=8 -M rpm=500 ...`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_concurrency: int | None = Field(default=None, ge=1, description="None: the provider's default")
    min_concurrency: int = Field(default=1, ge=1)
    #: Halve concurrency on 429/503 and grow it back by one per window of successes.
    adaptive: bool = True
    rpm: float | None = Field(default=None, gt=0, description="requests per minute")
    tpm: float | None = Field(default=None, gt=0, description="tokens (input + output) per minute")
    max_retries: int = Field(default=5, ge=0)
    timeout_s: float | None = Field(
        default=None, gt=0, description="per attempt; default: the provider's (120 s remote, none in-process)"
    )
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)

    #: Names accepted as `-M` model arguments.
    ARG_NAMES: ClassVar[tuple[str, ...]] = (
        "max_concurrency",
        "min_concurrency",
        "adaptive",
        "rpm",
        "tpm",
        "max_retries",
        "timeout",
        "backoff_base",
        "backoff_max",
    )

    @classmethod
    def from_args(cls, args: dict[str, object], base: Limits | None = None) -> Limits:
        """Pick the limit arguments out of model arguments (removing them); the rest belong to the provider."""
        renames = {"timeout": "timeout_s", "backoff_base": "backoff_base_s", "backoff_max": "backoff_max_s"}
        update = {renames.get(k, k): args.pop(k) for k in list(args) if k in cls.ARG_NAMES}
        base = base or cls()
        if not update:
            return base
        try:
            return cls.model_validate({**base.model_dump(), **update})
        except ValidationError as exc:  # a user's -M value: one line naming the argument, exit 2
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            name = {v: k for k, v in renames.items()}.get(field, field)
            raise BadInputError(
                f"-M {name}={update.get(field)!s}: {first['msg'][0].lower()}{first['msg'][1:]}"
            ) from None

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; a server's Retry-After is a floor, never shortened."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, retry_after) if retry_after is not None else delay


class AdaptiveConcurrency:
    """A semaphore whose size follows AIMD: halve on overload, +1 after `limit` successes in a row."""

    def __init__(self, maximum: int, minimum: int = 1, adaptive: bool = True) -> None:
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.adaptive = adaptive
        self.limit = float(maximum)
        self.in_flight = 0
        self.decreases = 0
        self._cond = asyncio.Condition()
        self._last_decrease = 0.0

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1

    async def release(self, *, overloaded: bool = False, success: bool = True) -> None:
        async with self._cond:
            self.in_flight -= 1
            if self.adaptive and overloaded:
                now = time.monotonic()
                # Many calls in flight see the same overload: count it once per short window.
                if now - self._last_decrease > 0.2:
                    self.limit = max(float(self.minimum), self.limit / 2)
                    self._last_decrease = now
                    self.decreases += 1
            elif self.adaptive and success and self.limit < self.maximum:
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._cond.notify_all()


class RateBudget:
    """A token bucket refilled continuously at `per_minute`, holding one second's worth.

    Providers enforce per-minute limits in finer slices, so bursts stay small. A request larger than
    the bucket waits for a full bucket and leaves it in debt, so the long-run rate still holds.
    """

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self, amount: float) -> None:
        async with self._lock:  # FIFO: one waiter at a time keeps big requests from starving
            need = min(amount, self.capacity)
            while True:
                self._refill()
                if self.level >= need:
                    self.level -= amount
                    return
                await asyncio.sleep((need - self.level) / self.rate)

    def adjust(self, amount: float) -> None:
        """Charge (positive) or refund (negative) the difference once the real usage is known."""
        self._refill()
        self.level = min(self.capacity, self.level - amount)
