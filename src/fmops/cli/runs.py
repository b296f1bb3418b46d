"""`fmops runs list|show|compare`: fine-tuning experiment runs from the fmops database."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from fmops.cli._common import user_errors

app = typer.Typer(
    help="Fine-tuning experiment runs: parameters, metrics per step, artefacts.", no_args_is_help=True
)


class Format(StrEnum):
    table = "table"
    json = "json"


_FormatOption = Annotated[Format, typer.Option("--format", help="table or json.")]
_StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Database URL (default: $FMOPS_STORE_URL, else FMOPS_HOME's SQLite)."),
]
#: The final metrics a table shows (json shows them all).
_SHOWN = ("train_loss", "eval_loss", "tokens_per_second")


@app.command("list")
@user_errors
def list_command(
    output_format: _FormatOption = Format.table,
    limit: Annotated[int | None, typer.Option(min=1, help="Newest N runs only.")] = None,
    store: _StoreOption = None,
) -> None:
    """Every run, newest first: id, base, method, status, final metrics."""
    from fmops.customization import list_runs

    runs = list_runs(store, limit=limit)
    if output_format is Format.json:
        print(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
        return
    if not runs:
        print("no runs yet: `fmops finetune BASE --data FILE --output NAME` makes one")
        return
    rows = [
        [
            r.id,
            r.name,
            r.base,
            r.method,
            r.status,
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            _seconds(r.duration_s),
            _metrics(r.final_metrics),
        ]
        for r in runs
    ]
    _table(["id", "name", "base", "method", "status", "started", "duration", "final metrics"], rows)


@app.command("show")
@user_errors
def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix, or the model name).")],
    output_format: _FormatOption = Format.table,
    store: _StoreOption = None,
) -> None:
    """One run: parameters, data with sha256, base fingerprint, hardware, versions, metrics, artefacts."""
    from fmops.customization import get_run

    run = get_run(run_id, store)
    if output_format is Format.json:
        print(run.model_dump_json(indent=2))
        return
    print(f"run {run.id}: {run.name} ({run.status})")
    print(f"  base: {run.base} (fingerprint {run.base_fingerprint})")
    print(f"  method: {run.method} -> {run.model_spec}")
    print(f"  started: {run.started_at:%Y-%m-%d %H:%M:%S}, duration {_seconds(run.duration_s)}")
    for entry in run.data_files:
        print(
            f"  {entry['role']} data: {entry['path']} ({entry['records']} {entry['format']} records, "
            f"sha256 {entry['sha256'][:16]}...)"
        )
    print("  params: " + ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()) if v is not None))
    print("  hardware: " + ", ".join(f"{k}={v}" for k, v in run.hardware.items()))
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in run.versions.items() if v))
    print(f"  final metrics: {_metrics(run.final_metrics, all_of_them=True)}")
    if "loss" in run.metrics:
        print(f"  loss curve: {_sparkline([v for _, v in run.metrics['loss']])}")
    print(
        f"  checkpoints: {len(run.checkpoints)}"
        + (f" (last: {run.checkpoints[-1]['path']})" if run.checkpoints else "")
    )
    for key, value in run.artefacts.items():
        if value:
            print(f"  {key}: {value}")
    if run.error:
        print(f"  error: {run.error}")


@app.command("compare")
@user_errors
def compare_command(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    output_format: _FormatOption = Format.table,
    store: _StoreOption = None,
) -> None:
    """Runs side by side: the parameters that differ, and every final metric."""
    from fmops.customization import compare_runs

    runs = compare_runs(run_ids, store)
    if output_format is Format.json:
        print(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
        return
    params = sorted({k for r in runs for k in r.params})
    differing = [k for k in params if len({json.dumps(r.params.get(k), sort_keys=True) for r in runs}) > 1]
    metrics = sorted({k for r in runs for k in r.final_metrics})
    rows = [
        ["base", *[r.base for r in runs]],
        ["method", *[r.method for r in runs]],
        ["status", *[r.status for r in runs]],
    ]
    rows += [[k, *[_value(r.params.get(k)) for r in runs]] for k in differing]
    rows += [[k, *[_value(r.final_metrics.get(k)) for r in runs]] for k in metrics]
    _table(["", *[r.id for r in runs]], rows)


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value) if not isinstance(value, list | dict) else json.dumps(value)


def _metrics(metrics: dict[str, Any], *, all_of_them: bool = False) -> str:
    keys = sorted(metrics) if all_of_them else [k for k in _SHOWN if k in metrics]
    return ", ".join(f"{k} {_value(metrics[k])}" for k in keys) or "-"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = max(1, len(values) // 60)
    picked = values[::step]
    line = "".join(bars[int((v - low) / span * (len(bars) - 1))] for v in picked)
    return f"{line} ({values[0]:.3f} -> {values[-1]:.3f})"


def _table(header: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*header, box=None, pad_edge=False, highlight=False)
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)
