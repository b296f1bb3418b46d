"""The quickstart journey end to end, with deterministic offline models standing in for the zoo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_quickstart_compares_selects_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "qs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fmops",
            "quickstart",
            "-m",
            "echo/a",
            "-m",
            "echo/b",
            "--num-records",
            "5",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "capability matrix" in result.stdout and "selected:" in result.stdout
    comparison = json.loads((out / "comparison.json").read_text())
    algorithms = {e["algorithm"] for e in comparison["suite"]["evaluations"]}
    assert {
        "factual_knowledge",
        "qa_accuracy",
        "summarization_accuracy",
        "classification_accuracy",
        "toxicity",
        "qa_accuracy_semantic_robustness",
        "prompt_stereotyping",
    } <= algorithms
    assert json.loads((out / "selection.json").read_text())["selected"] in ("echo/a", "echo/b")
    assert (out / "report.html").stat().st_size > 100_000 and (out / "report.md").exists()
    # Its measurements join the capability matrix, beside the cards.
    measured = json.loads((Path(os.environ["FMOPS_HOME"]) / "catalog" / "measured.json").read_text())
    figures = measured["models"]["echo/a"]["figures"]
    assert "latency_p95_s" in figures and "qa_accuracy/world_trivia_qa:f1_score" in figures
