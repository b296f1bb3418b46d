"""`fmops pipeline ...`: validate and run YAML pipelines (cached steps, noise-aware gates), show their runs."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fmops.cli._common import parse_key_values, user_errors

if TYPE_CHECKING:
    from fmops.pipelines import PipelineRun

app = typer.Typer(
    name="pipeline",
    help="YAML pipelines: evaluate, compare, select, finetune, gate, register, approve, promote, deploy, notify.",
    no_args_is_help=True,
)

#: `--fail-on-gate`: the exit code when a gate failed or was inconclusive (a failed step exits 1).
GATE_EXIT_CODE = 4


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command("validate", no_args_is_help=True)
@user_errors
def validate_command(
    file: Path,
    set_param: Annotated[
        list[str] | None, typer.Option("--set", help="Override a parameter: KEY=VALUE.")
    ] = None,
) -> None:
    """Check FILE against the pipeline JSON Schema, its step references and order."""
    from fmops.pipelines import load_pipeline

    pipeline = load_pipeline(file, parse_key_values(set_param, "--set"))
    typer.echo(
        f"{file}: valid pipeline {pipeline.name!r}, {len(pipeline.steps)} steps: {' -> '.join(pipeline.order())}"
    )


@app.command("schema")
@user_errors
def schema_command() -> None:
    """Print the pipeline JSON Schema (with every registered step type)."""
    from fmops.pipelines import pipeline_schema

    typer.echo(json.dumps(pipeline_schema(), indent=2, sort_keys=True))


@app.command("run", no_args_is_help=True)
@user_errors
def run_command(
    file: Path,
    fail_on_gate: Annotated[
        bool,
        typer.Option("--fail-on-gate", help=f"Exit {GATE_EXIT_CODE} when a gate failed or was inconclusive."),
    ] = False,
    junit: Annotated[
        Path | None, typer.Option(help="Also write the JUnit XML here (CI test reports).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Run every step, ignoring the cache.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
    set_param: Annotated[
        list[str] | None, typer.Option("--set", help="Override a pipeline parameter: KEY=VALUE (repeatable).")
    ] = None,
) -> None:
    """Run FILE: unchanged steps are cache hits; a killed run resumes at the step that was running."""
    from fmops.pipelines import load_pipeline, run_dir, run_pipeline, write_junit

    pipeline = load_pipeline(file, parse_key_values(set_param, "--set"))
    run = run_pipeline(pipeline, say=None if quiet else lambda m: typer.echo(m, err=True), force=force)
    write_junit(run, run_dir(run.id) / "junit.xml")
    if junit is not None:
        write_junit(run, junit)
    _summary(run)
    if run.status == "failed":
        raise typer.Exit(1)
    if fail_on_gate and run.status in ("gate_failed", "gate_inconclusive"):
        raise typer.Exit(GATE_EXIT_CODE)


@app.command("status")
@user_errors
def status_command(
    run_id: Annotated[str | None, typer.Argument(help="A run id (default: the latest run).")] = None,
) -> None:
    """Where a run is: each step's status (a killed run shows as interrupted)."""
    _summary(_run(run_id))


@app.command("show", no_args_is_help=True)
@user_errors
def show_command(
    run_id: str, output_format: Annotated[Format, typer.Option("--format")] = Format.text
) -> None:
    """One run: steps, outputs, gate evidence."""
    run = _run(run_id)
    if output_format is Format.json:
        typer.echo(json.dumps({**run.model_dump(mode="json"), "status": run.effective_status()}, indent=2))
        return
    _summary(run)
    for step in run.steps:
        if step.outputs:
            shown = {k: v for k, v in step.outputs.items() if k not in ("rules",)}
            typer.echo(f"{step.id} outputs: {json.dumps(shown, default=str)}")
        if step.error:
            typer.echo(f"{step.id} error: {step.error}")


@app.command("history")
@user_errors
def history_command(
    pipeline: Annotated[str | None, typer.Option(help="Only the runs of this pipeline.")] = None,
) -> None:
    """Past runs, oldest first."""
    from fmops.pipelines import list_runs

    runs = list_runs(pipeline)
    if not runs:
        typer.echo("no pipeline runs yet")
        return
    for run in runs:
        counts = {}
        for step in run.steps:
            counts[step.status] = counts.get(step.status, 0) + 1
        detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        typer.echo(f"{run.id}  {run.effective_status():<17} {run.started_at}  {detail}")


def _run(run_id: str | None) -> PipelineRun:
    from fmops.core.errors import BadInputError
    from fmops.pipelines import list_runs, read_run

    if run_id is not None:
        return read_run(run_id)
    runs = list_runs()
    if not runs:
        raise BadInputError("no pipeline runs yet (run one with `fmops pipeline run FILE.yaml`)")
    return runs[-1]


def _summary(run: PipelineRun) -> None:
    """The lines any CI log shows: every step, then each gate's verdict and evidence."""
    typer.echo(f"pipeline {run.pipeline} run {run.id}: {run.effective_status()}")
    for step in run.steps:
        gate = step.gate.upper() if step.gate else ""
        took = f"{step.seconds:.1f}s" if step.seconds else ""
        why = step.error or step.summary
        typer.echo(f"  {step.id:<14} {step.type:<10} {step.status:<8} {gate:<12} {took:>7}  {why}".rstrip())
    for gate in run.gates:
        verdict = {"pass": "passed", "fail": "FAILED", "inconclusive": "INCONCLUSIVE (not enough evidence)"}
        typer.echo(
            f"gate {gate.id}: {verdict[gate.gate or 'pass']}; evidence: {gate.outputs.get('evidence')}"
        )
