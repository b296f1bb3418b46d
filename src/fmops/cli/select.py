"""`fmops select DIR`: rank a comparison's models by priorities under hard constraints, and say why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fmops.cli._common import user_errors

if TYPE_CHECKING:
    from fmops.selection import Selection


@user_errors
def select_command(
    comparison_dir: Annotated[
        Path, typer.Argument(help="A folder written by `fmops compare` (or its comparison.json).")
    ],
    priority: Annotated[
        list[str] | None,
        typer.Option(
            "--priority",
            "-p",
            help="A metric to optimise, most important first (repeatable): cost, latency, latency_p50, "
            "throughput, any score (precision_score, qa_accuracy/x:f1_score); METRIC=WEIGHT sets its weight.",
        ),
    ] = None,
    priorities: Annotated[
        str | None,
        typer.Option(help="All in one string: 'P0 lower cost, P1 precision_score, latency p95 < 2 s'."),
    ] = None,
    constraint: Annotated[
        list[str] | None,
        typer.Option(
            "--constraint",
            "-c",
            help="A hard limit METRIC OP VALUE (repeatable), OP one of < <= > >= ==: "
            "'latency p95 < 2s', 'cost <= $0.01', 'factual_knowledge >= 0.6'.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print selection.json instead of the table.")
    ] = False,
) -> None:
    """Rank models by weighted priorities and hard constraints; write DIR/selection.json with the reasons."""
    from fmops.core.errors import BadInputError
    from fmops.selection import (
        available_metrics,
        load_comparison,
        parse_constraint,
        parse_priorities,
        parse_request,
        select_models,
        write_selection,
    )

    parse_priorities(priority or [])  # a constraint passed as --priority fails here, with a hint
    wanted, inline = parse_request([*(priority or []), *([priorities] if priorities else [])])
    limits = [*inline, *(parse_constraint(text) for text in constraint or [])]
    comparison = load_comparison(comparison_dir)
    if not wanted:
        available = ", ".join(available_metrics(comparison))
        raise BadInputError(
            f"give at least one --priority (e.g. --priority cost --priority factual_knowledge); "
            f"available metrics: {available}"
        )
    selection = select_models(comparison, wanted, limits)
    path = write_selection(selection, comparison_dir)
    if as_json:
        typer.echo(json.dumps(selection.model_dump(mode="json"), indent=2))
        return
    _print(selection, path)


def _print(selection: Selection, path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from fmops.selection import format_number, metric_label

    console = Console()
    title = ", ".join(f"P{p.rank} {metric_label(p.metric)} (w {p.weight:.2f})" for p in selection.priorities)
    table = Table(title=f"selection by {title}")
    table.add_column("#", justify="right")
    table.add_column("model", no_wrap=True)
    table.add_column("utility", justify="right")
    metrics = list(
        dict.fromkeys([*(p.metric for p in selection.priorities), *(c.metric for c in selection.constraints)])
    )
    for metric in metrics:
        table.add_column(metric_label(metric), justify="right")
    table.add_column("constraints")
    for row in selection.ranking:
        style = (
            "bold green" if row.model == selection.selected else (None if row.meets_constraints else "dim")
        )
        cells = [row.values.get(m) for m in metrics]
        table.add_row(
            str(row.place),
            row.model + (" *" if row.model in selection.pareto_front else ""),
            f"{row.utility:.2f}",
            *("-" if value is None else format_number(value) for value in cells),
            "ok" if row.meets_constraints else f"{len(row.violations)} x",
            style=style,
        )
    console.print(table)
    if selection.pareto_axes:
        axes = ", ".join(metric_label(a) for a in selection.pareto_axes)
        console.print(f"* on the Pareto front ({axes})", highlight=False)
    for row in selection.ranking:
        console.print(f"{row.place}. [bold]{row.model}[/bold]", highlight=False)
        for violation in row.violations:
            console.print(f"   [red]x {violation}[/red]", highlight=False)
        for reason in row.reasons:
            console.print(f"   - {reason}", highlight=False)
    console.print()
    console.print(selection.explanation, highlight=False)
    console.print(f"[dim]wrote {path}[/dim]")
