"""`compare`: one suite, several models, the same sampled records; scores with uncertainty, speed, cost.

Every model × evaluation is an ordinary run folder under `runs/`; comparison.json gathers scores with
bootstrap intervals, per-model latency/throughput/tokens/cost, and paired tests between models. The whole
suite is checked before any model call: algorithms, datasets and their columns, templates, and every call
each evaluation plans against every model's capabilities. A run that fails later still leaves a
comparison.json of what finished (`complete: false`, with the failure).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fmops.comparison._build import build_comparison
from fmops.comparison._format import Comparison, RunFailure, write_comparison
from fmops.comparison._suite import Suite, SuiteEvaluation, slug
from fmops.core.errors import BadInputError, FmopsError
from fmops.data import load_dataset
from fmops.evaluation import EvalRun, dataset_plans, evaluate, get_algorithm
from fmops.evaluation.executors import Executor, get_executor
from fmops.evaluation.prompts import PromptTemplate

ProgressFn = Callable[[str], None]


class ComparisonIncompleteError(FmopsError):
    """A run failed after others had finished; comparison.json holds what finished (`complete: false`)."""

    def __init__(self, message: str, comparison: Comparison, exit_code: int = 1) -> None:
        super().__init__(message)
        self.comparison = comparison
        self.exit_code = exit_code


def compare(
    suite: Suite | str | Path,
    models: Sequence[str] = (),
    output: str | Path = "comparison",
    *,
    model_args: Mapping[str, Sequence[str]] | None = None,
    num_records: int | None = None,
    on_event: ProgressFn | None = None,
    executor: str | Executor = "local",
    ray_address: str | None = None,
) -> Comparison:
    """Run `suite` for every model into `output`; writes and returns the comparison.

    `executor`: "local" or "ray" (on the cluster at `ray_address`), shared by every model's runs.
    Raises ComparisonIncompleteError (after writing comparison.json) when a run fails part-way.
    """
    the_suite = suite if isinstance(suite, Suite) else Suite.from_file(suite)
    names = list(models) or the_suite.models
    if not names:
        raise BadInputError("no models: pass --model (repeatable) or list `models:` in the suite")
    if len(set(names)) != len(names):
        raise BadInputError(f"a model is listed twice: {', '.join(names)}")
    if not the_suite.evaluations:
        raise BadInputError("the suite has no evaluations")
    out = Path(output)
    size = num_records or the_suite.num_records
    needs = _preflight(the_suite, size)
    resolved: dict[str, Any] = {}
    try:
        for name in names:
            resolved[name] = _open_model(name, (model_args or {}).get(name))
        _check_capabilities(the_suite, needs, resolved)
    except BaseException:
        for model in resolved.values():
            model.close()
        raise
    runner = get_executor(executor, ray_address=ray_address)  # executor: one for every model's runs
    say = on_event or (lambda _message: None)

    def run_model(name: str) -> _ModelRuns:
        started = time.perf_counter()
        done = _ModelRuns(name)
        for evaluation in the_suite.evaluations:
            try:
                done.runs[evaluation.key] = evaluate(
                    evaluation.algorithm,
                    model=resolved[name],
                    dataset=evaluation.dataset,
                    locations=evaluation.locations or None,
                    config=evaluation.config,
                    num_records=evaluation.num_records or size,
                    prompt_template=evaluation.prompt_template,
                    generate_config=the_suite.generate or None,
                    output=out / "runs" / slug(name) / slug(evaluation.key),
                    executor=runner,
                )
            except Exception as exc:  # keep what finished; this model's later evaluations are not run
                done.failure = (evaluation.key, exc)
                say(f"{name}: {evaluation.key} failed: {exc}")
                break
            say(f"{name}: {evaluation.key} done")
        done.wall_s = time.perf_counter() - started
        return done

    try:
        # Models run side by side (remote providers overlap their latency); each runs its suite in order.
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            finished = list(pool.map(run_model, names))
    finally:
        if runner is not executor:  # executor: close the one made here
            runner.close()
        for model in resolved.values():
            model.close()
    failures = [
        RunFailure(model=d.name, evaluation=d.failure[0], error=_one_line(d.failure[1]))
        for d in finished
        if d.failure is not None
    ]
    comparison = build_comparison(
        the_suite,
        size,
        resolved,
        {d.name: d.runs for d in finished},
        {d.name: d.wall_s for d in finished},
        out,
        failures,
    )
    path = write_comparison(comparison, out)
    first = next((d for d in finished if d.failure is not None), None)
    if first is not None and first.failure is not None:
        key, exc = first.failure
        done = sum(len(d.runs) for d in finished)
        raise ComparisonIncompleteError(
            f"{first.name} on {key}: {_one_line(exc)}; {path} holds the {done} runs that finished",
            comparison,
            exc.exit_code if isinstance(exc, FmopsError) else 1,
        ) from exc
    return comparison


@dataclass
class _ModelRuns:
    """One model's finished runs by evaluation key, and the evaluation that failed (if one did)."""

    name: str
    runs: dict[str, EvalRun] = field(default_factory=dict)
    failure: tuple[str, Exception] | None = None
    wall_s: float = 0.0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open_model(name: str, args: Sequence[str] | None) -> Any:
    from fmops.models import get_model

    return get_model(name, list(args or []))  # it carries its spec: Ray workers build their own


