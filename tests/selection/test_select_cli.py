"""`fmops select DIR` through typer, as the integrator mounts it: table, explanation, selection.json, errors."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from fmops.cli.select import select_command
from tests.selection.helpers import write_comparison

app = typer.Typer()
app.command("select")(select_command)
app.command("other")(lambda: None)  # two commands, so typer keeps the `select` name as in the real CLI
runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def test_select_prints_the_ranking_and_writes_selection_json(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    result = runner.invoke(
        app,
        [
            "select",
            str(folder),
            "--priority",
            "cost",
            "--priority",
            "precision_score",
            "--constraint",
            "latency p95 < 2 s",
            "-c",
            "factual_knowledge >= 0.6",
        ],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "zoo/small ranks first of the 2 models that meet the constraints" in out
    assert "x latency p95 2.50 s, needs < 2.00 s" in out
    assert "precision_score tie with api/mid (within noise)" in out
    assert "Pareto front" in out
    saved = json.loads((folder / "selection.json").read_text(encoding="utf-8"))
    assert saved["selected"] == "zoo/small"
    assert saved["pareto_front"] == ["zoo/tiny", "zoo/small", "api/big"]
    assert saved["ranking"][0]["reasons"]


def test_one_priorities_string_with_inline_constraints_and_json_output(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    result = runner.invoke(
        app,
        [
            "select",
            str(folder / "comparison.json"),
            "--priorities",
            "P0 lower cost, P1 f1, latency < 1s",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [p["metric"] for p in data["priorities"]] == ["cost_per_1k_records", "f1_score"]
    assert data["constraints"][0]["metric"] == "latency_p95_s"
    assert data["selected"] == "zoo/small"
    assert (folder / "selection.json").is_file()


def test_a_missing_metric_exits_2_before_writing_anything(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    result = runner.invoke(app, ["select", str(folder), "-p", "cost", "-c", "bleu > 0.3"])
    assert result.exit_code == 2
    assert "unknown metric 'bleu'" in result.output and "available metrics:" in result.output
    assert not (folder / "selection.json").exists()


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    no_priority = runner.invoke(app, ["select", str(folder)])
    assert no_priority.exit_code == 2 and "at least one --priority" in no_priority.output
    constraint_as_priority = runner.invoke(app, ["select", str(folder), "-p", "latency < 2s"])
    assert constraint_as_priority.exit_code == 2 and "--constraint" in constraint_as_priority.output
    bad_constraint = runner.invoke(app, ["select", str(folder), "-p", "cost", "-c", "latency fast"])
    assert bad_constraint.exit_code == 2 and "METRIC OP VALUE" in bad_constraint.output
    missing = runner.invoke(app, ["select", str(tmp_path / "nowhere"), "-p", "cost"])
    assert missing.exit_code == 2 and "comparison.json" in missing.output
    assert "Traceback" not in missing.output


def test_no_model_meeting_the_constraints_still_explains(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    result = runner.invoke(app, ["select", str(folder), "-p", "cost", "-c", "latency < 50ms"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "No model meets all the constraints." in result.stdout
    assert "Closest: zoo/tiny" in result.stdout
    assert json.loads((folder / "selection.json").read_text(encoding="utf-8"))["selected"] is None
