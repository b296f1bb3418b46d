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


def _hide_flag_types() -> None:
    """typer prints `<bool>` after every flag (`--json <bool>`), as if it took a value; flags take none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_fmops_flags_hidden", False):
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)  # type: ignore[arg-type]

    display_type_rich._fmops_flags_hidden = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()


def _one_line_usage_errors() -> None:
    """A usage mistake (unknown option, bad value) reads like every other error: one `error:` line, not a
    rich "Error" panel beside our "error:" lines."""

    def rich_format_error(exc: Exception) -> None:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help was printed already
            return
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)  # type: ignore[attr-defined]

    # typer imports rich_utils (and rich, ~half of the CLI's import time) only when it prints help or an
    # error: keep it so, with the standard library's lazy loader; attributes set now survive the load.
    import importlib.util
    import sys

    rich_utils = sys.modules.get("typer.rich_utils")
    if rich_utils is None:
        spec = importlib.util.find_spec("typer.rich_utils")
        assert spec is not None and spec.loader is not None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        rich_utils = importlib.util.module_from_spec(spec)
        sys.modules["typer.rich_utils"] = rich_utils
        spec.loader.exec_module(rich_utils)
    rich_utils.rich_format_error = rich_format_error  # type: ignore[attr-defined]


_one_line_usage_errors()


def _version(value: bool) -> None:
    if value:
        from fmops import __version__

        typer.echo(f"fmops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the fmops version and exit."
    ),
) -> None:
    """Operationalize foundation models: evaluate, compare, customize and serve them on any provider."""


#: Width of rich output that goes to a file or pipe (CI logs, `make run | tee`): rich would assume 80
#: columns there and cut table cells ("zoo/sma…"). Wide enough for every table fmops prints.
PIPED_COLUMNS = 200


def _wide_when_piped() -> None:
    import os
    import sys

    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        os.environ["COLUMNS"] = str(PIPED_COLUMNS)


def main() -> None:
    """Console-script entry point."""
    _wide_when_piped()
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

    from fmops.cli.gateway import gateway_command, keys_app, teams_app, tenants_app, usage_command

    app.command("gateway", no_args_is_help=True)(gateway_command)
    app.command("usage", no_args_is_help=True)(usage_command)
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(teams_app, name="teams")
    app.add_typer(keys_app, name="keys")

    from fmops.cli.prompts import app as prompts_app
    from fmops.cli.registry import app as registry_app

    app.add_typer(registry_app, name="registry")
    app.add_typer(prompts_app, name="prompts")
    from fmops.cli.pipeline import app as pipeline_app

    app.add_typer(pipeline_app, name="pipeline")

    from fmops.cli.web import web_command

    app.command("web")(web_command)

    from fmops.cli.finetune import finetune_command
    from fmops.cli.runs import app as runs_app

    app.command("finetune", no_args_is_help=True)(finetune_command)
    app.add_typer(runs_app, name="runs")

    from fmops.cli.guard import app as guard_app

    app.add_typer(guard_app, name="guard")


_register()


@app.command("setup")
def setup_command() -> None:
    """Install the offline data fmops needs (WordNet and punkt_tab for METEOR) into FMOPS_HOME."""
    from fmops.cli._common import user_errors
    from fmops.metrics.nltk_data import install_nltk_data

    path = user_errors(install_nltk_data)()
    typer.echo(f"nltk data ready in {path}")
