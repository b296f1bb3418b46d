"""Rate limits and budgets: reserve-then-settle, in-process and in Redis, under concurrency."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from fmops.gateway import load_gateway_config, open_gateway_database
from fmops.gateway._limits import (
    NANO,
    Admission,
    DatabaseBudgets,
    LimiterUnavailable,
    LimitExceeded,
    LocalLimiter,
    RedisLimiter,
    budget_checks,
)
from fmops.gateway._tenancy import BudgetRule, RateRule

from .conftest import REDIS_URL

MESSAGES = [{"role": "user", "content": "one two three four"}]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _admission(
    i: int, rates=(), budgets=(), tokens: int = 10, cost: float = 0.0, now: float = 1_800_000_000.0
):
    return Admission(f"r{i}", list(rates), tokens, budget_checks(list(budgets), now), round(cost * NANO))


def test_local_rates_hold_and_reset_with_the_minute(write_config) -> None:
    engine = open_gateway_database(load_gateway_config(write_config()))
    clock = Clock()
    limiter = LocalLimiter(engine, clock=clock)
    rule = RateRule("key:k", rpm=3, tpm=None, max_concurrency=None)

    async def run() -> None:
        for i in range(3):
            await limiter.admit(_admission(i, [rule]))
        with pytest.raises(LimitExceeded) as refused:
            await limiter.admit(_admission(9, [rule]))
        assert "requests per minute (3)" in str(refused.value) and refused.value.resets_at % 60 == 0
        clock.now = refused.value.resets_at
        await limiter.admit(_admission(10, [rule]))
        # Tokens per minute: the estimate is reserved, then settled to what was used.
        tpm = RateRule("team:t", rpm=None, tpm=100, max_concurrency=1)
        first = _admission(20, [tpm], tokens=60)
        await limiter.admit(first)
        with pytest.raises(LimitExceeded, match="concurrent requests"):
            await limiter.admit(_admission(21, [tpm], tokens=1))
        await limiter.settle(first, tokens=20, cost=0)
        second = _admission(22, [tpm], tokens=80)
        await limiter.admit(second)
        await limiter.settle(second, tokens=80, cost=0)
        with pytest.raises(LimitExceeded, match="tokens per minute"):
            await limiter.admit(_admission(23, [tpm], tokens=1))

    asyncio.run(run())


def test_database_budget_never_overspends_under_concurrent_threads(write_config) -> None:
    engine = open_gateway_database(load_gateway_config(write_config()))
    budgets = DatabaseBudgets(engine)
    checks = budget_checks([BudgetRule("team:t", "monthly", 1.0)], 1_800_000_000.0)
    estimate = round(0.03 * NANO)

    def one(_: int) -> bool:
        try:
            budgets.reserve(checks, estimate)
        except LimitExceeded:
            return False
        budgets.settle(checks, estimate, estimate)
        return True

    with ThreadPoolExecutor(8) as pool:
        admitted = sum(pool.map(one, range(60)))
    assert admitted == 33  # floor(1.0 / 0.03): never one more


def test_redis_budget_and_tpm_hold_under_200_concurrent_requests(write_config, redis_prefix) -> None:
    engine = open_gateway_database(load_gateway_config(write_config()))
    clock = Clock()
    budget = BudgetRule("key:k", "daily", 1.0)
    tpm = RateRule("team:t", rpm=None, tpm=5000, max_concurrency=None)

    async def run() -> tuple[int, int]:
        # Two limiters: two replicas sharing one Redis.
        replicas = [
            RedisLimiter(REDIS_URL, redis_prefix, engine, fail_open=False, clock=clock) for _ in range(2)
        ]
        spent = 0
        admitted = 0

        async def one(i: int) -> None:
            nonlocal spent, admitted
            limiter = replicas[i % 2]
            adm = _admission(i, [tpm], [budget], tokens=40, cost=0.02, now=clock.now)
            try:
                await limiter.admit(adm)
            except (LimitExceeded, LimiterUnavailable):
                return
            admitted += 1
            await asyncio.sleep(0)
            cost = round(0.015 * NANO)  # every request costs less than its estimate
            spent += cost
            await limiter.settle(adm, tokens=30, cost=cost)

        await asyncio.gather(*(one(i) for i in range(200)))
        for r in replicas:
            await r.close()
        return admitted, spent

    admitted, spent = asyncio.run(run())
    # TPM: 5000 / 40 = 125 admitted at most at once; the budget: spend never passes $1 (+ one estimate).
    assert 0 < admitted <= 125
    assert spent <= NANO + round(0.02 * NANO)


def test_redis_down_follows_the_configured_policy(write_config, caplog) -> None:
    engine = open_gateway_database(load_gateway_config(write_config()))
    rule = RateRule("key:k", rpm=1, tpm=None, max_concurrency=None)

    async def run(fail_open: bool) -> None:
        limiter = RedisLimiter("redis://127.0.0.1:1/0", "x:", engine, fail_open=fail_open)
        try:
            await limiter.admit(_admission(1, [rule]))
            await limiter.admit(_admission(2, [rule]))  # over the rpm, but nobody can count: admitted
        finally:
            await limiter.close()

    asyncio.run(run(True))
    assert "fail open" in caplog.text
    with pytest.raises(LimiterUnavailable):
        asyncio.run(run(False))


def test_gateway_answers_429_naming_the_budget(gateway) -> None:
    routes = [{"name": "chat", "model": "echo/x", "prices": {"input_per_1k": 1000, "output_per_1k": 1000}}]
    with gateway(routes) as gw:
        client = gw.client(gw.key("small", budget_usd=20.0))
        client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=4)  # estimate $8, costs $8
        client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=4)
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=4)
        error = refused.value
        assert error.code == "budget_exceeded" and "monthly budget ($20)" in error.message
        assert int(error.response.headers["retry-after"]) > 0
        limited = gw.client(gw.key("fast", rpm=1))
        limited.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=1)
        with pytest.raises(openai.RateLimitError, match="requests per minute"):
            limited.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=1)


def test_redis_calls_are_shared_and_a_settle_precedes_later_admissions(write_config, redis_prefix) -> None:
    engine = open_gateway_database(load_gateway_config(write_config()))
    one_at_a_time = RateRule("key:k", rpm=None, tpm=None, max_concurrency=1)
    many = RateRule("team:t", rpm=1000, tpm=None, max_concurrency=None)

    async def run() -> tuple[int, int]:
        limiter = RedisLimiter(REDIS_URL, redis_prefix, engine, fail_open=False)
        calls = 0
        send = limiter._batches.call

        async def counted(ops):
            nonlocal calls
            calls += 1
            return await send(ops)

        limiter._batches.call = counted
        try:
            # 50 requests arriving in one turn of the event loop: all queued before the call leaves.
            await asyncio.gather(*(limiter.admit(_admission(i, [many])) for i in range(50)))
            burst = calls
            # A slot released (settled) and taken again at once: the settle goes first, in the same call.
            for i in range(5):
                adm = _admission(100 + i, [one_at_a_time])
                await limiter.admit(adm)
                await limiter.settle(adm, tokens=10, cost=0)
            return burst, calls - burst
        finally:
            await limiter.close()

    burst, sequential = asyncio.run(run())
    assert burst == 1
    assert sequential == 5  # each settle rode along with the next admission (the last one left at close)
