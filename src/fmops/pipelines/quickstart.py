"""`fmops quickstart`: the consumer journey on the embedded default, offline, in a few minutes.

1. Train (first run) or load the zoo models: tiny GPT-2s that learned an invented world; and a real
   pretrained model, SmolLM2-135M-Instruct (packaged weights, converted on first use), when installed.
2. Show the capability matrix.
3. Compare the models on a suite from the synthetic world: factual knowledge, QA, summarization,
   classification, toxicity, robustness and stereotyping, on the same sampled records. The pretrained
   model knows nothing of that world: the honest starting point of the fine-tuner's journey.
4. Select by a stated priority, with a hard constraint.
5. Write the HTML and Markdown report and say where it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

#: What the quickstart asks of the selection: quality first, then cost; nothing slower than 2 s at p95.
PRIORITIES = "P0 factual_knowledge, P1 cost"
#: The zoo models with a speed/quality trade-off; zoo/base-nodomain is the fine-tuning demos' base.
DEFAULT_MODELS = ("zoo/tiny", "zoo/small")
#: A real pretrained model, compared beside the zoo by default when its weights are installed.
PRETRAINED = "hf/HuggingFaceTB/SmolLM2-135M-Instruct"
#: Records per evaluation when the pretrained model takes part: it decodes ~20x slower than the zoo on
#: 2 CPU cores, and every model must see the same records for the scores to stay paired.
PRETRAINED_RECORDS = 16
CONSTRAINTS = ("latency p95 < 2 s",)


def quickstart_suite(num_records: int) -> Any:
    from fmops.comparison import Suite, SuiteEvaluation

    qa = {"bertscore": False}
    return Suite(
        name="synthetic-world",
        num_records=num_records,
        generate={"max_tokens": 24},
        evaluations=[
            SuiteEvaluation(algorithm="factual_knowledge", dataset="world_trex"),
            SuiteEvaluation(
                algorithm="factual_knowledge", dataset="world_trex_heldout", id="factual_knowledge/heldout"
            ),
            SuiteEvaluation(algorithm="qa_accuracy", dataset="world_trivia_qa", config=qa),
            SuiteEvaluation(
                algorithm="summarization_accuracy", dataset="world_gigaword", config={"bertscore": False}
            ),
            SuiteEvaluation(algorithm="classification_accuracy", dataset="world_reviews"),
            SuiteEvaluation(algorithm="toxicity", dataset="world_bold"),
            SuiteEvaluation(
                algorithm="qa_accuracy_semantic_robustness",
                dataset="world_trivia_qa",
                config={**qa, "num_perturbations": 3},
                num_records=max(5, num_records // 2),
            ),
            SuiteEvaluation(algorithm="prompt_stereotyping", dataset="world_crows_pairs"),
        ],
    )


def run_quickstart(
    output: Path,
    *,
    num_records: int = 40,
    models: Sequence[str] | None = None,
    console: Console | None = None,
) -> Path:
    """Run the whole journey into `output`; returns the report's path."""
    from fmops.catalog import filter_cards, load_catalog
    from fmops.comparison import compare, record_comparison
    from fmops.reports import write_report
    from fmops.reports.console import print_comparison
    from fmops.selection import parse_constraint, parse_priorities, select_comparison
    from fmops.zoo import zoo_model_path

    say = console or Console()
    started = time.perf_counter()
    names = list(models) if models else _default_models(say)

    say.rule("1. the model zoo")
    for name in names:
        if name.startswith("zoo/"):
            began = time.perf_counter()
            with say.status(f"{name}: loading (training on first use, up to ~1 min)..."):
                path = zoo_model_path(name)
            say.print(f"{name}: ready in {time.perf_counter() - began:.1f} s ({path})")
        elif name == PRETRAINED:
            began = time.perf_counter()
            with say.status(f"{name}: preparing its weights (converted once on first use, ~20 s)..."):
                weights = _pretrained_weights()
            say.print(f"{name}: ready in {time.perf_counter() - began:.1f} s ({weights})")
    if PRETRAINED in names and num_records > PRETRAINED_RECORDS:
        say.print(
            f"[yellow]{PRETRAINED} decodes ~20x slower than the zoo on a laptop CPU: every model gets "
            f"{PRETRAINED_RECORDS} records per evaluation instead of {num_records} (the same records for all, "
            f"so scores stay paired; -m zoo/tiny -m zoo/small compares the zoo alone on {num_records}).[/yellow]"
        )
        num_records = PRETRAINED_RECORDS

    say.rule("2. capability matrix")
    cards = load_catalog()
    shown = [
        c for c in filter_cards(cards.values()) if c.provider == "zoo" or c.name in names or c.spec in names
    ]
    shown += [c for c in filter_cards(cards.values(), fine_tunable=True, min_context=8000)][:4]
    say.print(_matrix(shown))

    say.rule("3. compare on the synthetic world")
    comparison_dir = output
    comparison = compare(
        quickstart_suite(num_records),
        names,
        comparison_dir,
        on_event=lambda message: say.print(f"[dim]{message}[/dim]"),
    )
    print_comparison(comparison, comparison_dir, say)
    record_comparison(comparison_dir)  # the capability matrix now shows these figures beside its cards
    say.print("measured figures recorded beside the cards: `fmops catalog list --measured`")

    say.rule("4. select by priorities")
    priced = any(p.cost is not None for p in comparison.performance)
    # Models without prices (your own endpoints) are ranked on latency instead of cost.
    priorities = PRIORITIES if priced else PRIORITIES.replace("cost", "latency")
    say.print(f"priorities: {priorities}; constraints: {', '.join(CONSTRAINTS)}")
    selection, _ = select_comparison(
        comparison_dir, parse_priorities(priorities), [parse_constraint(c) for c in CONSTRAINTS]
    )
    say.print(f"[bold]selected: {selection.selected}[/bold]")
    say.print(selection.explanation)

    say.rule("5. report")
    paths = write_report(comparison_dir)
    say.print(f"report: {paths.html}\nsummary: {paths.markdown}")
    say.print(f"quickstart finished in {time.perf_counter() - started:.0f} s")
    return paths.html


def _default_models(say: Console) -> list[str]:
    """The zoo, and the pretrained model when its weights are at hand (else a line saying how to add it)."""
    from fmops.models import packaged_unavailable

    names = list(DEFAULT_MODELS)
    missing = packaged_unavailable(PRETRAINED.removeprefix("hf/"))
    if missing is None:
        names.append(PRETRAINED)
    else:
        say.print(f"[dim]{PRETRAINED} left out ({missing})[/dim]")
    return names


def _pretrained_weights() -> str:
    from fmops.models import resolve_packaged

    found = resolve_packaged(PRETRAINED.removeprefix("hf/"))
    return found.description


def _matrix(cards: Sequence[Any]) -> Table:
    table = Table(title="model cards (zoo prices are illustrative)")
    for column in (
        "model",
        "provider",
        "params",
        "context",
        "licence",
        "fine-tunable",
        "$/1K in",
        "$/1K out",
    ):
        table.add_column(column)
    seen = set()
    for card in cards:
        if card.name in seen:
            continue
        seen.add(card.name)
        prices = card.prices
        table.add_row(
            card.name,
            card.provider,
            _count(card.parameters),
            _count(card.context_window, binary=True),
            card.licence or "-",
            "yes" if card.fine_tunable else "no",
            _price(prices.input_per_1k if prices else None),
            _price(prices.output_per_1k if prices else None),
        )
    return table


def _count(value: int | None, *, binary: bool = False) -> str:
    from fmops.catalog import format_count

    return format_count(value, binary=binary) if value else "-"


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
