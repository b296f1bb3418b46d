"""`fmops catalog ...`: browse the capability matrix (declared facts beside measured ones) and feed it runs."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fmops.cli._common import user_errors

if TYPE_CHECKING:
    from fmops.catalog import ModelCard

app = typer.Typer(
    name="catalog",
    help="The capability matrix: model cards with declared and measured facts.",
    no_args_is_help=True,
)


class SortBy(StrEnum):
    name = "name"
    price = "price"
    context = "context"
    params = "params"


CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Your catalog YAML (default: $FMOPS_CATALOG, ~/.config/fmops/catalog.yaml)."
    ),
]

#: Measured figures shown as columns by `list --measured`, with their headers.
_MEASURED_COLUMNS = (
    ("latency_p50_s", "p50 s"),
    ("latency_p95_s", "p95 s"),
    ("output_tokens_per_s", "run tok/s"),  # output tokens over the calls of a recorded comparison
    ("decode_tokens_per_s", "decode tok/s"),  # one greedy request (zoo models, after training)
)


@app.command("list")
@user_errors
def list_command(
    catalog: CatalogOption = None,
    provider: Annotated[
        str | None, typer.Option(help="Maker or spec provider, e.g. openai, meta, bedrock.")
    ] = None,
    fine_tunable: Annotated[
        bool | None, typer.Option("--fine-tunable/--not-fine-tunable", help="Only (not) fine-tunable models.")
    ] = None,
    commercial: Annotated[
        bool | None,
        typer.Option("--commercial/--non-commercial", help="Only models (not) licensed for commercial use."),
    ] = None,
    min_context: Annotated[
        str | None, typer.Option(help="Smallest context window, e.g. 8k, 128K, 1M.")
    ] = None,
    max_price: Annotated[
        float | None, typer.Option(help="Highest blended price per 1K tokens (mean of input and output).")
    ] = None,
    min_params: Annotated[str | None, typer.Option(help="Fewest parameters, e.g. 7B.")] = None,
    max_params: Annotated[str | None, typer.Option(help="Most parameters, e.g. 10B or 1.1M.")] = None,
    availability: Annotated[str | None, typer.Option(help="api, self-hosted or both.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Words to find in name or description.")
    ] = None,
    sort: Annotated[
        SortBy, typer.Option(help="Cheapest, longest context or largest first, or by name; unknowns last.")
    ] = SortBy.name,
    reverse: Annotated[bool, typer.Option(help="Reverse the sort order.")] = False,
    measured: Annotated[
        bool, typer.Option(help="Show figures measured by fmops runs beside the declared ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cards as JSON.")] = False,
) -> None:
    """List model cards, filtered and sorted; declared prices marked * are examples that change."""
    from fmops.catalog import filter_cards, load_catalog, sort_cards

    cards = sort_cards(
        filter_cards(
            load_catalog(catalog),
            provider=provider,
            fine_tunable=fine_tunable,
            commercial=commercial,
            min_context=min_context,
            max_price=max_price,
            min_params=min_params,
            max_params=max_params,
            availability=availability,
            query=query,
        ),
        sort.value,
        reverse=reverse,
    )
    if as_json:
        typer.echo(json.dumps([_card_json(card) for card in cards], indent=2))
        return
    _print_table(cards, measured)


@app.command("show")
@user_errors
def show_command(
    name: Annotated[str, typer.Argument(help="Card name or model spec, e.g. gpt-4o-mini or zoo/tiny.")],
    catalog: CatalogOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the card as JSON.")] = False,
) -> None:
    """Show one card: every declared fact with its source and date, and every measured figure."""
    from fmops.catalog import load_catalog

    card = _find(load_catalog(catalog), name)
    if as_json:
        typer.echo(json.dumps(_card_json(card), indent=2))
        return
    _print_card(card)


@app.command("record")
@user_errors
def record_command(
    comparison_dir: Annotated[Path, typer.Argument(help="A folder written by `fmops compare`.")],
) -> None:
    """Store a comparison's latency, throughput, cost and scores as the models' measured figures."""
    from fmops.catalog import measurements_path
    from fmops.comparison import record_comparison

    recorded = record_comparison(comparison_dir)
    for model, figures in recorded.items():
        typer.echo(f"{model}: {len(figures)} figures")
    typer.echo(f"recorded into {measurements_path()}; see them with `fmops catalog list --measured`")


def _card_json(card: ModelCard) -> dict[str, Any]:
    data = card.model_dump(mode="json")
    data["price_per_1k_blended"] = card.price_per_1k
    return data


def _find(cards: dict[str, ModelCard], name: str) -> ModelCard:
    """By name, then spec, then case-insensitively, then a unique partial match."""
    from difflib import get_close_matches

    from fmops.core.errors import BadInputError

    if name in cards:
        return cards[name]
    by_spec = [c for c in cards.values() if c.spec == name]
    if len(by_spec) == 1:
        return by_spec[0]
    lowered = name.lower()
    exact = [c for c in cards.values() if c.name.lower() == lowered]
    if len(exact) == 1:
        return exact[0]
    partial = [c for c in cards.values() if lowered in c.name.lower()]
    if len(partial) == 1:
        return partial[0]
    candidates = [c.name for c in partial] or get_close_matches(name, list(cards), n=5, cutoff=0.4)
    hint = f"; did you mean {', '.join(candidates)}?" if candidates else "; see `fmops catalog list`"
    raise BadInputError(f"no model card named '{name}'{hint}")


def _price(card: ModelCard) -> str:
    prices = card.prices
    if prices is None:
        return "-"
    parts = []
    if prices.input_per_1k is not None or prices.output_per_1k is not None:
        parts.append(f"{_money(prices.input_per_1k)}/{_money(prices.output_per_1k)}")
    if prices.per_hour is not None:
        parts.append(f"{prices.per_hour:g}/hour")
    return " · ".join(parts) + ("*" if card.price_is_illustrative else "")


def _price_words(card: ModelCard) -> str:
    prices = card.prices
    if prices is None:
        return "-"
    parts = []
    if prices.input_per_1k is not None:
        parts.append(f"{_money(prices.input_per_1k)} per 1K input tokens")
    if prices.output_per_1k is not None:
        parts.append(f"{_money(prices.output_per_1k)} per 1K output tokens")
    if prices.per_hour is not None:
        parts.append(f"{prices.per_hour:g} per hour")
    text = ", ".join(parts)
    return text + (" (example prices: they change)" if card.price_is_illustrative else "")


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def _flag(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _print_table(cards: list[ModelCard], measured: bool) -> None:
    """Declared facts; with `measured`, the key declared ones beside the measured figures (it must fit)."""
    from rich.console import Console
    from rich.table import Table

    from fmops.catalog import format_count

    console = Console()
    # Narrow terminals drop or shorten the wordy columns rather than wrap every row (`show` has them all).
    wide = console.width >= 140
    table = Table(title=f"model catalog ({len(cards)} cards)")
    table.add_column("name", overflow="fold", min_width=12, no_wrap=wide)
    columns = ["params", "context"]
    if not measured:
        columns = [*(["provider"] if wide else []), *columns, *(["licence", "comm.", "tune"] if wide else [])]
        columns += ["avail."]
    for column in columns:
        table.add_column(column, justify="right" if column in ("params", "context") else "left")
    show_prices = wide or not measured
    if show_prices:
        for header in ("in/1K", "out/1K", "per h"):
            table.add_column(header, justify="right")
    if measured:
        for _, header in _MEASURED_COLUMNS:
            table.add_column(header, justify="right", style="cyan")
        table.add_column("scores", style="cyan")
    for card in cards:
        facts = {
            "provider": card.provider,
            "params": format_count(card.parameters),
            "context": format_count(card.context_window, binary=True),
            "licence": (card.licence or "?").split(" (")[0],
            "comm.": _flag(card.commercial_use),
            "tune": _flag(card.fine_tunable),
            "avail.": card.availability if wide else card.availability.replace("self-hosted", "self"),
        }
        prices = card.prices
        mark = "*" if card.price_is_illustrative else ""
        row = [card.name, *(facts[c] for c in columns)]
        if show_prices:
            row += [
                "-" if value is None else f"{_money(value)}{mark}"
                for value in (
                    prices.input_per_1k if prices else None,
                    prices.output_per_1k if prices else None,
                    prices.per_hour if prices else None,
                )
            ]
        if measured:
            row += [_figure(_value(card, key)) for key, _ in _MEASURED_COLUMNS]
            scores = sum(1 for key in card.measured if ":" in key)
            row.append(str(scores) if scores else "-")
        table.add_row(*row)
    console.print(table)
    if show_prices:
        _print_footnote(console, cards)
    if measured and not any(card.measured for card in cards):
        console.print("[dim]nothing measured yet: `fmops catalog record DIR` after `fmops compare`[/dim]")


def _value(card: ModelCard, key: str) -> float | None:
    figure = card.measured.get(key)
    return None if figure is None else figure.value


def _print_footnote(console: Any, cards: list[ModelCard]) -> None:
    dates = sorted({str(c.as_of) for c in cards if c.price_is_illustrative and c.as_of})
    if any(c.price_is_illustrative for c in cards):
        when = f" as of {', '.join(dates)}" if dates else ""
        console.print(
            f"[dim]* example prices{when}: they change; check the provider's price list or set your own "
            "in ~/.config/fmops/catalog.yaml[/dim]"
        )


def _print_card(card: ModelCard) -> None:
    from rich.console import Console
    from rich.table import Table

    from fmops.catalog import format_count

    console = Console()
    declared = Table(title=f"{card.name}: declared", show_header=False)
    declared.add_column("fact", style="bold")
    declared.add_column("value")
    params = format_count(card.parameters) if card.parameters else "undisclosed"
    if card.active_parameters:
        params += f" ({format_count(card.active_parameters)} active per token)"
    rows = [
        ("provider", card.provider),
        ("spec", card.spec or "-"),
        ("description", card.description or "-"),
        ("parameters", params),
        ("context window", f"{card.context_window:,} tokens" if card.context_window else "?"),
        ("licence", card.licence or "?"),
        ("commercial use", _flag(card.commercial_use)),
        ("fine-tunable", _flag(card.fine_tunable)),
        ("recommended hardware", card.recommended_hardware or "?"),
        ("availability", card.availability),
        ("prices", _price_words(card)),
        ("source", card.source or "-"),
        ("as of", str(card.as_of) if card.as_of else "-"),
        ("card from", card.origin or "-"),
    ]
    for fact, value in rows:
        declared.add_row(fact, value)
    console.print(declared)
    if card.price_is_illustrative:
        console.print(
            "[dim]* example prices: they change; check the provider's price list before deciding.[/dim]"
        )
    if not card.measured:
        console.print("[dim]no measured figures yet: `fmops compare` then `fmops catalog record DIR`[/dim]")
        return
    measured = Table(title=f"{card.name}: measured")
    measured.add_column("figure", no_wrap=True)
    measured.add_column("value", justify="right")
    measured.add_column("src", justify="right")
    sources: dict[tuple[str, str], int] = {}
    for key, figure in sorted(card.measured.items()):
        origin = (figure.source, figure.recorded_at or "-")
        number = sources.setdefault(origin, len(sources) + 1)
        measured.add_row(key, _figure(figure.value), f"[{number}]")
    console.print(measured)
    for (source, recorded), number in sources.items():
        console.print(f"[{number}] {source}, recorded {recorded}", highlight=False, markup=False)
