"""`fmops models train zoo/NAME`: train a local zoo model into the cache (mounted under `fmops models`)."""

from __future__ import annotations

from typing import Annotated

import typer

from fmops.cli._common import DelayedProgress, user_errors

app = typer.Typer(
    help="The local model zoo: tiny models fmops trains itself, offline, on an invented world.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """The local model zoo: tiny models fmops trains itself, offline, on an invented world."""


@app.command("train", no_args_is_help=True)
@user_errors
def train_command(
    name: Annotated[
        str, typer.Argument(metavar="zoo/NAME", help="Zoo model: zoo/tiny, zoo/small or zoo/base-nodomain.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if this model is already cached.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Training seed (initialisation and batch order).")] = 0,
) -> None:
    """Train a zoo model (about a minute on a laptop CPU) and cache it under FMOPS_HOME/zoo."""
    from fmops.zoo import train_zoo_model, zoo_model_info

    before = zoo_model_info(name)
    with DelayedProgress(f"training {name}") as progress:
        path = train_zoo_model(name, seed=seed, force=force, progress=progress)
    meta = zoo_model_info(name) or {}
    if before is not None and before == meta:
        typer.echo(
            f"{meta['name']} is already trained (seed {meta['seed']}): {path} (use --force to retrain)"
        )
        return
    typer.echo(
        f"trained {meta['name']} (seed {meta['seed']}, {meta['parameters']:,} parameters) in "
        f"{meta['train_seconds']:.0f} s, loss {meta['loss_first']:.2f} -> {meta['loss_last']:.2f}, "
        f"{meta['tokens_per_second']:.0f} tokens/s: {path}"
    )
