"""`fmops quickstart`: the whole consumer journey on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import user_errors


@user_errors
def quickstart_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Comparison folder to write.")] = Path(
        "runs/quickstart"
    ),
    num_records: Annotated[int, typer.Option(min=5, help="Records per evaluation.")] = 40,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Models to compare (default: the zoo).")
    ] = None,
) -> None:
    """Train or load the zoo, show the capability matrix, compare, select by priority, write the report."""
    from fmops.pipelines.quickstart import run_quickstart

    run_quickstart(output, num_records=num_records, models=model)
