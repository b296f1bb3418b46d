"""The dynamic batcher on its own: concurrent callers share calls, groups stay apart, limits hold."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from fmops.core.errors import RunError
from fmops.models import (
    Capabilities,
    GenerateConfig,
    GenerateRequest,
    Limits,
    Model,
    ModelResult,
    ScoreRequest,
)
from fmops.models._api import ModelAPI
from fmops.serving import BatcherClosedError, DynamicBatcher, QueueFullError


class RecordingModel(ModelAPI):
    """Upper-cases prompts after `delay` seconds; records every call it receives."""

    provider: ClassVar[str] = "recording"
    default_concurrency = 1

    def __init__(self, batch: int = 8, delay: float = 0.05, fail: str | None = None) -> None:
        super().__init__("rec")
        self.batch = batch
        self.delay = delay
        self.fail = fail
        self.calls: list[tuple[str, list[Any]]] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=True, score=True, max_batch_size=self.batch)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": "rec"}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        self.calls.append(("generate", list(requests)))
        await asyncio.sleep(self.delay)
        if self.fail and any(self.fail in (r.prompt or "") for r in requests):
            raise RunError("the device is gone")
        return [ModelResult(text=(r.prompt or "").upper(), finish_reason="stop") for r in requests]

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        self.calls.append(("score", list(requests)))
        await asyncio.sleep(self.delay)
        return [ModelResult(logprob=-float(len(r.text))) for r in requests]


def _setup(**kwargs: Any) -> tuple[RecordingModel, Model]:
    api = RecordingModel(**{k: kwargs.pop(k) for k in ("batch", "delay", "fail") if k in kwargs})
    return api, Model(api, store=False, limits=Limits(max_retries=0))


def _req(prompt: str, temperature: float | None = 0) -> GenerateRequest:
    return GenerateRequest(prompt=prompt, config=GenerateConfig(temperature=temperature, max_tokens=4))


def test_concurrent_callers_share_one_call_and_get_their_own_results() -> None:
    api, model = _setup()

    async def main() -> list[list[ModelResult]]:
        batcher = DynamicBatcher(model, max_batch_size=8, batch_wait_s=0.05)
        try:
            return await asyncio.gather(*(batcher.generate([_req(f"p{i}")]) for i in range(8)))
        finally:
            await batcher.close()

    answers = asyncio.run(main())
    assert [a[0].text for a in answers] == [f"P{i}" for i in range(8)]
    assert len(api.calls) == 1 and len(api.calls[0][1]) == 8


def test_a_busy_model_gets_full_batches_of_at_most_max_batch_size() -> None:
    api, model = _setup(delay=0.05)

    async def main() -> DynamicBatcher:
        batcher = DynamicBatcher(model, max_batch_size=8, batch_wait_s=0.0)
        first = asyncio.ensure_future(batcher.generate([_req("first")]))
        await asyncio.sleep(0.01)  # the first batch runs; the next 20 pile up behind it
        rest = await asyncio.gather(*(batcher.generate([_req(f"p{i}")]) for i in range(20)))
        await first
        assert [r[0].text for r in rest] == [f"P{i}" for i in range(20)]
        await batcher.close()
        return batcher

    batcher = asyncio.run(main())
    assert [len(reqs) for _, reqs in api.calls] == [1, 8, 8, 4]
    assert batcher.stats.batches == 4 and batcher.stats.largest == 8


def test_requests_that_decode_differently_are_batched_apart() -> None:
    api, model = _setup()

    async def main() -> None:
        batcher = DynamicBatcher(model, max_batch_size=8, batch_wait_s=0.05)
        jobs = [batcher.generate([_req(f"g{i}", temperature=0 if i % 2 else 0.7)]) for i in range(6)]
        jobs.append(batcher.score([ScoreRequest(text="abc"), ScoreRequest(text="de")]))
        out = await asyncio.gather(*jobs)
        assert out[-1][0].logprob == -3.0 and out[-1][1].logprob == -2.0
        await batcher.close()

    asyncio.run(main())
    assert sorted(len(reqs) for _, reqs in api.calls) == [2, 3, 3]
    for op, reqs in api.calls:
        if op == "generate":
            assert len({r.config for r in reqs}) == 1


def test_a_full_queue_refuses_instead_of_growing() -> None:
    _, model = _setup(delay=0.2, batch=1)

    async def main() -> None:
        batcher = DynamicBatcher(model, max_batch_size=1, batch_wait_s=0.0, max_queue=2)
        running = asyncio.ensure_future(batcher.generate([_req("a")]))
        await asyncio.sleep(0.02)  # dispatched: no longer queued
        queued = [asyncio.ensure_future(batcher.generate([_req(x)])) for x in "bc"]
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError):
            await batcher.generate([_req("d")])
        assert batcher.stats.rejected == 1
        assert [r[0].text for r in await asyncio.gather(running, *queued)] == ["A", "B", "C"]
        await batcher.close()

    asyncio.run(main())


def test_a_failed_batch_fails_its_callers_and_the_next_batch_runs() -> None:
    _, model = _setup(fail="boom")

    async def main() -> None:
        batcher = DynamicBatcher(model, max_batch_size=8, batch_wait_s=0.0)
        with pytest.raises(RunError, match="device is gone"):
            await batcher.generate([_req("boom")])
        assert (await batcher.generate([_req("fine")]))[0].text == "FINE"
        await batcher.close()

    asyncio.run(main())


def test_a_caller_that_leaves_never_reaches_the_model_and_close_fails_the_waiting() -> None:
    api, model = _setup()

    async def main() -> None:
        batcher = DynamicBatcher(model, max_batch_size=8, batch_wait_s=0.3)
        gone = asyncio.ensure_future(batcher.generate([_req("gone")]))
        await asyncio.sleep(0.01)
        gone.cancel()
        stays = asyncio.ensure_future(batcher.generate([_req("stays")]))
        assert (await stays)[0].text == "STAYS"
        waiting = asyncio.ensure_future(batcher.generate([_req("late")]))
        await asyncio.sleep(0.01)
        await batcher.close()
        with pytest.raises(BatcherClosedError):
            await waiting
        with pytest.raises(BatcherClosedError):
            await batcher.generate([_req("after")])

    asyncio.run(main())
    assert [r.prompt for _, reqs in api.calls for r in reqs] == ["stays"]
