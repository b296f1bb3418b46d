"""`Model`: the one interface callers use. It wraps any provider with the cross-cutting parts, written
once: capability checks, the response store, de-duplication, adaptive concurrency, rate budgets,
retries with backoff, timeouts, token and cost accounting, progress, and results in request order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from fmops.core.errors import BadInputError, FmopsError
from fmops.models._api import ModelAPI
from fmops.models._limits import AdaptiveConcurrency, Limits, RateBudget
from fmops.models._spec import (
    ModelEntry,
    ModelSpec,
    Prices,
    has_spec_resolver,
    load_models_config,
    parse_model_spec,
)
from fmops.models._store import ResponseStore, open_store, request_key
from fmops.models._tokens import estimate_tokens
from fmops.models._types import (
    Capabilities,
    CapabilityError,
    GenerateRequest,
    ModelCallError,
    ModelResult,
    ScoreRequest,
    TokenSource,
    canonical_request,
)

#: progress(done, total): called once cached results are known, then after every finished request.
ProgressFn = Callable[[int, int], None]
Op = Literal["generate", "score"]
_START_PACE_S = 0.003


@dataclass(slots=True)
class BatchSummary:
    """What a batch cost and how it went; errors are counted, never hidden."""

    total: int = 0
    succeeded: int = 0
    errors: int = 0
    cached: int = 0
    #: Provider calls made, retries included.
    calls: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: Cost of the results produced by this run (cached ones were paid for before); None without prices.
    cost: float | None = None
    wall_s: float = 0.0
    error_messages: dict[str, int] = field(default_factory=dict)


class BatchResult(Sequence[ModelResult]):
    """Results in request order, plus a summary."""

    def __init__(self, results: list[ModelResult], summary: BatchSummary) -> None:
        self.results = results
        self.summary = summary

    @overload
    def __getitem__(self, index: int) -> ModelResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[ModelResult]: ...
    def __getitem__(self, index: int | slice) -> ModelResult | list[ModelResult]:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[ModelResult]:
        return iter(self.results)

    def __repr__(self) -> str:
        s = self.summary
        return f"BatchResult({s.total} results, {s.errors} errors, {s.cached} cached)"


class _LoopState:
    """Limiters are bound to an event loop; a new loop (a second `asyncio.run`) gets new ones."""

    def __init__(self, limits: Limits, concurrency: int, start: float | None) -> None:
        self.loop = asyncio.get_running_loop()
        self.concurrency = AdaptiveConcurrency(concurrency, limits.min_concurrency, limits.adaptive)
        if start is not None:
            self.concurrency.limit = start
        self.rpm = RateBudget(limits.rpm) if limits.rpm else None
        self.tpm = RateBudget(limits.tpm) if limits.tpm else None


class Model:
    """A model with everything around it. Build one with `get_model`; use `async with` or `aclose()`."""

    def __init__(
        self,
        api: ModelAPI,
        *,
        name: str | None = None,
        store: ResponseStore | bool = True,
        limits: Limits | None = None,
        prices: Prices | None = None,
    ) -> None:
        self.api = api
        self.name = name or f"{api.provider}/{api.model}"
        self.limits = limits or Limits()
        self.prices = prices
        self._store_arg = store
        self._store: ResponseStore | None = store if isinstance(store, ResponseStore) else None
        data = {"provider": api.provider, **api.fingerprint_data()}
        #: Identifies what produces the outputs (not the name it is called by): keys the response store.
        self.fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[
            :32
        ]
        self._state: _LoopState | None = None
        #: The spec and arguments `get_model` built this model from, so another process (a Ray worker)
        #: builds the same model with its own connections; None for a model made by hand.
        self.built_from: tuple[str, dict[str, Any] | list[str]] | None = None

    # -- public -------------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return self.api.capabilities

    @property
    def store(self) -> ResponseStore | None:
        if self._store is None and self._store_arg is True:
            self._store = open_store()
        return self._store

    async def generate(
        self,
        requests: Iterable[GenerateRequest | str],
        *,
        progress: ProgressFn | None = None,
        use_store: bool = True,
    ) -> BatchResult:
        """Generate for every request (a str is a prompt with default decoding); never raises for a failed call.

        `use_store=False` neither reads nor writes the store for this batch: for calls that must reach
        the model, such as a determinism probe (at temperature 0 every sample shares one stored result).
        """
        reqs = [GenerateRequest(prompt=r) if isinstance(r, str) else r for r in requests]
        self._check_generate(reqs)
        return await self._run("generate", reqs, progress, use_store)

    async def score(
        self,
        requests: Iterable[ScoreRequest | str],
        *,
        progress: ProgressFn | None = None,
        use_store: bool = True,
    ) -> BatchResult:
        """log P(text | prefix) for every request, in `ModelResult.logprob`."""
        reqs = [ScoreRequest(text=r) if isinstance(r, str) else r for r in requests]
        if reqs and not self.capabilities.score:
            raise CapabilityError(f"{self.name} cannot score the log-probability of a text")
        return await self._run("score", reqs, progress, use_store)

    def generate_sync(
        self,
        requests: Iterable[GenerateRequest | str],
        *,
        progress: ProgressFn | None = None,
        use_store: bool = True,
    ) -> BatchResult:
        """`generate` for synchronous callers (not from inside a running event loop)."""
        return self._sync(self.generate(requests, progress=progress, use_store=use_store))

    def score_sync(
        self,
        requests: Iterable[ScoreRequest | str],
        *,
        progress: ProgressFn | None = None,
        use_store: bool = True,
    ) -> BatchResult:
        return self._sync(self.score(requests, progress=progress, use_store=use_store))

    async def aclose(self) -> None:
        await self.api.aclose()

    def close(self) -> None:
        """Close the response store if this model opened it (sync callers; async ones also `aclose`)."""
        if self._store is not None and self._store_arg is True:
            self._store.close()
            self._store = None

    async def __aenter__(self) -> Model:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Model({self.name!r}, fingerprint={self.fingerprint[:12]})"

    # -- checks -------------------------------------------------------------------------------
    def _check_generate(self, reqs: Sequence[GenerateRequest]) -> None:
        caps = self.capabilities
        if not caps.chat and any(r.is_chat for r in reqs):
            raise CapabilityError(f"{self.name} does not take chat messages; send a prompt instead")
        if not caps.logprobs and any(r.config.logprobs for r in reqs):
            raise CapabilityError(f"{self.name} does not return log-probabilities of generated text")

    # -- the runner ---------------------------------------------------------------------------
    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            previous = self._state.concurrency.limit if self._state is not None else None
            maximum = self.limits.max_concurrency or self.api.default_concurrency
            self._state = _LoopState(self.limits, maximum, previous)
        return self._state

    async def _run(
        self, op: Op, reqs: list[Any], progress: ProgressFn | None, use_store: bool
    ) -> BatchResult:
        started = time.perf_counter()
        total = len(reqs)
        keys = [request_key(self.fingerprint, op, r) for r in reqs]
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        store = self.store if use_store else None
        found = store.get_many(list(first)) if store is not None and first else {}
        # Nothing to condition on: a model generates from padding or fails. Refused per request, without a
        # call, as the server answers 400 ("an empty string: send at least one character").
        for key, i in first.items():
            if not _input_text(reqs[i]):
                found[key] = ModelResult(error=EMPTY_INPUT_ERROR, finish_reason="error", attempts=0)
        summary = BatchSummary(total=total)
        counts = Counter(keys)
        done = sum(counts[k] for k in found)
        if progress is not None:
            progress(done, total)

        pending = [k for k in first if k not in found]
        if pending:
            batch = max(1, self.capabilities.max_batch_size)
            if batch > 1:  # similar lengths together: less padding for local batched models
                pending.sort(key=lambda k: len(_input_text(reqs[first[k]])))
            units = [pending[i : i + batch] for i in range(0, len(pending), batch)]
            queue: asyncio.Queue[list[str]] = asyncio.Queue()
            for unit in units:
                queue.put_nowait(unit)
            state = self._loop_state()

            async def worker(position: int) -> None:
                nonlocal done
                if position:
                    await asyncio.sleep(position * pace)
                while not queue.empty():
                    unit = queue.get_nowait()
                    results = await self._call(op, [reqs[first[k]] for k in unit], state, summary)
                    for key, result in zip(unit, results, strict=True):
                        found[key] = result
                        if store is not None and result.error is None:
                            store.put(
                                key,
                                model=self.name,
                                fingerprint=self.fingerprint,
                                request=canonical_request(op, reqs[first[key]]),
                                result=result,
                            )
                        done += counts[key]
                    if progress is not None:
                        progress(done, total)

            workers = min(len(units), state.concurrency.maximum)
            # Paced start (at most 0.1 s in all): calls that start together finish together and then
            # queue for the CPU; spread out, they stay spread out. It also eases into rate limits.
            pace = min(_START_PACE_S, 0.1 / workers)
            tasks = [asyncio.ensure_future(worker(i)) for i in range(workers)]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

        results = []
        for i, key in enumerate(keys):
            result = found[key]
            if first[key] != i and not result.cached:  # one call answered an identical request before it
                result = result.model_copy(update={"cached": True})
            results.append(result)
        self._summarize(summary, results, time.perf_counter() - started)
        return BatchResult(results, summary)

    async def _call(
        self, op: Op, unit: list[Any], state: _LoopState, summary: BatchSummary
    ) -> list[ModelResult]:
        """One provider call with budgets, concurrency, timeout and retries; failures become error results."""
        limits = self.limits
        estimate = sum(_budget_tokens(r) for r in unit)
        timeout_s = limits.timeout_s if limits.timeout_s is not None else self.api.default_timeout_s
        attempt = 0
        while True:
            if state.rpm is not None:
                await state.rpm.take(len(unit))
            if state.tpm is not None:
                await state.tpm.take(estimate)
            await state.concurrency.acquire()
            error: ModelCallError | None = None
            started = time.perf_counter()
            try:
                summary.calls += 1
                async with asyncio.timeout(timeout_s):
                    if op == "generate":
                        out = await self.api.generate(unit)
                    else:
                        out = await self.api.score(unit)
                if len(out) != len(unit):
                    raise ModelCallError(f"the provider returned {len(out)} results for {len(unit)} requests")
            except ModelCallError as exc:
                error = exc
            except TimeoutError:
                error = ModelCallError(f"timed out after {timeout_s:g} s", retryable=True)
            except FmopsError:
                raise  # a missing extra, a model that cannot load: stop, keeping what is stored
            except NotImplementedError as exc:
                error = ModelCallError(str(exc) or "not implemented")
            except Exception as exc:  # a provider bug must cost one record, not the run
                error = ModelCallError(f"{type(exc).__name__}: {exc}")
            finally:
                await state.concurrency.release(
                    overloaded=error is not None and error.overloaded, success=error is None
                )
            elapsed = time.perf_counter() - started
            if error is None:
                if state.tpm is not None:
                    used = sum((r.input_tokens or 0) + (r.output_tokens or 0) for r in out)
                    state.tpm.adjust(used - estimate if used else 0)
                return [
                    self._account(req, res, elapsed, len(unit), attempt + 1)
                    for req, res in zip(unit, out, strict=True)
                ]
            if not error.retryable or attempt >= limits.max_retries:
                return [
                    ModelResult(
                        error=str(error), finish_reason="error", attempts=attempt + 1, latency_s=elapsed
                    )
                ] * len(unit)
            summary.retries += 1
            await asyncio.sleep(limits.backoff(attempt, error.retry_after))
            attempt += 1

    def _account(
        self, req: Any, res: ModelResult, elapsed: float, in_call: int, attempts: int
    ) -> ModelResult:
        """Fill what the provider left out: tokens (tokenizer, else estimate), latency, cost."""
        update: dict[str, Any] = {"attempts": attempts}
        if res.latency_s is None:
            update["latency_s"] = elapsed
        if res.error is None:
            sources = []
            if res.input_tokens is None:
                update["input_tokens"], src = self._count(_input_text(req))
                sources.append(src)
            if res.output_tokens is None and isinstance(req, GenerateRequest):
                update["output_tokens"], src = self._count(res.text or "")
                sources.append(src)
            if sources:
                worst = TokenSource.ESTIMATE if TokenSource.ESTIMATE in sources else TokenSource.TOKENIZER
                if res.token_source == TokenSource.ESTIMATE:
                    worst = TokenSource.ESTIMATE
                update["token_source"] = worst
            elif res.token_source is None:
                update["token_source"] = TokenSource.PROVIDER
        if self.prices is not None and res.cost is None:
            tokens_in = update.get("input_tokens", res.input_tokens)
            tokens_out = update.get("output_tokens", res.output_tokens)
            cost = self.prices.token_cost(tokens_in, tokens_out)
            if cost is None and self.prices.per_hour is not None:
                # Device time: this call's latency shared by the records it served.
                cost = (
                    self.prices.per_hour / 3600 * update.get("latency_s", res.latency_s or elapsed) / in_call
                )
            update["cost"] = cost
        return res.model_copy(update=update)

    def _count(self, text: str) -> tuple[int, TokenSource]:
        counted = self.api.count_tokens([text])
        if counted is not None:
            return counted[0], TokenSource.TOKENIZER
        return estimate_tokens(text), TokenSource.ESTIMATE

    @staticmethod
    def _summarize(summary: BatchSummary, results: list[ModelResult], wall: float) -> None:
        costs = []
        messages: Counter[str] = Counter()
        for r in results:
            if r.cached:
                summary.cached += 1
            if r.error is not None:
                summary.errors += 1
                messages[r.error[:200]] += 1
                continue
            summary.succeeded += 1
            summary.input_tokens += r.input_tokens or 0
            summary.output_tokens += r.output_tokens or 0
            if r.cost is not None and not r.cached:
                costs.append(r.cost)
        summary.cost = sum(costs) if costs else None
        summary.wall_s = wall
        summary.error_messages = dict(messages.most_common(20))

    def _sync(self, coro: Any) -> Any:
        """Run on a fresh event loop, then release what the provider bound to it (connections, threads)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError(
                "generate_sync/score_sync called from a running event loop: await generate/score instead"
            )

        async def run() -> Any:
            try:
                return await coro
            finally:
                await self.api.aclose()

        return asyncio.run(run())


