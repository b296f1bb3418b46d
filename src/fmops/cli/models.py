"""`fmops models ...`: what is configured and available, and a one-off call to check a spec works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from fmops.cli._common import user_errors

app = typer.Typer(name="models", help="List configured models and try one.", no_args_is_help=True)

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(fn: F) -> F:
    """An FmopsError is one line for the user (as in every command), not a traceback."""
    return user_errors(fn)  # type: ignore[return-value]


#: `--config` meant the models file here and the algorithm config in `eval`: the models file is now
#: `--models-file` everywhere; `--config`/`-c` stay accepted here (hidden) for existing scripts.
_MODELS_FILE_HELP = "models.yaml (default: $FMOPS_MODELS, ./models.yaml, FMOPS_HOME/models.yaml)"


def _old_config_option() -> Any:
    return typer.Option(None, "--config", "-c", hidden=True, help="Old name of --models-file.")


def _price(prices: Any) -> str:
    if prices is None:
        return ""
    parts = []
    if prices.input_per_1k is not None or prices.output_per_1k is not None:
        parts.append(f"{prices.input_per_1k or 0:g} in / {prices.output_per_1k or 0:g} out per 1K")
    if prices.per_hour is not None:
        parts.append(f"{prices.per_hour:g} per hour")
    return ", ".join(parts)


@app.command("list")
@_user_errors
def list_models(
    models_file: Path | None = typer.Option(None, "--models-file", help=_MODELS_FILE_HELP),
    old_config: Path | None = _old_config_option(),
) -> None:
    """Show the named models from models.yaml, whether each looks usable, and the providers known."""
    config = models_file or old_config
    from rich.console import Console
    from rich.table import Table

    from fmops.models import (
        availability,
        load_models_config,
        models_config_path,
        parse_model_spec,
        provider_names,
    )

    console = Console()
    path = models_config_path(config)
    entries = load_models_config(config)
    if not entries:
        where = f" in {path}" if path else " (no models.yaml found)"
        console.print(
            f"No named models{where}. Use a spec directly, e.g. openai/gpt-4o-mini, or add a models.yaml."
        )
    else:
        table = Table(title=f"Models in {path}")
        for column in ("name", "spec", "arguments", "prices", "status"):
            table.add_column(column)
        for entry in entries.values():
            spec = parse_model_spec(entry.spec)
            args = {**spec.args, **entry.args}
            reason = availability(spec.provider, spec.model, args)
            shown = " ".join(f"{k}={'***' if 'key' in k else v}" for k, v in entry.args.items())
            status = "[green]available[/green]" if reason is None else f"[yellow]{reason}[/yellow]"
            table.add_row(entry.name, entry.spec, shown, _price(entry.prices), status)
        console.print(table)
    console.print(f"Providers: {', '.join(provider_names())}")


@app.command("generate")
@_user_errors
def generate(
    spec: str = typer.Argument(..., help="PROVIDER/MODEL or a name from models.yaml"),
    prompt: str = typer.Argument(..., help="the prompt"),
    model_arg: list[str] = typer.Option(
        [], "--model-arg", "-M", help="KEY=VALUE provider or limit argument (repeatable)"
    ),
    system: str | None = typer.Option(None, "--system", help="system prompt"),
    max_tokens: int | None = typer.Option(None, "--max-tokens"),
    temperature: float | None = typer.Option(None, "--temperature"),
    no_store: bool = typer.Option(False, "--no-store", help="do not read or write the response store"),
    models_file: Path | None = typer.Option(None, "--models-file", help=_MODELS_FILE_HELP),
    old_config: Path | None = _old_config_option(),
) -> None:
    """Call a model once and show the answer with its tokens, latency and cost."""
    config = models_file or old_config
    from rich.console import Console

    from fmops.models import GenerateConfig, GenerateRequest, get_model

    model = get_model(spec, model_arg, config=config, store=not no_store)
    request = GenerateRequest(
        prompt=prompt, system=system, config=GenerateConfig(max_tokens=max_tokens, temperature=temperature)
    )
    result = model.generate_sync([request])[0]
    console = Console()
    if result.error is not None:
        typer.echo(f"error: {result.error}", err=True)
        raise typer.Exit(1)
    console.print(result.text, highlight=False, markup=False)
    cost = f", cost {result.cost:.6g}" if result.cost is not None else ""
    console.print(
        f"[dim]{result.finish_reason}; {result.input_tokens} in / {result.output_tokens} out ({result.token_source}); "
        f"{(result.latency_s or 0) * 1000:.0f} ms{cost}{'; cached' if result.cached else ''}[/dim]"
    )
