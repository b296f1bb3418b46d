"""`python -m fmops.serving SPEC ...`: the `fmops serve` command on its own (benchmarks start it this way)."""

from __future__ import annotations

import functools
from typing import Any

import typer

from fmops.core.errors import FmopsError
from fmops.serving import serve_command


@functools.wraps(serve_command)
def _command(*args: Any, **kwargs: Any) -> None:
    """The command, with a user's mistake as one line on stderr and its exit code (as `fmops serve`)."""
    try:
        serve_command(*args, **kwargs)
    except FmopsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def main() -> None:
    typer.run(_command)


if __name__ == "__main__":
    main()
