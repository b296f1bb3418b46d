"""`python -m fmops.serving SPEC ...`: the `fmops serve` command on its own (benchmarks start it this way)."""

from __future__ import annotations

import typer

from fmops.cli.serve import serve_command


def main() -> None:
    typer.run(serve_command)


if __name__ == "__main__":
    main()
