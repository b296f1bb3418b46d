"""Rate limits (requests/min, tokens/min, concurrent requests) and budgets: reserve before, settle after.

Two implementations of one contract. `RedisLimiter` checks and reserves everything a request needs in one
Lua script (atomic across every replica); `LocalLimiter` holds rates in the process and budgets in the
database (a conditional UPDATE per scope inside one transaction, atomic across replicas too). Amounts of
money are integers in nano-USD so reservations add up exactly.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, func, insert, select, update

from fmops.gateway._json import dumps
from fmops.gateway._tables import BudgetCounter, LedgerEntry
from fmops.gateway._tenancy import BudgetRule, RateRule

log = logging.getLogger("fmops.gateway")
NANO = 1_000_000_000
#: A concurrency slot left by a replica that died is reclaimed after this long.
STALE_SLOT_S = 600


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    rule: BudgetRule
    window: str
    resets_at: int


@dataclass(slots=True)
class Admission:
    """What one request reserves: a request and its estimated tokens per rate scope, its estimated cost."""

    request_id: str
    rates: list[RateRule]
    tokens: int
    budgets: list[BudgetCheck]
    cost: int
    #: Filled by the limiter: the minute window the request was counted in.
    minute: int = 0
    admitted: bool = field(default=False)


class LimitExceeded(Exception):
    """A 429: which limit fired and when it resets (epoch seconds)."""

    def __init__(self, limit: str, scope: str, resets_at: int, *, budget: bool = False) -> None:
        when = datetime.fromtimestamp(resets_at, UTC).isoformat()
        what = "budget" if budget else "rate limit"
        super().__init__(f"{what} {limit} of {scope} exceeded; it resets at {when}")
        self.limit = limit
        self.scope = scope
        self.resets_at = resets_at
        self.budget = budget


class LimiterUnavailable(Exception):
    """The shared limiter cannot be reached and the policy is to fail closed."""


class Limiter(Protocol):
    async def admit(self, adm: Admission) -> None: ...
    async def settle(self, adm: Admission, tokens: int, cost: int) -> None: ...
    async def close(self) -> None: ...


def window_of(period: str, now: float) -> tuple[str, int]:
    """The budget window `now` falls in and when it ends (epoch seconds), in UTC."""
    t = time.gmtime(now)
    if period == "daily":
        start = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0))
        return time.strftime("%Y-%m-%d", t), start + 86400
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return time.strftime("%Y-%m", t), calendar.timegm((year, month, 1, 0, 0, 0))


def budget_checks(rules: list[BudgetRule], now: float) -> list[BudgetCheck]:
    out = []
    for rule in rules:
        window, resets = window_of(rule.period, now)
        out.append(BudgetCheck(rule, window, resets))
    return out


def spent_in_window(engine: Engine, scope: str, window: str) -> int:
    """What the ledger says `scope` spent in `window` (nano-USD): seeds a counter that does not exist yet."""
    kind, _, ident = scope.partition(":")
    column = {"team": LedgerEntry.team_id, "key": LedgerEntry.key_id, "org": LedgerEntry.org_id}.get(
        kind, LedgerEntry.model
    )
    start = datetime.strptime(window + ("-01" if len(window) == 7 else ""), "%Y-%m-%d").replace(tzinfo=UTC)
    with engine.connect() as conn:
        total = conn.scalar(
            select(func.coalesce(func.sum(LedgerEntry.cost), 0.0)).where(
                column == ident, LedgerEntry.received_at >= start
            )
        )
    return round(float(total or 0.0) * NANO)


# -- in-process rates -------------------------------------------------------------------------------
class _LocalRates:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = defaultdict(int)
        self.active: dict[str, int] = defaultdict(int)

    def admit(self, adm: Admission, now: float) -> None:
        minute = int(now // 60)
        adm.minute = minute
        resets = (minute + 1) * 60
        for r in adm.rates:
            if r.rpm is not None and self.counts[("rpm", r.scope, minute)] + 1 > r.rpm:
                raise LimitExceeded(f"requests per minute ({r.rpm})", r.scope, resets)
            used = self.counts[("tpm", r.scope, minute)]
            if r.tpm is not None and used > 0 and used + adm.tokens > r.tpm:
                raise LimitExceeded(f"tokens per minute ({r.tpm})", r.scope, resets)
            if r.max_concurrency is not None and self.active[r.scope] >= r.max_concurrency:
                raise LimitExceeded(f"concurrent requests ({r.max_concurrency})", r.scope, int(now) + 1)
        for r in adm.rates:
            self.counts[("rpm", r.scope, minute)] += 1
            self.counts[("tpm", r.scope, minute)] += adm.tokens
            self.active[r.scope] += 1
        if len(self.counts) > 10_000:  # forget old minutes
            for k in [k for k in self.counts if k[2] < minute - 1]:
                del self.counts[k]

    def settle(self, adm: Admission, tokens: int) -> None:
        for r in adm.rates:
            self.counts[("tpm", r.scope, adm.minute)] += tokens - adm.tokens
            self.active[r.scope] -= 1


class DatabaseBudgets:
    """Budget counters as rows; reserve is a conditional UPDATE per scope in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(self, checks: list[BudgetCheck], cost: int) -> None:
        with self.engine.begin() as conn:
            for c in checks:
                limit = round(c.rule.usd * NANO)
                where = (BudgetCounter.scope == c.rule.scope) & (BudgetCounter.window == c.window)
                exists = conn.scalar(select(BudgetCounter.spent).where(where))
                if exists is None:
                    spent = spent_in_window(self.engine, c.rule.scope, c.window)
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                insert(BudgetCounter).values(
                                    scope=c.rule.scope, window=c.window, spent=spent, reserved=0
                                )
                            )
                    except Exception:  # another replica created it first
                        pass
                done = conn.execute(
                    update(BudgetCounter)
                    .where(where & (BudgetCounter.spent + BudgetCounter.reserved + cost <= limit))
                    .values(reserved=BudgetCounter.reserved + cost)
                )
                if done.rowcount == 0:
                    raise LimitExceeded(
                        f"{c.rule.period} budget (${c.rule.usd:g})", c.rule.scope, c.resets_at, budget=True
                    )

    def settle(self, checks: list[BudgetCheck], reserved: int, cost: int) -> None:
        with self.engine.begin() as conn:
            for c in checks:
                conn.execute(
                    update(BudgetCounter)
                    .where((BudgetCounter.scope == c.rule.scope) & (BudgetCounter.window == c.window))
                    .values(reserved=BudgetCounter.reserved - reserved, spent=BudgetCounter.spent + cost)
                )


