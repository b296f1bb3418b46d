"""Issue 15, item 14 and "Also": one CLI vocabulary. `fmops --version`; `-M KEY=VALUE` and
`-M MODEL:KEY=VALUE` in both eval and compare; `--models-file` for models.yaml (`models --config` still
accepted); every message "error: ..." on one line, usage mistakes included; no `<bool>` after flags; a
Ray run that stays in-process says so and records it; tables sent to a pipe are not cut to 80 columns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops import __version__
from fmops.cli import app
from fmops.cli._common import split_model_args
from fmops.core.errors import BadInputError
from tests.conftest import EXAMPLES

runner = CliRunner()
QA = [
    "--dataset",
    str(EXAMPLES / "qa_outputs.jsonl"),
    "--model-input",
    "question",
    "--target-output",
    "answer",
    "-c",
    "bertscore=false",
]


def test_version() -> None:
    for flag in ("--version", "-V"):
        result = runner.invoke(app, [flag])
        assert result.exit_code == 0 and result.stdout.strip() == f"fmops {__version__}"


@pytest.mark.parametrize("command", [[], ["eval"], ["select"], ["datasets", "list"], ["models", "generate"]])
def test_flags_show_no_bool_metavar(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--help" in result.stdout
    assert "<bool>" not in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["eval", "qa_accuracy", "--bogus"], "error: No such option: --bogus (see `fmops eval --help`)"),
        (["nosuch"], "error: No such command 'nosuch'. (see `fmops --help`)"),
    ],
)
def test_usage_errors_are_one_error_line(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == expected


def test_model_args_read_alike_in_eval_and_compare() -> None:
    models = ["openai/a", "bedrock/b.c-v1:0"]
    parsed = split_model_args(
        ["timeout=5", "bedrock/b.c-v1:0:region=us-east-1", "openai/a:base_url=http://h:1/v1"], models
    )
    assert parsed == {
        "openai/a": ["timeout=5", "base_url=http://h:1/v1"],
        "bedrock/b.c-v1:0": ["timeout=5", "region=us-east-1"],
    }
    with pytest.raises(BadInputError, match="model 'x' is not among --model"):
        split_model_args(["x:k=v"], models)
    with pytest.raises(BadInputError, match="KEY=VALUE applies to every --model and none is given"):
        split_model_args(["k=v"], [])


def test_eval_takes_the_model_qualified_form_and_compare_the_plain_one(tmp_path: Path) -> None:
    qualified = runner.invoke(
        app,
        [
            "eval",
            "qa_accuracy",
            *QA,
            "-m",
            "echo/x",
            "-M",
            "echo/x:max_concurrency=0",
            "-o",
            str(tmp_path / "r"),
        ],
    )
    assert qualified.exit_code == 2 and "-M max_concurrency=0" in qualified.stderr
    plain = runner.invoke(
        app,
        [
            "compare",
            "--suite",
            str(EXAMPLES / "suite.yaml"),
            "-m",
            "echo/x",
            "-M",
            "max_concurrency=0",
            "-o",
            str(tmp_path / "c"),
        ],
    )
    assert plain.exit_code == 2 and "-M max_concurrency=0" in plain.stderr


def test_models_file_option_and_the_old_config_name(tmp_path: Path) -> None:
    models = tmp_path / "m.yaml"
    models.write_text("models:\n  - name: parrot\n    spec: echo/parrot\n")
    for option in ("--models-file", "--config", "-c"):
        result = runner.invoke(app, ["models", "generate", "parrot", "hello there", option, str(models)])
        assert result.exit_code == 0, result.output
        assert "hello there" in result.stdout


def test_a_small_ray_run_says_it_ran_in_process_and_records_it(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["eval", "qa_accuracy", *QA, "--executor", "ray", "-o", str(out)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "ray: ran qa_outputs in-process" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["executor"] == {"name": "ray", "in_process": ["qa_outputs"]}


def test_tables_sent_to_a_pipe_are_not_cut_to_80_columns(tmp_path: Path) -> None:
    name = "a-rather-long-model-name-for-a-table"
    (tmp_path / "models.yaml").write_text(
        f"models:\n  - name: {name}\n    spec: openai/gpt-4o-mini\n"
        "    prices: {input_per_1k: 0.00015, output_per_1k: 0.0006}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "OPENAI_API_KEY", "FMOPS_MODELS")}
    done = subprocess.run(
        [sys.executable, "-m", "fmops", "models", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if name in line]
    assert "0.00015 in / 0.0006 out per 1K" in row and "OPENAI_API_KEY is not set" in row
    assert "…" not in done.stdout
