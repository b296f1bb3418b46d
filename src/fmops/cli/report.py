"""`fmops report`: write report.html and report.md for an eval run folder or a comparison folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import user_errors


@user_errors
def report_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="A comparison folder (`fmops compare`) or a run folder (`fmops eval`)."
        ),
    ],
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="Write the report here (default: in DIR).")
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the HTML report in the default browser.")
    ] = False,
) -> None:
    """Write a self-contained HTML report (works offline) and a Markdown summary: scores, categories,
    verdicts, quality profile, Pareto fronts, latency and cost, the selection, examples and the manifests."""
    from fmops.reports import write_report

    paths = write_report(directory, output_dir)
    typer.echo(f"wrote {paths.html} and {paths.markdown}")
    if open_browser:
        import webbrowser

        webbrowser.open(paths.html.resolve().as_uri())