class LocalLimiter:
    """Rates per process (no Redis configured); budgets in the database, shared by every replica."""

    def __init__(self, engine: Engine, clock: Any = time.time) -> None:
        self.rates = _LocalRates()
        self.budgets = DatabaseBudgets(engine)
        self.clock = clock

    async def admit(self, adm: Admission) -> None:
        self.rates.admit(adm, self.clock())
        if adm.budgets:
            try:
                await asyncio.to_thread(self.budgets.reserve, adm.budgets, adm.cost)
            except BaseException:
                self.rates.settle(adm, 0)
                raise
        adm.admitted = True

    async def settle(self, adm: Admission, tokens: int, cost: int) -> None:
        if not adm.admitted:
            return
        adm.admitted = False
        self.rates.settle(adm, tokens)
        if adm.budgets:
            await asyncio.to_thread(self.budgets.settle, adm.budgets, adm.cost, cost)

    async def close(self) -> None:
        pass


# -- Redis --------------------------------------------------------------------------------------------
# One script call carries every operation queued on a replica since its last call, applied in order:
# {"a": checks} admits a request (its result: 0 admitted, i > 0 check i refused, -i budget i unseeded),
# {"s": items} settles one (result 0). Each admission is checked and taken atomically, as it was alone.
_BATCH = """
local function admit(checks)
  for i, c in ipairs(checks) do
    if c.t == 'rate' then
      local used = tonumber(redis.call('GET', c.k) or '0')
      if c.n > 0 and (used + c.n > c.limit) and (c.strict == 1 or used > 0) then return i end
    elseif c.t == 'conc' then
      redis.call('ZREMRANGEBYSCORE', c.k, '-inf', c.stale)
      if redis.call('ZCARD', c.k) >= c.limit then return i end
    else
      local v = redis.call('HMGET', c.k, 'spent', 'reserved')
      if not v[1] then return -i end
      if tonumber(v[1]) + tonumber(v[2] or '0') + c.n > c.limit then return i end
    end
  end
  for i, c in ipairs(checks) do
    if c.t == 'rate' then
      redis.call('INCRBY', c.k, c.n)
      redis.call('EXPIRE', c.k, 120)
    elseif c.t == 'conc' then
      redis.call('ZADD', c.k, c.now, c.id)
      redis.call('EXPIRE', c.k, c.ttl)
    else
      redis.call('HINCRBY', c.k, 'reserved', c.n)
    end
  end
  return 0
end

local function settle(items)
  for _, c in ipairs(items) do
    if c.t == 'rate' then
      if redis.call('EXISTS', c.k) == 1 then redis.call('INCRBY', c.k, c.n) end
    elseif c.t == 'conc' then
      redis.call('ZREM', c.k, c.id)
    else
      if redis.call('EXISTS', c.k) == 1 then
        redis.call('HINCRBY', c.k, 'reserved', -c.reserved)
        redis.call('HINCRBY', c.k, 'spent', c.n)
      end
    end
  end
  return 0
end

local ops = cjson.decode(ARGV[1])
local out = {}
for j, op in ipairs(ops) do
  if op.a then out[j] = admit(op.a) else out[j] = settle(op.s) end
end
return out
"""
#: A settle with no admission queued behind it waits at most this long for company.
_SETTLE_DELAY_S = 0.005


