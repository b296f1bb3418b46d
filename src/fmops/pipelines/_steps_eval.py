"""Steps on the engines: evaluate, compare, select, condition (a noise-aware gate) and finetune."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from fmops.core.errors import BadInputError, RunError
from fmops.pipelines._gates import GateRule, evaluate_gate
from fmops.pipelines._step import Params, Step, StepContext, StepResult


def model_identity(model: str, args: list[str] | None = None) -> dict[str, Any]:
    """What a model spec stands for now: `registry:qa@production` changes meaning when the alias moves."""
    from fmops.models import load_models_config, parse_model_spec

    named = load_models_config()
    spec = named[model].model_spec() if model in named else parse_model_spec(model, args or [])
    return {"spec": str(spec), "args": spec.args}


class EvaluateParams(Params):
    model: str = Field(description="Model spec: zoo/NAME, finetuned/NAME, registry:NAME@ALIAS, ...")
    dataset: str | None = Field(default=None, description="A data file or a built-in dataset name.")
    algorithm: str = "factual_knowledge"
    locations: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    num_records: int | Literal["all"] | None = None
    prompt_template: str | None = Field(default=None, description="A template or prompt:NAME@ALIAS.")
    max_tokens: int = Field(default=32, gt=0)
    model_args: list[str] = Field(default_factory=list)
    executor: Literal["local", "ray"] = Field(
        default="local", description="ray: on the cluster at ray_address."
    )
    ray_address: str | None = None


class EvaluateStep(Step):
    """One evaluation run; outputs `run` (its folder), `score` (the first dataset score) and `scores`."""

    Params = EvaluateParams
    file_params = ("dataset",)
    how_params = ("executor", "ray_address")

    def key_extras(self, params: EvaluateParams) -> dict[str, Any]:
        extras: dict[str, Any] = {"model": model_identity(params.model, params.model_args)}
        if params.prompt_template and params.prompt_template.startswith("prompt:"):
            from fmops.registry import resolve_prompt_template

            extras["prompt"] = resolve_prompt_template(params.prompt_template)
        return extras

    def run(self, params: EvaluateParams, ctx: StepContext) -> StepResult:
        from fmops.evaluation.run import evaluate

        ctx.say(f"evaluate {params.model} with {params.algorithm}")
        output = ctx.work_dir / "run"
        run = evaluate(
            params.algorithm,
            model=params.model,
            model_args=params.model_args,
            dataset=params.dataset,
            locations=params.locations or None,
            config=params.config or None,
            num_records=params.num_records,
            prompt_template=params.prompt_template,
            generate_config={"max_tokens": params.max_tokens},
            output=output,
            executor=params.executor,
            ray_address=params.ray_address,
        )
        scores = {s.name: s.value for s in run.output.dataset_scores}
        first = next(iter(scores.values()), None)
        return StepResult(
            outputs={
                "run": str(output),
                "model": params.model,
                "score": first,
                "scores": scores,
                "records": len(run.records),
            },
            summary=", ".join(f"{k} {v:.3f}" for k, v in scores.items() if isinstance(v, int | float)),
        )


class CompareParams(Params):
    models: list[str] = Field(min_length=1)
    suite: str | None = Field(default=None, description="A suite file (as for `fmops compare`).")
    evaluations: list[dict[str, Any]] = Field(default_factory=list, description="Or the suite's evaluations.")
    num_records: int | None = Field(default=None, gt=0)
    generate: dict[str, Any] = Field(default_factory=lambda: {"max_tokens": 32})
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None


class CompareStep(Step):
    """Several models on the same records; outputs `comparison` (the folder) and `models`."""

    Params = CompareParams
    file_params = ("suite",)
    how_params = ("executor", "ray_address")

    def key_extras(self, params: CompareParams) -> dict[str, Any]:
        return {"models": [model_identity(m) for m in params.models]}

    def run(self, params: CompareParams, ctx: StepContext) -> StepResult:
        from fmops.comparison import Suite, compare

        if (params.suite is None) == (not params.evaluations):
            raise BadInputError(f"step {ctx.step_id!r}: give exactly one of `suite` or `evaluations`")
        if params.suite is not None:
            suite = Suite.from_file(params.suite)
        else:
            evaluations = [_relative_dataset(e, ctx.base_dir) for e in params.evaluations]
            suite = Suite.model_validate(
                {"name": ctx.step_id, "evaluations": evaluations, "generate": params.generate}
            )
        output = ctx.work_dir / "comparison"
        compare(
            suite,
            params.models,
            output,
            num_records=params.num_records,
            on_event=ctx.say,
            executor=params.executor,
            ray_address=params.ray_address,
        )
        return StepResult(
            outputs={"comparison": str(output), "models": params.models},
            summary=f"{len(params.models)} models compared",
        )


def _relative_dataset(evaluation: dict[str, Any], base: Path) -> dict[str, Any]:
    dataset = evaluation.get("dataset")
    if isinstance(dataset, str) and (base / dataset).exists():
        return {**evaluation, "dataset": str((base / dataset).resolve())}
    return evaluation


class SelectParams(Params):
    comparison: str
    priorities: str = Field(description='Ranked priorities, e.g. "P0 factual_knowledge, P1 latency".')
    constraints: list[str] = Field(default_factory=list)


class SelectStep(Step):
    """Pick a model from a comparison by priorities and constraints; outputs `model` and `ranking`."""

    Params = SelectParams
    file_params = ("comparison",)

    def run(self, params: SelectParams, ctx: StepContext) -> StepResult:
        from fmops.selection import load_comparison, parse_constraint, parse_priorities, select_models

        selection = select_models(
            load_comparison(Path(params.comparison)),
            parse_priorities(params.priorities),
            [parse_constraint(c) for c in params.constraints],
        )
        (ctx.work_dir / "selection.json").write_text(
            json.dumps(selection.model_dump(mode="json"), indent=2), encoding="utf-8"
        )
        if selection.selected is None:
            raise RunError(f"step {ctx.step_id!r}: no model meets the constraints")
        return StepResult(
            outputs={"model": selection.selected, "ranking": [r.model for r in selection.ranking]},
            summary=f"selected {selection.selected}",
        )


class ConditionParams(Params):
    candidate: str = Field(description="The candidate's evaluation run folder.")
    baseline: str = Field(description="The baseline's evaluation run folder (same records).")
    rules: list[GateRule] = Field(min_length=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    min_records: int = Field(default=30, ge=2)


class ConditionStep(Step):
    """A noise-aware gate: pass, fail or inconclusive (never a silent pass); evidence in `evidence`."""

    Params = ConditionParams
    file_params = ("candidate", "baseline")

    def run(self, params: ConditionParams, ctx: StepContext) -> StepResult:
        evidence = evaluate_gate(
            Path(params.candidate),
            Path(params.baseline),
            list(params.rules),
            alpha=params.alpha,
            min_records=params.min_records,
        )
        path = ctx.work_dir / "evidence.json"
        path.write_text(json.dumps(evidence.model_dump(mode="json"), indent=2), encoding="utf-8")
        return StepResult(
            outputs={"outcome": evidence.outcome, "evidence": str(path), **evidence.model_dump(mode="json")},
            gate=evidence.outcome,
            summary="; ".join(f"{r.metric}: {r.outcome} ({r.reason})" for r in evidence.rules),
        )


class FinetuneParams(Params):
    base: str = Field(description="Base model spec, e.g. zoo/base-nodomain.")
    data: str = Field(description="Training data file.")
    name: str = Field(
        description="Name stem of the fine-tuned model: it is saved as finetuned/NAME-KEY (KEY: 8 hex digits of "
        "the step's content hash), so a registered version never changes under its name."
    )
    method: str = "lora"
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    evaluate: bool = False
    eval_records: int | None = Field(default=None, gt=0)
    options: dict[str, Any] = Field(default_factory=dict, description="Other FinetuneJob fields.")


class FinetuneStep(Step):
    """Fine-tune through `fmops.customization`; outputs `model` (finetuned/NAME), `run_id`, `comparison`."""

    Params = FinetuneParams
    file_params = ("data",)

    def key_extras(self, params: FinetuneParams) -> dict[str, Any]:
        return {"base": model_identity(params.base)}

    def run(self, params: FinetuneParams, ctx: StepContext) -> StepResult:
        try:
            from fmops.customization import FinetuneJob, run_finetune
        except ImportError as exc:
            raise RunError(f"step {ctx.step_id!r}: fine-tuning is not available here ({exc})") from None
        name = f"{params.name}-{ctx.key[:8]}"
        job = FinetuneJob.model_validate(
            {
                "base": _concrete(params.base),
                "data": params.data,
                "output": name,
                "method": params.method,
                "hyperparameters": params.hyperparameters,
                "evaluate": params.evaluate,
                "eval_records": params.eval_records,
                "overwrite": True,  # the cache decides whether to train again, not the name
                **params.options,
            }
        )
        ctx.say(f"fine-tune {params.base} on {Path(params.data).name} -> finetuned/{name}")
        result = run_finetune(job)
        comparison = getattr(result, "comparison_path", None)
        return StepResult(
            outputs={
                "model": result.model_spec,
                "run_id": result.run_id,
                "comparison": str(comparison) if comparison else None,
                "base": params.base,
            },
            summary=f"trained {result.model_spec}",
        )


def _concrete(spec: str) -> str:
    """`registry:NAME@ALIAS` -> the PROVIDER/MODEL spec it points at (what a fine-tuning base must be)."""
    from fmops.models import resolve_spec_reference

    resolved = resolve_spec_reference(spec)
    return str(resolved) if resolved is not None else spec