def _preflight(suite: Suite, size: int | None) -> dict[str, set[str]]:
    """Every algorithm, config, dataset (with the columns it needs) and template, before any model is
    opened; returns what each evaluation will ask of a model (the ops of the calls it plans)."""
    needs = {}
    for evaluation in suite.evaluations:
        try:
            needs[evaluation.key] = _planned_ops(evaluation, size)
        except BadInputError as exc:
            raise BadInputError(f"suite evaluation {evaluation.key}: {exc}") from None
    return needs


def _planned_ops(evaluation: SuiteEvaluation, size: int | None) -> set[str]:
    algo = get_algorithm(evaluation.algorithm, evaluation.config)
    plans = dataset_plans(algo, evaluation.dataset, None, evaluation.locations or None, with_model=True)
    ops: set[str] = set()
    for plan in plans:
        data = load_dataset(
            plan.config,
            num_records=evaluation.num_records or size,
            required_columns=plan.required_columns,
        )
        template = PromptTemplate(evaluation.prompt_template or plan.template)
        template.check_columns({*data.columns, "model_input"}, data.uri)
        records = [dict(r) for r in data.records]
        if records:
            # A fresh algorithm: planning may consume its seeded RNG; the real run starts from the seed.
            probe = get_algorithm(evaluation.algorithm, evaluation.config)
            probe.prepare(records)
            ops |= {call.op for call in probe.model_calls(records[0], template) if call.model is None}
    return ops


def _check_capabilities(suite: Suite, needs: Mapping[str, set[str]], models: Mapping[str, Any]) -> None:
    """Each model against what each evaluation asks of it: one line naming both, before any call."""
    from fmops.models import GenerateConfig

    try:
        generate = GenerateConfig(**{"temperature": 0.0, **suite.generate})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(f"suite generate.{where}: {first['msg']}") from None
    for evaluation in suite.evaluations:
        ops = needs.get(evaluation.key, set())
        for name, model in models.items():
            caps = model.capabilities
            where = f"suite evaluation {evaluation.key}"
            if "score" in ops and not caps.score:
                raise BadInputError(
                    f"{where}: {evaluation.algorithm} needs log-probabilities of given texts, and model "
                    f"{name} cannot score texts; use a model that can (local hf/zoo models, "
                    "OpenAI-compatible completions with echo+logprobs) or compare it without this evaluation"
                )
            if "generate" in ops and generate.logprobs and not caps.logprobs:
                raise BadInputError(
                    f"{where}: generate.logprobs is set, and model {name} does not return log-probabilities"
                )


__all__ = ["ComparisonIncompleteError", "ProgressFn", "compare"]
