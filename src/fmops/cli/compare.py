"""`fmops compare`: run one suite for several models and write a comparison folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import user_errors
from fmops.cli.eval import Executor


@user_errors
def compare_command(
    suite: Annotated[
        Path, typer.Option(help="Suite YAML: algorithms, datasets, configs (and default models).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Comparison folder to write.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model spec or models.yaml name (repeatable).")
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option("-M", "--model-arg", help="MODEL:KEY=VALUE argument for one model (repeatable)."),
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

    from fmops.evaluation.compare import compare

    console = Console(stderr=True)
    comparison = compare(
        suite,
        model or [],
        output,
        model_args=_model_args(model_arg, model or []),
        num_records=num_records,
        on_event=lambda message: console.print(f"[dim]{message}[/dim]"),
        executor=executor.value,
        ray_address=ray_address,
    )
    from fmops.reports.console import print_comparison

    print_comparison(comparison, output)


def _model_args(raw: list[str] | None, models: list[str]) -> dict[str, list[str]]:
    from fmops.core.errors import BadInputError

    args: dict[str, list[str]] = {}
    for item in raw or []:
        # The model is what precedes the last ':' before the first '=': model ids may hold ':' (Bedrock's
        # ...-v1:0) and so may values (URLs), keys never do.
        head, equals, value = item.partition("=")
        name, sep, key = head.rpartition(":")
        if not equals or not sep or not name or not key:
            raise BadInputError(f"-M expects MODEL:KEY=VALUE, got '{item}'")
        rest = f"{key}={value}"
        if models and name not in models:
            raise BadInputError(f"-M {item}: model '{name}' is not among --model {', '.join(models)}")
        args.setdefault(name, []).append(rest)
    return args