#: The error of a request with no input text at all (the same words as the server's 400).
EMPTY_INPUT_ERROR = "the input is an empty string: send at least one character"


def _input_text(req: GenerateRequest | ScoreRequest) -> str:
    return req.input_text() if isinstance(req, GenerateRequest) else req.prefix + req.text


def _budget_tokens(req: GenerateRequest | ScoreRequest) -> int:
    """Tokens a request may use, reserved from the per-minute budget before the call."""
    out = (
        (req.config.max_tokens if req.config.max_tokens is not None else 256)
        if isinstance(req, GenerateRequest)
        else 1
    )
    return estimate_tokens(_input_text(req)) + out


def get_model(
    spec: str | ModelSpec | ModelEntry,
    args: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    config: str | Path | None = None,
    store: ResponseStore | bool = True,
    limits: Limits | None = None,
    prices: Prices | None = None,
) -> Model:
    """Build a model from `PROVIDER/MODEL` (plus `-M` arguments) or a name in models.yaml.

    Limit arguments (max_concurrency, rpm, tpm, max_retries, timeout, ...) go to the runner; the rest to
    the provider, which rejects names it does not know.
    """
    from fmops.models._registry import get_provider

    entry: ModelEntry | None = spec if isinstance(spec, ModelEntry) else None
    if isinstance(spec, str):
        named = load_models_config(config)
        if spec in named:
            entry = named[spec]
        elif "/" not in spec and not has_spec_resolver(spec):
            known = ", ".join(sorted(named)) or "none configured"
            raise BadInputError(
                f"model {spec!r}: not a PROVIDER/MODEL spec nor a name in models.yaml ({known})"
            )
    if entry is not None:
        base = entry.model_spec()
        name = entry.name
        prices = prices or entry.prices
    elif isinstance(spec, ModelSpec):
        base, name = spec, str(spec)
    else:
        base = parse_model_spec(str(spec))
        # A resolved reference keeps the name the user gave (`registry:qa@production`), not its target.
        name = spec.strip() if isinstance(spec, str) and has_spec_resolver(spec) else str(base)
    extra = parse_model_spec(str(base), args).args if args is not None else {}
    merged = {**base.args, **extra}
    run_limits = Limits.from_args(merged, limits)
    api = get_provider(base.provider)(base.model, **merged)
    # A provider may know its own (e.g. illustrative) prices; models.yaml and the caller win.
    prices = prices or getattr(api, "default_prices", None)
    model = Model(api, name=name, store=store, limits=run_limits, prices=prices)
    if isinstance(spec, str) and config is None:  # rebuildable elsewhere from the same words
        model.built_from = (spec, dict(args) if isinstance(args, Mapping) else list(args or ()))
    return model
