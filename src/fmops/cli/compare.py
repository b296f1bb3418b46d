"""`fmops compare`: run one suite for several models and write a comparison folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import user_errors


@user_errors
def compare_command(
    suite: Annotated[Path, typer.Option(help="Suite YAML: algorithms, datasets, configs (and default models).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Comparison folder to write.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model spec or models.yaml name (repeatable).")
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option("-M", "--model-arg", help="MODEL:KEY=VALUE argument for one model (repeatable)."),
    ] = None,
    num_records: Annotated[int | None, typer.Option(min=1, help="Records per evaluation (overrides the suite).")] = None,
) -> None:
    """Evaluate several models on the same records; scores with confidence intervals, latency, cost."""
    from rich.console import Console

    from fmops.evaluation.compare import compare

    console = Console(stderr=True)
    comparison = compare(
        suite,
        model or [],
        output,
        model_args=_model_args(model_arg, model or []),
        num_records=num_records,
        on_event=lambda message: console.print(f"[dim]{message}[/dim]"),
    )
    _print(comparison, output)


def _model_args(raw: list[str] | None, models: list[str]) -> dict[str, list[str]]:
    from fmops.core.errors import BadInputError

    args: dict[str, list[str]] = {}
    for item in raw or []:
        name, sep, rest = item.rpartition(":")
        if not sep or not name or "=" not in rest:
            raise BadInputError(f"-M expects MODEL:KEY=VALUE, got '{item}'")
        if models and name not in models:
            raise BadInputError(f"-M {item}: model '{name}' is not among --model {', '.join(models)}")
        args.setdefault(name, []).append(rest)
    return args


def _print(comparison: dict, output: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    models = [m["name"] for m in comparison["models"]]
    table = Table(title=f"suite {comparison['suite']['name']}: scores (95% CI)")
    table.add_column("evaluation / score")
    for name in models:
        table.add_column(name, justify="right")
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for s in comparison["scores"]:
        cell = "-" if s["value"] is None else f"{s['value']:.3f}"
        if s["ci_low"] is not None:
            cell += f" [{s['ci_low']:.2f}, {s['ci_high']:.2f}]"
        rows.setdefault((s["evaluation"], s["score"]), {})[s["model"]] = cell
    for (evaluation, score), cells in rows.items():
        table.add_row(f"{evaluation} · {score}", *(cells.get(m, "") for m in models))
    console.print(table)
    perf = Table(title="latency, throughput and cost")
    for column in ("model", "records", "calls", "p50 s", "p95 s", "records/s", "tokens in/out", "cost"):
        perf.add_column(column, justify="right" if column != "model" else "left")
    for p in comparison["performance"]:
        perf.add_row(
            p["model"],
            str(p["records"]),
            f"{p['calls']} ({p['cached_calls']} cached)",
            _num(p["latency_p50_s"]),
            _num(p["latency_p95_s"]),
            _num(p["throughput_rps"], 1),
            f"{p['input_tokens']}/{p['output_tokens']}",
            "-" if p["cost"] is None else f"{p['cost']:.4f}",
        )
    console.print(perf)
    significant = [c for c in comparison["comparisons"] if c["significant"]]
    console.print(
        f"{len(significant)} of {len(comparison['comparisons'])} paired differences are beyond the noise (p < 0.05)"
    )
    console.print(f"wrote {output}/comparison.json and runs/; next: `fmops select {output} ...`, `fmops report {output}`")


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