class _Batches:
    """Operations queued for Redis, sent as one script call at a time, in order.

    While a call is in flight the next operations queue up and go together in the following call, so
    under load many requests share one round trip; an idle replica sends an admission at once. Settles
    ride along with the next admission (or leave within `_SETTLE_DELAY_S`), so a replica's settle always
    reaches Redis before any admission it answered after it.
    """

    def __init__(self, call: Any, on_error: Any) -> None:
        self.call = call
        self.on_error = on_error
        self.queue: list[tuple[dict[str, Any], asyncio.Future[int] | None]] = []
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def submit(self, op: dict[str, Any], *, wait: bool) -> asyncio.Future[int] | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] | None = loop.create_future() if wait else None
        self.queue.append((op, future))
        if wait:
            self._kick()
        elif self._task is None and self._timer is None:
            self._timer = loop.call_later(_SETTLE_DELAY_S, self._kick)
        return future

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                try:
                    results = await self.call([op for op, _ in batch])
                except Exception as exc:
                    waiting = [f for _, f in batch if f is not None and not f.done()]
                    for future in waiting:
                        future.set_exception(exc)
                    if not waiting:  # settles only: nobody waits for them but the log
                        self.on_error(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=False):
                    if future is not None and not future.done():
                        future.set_result(int(result))
        finally:
            self._task = None

    async def flush(self) -> None:
        """Send everything queued now (shutdown)."""
        while self.queue or self._task is not None:
            if self._task is None:
                self._kick()
            task = self._task
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)


