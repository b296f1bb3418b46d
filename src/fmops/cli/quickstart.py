"""`fmops quickstart`: the whole consumer journey on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import user_errors


@user_errors
def quickstart_command(
    # A str, not a Path: Path would turn s3://bucket into the local folder s3:/bucket without a word.
    output: Annotated[
        str, typer.Option("--output", "-o", help="Comparison folder to write (local).")
    ] = "runs/quickstart",
    num_records: Annotated[int, typer.Option(min=5, help="Records per evaluation.")] = 40,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Models to compare (default: the zoo).")
    ] = None,
) -> None:
    """Train or load the zoo, show the capability matrix, compare, select by priority, write the report."""
    from fmops.evaluation.output import check_output_location
    from fmops.pipelines.quickstart import run_quickstart

    check_output_location(output, remote=False)  # before the zoo trains
    run_quickstart(Path(output), num_records=num_records, models=model)
