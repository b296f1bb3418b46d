"""`fmops eval`: run an fmeval algorithm over a dataset and write a run folder."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import DelayedProgress, parse_key_values, split_model_args, user_errors


class Executor(StrEnum):  # `fmops compare` takes the same choices
    local = "local"
    ray = "ray"


def _location(help_text: str) -> object:
    return typer.Option(help=help_text, metavar="JMESPATH", rich_help_panel="Where the data is")


@user_errors
def eval_command(
    algorithm: Annotated[str, typer.Argument(help="fmeval algorithm name, e.g. qa_accuracy; or guardrail.")],
    # A str, not a Path: Path would collapse s3://bucket into s3:/bucket, a local folder.
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Run folder to write: a local folder or s3://BUCKET/PREFIX."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Argument(help="guardrail only: the policy YAML.", show_default=False)
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="JSON Lines, JSON, CSV, Parquet file, HF datasets folder, s3:// or https:// URI, or a "
            "built-in dataset name; with --model and no dataset: the algorithm's built-in datasets."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model that generates the outputs: PROVIDER/MODEL or a models.yaml name.",
            rich_help_panel="Model",
        ),
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option(
            "-M",
            "--model-arg",
            help="Model argument KEY=VALUE, or MODEL:KEY=VALUE as in compare (repeatable).",
            rich_help_panel="Model",
        ),
    ] = None,
    prompt_template: Annotated[
        str | None,
        typer.Option(
            help="Prompt template with $model_input (default: the dataset's).", rich_help_panel="Model"
        ),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Most tokens to generate.", rich_help_panel="Model")
    ] = None,
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature (0: greedy, reproducible).", rich_help_panel="Model")
    ] = 0.0,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling.", rich_help_panel="Model")] = None,
    stop: Annotated[
        list[str] | None, typer.Option(help="Stop sequence (repeatable).", rich_help_panel="Model")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Sampling seed, for providers that take one.", rich_help_panel="Model")
    ] = None,
    model_input: Annotated[str | None, _location("Location of the model input.")] = None,
    target_output: Annotated[str | None, _location("Location of the target output(s).")] = None,
    model_output: Annotated[str | None, _location("Location of the model's output (BYO outputs).")] = None,
    category: Annotated[str | None, _location("Location of the record's category.")] = None,
    sent_more_input: Annotated[str | None, _location("Location of the more stereotypical sentence.")] = None,
    sent_less_input: Annotated[str | None, _location("Location of the less stereotypical sentence.")] = None,
    sent_more_log_prob: Annotated[str | None, _location("Location of log p(sent_more).")] = None,
    sent_less_log_prob: Annotated[str | None, _location("Location of log p(sent_less).")] = None,
    data_config: Annotated[Path | None, typer.Option(help="An fmeval DataConfig JSON file.")] = None,
    # Values go to the engine as typed: it checks each input once and names the field in its error.
    num_records: Annotated[
        str | None,
        typer.Option(help="Records to sample (fmeval's sampling), or 'all' for every record in order."),
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", "-c", help="Algorithm config as fmeval field=value (repeatable)."),
    ] = None,
    on_bad_record: Annotated[
        str,
        typer.Option(metavar="fail|skip", help="Stop at a bad record (fail), or skip and count it (skip)."),
    ] = "fail",
    executor: Annotated[
        Executor,
        typer.Option(help="Where it runs: in-process, or on a Ray cluster.", rich_help_panel="Scale"),
    ] = Executor.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join (host:port, auto, ray://...); default: $RAY_ADDRESS, else a local one.",
            rich_help_panel="Scale",
        ),
    ] = None,
    max_failure_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Exit 1 when a dataset's share of failed model calls is above this (0..1); "
            "default: when a dataset has no scored record.",
        ),
    ] = None,
) -> None:
    """Evaluate a dataset with an fmeval algorithm and write results.json, records/ and manifest.json."""
    if algorithm == "guardrail" and policy is not None:  # `fmops eval guardrail POLICY` = `fmops guard eval`
        from fmops.cli.guard import run_guard_eval

        return run_guard_eval(policy, dataset, Path(output) / "guardrail_eval.json" if output else None)
    if output is None or policy is not None:
        from fmops.core.errors import BadInputError

        raise BadInputError(
            "Missing option '--output' / '-o'" if output is None else f"unexpected argument {policy}"
        )
    from rich.console import Console

    from fmops.evaluation import evaluate

    locations = {
        name: value
        for name, value in {
            "model_input": model_input,
            "target_output": target_output,
            "model_output": model_output,
            "category": category,
            "sent_more_input": sent_more_input,
            "sent_less_input": sent_less_input,
            "sent_more_log_prob": sent_more_log_prob,
            "sent_less_log_prob": sent_less_log_prob,
        }.items()
        if value is not None
    }
    generate_config = {"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p, "seed": seed}
    if stop:
        generate_config["stop"] = tuple(stop)
    # Without a model, -M goes through as given, for the engine to say that it needs one.
    model_args = split_model_args(model_arg, [model]).get(model, []) if model else model_arg
    with DelayedProgress(f"{algorithm}") as progress:
        run = evaluate(
            algorithm,
            model=model,
            model_args=model_args,
            prompt_template=prompt_template,
            generate_config={k: v for k, v in generate_config.items() if v is not None},
            dataset=dataset,
            data_config=data_config,
            locations=locations,
            config=parse_key_values(config, "--config"),
            num_records=num_records,
            output=output,
            on_bad_record=on_bad_record,
            progress=progress,
            executor=executor.value,
            ray_address=ray_address,
        )
    _print_summary(Console(), run)
    _check_failures(run, max_failure_rate)


@user_errors
def rescore_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `fmops eval`.")],
    config: Annotated[
        list[str] | None,
        typer.Option("--config", "-c", help="Changed config as fmeval field=value (repeatable)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Write the rescored run here (default: in place, replacing its scores)."
        ),
    ] = None,
) -> None:
    """Score a finished run's stored outputs again with another metric config, without calling a model."""
    from rich.console import Console

    from fmops.evaluation import rescore

    run = rescore(run_dir, config=parse_key_values(config, "--config"), output=output)
    _print_summary(Console(), run)


