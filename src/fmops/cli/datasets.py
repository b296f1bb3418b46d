"""`fmops datasets`: the built-in datasets. List them, show one, fetch them ahead of a run.

Only typer is imported at module level: `fmops --help` must stay fast, so the registry, rich and the
download code load inside the commands.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from fmops.cli._common import user_errors

app = typer.Typer(
    name="datasets",
    help="Built-in datasets (fmeval's twelve and the synthetic world): list, show, fetch.",
    no_args_is_help=True,
)


def _size(dataset: Any) -> str:
    return f"{dataset.size:,}" if dataset.size is not None else "generated"


def _facts(dataset: Any) -> dict[str, Any]:
    path = dataset.cache_path()
    return {
        "name": dataset.name,
        "origin": dataset.origin,
        "uri": dataset.uri,
        "source": dataset.source_uri(),
        "algorithms": list(dataset.algorithms),
        "size": dataset.size,
        "licence": dataset.licence,
        "homepage": dataset.homepage,
        "description": dataset.description,
        "cached": path.is_file(),
        "path": str(path),
    }


@app.command("list")
@user_errors
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    world: Annotated[
        bool, typer.Option("--world/--no-world", help="Include the synthetic-world datasets.")
    ] = True,
) -> None:
    """Every built-in dataset: the algorithms that use it, its size, licence, and whether it is cached."""
    from fmops.data.builtin import BUILTIN_DATASETS

    datasets = [d for d in BUILTIN_DATASETS.values() if world or d.origin == "fmeval"]
    if as_json:
        typer.echo(json.dumps([_facts(d) for d in datasets], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Built-in datasets", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("used by", overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("licence", overflow="fold")
    table.add_column("cached", no_wrap=True)
    for dataset in datasets:
        table.add_row(
            dataset.name,
            ", ".join(dataset.algorithms),
            _size(dataset),
            dataset.licence,
            "yes" if dataset.is_cached() else "no",
        )
    Console(soft_wrap=False).print(table)


@app.command("show")
@user_errors
def show_command(
    name: Annotated[str, typer.Argument(help="A built-in dataset name (see `fmops datasets list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A dataset's schema, DataConfig locations, prompt template, size, licence, origin and a sample record."""
    from fmops.data.builtin import first_record, get_builtin, read_record

    dataset = get_builtin(name)
    facts = _facts(dataset)
    path = dataset.cache_path()
    record = read_record(path) if path.is_file() else None
    sample_from = None
    sample = first_record(path) if path.is_file() else None
    if sample is not None:
        sample_from = "cached copy"
    elif (shipped := dataset.sample_path()) is not None:
        sample = first_record(shipped)
        sample_from = "invented sample shipped with fmops, not the real data"
    facts.update(
        record_fields=list(dataset.record_fields),
        data_config=dataset.data_config_fields(),
        default_prompt_template=dataset.default_prompt_template,
        sha256=record.sha256 if record else None,
        sample_record=sample,
        sample_from=sample_from,
    )
    if as_json:
        typer.echo(json.dumps(facts, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True, highlight=False, markup=False)  # values may hold [brackets]
    console.print(f"{dataset.name}: {dataset.description}")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    source = dataset.uri if facts["source"] == dataset.uri else f"{facts['source']} (mirror of {dataset.uri})"
    rows = [
        ("source", source),
        ("homepage", dataset.homepage),
        ("licence", dataset.licence),
        ("size", f"{_size(dataset)} records" if dataset.size is not None else _size(dataset)),
        ("used by", ", ".join(dataset.algorithms)),
        ("record fields", ", ".join(dataset.record_fields)),
        ("DataConfig", json.dumps(dataset.data_config_fields(), ensure_ascii=False)),
        ("prompt template", dataset.default_prompt_template),
        ("cached", f"yes: {path}" if facts["cached"] else f"no (would be {path})"),
    ]
    if record is not None:
        rows.append(("sha256", f"{record.sha256} (from {record.source}, {record.fetched_at})"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if sample is not None:
        console.print(f"sample record ({sample_from}):")
        fields = [
            f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
            for k, v in sample.items()
        ]
        console.print("{\n" + ",\n".join(fields) + "\n}")  # one line per field, still JSON


def _progress_bar(name: str) -> Any:
    """A transient bytes progress bar on stderr (only on a terminal)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    progress = Progress(
        f"{name}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    return progress


@app.command("fetch")
@user_errors
def fetch_command(
    names: Annotated[list[str] | None, typer.Argument(help="Dataset names to fetch.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Fetch all twelve fmeval datasets.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Download again even when cached.")] = False,
) -> None:
    """Download built-in datasets into the cache now (world ones are generated), so runs work offline."""
    from fmops.core.errors import BadInputError, FmopsError
    from fmops.data.builtin import FMEVAL_DATASET_NAMES, fetch_builtin, get_builtin, read_record

    if all_ and names:
        raise BadInputError("give dataset names or --all, not both")
    if not all_ and not names:
        raise BadInputError("name the datasets to fetch, or pass --all (see `fmops datasets list`)")
    datasets = [get_builtin(n) for n in (FMEVAL_DATASET_NAMES if all_ else names or [])]
    failures: list[FmopsError] = []
    for dataset in datasets:
        bar = _progress_bar(dataset.name)
        callback = None
        if bar is not None:
            task = bar.add_task(dataset.name, total=None)

            def callback(done: int, total: int | None, bar: Any = bar, task: Any = task) -> None:
                bar.update(task, completed=done, total=total)

            bar.start()
        try:
            path = fetch_builtin(dataset.name, force=force, progress=callback)
        except FmopsError as e:
            if len(datasets) == 1:
                raise
            failures.append(e)
            typer.echo(f"error: {e}", err=True)
            continue
        finally:
            if bar is not None:
                bar.stop()
        record = read_record(path)
        digest = f" (sha256 {record.sha256})" if record else ""
        typer.echo(f"{dataset.name}: {path}{digest}")
    if failures:
        typer.echo(f"{len(failures)} of {len(datasets)} datasets could not be fetched", err=True)
        raise typer.Exit(max(e.exit_code for e in failures))
