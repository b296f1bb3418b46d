"""The `fmops` command line. Each command group lives in its own module; heavy imports stay inside commands."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fmops",
    help="Operationalize foundation models: evaluate, compare, customize and serve them on any provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Console-script entry point."""
    app()


def _register() -> None:
    from fmops.cli.quickstart import quickstart_command

    app.command("quickstart")(quickstart_command)
    from fmops.cli.eval import eval_command, perturb_command, rescore_command

    app.command("eval", no_args_is_help=True)(eval_command)
    app.command("rescore", no_args_is_help=True)(rescore_command)
    app.command("perturb", no_args_is_help=True)(perturb_command)

    from fmops.cli.compare import compare_command

    app.command("compare", no_args_is_help=True)(compare_command)

    from fmops.cli.report import report_command
    from fmops.cli.serve import serve_command

    app.command("serve", no_args_is_help=True)(serve_command)
    from fmops.cli.select import select_command

    app.command("report", no_args_is_help=True)(report_command)
    app.command("select", no_args_is_help=True)(select_command)

    from fmops.cli.catalog import app as catalog_app

    app.add_typer(catalog_app, name="catalog")

    from fmops.cli.datasets import app as datasets_app

    app.add_typer(datasets_app, name="datasets")

    from fmops.cli.cache import app as cache_app
    from fmops.cli.models import app as models_app
    from fmops.cli.zoo import train_command

    models_app.command("train", no_args_is_help=True)(train_command)
    app.add_typer(models_app, name="models")
    app.add_typer(cache_app, name="cache")


_register()


@app.command("setup")
def setup_command() -> None:
    """Install the offline data fmops needs (WordNet and punkt_tab for METEOR) into FMOPS_HOME."""
    from fmops.cli._common import user_errors
    from fmops.metrics.nltk_data import install_nltk_data

    path = user_errors(install_nltk_data)()
    typer.echo(f"nltk data ready in {path}")