def _check_failures(run: object, max_failure_rate: float | None) -> None:
    from fmops.evaluation import EvalRun
    from fmops.evaluation.failures import check_failure_rate, dataset_failures

    assert isinstance(run, EvalRun)
    by_name = {f"{o.eval_name}_{o.dataset_name}.jsonl": o.dataset_name for o in run.outputs}
    datasets = [dataset_failures(by_name.get(f, f), rows) for f, rows in run.records_by_dataset.items()]
    check_failure_rate(run.manifest.algorithm, datasets, max_failure_rate)


def _print_summary(console: object, run: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from fmops.evaluation import EvalRun

    assert isinstance(console, Console) and isinstance(run, EvalRun)
    for out in run.outputs:
        table = Table(title=f"{out.eval_name} on {out.dataset_name} ({out.num_records} records)")
        table.add_column("score")
        table.add_column("value", justify="right")
        table.add_column("note")
        for score in out.dataset_scores or []:
            value = "-" if score.value is None else f"{score.value:.4f}"
            table.add_row(score.name, value, score.error or "")
        console.print(table)
        if out.error:
            console.print(f"[yellow]{out.error}[/yellow]")
    calls = run.manifest.model
    if calls is not None:
        usage = [r.get("usage") or {} for r in run.records]
        made = sum(u.get("calls", 0) - u.get("cached", 0) for u in usage)
        cached = sum(u.get("cached", 0) for u in usage)
        attempts = sum(u.get("attempts", 0) for u in usage)
        failed = sum(1 for r in run.records if r.get("error"))
        console.print(
            f"model {calls.name}: {made} calls made ({attempts} attempts with retries, {failed} failed), "
            f"{cached} answered without a call (from the response store, or by the call for an identical "
            "request)",
            highlight=False,
        )
    executor = run.manifest.executor
    if executor is not None and executor.in_process:
        console.print(
            f"[yellow]ray: ran {', '.join(executor.in_process)} in-process (under "
            "FMOPS_RAY_LOCAL_BELOW=50 records, Ray is not started; set it to 0 to always use Ray)[/yellow]"
        )
    if run.skipped:
        console.print(f"[yellow]skipped {len(run.skipped)} bad record(s)[/yellow]; first: {run.skipped[0]}")
    console.print(f"wrote {run.output_dir}/results.json, records/ and manifest.json")


def perturb_command(
    perturbation_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="butter_finger, random_upper_case or whitespace_add_remove.")
    ],
    text: Annotated[str, typer.Argument(help="The text to perturb.")],
    num: Annotated[int, typer.Option("--num", "-n", min=1, help="How many perturbations.")] = 5,
    seed: Annotated[int, typer.Option(help="numpy default_rng seed (fmeval uses 5).")] = 5,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Perturbation parameter KEY=VALUE (fmeval config names)."),
    ] = None,
) -> None:
    """Print perturbed versions of TEXT as a JSON list, exactly as fmeval's robustness algorithms make them."""
    _perturb(perturbation_type, text, num, seed, param)


@user_errors
def _perturb(perturbation_type: str, text: str, num: int, seed: int, param: list[str] | None) -> None:
    from fmops.perturbations import parse_perturbation_params, perturb

    params = parse_perturbation_params(perturbation_type, parse_key_values(param, "--param"))
    typer.echo(json.dumps(perturb(perturbation_type, text, num, seed, **params), ensure_ascii=False))
