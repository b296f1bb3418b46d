"""`fmops compare`: run one suite for several models and write a comparison folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import split_model_args, user_errors
from fmops.cli.eval import Executor


@user_errors
def compare_command(
    suite: Annotated[
        Path, typer.Option(help="Suite YAML: algorithms, datasets, configs (and default models).")
    ],
    # A str, not a Path: Path would turn s3://bucket into the local folder s3:/bucket without a word.
    output: Annotated[str, typer.Option("--output", "-o", help="Comparison folder to write (local).")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model spec or models.yaml name (repeatable).")
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option(
            "-M",
            "--model-arg",
            help="KEY=VALUE for every --model, or MODEL:KEY=VALUE for one model (repeatable).",
        ),
    ] = None,
    num_records: Annotated[
        int | None, typer.Option(min=1, help="Records per evaluation (overrides the suite).")
    ] = None,
    executor: Annotated[
        Executor, typer.Option(help="Where it runs: in-process, or on a Ray cluster.")
    ] = Executor.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join (host:port, auto, ray://...); default: $RAY_ADDRESS, else a local one."
        ),
    ] = None,
) -> None:
    """Evaluate several models on the same records; scores with confidence intervals, latency, cost."""
    from rich.console import Console

    from fmops.comparison import compare
    from fmops.evaluation.output import check_output_location

    check_output_location(output, remote=False)  # before any model call
    console = Console(stderr=True)
    comparison = compare(
        suite,
        model or [],
        output,
        model_args={k: v for k, v in split_model_args(model_arg, model or []).items() if v},
        num_records=num_records,
        on_event=lambda message: console.print(f"[dim]{message}[/dim]"),
        executor=executor.value,
        ray_address=ray_address,
    )
    from fmops.reports.console import print_comparison

    print_comparison(comparison, Path(output))
    # As `eval`: a comparison in which a model answered nothing is a failed run (written first, kept).
    dead = [p.model for p in comparison.performance if p.records and p.errors >= p.records]
    if dead:
        from fmops.core.errors import RunError

        raise RunError(
            f"every model call of {', '.join(dead)} failed (see the `error` of its records under "
            f"{output}/runs/); the comparison is written, with no usable figure for it"
        )
