"""The generation phase: every model call the records need, through the model layer, results put in place.

All calls of a phase go to the model as one batch, so the model layer's store, de-duplication,
concurrency and retries apply across the whole dataset; scoring happens afterwards and never calls a model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fmops.evaluation.algorithms import Algorithm, ModelCall

if TYPE_CHECKING:
    from fmops.evaluation.prompts import PromptTemplate
    from fmops.models import GenerateConfig, Model, ModelResult

Record = dict[str, Any]
#: Per record, what its calls cost: tokens, cost, latency of the main call, cache hits, errors.
USAGE = "usage"


def generate(
    algo: Algorithm,
    model: Model | None,
    records: list[Record],
    template: PromptTemplate | None,
    gen_config: GenerateConfig,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """The phase: the model's calls (when there is a model), then calls that depend on its outputs
    (baselines, judges), each as one batch."""
    if model is not None and template is not None:
        plans = [algo.model_calls(record, template) for record in records]
        run_calls(model, records, plans, gen_config, progress)
    followups = algo.followup_calls(records)
    if any(followups):
        run_calls(model, records, followups, gen_config, progress)


def run_calls(
    model: Model | None,
    records: Sequence[Record],
    plans: Sequence[Sequence[ModelCall]],
    generate_config: GenerateConfig,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Make every planned call and write each result into its record (or its error under `error_key`).

    Calls addressed to a helper model (a judge) go to that model, opened once for the whole phase.
    """
    from fmops.core.errors import FieldError
    from fmops.models import get_model

    by_model: dict[tuple[str | None, tuple[str, ...]], list[tuple[int, ModelCall]]] = {}
    for i, plan in enumerate(plans):
        for call in plan:
            by_model.setdefault((call.model, call.model_args), []).append((i, call))
    total = sum(len(calls) for calls in by_model.values())
    done: dict[tuple[Any, ...], int] = {}

    def report(key: tuple[Any, ...]) -> Callable[[int, int], None]:
        def update(n: int, _total: int) -> None:
            done[key] = n
            if progress is not None:
                progress(sum(done.values()), total)

        return update

    for (spec, args), calls in by_model.items():
        if spec is None and model is None:
            raise FieldError("this algorithm needs a model ({model}) to produce outputs", "model")
        target = model if spec is None else get_model(spec, list(args))
        try:
            results = asyncio.run(call_model(target, calls, generate_config, report, (spec, args)))
        finally:
            if spec is not None:
                target.close()
        for (i, call), result in zip(calls, results, strict=True):
            put_result(records[i], call, result)


async def call_model(
    model: Model,
    calls: Sequence[tuple[int, ModelCall]],
    generate_config: GenerateConfig,
    report: Callable[[tuple[Any, ...]], Callable[[int, int], None]],
    key: tuple[Any, ...],
) -> list[ModelResult]:
    """One model's calls as batches (generate, score, fresh samples); the Ray model actors use it too."""
    from fmops.models import GenerateRequest, ScoreRequest

    def config_for(call: ModelCall) -> GenerateConfig:
        if call.max_tokens is None:
            return generate_config
        return generate_config.model_copy(update={"max_tokens": call.max_tokens})

    # Greedy decoding shares one stored answer for all samples of a prompt: a call that needs a fresh
    # sample (a determinism probe, a baseline) then bypasses the store.
    bypass = generate_config.deterministic
    generate = [
        (n, c) for n, (_, c) in enumerate(calls) if c.op == "generate" and not (bypass and c.fresh_sample)
    ]
    fresh = [(n, c) for n, (_, c) in enumerate(calls) if c.op == "generate" and bypass and c.fresh_sample]
    score = [(n, c) for n, (_, c) in enumerate(calls) if c.op == "score"]

    def requests(group: Sequence[tuple[int, ModelCall]]) -> list[GenerateRequest]:
        return [
            GenerateRequest(prompt=c.text, config=config_for(c), sample_index=c.sample_index)
            for _, c in group
        ]

    texts = [ScoreRequest(text=c.text) for _, c in score]
    gen = model.generate(requests(generate), progress=report((*key, "generate"))) if generate else _nothing()
    sco = model.score(texts, progress=report((*key, "score"))) if texts else _nothing()
    generated, scored = await asyncio.gather(gen, sco)
    # Fresh samples go after the others, so the probe compares against an answer already made; one batch
    # per sample index, since the model layer sends identical requests of a batch once.
    probed_by_call: dict[int, ModelResult] = {}
    for index in sorted({c.sample_index for _, c in fresh}):
        group = [(n, c) for n, c in fresh if c.sample_index == index]
        answers = await model.generate(
            requests(group), progress=report((*key, "fresh", index)), use_store=False
        )
        probed_by_call.update({n: a for (n, _), a in zip(group, answers, strict=True)})
    probed = [probed_by_call[n] for n, _ in fresh]
    results: list[Any] = [None] * len(calls)
    pairs = [
        *zip(generate, generated, strict=True),
        *zip(score, scored, strict=True),
        *zip(fresh, probed, strict=True),
    ]
    for (n, _), result in pairs:
        results[n] = result
    return results


async def _nothing() -> list[Any]:
    return []


def put_result(record: Record, call: ModelCall, result: ModelResult) -> None:
    """Write a call's result (or error) and its usage into its record."""
    if call.prompt_key is not None:
        record[call.prompt_key] = call.text
    if call.model is not None:  # a helper model's calls are its own cost, kept apart
        _account(record.setdefault("judge_usage", _empty_usage()), result)
    else:
        usage = record.setdefault(USAGE, _empty_usage())
        _account(usage, result)
        if call.key in ("model_output", "sent_more_log_prob"):  # the record's main call
            usage["latency_s"] = result.latency_s
            if result.ttft_s is not None:
                usage["ttft_s"] = result.ttft_s
            if result.token_source is not None:
                usage["token_source"] = str(result.token_source)
    if result.error is not None:
        message = f"{call.key}: {result.error}"
        previous = record.get(call.error_key)
        record[call.error_key] = f"{previous}; {message}" if previous else message
        return
    value = result.text if call.op == "generate" else result.logprob
    if call.index is None:
        record[call.key] = value
    else:
        record[call.key][call.index] = value


def _empty_usage() -> dict[str, Any]:
    return {
        "calls": 0,
        "cached": 0,
        "attempts": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost": None,
        "latency_s": None,
    }


def _account(usage: dict[str, Any], result: ModelResult) -> None:
    usage["calls"] += 1
    usage["cached"] += int(result.cached)
    # Provider calls including retries; an answer from the store cost none.
    usage["attempts"] = usage.get("attempts", 0) + (0 if result.cached else result.attempts)
    usage["input_tokens"] += result.input_tokens or 0
    usage["output_tokens"] += result.output_tokens or 0
    if result.cost is not None:
        usage["cost"] = (usage["cost"] or 0.0) + result.cost
