"""The generation phase: every model call the records need, through the model layer, results put in place.

All calls of a phase go to the model as one batch, so the model layer's store, de-duplication,
concurrency and retries apply across the whole dataset; scoring happens afterwards and never calls a model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fmops.evaluation.algorithms import ModelCall

if TYPE_CHECKING:
    from fmops.models import GenerateConfig, Model, ModelResult

Record = dict[str, Any]
#: Per record, what its calls cost: tokens, cost, latency of the main call, cache hits, errors.
USAGE = "usage"


def run_calls(
    model: Model,
    records: Sequence[Record],
    plans: Sequence[Sequence[ModelCall]],
    generate_config: GenerateConfig,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Make every planned call and write each result into its record (or its error into `record["error"]`)."""
    from fmops.models import GenerateRequest, ScoreRequest

    generate = [(i, c) for i, plan in enumerate(plans) for c in plan if c.op == "generate"]
    score = [(i, c) for i, plan in enumerate(plans) for c in plan if c.op == "score"]
    if not generate and not score:
        return
    total = len(generate) + len(score)
    done = {"generate": 0, "score": 0}

    def report(op: str) -> Callable[[int, int], None]:
        def update(n: int, _total: int) -> None:
            done[op] = n
            if progress is not None:
                progress(done["generate"] + done["score"], total)

        return update

    async def call_all() -> tuple[Sequence[ModelResult], Sequence[ModelResult]]:
        requests = [
            GenerateRequest(prompt=c.text, config=generate_config, sample_index=c.sample_index)
            for _, c in generate
        ]
        texts = [ScoreRequest(text=c.text) for _, c in score]
        gen = model.generate(requests, progress=report("generate")) if requests else _nothing()
        sco = model.score(texts, progress=report("score")) if texts else _nothing()
        return await asyncio.gather(gen, sco)

    generated, scored = asyncio.run(call_all())
    for (i, call), result in [*zip(generate, generated, strict=True), *zip(score, scored, strict=True)]:
        _put(records[i], call, result)


async def _nothing() -> list[Any]:
    return []


def _put(record: Record, call: ModelCall, result: ModelResult) -> None:
    if call.prompt_key is not None:
        record[call.prompt_key] = call.text
    usage = record.setdefault(
        USAGE,
        {"calls": 0, "cached": 0, "input_tokens": 0, "output_tokens": 0, "cost": None, "latency_s": None},
    )
    usage["calls"] += 1
    usage["cached"] += int(result.cached)
    usage["input_tokens"] += result.input_tokens or 0
    usage["output_tokens"] += result.output_tokens or 0
    if result.cost is not None:
        usage["cost"] = (usage["cost"] or 0.0) + result.cost
    if call.key in ("model_output", "sent_more_log_prob"):  # the record's main call
        usage["latency_s"] = result.latency_s
        if result.ttft_s is not None:
            usage["ttft_s"] = result.ttft_s
        if result.token_source is not None:
            usage["token_source"] = str(result.token_source)
    if result.error is not None:
        message = f"{call.key}: {result.error}"
        record["error"] = f"{record['error']}; {message}" if record.get("error") else message
        return
    value = result.text if call.op == "generate" else result.logprob
    if call.index is None:
        record[call.key] = value
    else:
        record[call.key][call.index] = value
