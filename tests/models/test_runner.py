"""The batch runner around every provider: order, progress, capability checks, retries, limits, accounting."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import pytest

from fmops.models import (
    Capabilities,
    CapabilityError,
    ChatMessage,
    GenerateConfig,
    GenerateRequest,
    Model,
    ModelAPI,
    ModelResult,
    Prices,
    ScoreRequest,
    TokenSource,
    get_model,
)
from fmops.models._limits import AdaptiveConcurrency, Limits, RateBudget
from fmops.models._tokens import count_with_encoding

pytestmark = pytest.mark.anyio

FAST = ["backoff_base=0.01", "backoff_max=0.05"]


def openai(server: Any, *args: str) -> Model:
    return get_model("openai/test-model", [f"base_url={server.base_url}", *FAST, *args], store=False)


async def test_results_come_back_in_request_order_with_progress() -> None:
    model = get_model("echo/e", ["batch_size=3", "latency=0.01"], store=False)
    prompts = [f"p{i} " + "x " * (i % 5) for i in range(20)] + ["p0 "]  # a duplicate, and varied lengths
    seen: list[tuple[int, int]] = []
    out = await model.generate(prompts, progress=lambda done, total: seen.append((done, total)))
    assert [r.text for r in out] == [p.strip().replace("  ", " ") for p in prompts]
    assert seen[0] == (0, 21) and seen[-1] == (21, 21)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert model.api.calls == 7  # 20 distinct prompts in batches of 3
    assert out.summary.total == 21 and out.summary.succeeded == 21 and out.summary.calls == 7


async def test_capabilities_are_checked_before_any_call(server: Any) -> None:
    completions = openai(server, "api=completions")
    chat = GenerateRequest(messages=(ChatMessage(role="user", content="hi"),))
    with pytest.raises(CapabilityError, match="chat messages"):
        await completions.generate(["fine", chat])
    from fmops.models._providers.bedrock import BedrockModel

    bedrock = Model(BedrockModel("m", region="us-east-1"), store=False)
    with pytest.raises(CapabilityError, match="log-probabilities"):
        await bedrock.generate([GenerateRequest(prompt="x", config=GenerateConfig(logprobs=True))])
    with pytest.raises(CapabilityError, match="score"):
        await bedrock.score(["text"])
    assert server.call_count == 0


async def test_429_with_retry_after_is_honoured(server: Any) -> None:
    server.add_fault("status", status=429, retry_after=0.4, times=1)
    model = openai(server)
    started = time.perf_counter()
    out = await model.generate(["a"])
    assert time.perf_counter() - started >= 0.4
    assert out[0].ok and out[0].attempts == 2
    assert out.summary.retries == 1 and out.summary.calls == 2
    assert model._state is not None and model._state.concurrency.decreases == 1


@pytest.mark.parametrize("kind", ["malformed", "drop", "truncate"])
async def test_broken_responses_are_retried(server: Any, kind: str) -> None:
    server.add_fault(kind, times=2)
    out = await openai(server).generate(["a"])
    assert out[0].ok and out[0].text == "Echo: a" and out[0].attempts == 3


async def test_failures_are_recorded_and_the_run_goes_on(server: Any) -> None:
    server.add_fault("status", status=400, match="invalid")
    server.add_fault("status", status=500, match="doomed")
    out = await openai(server, "max_retries=2").generate(["ok 1", "invalid", "doomed", "ok 2"])
    assert [r.ok for r in out] == [True, False, False, True]
    assert out[1].attempts == 1 and "HTTP 400" in (out[1].error or "")
    assert out[2].attempts == 3 and "HTTP 500" in (out[2].error or "") and out[2].finish_reason == "error"
    assert out.summary.errors == 2 and out.summary.succeeded == 2
    assert sum(out.summary.error_messages.values()) == 2
    assert server.calls_for("doomed") == 3 and server.calls_for("invalid") == 1


async def test_timeouts_fail_one_record(server: Any) -> None:
    server.add_fault("delay", delay=10.0, match="slow")
    out = await openai(server, "timeout=0.3", "max_retries=0").generate(["slow", "quick"])
    # Had the timeout not fired, the slow call would have waited out its 10 s and succeeded.
    assert not out[0].ok and "timed out" in (out[0].error or "") and out[0].attempts == 1
    assert out[1].ok and server.calls_for("slow") == 1


async def test_streaming_measures_time_to_first_token(server: Any) -> None:
    server.add_fault("slow_stream", delay=0.05)
    out = await openai(server, "stream=true").generate(["one two three four"])
    r = out[0]
    assert (
        r.text == "Echo: one two three four"
        and r.output_tokens == 5
        and r.token_source == TokenSource.PROVIDER
    )
    assert r.ttft_s is not None and r.latency_s is not None
    assert r.latency_s - r.ttft_s >= 0.15  # four more chunks, 50 ms apart


async def test_a_stalled_stream_times_out(server: Any) -> None:
    server.add_fault("slow_stream", delay=3.0, times=1)
    out = await openai(server, "stream=true", "timeout=0.5").generate(["a b c"])
    assert out[0].ok and out[0].attempts >= 2  # the first attempt stalls; later ones stream at once


class _InFlight(ModelAPI):
    """Counts calls in flight; the first calls wait until `gate` of them are in flight at once."""

    provider = "inflight"

    def __init__(self, model: str, gate: int) -> None:
        super().__init__(model)
        self.gate = gate
        self.now = 0
        self.peak = 0
        self.full = asyncio.Event()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=False)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        self.now += 1
        self.peak = max(self.peak, self.now)
        if self.now >= self.gate:
            self.full.set()
        # Bounded wait: a runner that never reaches the gate fails the assertion below instead of hanging.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.full.wait(), timeout=10)
        self.now -= 1
        return [ModelResult(text=r.prompt or "") for r in requests]


@pytest.mark.parametrize("limit", [3, 8])
async def test_concurrency_is_bounded_and_used(limit: int) -> None:
    api = _InFlight("c", gate=limit)
    model = Model(api, store=False, limits=Limits(max_concurrency=limit))
    out = await model.generate([str(i) for i in range(32)])
    assert out.summary.succeeded == 32
    assert api.peak == limit  # never more than the limit, and the limit is used (counts, not a clock)


async def test_adaptive_concurrency_halves_then_grows() -> None:
    limiter = AdaptiveConcurrency(16)
    await limiter.acquire()
    await limiter.release(overloaded=True)
    assert limiter.limit == 8
    await limiter.acquire()
    await limiter.release(overloaded=True)  # same burst of 429s: counted once
    assert limiter.limit == 8
    for _ in range(8):
        await limiter.acquire()
        await limiter.release()
    assert 8.9 < limiter.limit < 9.1
    await asyncio.sleep(0.25)
    await limiter.acquire()
    await limiter.release(overloaded=True)
    assert limiter.limit == pytest.approx(4.5, abs=0.1)


async def test_overload_shrinks_concurrency_in_a_run(server: Any) -> None:
    server.add_fault("status", status=503, times=3)
    model = openai(server, "max_concurrency=16")
    out = await model.generate([str(i) for i in range(40)])
    assert out.summary.errors == 0 and out.summary.retries == 3
    state = model._state
    assert state is not None and state.concurrency.decreases >= 1 and state.concurrency.limit < 16


async def test_requests_per_minute_budget() -> None:
    model = get_model("echo/e", ["rpm=1200"], store=False)  # 20 per second
    started = time.perf_counter()
    await model.generate([str(i) for i in range(40)])
    assert time.perf_counter() - started >= 0.9


async def test_token_budget_waits_and_takes_debt() -> None:
    budget = RateBudget(6000)  # 100 tokens per second, a bucket of 100
    started = time.perf_counter()
    await budget.take(100)
    await budget.take(150)  # bigger than the bucket: waits for a full one and leaves a debt
    assert time.perf_counter() - started >= 0.9
    assert budget.level == pytest.approx(-50, abs=2)
    budget.adjust(-100)  # the real usage was smaller: refund
    assert budget.level == pytest.approx(50, abs=2)


def test_backoff_grows_with_jitter_and_respects_retry_after() -> None:
    limits = Limits(backoff_base_s=0.5, backoff_max_s=4)
    assert all(0.25 <= limits.backoff(0) <= 0.5 for _ in range(50))
    assert all(2 <= limits.backoff(10) <= 4 for _ in range(50))
    assert limits.backoff(0, retry_after=3) == 3


async def test_tokens_fall_back_to_a_tokenizer_then_an_estimate(server: Any) -> None:
    server.usage = False
    prompt = "Counting tokens offline works for OpenAI encodings."
    known = get_model("openai/gpt-4o-mini", [f"base_url={server.base_url}"], store=False)
    r = (await known.generate([prompt]))[0]
    assert r.token_source == TokenSource.TOKENIZER
    assert r.input_tokens == count_with_encoding("o200k_base", [prompt])[0]
    assert r.output_tokens == count_with_encoding("o200k_base", ["Echo: " + prompt])[0]
    unknown = (await openai(server).generate([prompt]))[0]
    assert unknown.token_source == TokenSource.ESTIMATE
    assert unknown.input_tokens == -(-len(prompt) // 4)
    server.usage = True
    reported = (await openai(server).generate([prompt]))[0]
    assert reported.token_source == TokenSource.PROVIDER and reported.input_tokens == 7


async def test_cost_per_token_and_per_hour(server: Any) -> None:
    priced = get_model(
        "openai/test-model",
        [f"base_url={server.base_url}"],
        store=False,
        prices=Prices(input_per_1k=1, output_per_1k=2),
    )
    out = await priced.generate(["a b c"])
    assert out[0].cost == pytest.approx((3 * 1 + 4 * 2) / 1000)
    assert out.summary.cost == pytest.approx(out[0].cost)
    hourly = get_model("echo/e", ["batch_size=2", "latency=0.05"], store=False, prices=Prices(per_hour=3600))
    res = await hourly.generate(["a", "b"])
    assert res[0].cost == pytest.approx(res[0].latency_s / 2)


class _Flaky(ModelAPI):
    provider = "flaky"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=False, score=True)

    def fingerprint_data(self) -> dict[str, Any]:
        return {}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        if requests[0].prompt == "bug":
            raise ValueError("provider bug")
        return [ModelResult(text="fine")]

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        return [ModelResult(logprob=-1.0), ModelResult(logprob=-2.0)]  # one too many


async def test_provider_bugs_cost_one_record() -> None:
    model = Model(_Flaky("x"), store=False)
    out = await model.generate(["a", "bug", "b"])
    assert [r.ok for r in out] == [True, False, True]
    assert "ValueError: provider bug" in (out[1].error or "")
    bad = await model.score(["t"])
    assert "2 results for 1 requests" in (bad[0].error or "")


async def test_sync_api_refuses_to_run_inside_a_loop() -> None:
    with pytest.raises(RuntimeError, match="await"):
        get_model("echo/e", store=False).generate_sync(["x"])


def test_one_model_serves_several_event_loops(server: Any) -> None:
    model = openai(server)
    assert model.generate_sync(["a"])[0].ok
    assert asyncio.run(model.generate(["b"]))[0].ok
    assert model.generate_sync(["c"])[0].ok


class _NeedsExtra(_Flaky):
    provider = "needs-extra"

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        if requests[0].prompt == "late":
            from fmops.core.errors import MissingDependencyError

            raise MissingDependencyError("somepkg", "extra", "This model")
        return [ModelResult(text="fine")]


async def test_configuration_errors_stop_the_run_and_keep_what_is_stored(tmp_path: Any) -> None:
    from fmops.core.errors import MissingDependencyError
    from fmops.models import SQLiteStore

    store = SQLiteStore(tmp_path / "s.sqlite")
    model = Model(_NeedsExtra("x"), store=store, limits=Limits(max_concurrency=1))
    with pytest.raises(MissingDependencyError, match="somepkg"):
        await model.generate(["a", "b", "late", "c"])
    assert store.stats().entries == 2


class _Stuck(ModelAPI):
    """A provider whose call never finishes by itself (it waits on `release`); counts its calls."""

    provider = "stuck"

    def __init__(self, model: str, default_timeout_s: float | None) -> None:
        super().__init__(model)
        self.default_timeout_s = default_timeout_s  # type: ignore[misc]
        self.calls = 0
        self.release = asyncio.Event()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=False)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        self.calls += 1
        await self.release.wait()
        return [ModelResult(text="done") for _ in requests]


async def test_the_provider_default_timeout_applies_unless_one_is_given() -> None:
    remote = _Stuck("r", default_timeout_s=0.05)
    out = await Model(remote, store=False, limits=Limits(max_retries=0)).generate(["x"])
    assert out[0].error == "timed out after 0.05 s" and remote.calls == 1
    local = _Stuck("l", default_timeout_s=None)
    out = await Model(local, store=False, limits=Limits(max_retries=0, timeout_s=0.05)).generate(["x"])
    assert out[0].error == "timed out after 0.05 s"


async def test_an_in_process_provider_is_not_timed_out_and_retried_by_default() -> None:
    """A local batch cannot be cancelled; timing it out would queue the same work again behind it."""
    from fmops.models._providers.hf import HFModel

    assert HFModel.default_timeout_s is None and Limits().timeout_s is None
    local = _Stuck("l", default_timeout_s=None)
    task = asyncio.ensure_future(Model(local, store=False, limits=Limits(max_retries=3)).generate(["x"]))
    while local.calls == 0:
        await asyncio.sleep(0)
    for _ in range(200):  # the runner gets many turns; without a timeout nothing re-queues the call
        await asyncio.sleep(0)
    local.release.set()
    out = await task
    assert out[0].text == "done" and out[0].attempts == 1 and local.calls == 1
