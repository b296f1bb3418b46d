"""`fmops models ...` and `fmops cache ...` (the sub-apps, as the integrator mounts them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from fmops.cli.cache import app as cache_app
from fmops.cli.models import app as models_app

runner = CliRunner()


def test_models_list_shows_entries_and_availability(tmp_path: Path, server: Any) -> None:
    (tmp_path / "models.yaml").write_text(
        f"""models:
  - name: local
    spec: openai/test-model
    args: {{base_url: "{server.base_url}", api_key: sk-secret}}
    prices: {{per_hour: 2.5}}
  - name: gpt
    spec: openai/gpt-4o-mini
    prices: {{input_per_1k: 0.00015, output_per_1k: 0.0006}}
"""
    )
    result = runner.invoke(models_app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (
        "local" in result.output
        and "available" in result.output
        and "OPENAI_API_KEY is not set" in result.output
    )
    assert "sk-secret" not in result.output and "2.5 per hour" in result.output
    [providers] = [line for line in result.output.splitlines() if line.startswith("Providers: ")]
    assert {"bedrock", "echo", "hf", "openai"} <= set(providers.removeprefix("Providers: ").split(", "))


def test_models_list_without_config_and_bad_config(tmp_path: Path) -> None:
    assert "No named models" in runner.invoke(models_app, ["list"]).output
    (tmp_path / "bad.yaml").write_text("models: {}\n")
    result = runner.invoke(models_app, ["list", "--config", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2 and "models:" in result.output and "Traceback" not in result.output


def test_generate_then_cache_stats_export_clear(server: Any, tmp_path: Path) -> None:
    args = [
        "generate",
        "openai/test-model",
        "hello cli",
        "-M",
        f"base_url={server.base_url}",
        "--max-tokens",
        "3",
    ]
    first = runner.invoke(models_app, args)
    assert first.exit_code == 0, first.output
    assert "Echo: hello cli" in first.output and "provider" in first.output
    assert "cached" in runner.invoke(models_app, args).output
    assert server.call_count == 1

    stats = runner.invoke(cache_app, ["stats"])
    assert stats.exit_code == 0 and "1 results" in stats.output and "openai/test-model" in stats.output
    exported = runner.invoke(cache_app, ["export"])
    [line] = [json.loads(x) for x in exported.output.splitlines()]
    assert line["result"]["text"] == "Echo: hello cli" and line["request"]["prompt"] == "hello cli"
    assert runner.invoke(cache_app, ["export", "-o", str(tmp_path / "e.jsonl")]).exit_code == 0
    assert len((tmp_path / "e.jsonl").read_text().splitlines()) == 1
    assert runner.invoke(cache_app, ["clear"], input="n\n").exit_code == 1
    cleared = runner.invoke(cache_app, ["clear", "--yes"])
    assert "deleted 1 results" in cleared.output


def test_generate_reports_errors_without_traceback() -> None:
    result = runner.invoke(models_app, ["generate", "nope/x", "hi"])
    assert result.exit_code == 2 and "unknown model provider" in result.output


def test_cli_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, fmops.cli.models, fmops.cli.cache;"
        "heavy = [m for m in ('torch', 'transformers', 'boto3', 'httpx', 'fmops.models', 'pydantic') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