def _refusal(kind: str, what: Any, now: float) -> LimitExceeded:
    if kind == "budget":
        rule = what.rule
        return LimitExceeded(f"{rule.period} budget (${rule.usd:g})", rule.scope, what.resets_at, budget=True)
    resets = (int(now // 60) + 1) * 60
    if kind == "rpm":
        return LimitExceeded(f"requests per minute ({what.rpm})", what.scope, resets)
    if kind == "tpm":
        return LimitExceeded(f"tokens per minute ({what.tpm})", what.scope, resets)
    return LimitExceeded(f"concurrent requests ({what.max_concurrency})", what.scope, int(now) + 1)


class RedisLimiter:
    """Everything a request reserves, checked and taken in one round trip to Redis."""

    def __init__(
        self, url: str, prefix: str, engine: Engine, *, fail_open: bool = True, clock: Any = time.time
    ) -> None:
        import redis.asyncio as aioredis

        # A bounded pool that waits for a free connection: a burst of requests must not open a
        # connection each (a connect storm times out and, failing open, would admit them unchecked).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=128, timeout=10.0, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.prefix = prefix
        self.engine = engine
        self.fail_open = fail_open
        self.clock = clock
        script = self.redis.register_script(_BATCH)
        self._batches = _Batches(lambda ops: script(args=[dumps(ops)]), self._warn)
        self._last_warning = 0.0

    def _budget_key(self, c: BudgetCheck) -> str:
        return f"{self.prefix}budget:{c.rule.scope}:{c.window}"

    async def admit(self, adm: Admission) -> None:
        import redis

        now = self.clock()
        adm.minute = minute = int(now // 60)
        checks: list[dict[str, Any]] = []
        #: What each check is, named only when one refuses (formatting is not free per request).
        labels: list[tuple[str, Any]] = []
        for r in adm.rates:
            if r.rpm is not None:
                checks.append(
                    {
                        "t": "rate",
                        "k": f"{self.prefix}rpm:{r.scope}:{minute}",
                        "n": 1,
                        "limit": r.rpm,
                        "strict": 1,
                    }
                )
                labels.append(("rpm", r))
            if r.tpm is not None:
                checks.append(
                    {
                        "t": "rate",
                        "k": f"{self.prefix}tpm:{r.scope}:{minute}",
                        "n": adm.tokens,
                        "limit": r.tpm,
                        "strict": 0,
                    }
                )
                labels.append(("tpm", r))
            if r.max_concurrency is not None:
                checks.append(
                    {
                        "t": "conc",
                        "k": f"{self.prefix}conc:{r.scope}",
                        "limit": r.max_concurrency,
                        "id": adm.request_id,
                        "now": now,
                        "stale": now - STALE_SLOT_S,
                        "ttl": STALE_SLOT_S,
                    }
                )
                labels.append(("conc", r))
        for c in adm.budgets:
            checks.append(
                {"t": "budget", "k": self._budget_key(c), "n": adm.cost, "limit": round(c.rule.usd * NANO)}
            )
            labels.append(("budget", c))
        if not checks:
            adm.admitted = True
            return
        try:
            for _ in range(len(adm.budgets) + 1):
                future = self._batches.submit({"a": checks}, wait=True)
                assert future is not None
                index = await future
                if index < 0:  # a budget window not seen yet: seed it from the ledger, then retry
                    c = adm.budgets[-index - 1 - (len(checks) - len(adm.budgets))]
                    spent = await asyncio.to_thread(spent_in_window, self.engine, c.rule.scope, c.window)
                    key = self._budget_key(c)
                    if await self.redis.hsetnx(key, "spent", spent):
                        await self.redis.hsetnx(key, "reserved", 0)
                        await self.redis.expireat(key, c.resets_at + 86400)
                    continue
                if index > 0:
                    raise _refusal(*labels[index - 1], now)
                adm.admitted = True
                return
        except (redis.RedisError, OSError) as exc:
            self._warn(exc)
            if not self.fail_open:
                raise LimiterUnavailable(f"the rate limiter (Redis) is unreachable: {exc}") from None
            return

    async def settle(self, adm: Admission, tokens: int, cost: int) -> None:
        if not adm.admitted:
            return
        adm.admitted = False
        items: list[dict[str, Any]] = []
        for r in adm.rates:
            if r.tpm is not None and tokens != adm.tokens:
                items.append(
                    {"t": "rate", "k": f"{self.prefix}tpm:{r.scope}:{adm.minute}", "n": tokens - adm.tokens}
                )
            if r.max_concurrency is not None:
                items.append({"t": "conc", "k": f"{self.prefix}conc:{r.scope}", "id": adm.request_id})
        for c in adm.budgets:
            items.append({"t": "budget", "k": self._budget_key(c), "n": cost, "reserved": adm.cost})
        if items:  # off the request path: queued for the next call to Redis
            self._batches.submit({"s": items}, wait=False)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_warning > 10:
            self._last_warning = now
            policy = "admitting requests (fail open)" if self.fail_open else "refusing requests (fail closed)"
            log.error("redis unreachable (%s): %s", exc, policy)

    async def close(self) -> None:
        await self._batches.flush()
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
