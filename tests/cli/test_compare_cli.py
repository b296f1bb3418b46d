"""`fmops compare`, then `fmops select` and `fmops report` on its folder, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmops.cli._common import split_model_args as _model_args
from fmops.core.errors import BadInputError
from tests.conftest import EXAMPLES, REPO


def fmops(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "fmops", *args], capture_output=True, text=True, cwd=REPO, env=env
    )


def test_compare_select_report_on_the_example_suite(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    done = fmops(
        "compare", "--suite", str(EXAMPLES / "suite.yaml"), "-m", "echo/a", "-m", "echo/b", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "suite examples: scores (95% CI)" in done.stdout
    assert "qa_accuracy/qa_outputs · f1_score" in done.stdout
    assert "paired differences are beyond the noise" in done.stdout
    comparison = json.loads((out / "comparison.json").read_text())
    assert [m["name"] for m in comparison["models"]] == ["echo/a", "echo/b"]
    assert {e["id"] for e in comparison["suite"]["evaluations"]} == {
        "qa_accuracy/qa_outputs",
        "factual_knowledge/factual_outputs",
        "classification_accuracy/reviews_outputs",
        "prompt_stereotyping/stereotyping_logprobs",
    }

    chosen = fmops("select", str(out), "--priorities", "P0 f1_score, P1 latency", "-c", "latency p95 < 2 s")
    assert chosen.returncode == 0, chosen.stderr
    assert "ranks first of" in chosen.stdout and (out / "selection.json").is_file()
    assert json.loads((out / "selection.json").read_text())["selected"] in ("echo/a", "echo/b")

    missing = fmops("select", str(out), "--priority", "bleu")
    assert missing.returncode == 2 and "unknown metric 'bleu'" in missing.stderr

    report = fmops("report", str(out))
    assert report.returncode == 0, report.stderr
    assert (out / "report.html").stat().st_size > 100_000  # plotly embedded


def test_a_bad_suite_is_one_line_on_stderr_with_exit_2(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "evaluations:\n  - algorithm: qa_accurracy\n"
        f"    dataset: {EXAMPLES / 'qa_outputs.jsonl'}\n    locations: {{model_input: question}}\n"
    )
    done = fmops("compare", "--suite", str(suite), "-m", "echo/a", "-o", str(tmp_path / "c"))
    assert done.returncode == 2
    assert "qa_accurracy" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_a_model_whose_calls_all_fail_is_called_out(tmp_path: Path) -> None:
    """An unreachable endpoint: every record fails, the summary says so with the first error, and the
    command exits 1 after writing the comparison (issue 15: a run that compares nothing is not a success)."""
    out = tmp_path / "cmp"
    done = fmops(
        *(
            "compare",
            "--suite",
            str(EXAMPLES / "suite.yaml"),
            "-m",
            "echo/a",
            "-m",
            "openai/down",
            "-o",
            str(out),
        ),
        *("-M", "openai/down:base_url=http://127.0.0.1:9/v1", "-M", "openai/down:max_retries=0"),
        *("--num-records", "4"),
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: every model call of openai/down failed")
    assert (out / "comparison.json").exists()
    flat = " ".join(done.stdout.split())
    assert "openai/down: 16 of 16 records failed a model call; first:" in flat
    assert "echo/a:" not in flat.split("latency, throughput and cost")[1].split("paired")[0]


def test_model_arguments_split_at_the_key_not_inside_ids_or_urls() -> None:
    bedrock = "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
    args = _model_args(
        [f"{bedrock}:region=us-east-1", "openai/m:base_url=http://127.0.0.1:8000/v1"], [bedrock, "openai/m"]
    )
    assert args == {bedrock: ["region=us-east-1"], "openai/m": ["base_url=http://127.0.0.1:8000/v1"]}
    for bad in ("base_url=http://x", "openai/m:", "openai/m:=1"):
        with pytest.raises(BadInputError, match="MODEL:KEY=VALUE"):
            _model_args([bad], [])
    with pytest.raises(BadInputError, match="not among --model"):
        _model_args(["other/x:a=1"], ["openai/m"])
