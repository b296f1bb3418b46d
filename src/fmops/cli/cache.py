"""`fmops cache ...`: inspect, clear and export the response store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from fmops.cli.models import _user_errors

app = typer.Typer(name="cache", help="The response store: stats, clear, export.", no_args_is_help=True)

_STORE_HELP = "store path or URL (default: $FMOPS_STORE_URL, else FMOPS_HOME/responses.sqlite)"


@app.command("stats")
@_user_errors
def stats(store: str | None = typer.Option(None, "--store", help=_STORE_HELP)) -> None:
    """How many results are stored, per model, and the size on disk."""
    from rich.console import Console
    from rich.table import Table

    from fmops.models import open_store

    s = open_store(store)
    try:
        info = s.stats()
    finally:
        s.close()
    console = Console()
    size = f", {info.size_bytes / 1e6:.1f} MB" if info.size_bytes is not None else ""
    console.print(f"{info.url}: {info.entries} results{size}", highlight=False)
    if info.by_model:
        table = Table()
        table.add_column("model")
        table.add_column("results", justify="right")
        for name, count in info.by_model.items():
            table.add_row(name, str(count))
        console.print(table)


@app.command("clear")
@_user_errors
def clear(
    model: str | None = typer.Option(
        None, "--model", help="only this model's results (the name it was run under)"
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Delete stored results (all, or one model's). Runs after this call the models again."""
    from fmops.models import open_store

    what = f"the stored results of {model}" if model else "every stored result"
    if not yes and not typer.confirm(f"Delete {what}?"):
        raise typer.Exit(1)
    s = open_store(store)
    try:
        count = s.clear(model)
    finally:
        s.close()
    typer.echo(f"deleted {count} results")


@app.command("export")
@_user_errors
def export(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="JSON Lines file (default: standard output)"
    ),
    model: str | None = typer.Option(None, "--model", help="only this model's results"),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Write stored results as JSON Lines: key, model, fingerprint, created_at, request, result."""
    from fmops.models import open_store

    s = open_store(store)
    count = 0
    try:
        with output.open("w", encoding="utf-8") if output else _stdout() as fh:
            for entry in s.entries(model):
                fh.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")
                count += 1
    finally:
        s.close()
    if output:
        typer.echo(f"exported {count} results to {output}")


class _stdout:
    """stdout as a context manager that is not closed."""

    def __enter__(self) -> object:
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
