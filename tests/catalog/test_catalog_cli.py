"""`fmops catalog list|show|record` driven through typer, as the integrator mounts it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from fmops.cli.catalog import app as catalog_app
from tests.selection.helpers import write_comparison

app = typer.Typer()
app.add_typer(catalog_app, name="catalog")
runner = CliRunner()


def test_list_filters_sorts_and_prints_json() -> None:
    result = runner.invoke(
        app,
        [
            "catalog",
            "list",
            "--fine-tunable",
            "--min-context",
            "8k",
            "--commercial",
            "--max-price",
            "0.001",
            "--sort",
            "price",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    cards = json.loads(result.stdout)
    names = [c["name"] for c in cards]
    assert "gpt-4o-mini" in names and "gpt-4o" not in names
    prices = [c["price_per_1k_blended"] for c in cards]
    assert prices == sorted(prices)
    assert all(c["price_is_illustrative"] and c["as_of"] for c in cards)


def test_list_table_marks_example_prices() -> None:
    result = runner.invoke(app, ["catalog", "list", "--provider", "openai"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "gpt-4o-mini" in result.stdout and "claude" not in result.stdout
    assert "example prices as of 2024-10-01" in result.stdout


def test_show_prints_declared_facts_with_source_and_date() -> None:
    result = runner.invoke(app, ["catalog", "show", "openai/gpt-4o-mini"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for text in ("gpt-4o-mini", "128,000 tokens", "2024-10-01", "example prices", "no measured figures yet"):
        assert text in result.stdout


def test_show_an_unknown_card_suggests_names() -> None:
    result = runner.invoke(app, ["catalog", "show", "llama"])
    assert result.exit_code == 2
    assert "llama-3.1-8b-instruct" in result.output


def test_record_then_list_and_show_measured_figures(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    recorded = runner.invoke(app, ["catalog", "record", str(folder)])
    assert recorded.exit_code == 0, recorded.output
    assert "zoo/small: 16 figures" in recorded.stdout
    shown = runner.invoke(app, ["catalog", "list", "--measured", "--json"])
    measured = {c["name"]: c["measured"] for c in json.loads(shown.stdout)}
    if "zoo/small" in measured:
        assert measured["zoo/small"]["latency_p95_s"]["value"] == 0.3
        table = runner.invoke(app, ["catalog", "show", "zoo/small"], env={"COLUMNS": "160"})
        assert "latency_p95_s" in table.stdout and "comparison" in table.stdout


def test_user_catalog_option(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("models:\n  - {name: house-model, provider: Us, availability: api}\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "list", "--catalog", str(mine), "--provider", "us", "--json"])
    assert [c["name"] for c in json.loads(result.stdout)] == ["house-model"]
    missing = runner.invoke(app, ["catalog", "list", "--catalog", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "not found" in missing.output
