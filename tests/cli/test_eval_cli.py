"""`fmops eval` and `fmops perturb` driven as a user would: a real process, exit codes, files, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO


def fmops(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fmops", *args], capture_output=True, text=True, cwd=cwd, env=dict(os.environ)
    )


def test_eval_writes_the_run_folder_and_prints_scores(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = fmops(
        "eval",
        "qa_accuracy",
        "--dataset",
        str(EXAMPLES / "qa_outputs.jsonl"),
        "--model-input",
        "question",
        "--target-output",
        "answer",
        "--category",
        "topic",
        "--num-records",
        "all",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "exact_match_score" in result.stdout
    results = json.loads((out / "results.json").read_text())
    assert results[0]["dataset_name"] == "qa_outputs"
    assert (out / "records" / "qa_accuracy_qa_outputs.jsonl").exists()
    assert (out / "manifest.json").exists()


def test_eval_takes_fmeval_config_options(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = fmops(
        "eval",
        "classification_accuracy",
        "--dataset",
        str(EXAMPLES / "reviews_outputs.jsonl"),
        "--model-input",
        "review",
        "--target-output",
        "label",
        "--num-records",
        "all",
        "--config",
        'valid_labels=["0", "1"]',
        "--config",
        "multiclass_average_strategy=macro",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"] == {"valid_labels": ["0", "1"], "multiclass_average_strategy": "macro"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["eval", "no_such_algo", "--dataset", "x.jsonl", "--output", "o"],
            "unknown algorithm 'no_such_algo'",
        ),
        (["eval", "qa_accuracy", "--dataset", "missing.jsonl", "--output", "o"], "missing.jsonl"),
        (
            [
                "eval",
                "qa_accuracy",
                "--dataset",
                str(EXAMPLES / "qa_outputs.jsonl"),
                "--output",
                "o",
                "--num-records",
                "many",
            ],
            "--num-records",
        ),
        (
            [
                "eval",
                "qa_accuracy",
                "--dataset",
                str(EXAMPLES / "qa_outputs.jsonl"),
                "--output",
                "o",
                "--config",
                "oops",
            ],
            "KEY=VALUE",
        ),
        (
            [
                "eval",
                "qa_accuracy",
                "--dataset",
                str(EXAMPLES / "qa_outputs.jsonl"),
                "--output",
                "o",
                "--config",
                "rouge_type=rouge1",
            ],
            "unknown config key",
        ),
        (
            [
                "eval",
                "qa_accuracy",
                "--dataset",
                str(EXAMPLES / "qa_outputs.jsonl"),
                "--output",
                "o",
                "--target-output",
                "nope",
            ],
            "target_output",
        ),
        # The engine checks these; the CLI spells the engine's fields as its flags.
        (
            [
                "eval",
                "qa_accuracy",
                "--dataset",
                str(EXAMPLES / "qa_outputs.jsonl"),
                "-o",
                "o",
                "--num-records",
                "-3",
            ],
            "error: --num-records expects a positive integer or 'all', got -3",
        ),
        (
            [
                "eval",
                "qa_accuracy",
                "--dataset",
                str(EXAMPLES / "qa_outputs.jsonl"),
                "-o",
                "o",
                "--on-bad-record",
                "x",
            ],
            "error: --on-bad-record must be 'fail' or 'skip', got 'x'",
        ),
        (
            ["eval", "qa_accuracy", "--dataset", str(EXAMPLES / "qa_outputs.jsonl"), "-o", "o", "-M", "a=1"],
            "error: -M and --prompt-template need --model",
        ),
        (
            ["eval", "qa_accuracy", "-o", "o"],
            "error: no dataset: pass --dataset PATH or a --data-config file",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = fmops(*args, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_skip_bad_records_reports_how_many(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(
        '{"target_output": "a", "model_output": "a"}\n{"target_output": null, "model_output": "a"}\n'
    )
    result = fmops(
        "eval",
        "qa_accuracy",
        "--dataset",
        str(data),
        "--num-records",
        "all",
        "--on-bad-record",
        "skip",
        "--output",
        str(tmp_path / "o"),
    )
    assert result.returncode == 0, result.stderr
    assert "skipped 1 bad record" in result.stdout


def test_perturb_prints_a_json_list_reproducibly() -> None:
    first = fmops("perturb", "butter_finger", "The quick brown fox", "--num", "3", "--seed", "7")
    assert first.returncode == 0, first.stderr
    texts = json.loads(first.stdout)
    assert len(texts) == 3 and all(len(t) == len("The quick brown fox") for t in texts)
    assert (
        fmops("perturb", "butter_finger", "The quick brown fox", "--num", "3", "--seed", "7").stdout
        == first.stdout
    )
    upper = fmops(
        "perturb", "random_upper_case", "abcdefghij", "--param", "random_uppercase_corrupt_proportion=0.5"
    )
    assert all(sum(c.isupper() for c in t) == 5 for t in json.loads(upper.stdout))


def test_perturb_rejects_unknown_types_and_params() -> None:
    bad_type = fmops("perturb", "shuffle", "text")
    assert bad_type.returncode == 2 and "butter_finger" in bad_type.stderr
    bad_param = fmops("perturb", "butter_finger", "text", "--param", "whitespace_add_prob=0.2")
    assert bad_param.returncode == 2 and "Traceback" not in bad_param.stderr


_HEAVY = ("torch", "transformers", "ray", "pandas", "sklearn", "spacy", "presidio_analyzer", "mlflow")


def test_help_is_fast_and_everywhere() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "fmops"), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "eval" in result.stdout
    # Fast means no heavy import behind `--help`: checked by what is imported, not by a clock.
    probe = (
        "import sys; from typer.testing import CliRunner; from fmops.cli import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        f"print(sorted(m for m in {_HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    for command in ("eval", "perturb"):
        assert fmops(command, "--help").returncode == 0
