"""Issue 15's hostile user: where output goes, bad `-M` values, failed calls, damaged run folders.

Every case is a user mistake or a fault: one line on stderr, the right exit code, nothing half-done.
Most run the CLI in-process (typer's CliRunner) to stay fast; the S3 contract runs a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.models import (
    Capabilities,
    GenerateRequest,
    ModelAPI,
    ModelCallError,
    ModelResult,
    register_provider,
)
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


class _Counting(ModelAPI):
    """A provider that counts its calls and answers, or fails every call (`-M fail=true`)."""

    provider = "counting"
    calls = 0

    def __init__(self, model: str, fail: bool = False) -> None:
        super().__init__(model)
        self.fail = fail

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model, "fail": self.fail}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        type(self).calls += 1
        if self.fail:
            raise ModelCallError("HTTP 500: the server is on fire", retryable=True)
        return [ModelResult(text=r.prompt or "") for r in requests]


@pytest.fixture
def counting() -> type[_Counting]:
    register_provider("counting", _Counting)
    _Counting.calls = 0
    return _Counting


def one_line_error(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# -- 1. s3:// outputs ----------------------------------------------------------------------------


def test_s3_output_without_credentials_fails_fast_with_one_line_and_no_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true"
    )
    args = [sys.executable, "-m", "fmops", "eval", "qa_accuracy", *QA, "-o", "s3://some-bucket/runs/one"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode != 0
    line = one_line_error(done)
    assert "s3://some-bucket/runs/one" in line and "credentials" in line
    assert list(tmp_path.iterdir()) == []  # no ./s3:/some-bucket/... folder
    assert not (Path(env["FMOPS_HOME"]) / "runs").exists()  # no staging copy either


def test_s3_output_from_the_command_line_is_uploaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.support.s3 import MotoS3Server, use_s3_server

    monkeypatch.chdir(tmp_path)
    with MotoS3Server() as server:
        use_s3_server(monkeypatch, server)
        bucket = server.create_bucket()
        result = runner.invoke(app, ["eval", "qa_accuracy", *QA, "-o", f"s3://{bucket}/runs/cli"])
        assert result.exit_code == 0, result.output
        assert "runs/cli/results.json" in server.keys(bucket, "runs/cli/")
    assert not (tmp_path / "s3:").exists()


@pytest.mark.parametrize("command", [["compare", "--suite", str(EXAMPLES / "suite.yaml")], ["quickstart"]])
def test_compare_and_quickstart_refuse_a_remote_output(command: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, [*command, "-m", "echo/a", "-o", "s3://bucket/prefix"])
    assert result.exit_code == 2
    assert "s3://" in one_line_error(result)
    assert not Path("s3:").exists()


# -- 2. an output that cannot be written -----------------------------------------------------------


def test_an_output_that_is_a_file_fails_before_any_model_call(
    counting: type[_Counting], tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    for target in (taken, taken / "run"):
        result = runner.invoke(app, ["eval", "qa_accuracy", *QA, "-m", "counting/x", "-o", str(target)])
        assert result.exit_code == 2, result.output
        assert str(taken) in one_line_error(result)
    assert counting.calls == 0
    assert taken.read_text() == "mine\n"


def test_an_unwritable_output_folder_fails_before_any_model_call(
    counting: type[_Counting], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("fmops.evaluation.output.tempfile.mkstemp", refuse)
    result = runner.invoke(app, ["eval", "qa_accuracy", *QA, "-m", "counting/x", "-o", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "Permission denied" in one_line_error(result)
    assert counting.calls == 0 and not (tmp_path / "run").exists()


# -- 3. -M values ----------------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["max_concurrency=0", "timeout=abc", "max_retries=-1"])
def test_bad_limit_values_are_one_line_exit_2(arg: str, tmp_path: Path) -> None:
    name = arg.partition("=")[0]
    result = runner.invoke(
        app, ["eval", "qa_accuracy", *QA, "-m", "echo/x", "-M", arg, "-o", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert f"-M {arg}" in one_line_error(result) and name in result.stderr
    generate = runner.invoke(app, ["models", "generate", "echo/x", "hi", "-M", arg])
    assert generate.exit_code == 2 and f"-M {arg}" in one_line_error(generate)


# -- 6. failed model calls -------------------------------------------------------------------------


def test_a_run_whose_every_model_call_failed_exits_1_and_keeps_its_folder(
    counting: type[_Counting], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = ["eval", "qa_accuracy", *QA, "-m", "counting/x", "-M", "fail=true", "-M", "max_retries=1"]
    result = runner.invoke(app, [*args, "-M", "backoff_base=0.001", "-o", str(out)])
    assert result.exit_code == 1
    assert "12 of 12 model calls failed" in result.stderr and "on fire" in result.stderr
    assert "24 attempts with retries, 12 failed" in result.stdout  # logical calls and attempts
    assert (out / "results.json").exists()  # nothing computed is lost
    # A stated threshold decides instead: every call failed, and 100% is allowed.
    allowed = runner.invoke(
        app, [*args, "-M", "backoff_base=0.001", "-o", str(out), "--max-failure-rate", "1"]
    )
    assert allowed.exit_code == 0, allowed.output


def test_a_comparison_in_which_a_model_answered_nothing_exits_1(
    counting: type[_Counting], tmp_path: Path
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: s\nnum_records: 4\nevaluations:\n  - algorithm: qa_accuracy\n"
        f"    dataset: {EXAMPLES / 'qa_outputs.jsonl'}\n"
        "    locations: {model_input: question, target_output: answer}\n    config: {bertscore: false}\n"
    )
    args = [
        "compare",
        "--suite",
        str(suite),
        "-m",
        "counting/ok",
        "-m",
        "counting/dead",
        "-o",
        str(tmp_path / "c"),
    ]
    result = runner.invoke(app, [*args, "-M", "counting/dead:fail=true", "-M", "max_retries=0"])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]  # after progress lines
    assert len(errors) == 1 and errors[0].startswith("error: every model call of counting/dead failed")
    assert (tmp_path / "c" / "comparison.json").exists()


def test_max_failure_rate_counts_failed_calls_per_dataset() -> None:
    from fmops.core.errors import RunError
    from fmops.evaluation.failures import check_failure_rate, dataset_failures

    ok = {"scores": [{"name": "f1", "value": 1.0}], "row": 0}
    bad = {"error": "model_output: boom", "scores": [{"name": "f1", "error": "model call failed"}], "row": 1}
    quarter = dataset_failures("d", [ok, ok, ok, bad])
    assert (quarter.failed_calls, quarter.scored, quarter.failure_rate) == (1, 3, 0.25)
    check_failure_rate("qa", [quarter])  # default: some records scored
    check_failure_rate("qa", [quarter], 0.25)
    with pytest.raises(RunError, match="1 of 4 model calls failed.*0.2.*boom"):
        check_failure_rate("qa", [quarter], 0.2)
    with pytest.raises(RunError, match="no record was scored"):
        check_failure_rate("qa", [dataset_failures("d", [bad])])


# -- 5. damaged run folders ------------------------------------------------------------------------


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "qa_accuracy", *QA, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_rescore_of_a_truncated_records_file_is_one_line(run_folder: Path) -> None:
    records = run_folder / "records" / "qa_accuracy_qa_outputs.jsonl"
    records.write_text(records.read_text()[:-40])
    result = runner.invoke(app, ["rescore", str(run_folder)])
    assert result.exit_code == 2
    line = one_line_error(result)
    assert str(records) in line and "line 12" in line and "not valid JSON" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [('{"algorithm": "qa_accur', "not valid JSON"), ('{"algorithm": "qa_accuracy"}', "field 'datasets'")],
)
def test_rescore_of_an_invalid_manifest_is_one_line(run_folder: Path, text: str, expected: str) -> None:
    (run_folder / "manifest.json").write_text(text)
    result = runner.invoke(app, ["rescore", str(run_folder)])
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "manifest.json" in line and expected in line


# -- 9. a reused output folder ---------------------------------------------------------------------


def test_a_reused_output_folder_keeps_no_stale_records(run_folder: Path) -> None:
    stale = run_folder / "records" / "qa_accuracy_other.jsonl"
    stale.write_text('{"row": 0}\n')
    result = runner.invoke(app, ["eval", "qa_accuracy", *QA, "-o", str(run_folder)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (run_folder / "records").iterdir()) == ["qa_accuracy_qa_outputs.jsonl"]


def test_rescore_into_a_file_fails_before_scoring(run_folder: Path) -> None:
    target = run_folder.parent / "file"
    target.write_text("x")
    result = runner.invoke(app, ["rescore", str(run_folder), "-o", str(target)])
    assert result.exit_code == 2 and "not a folder" in one_line_error(result)
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert "rescored" not in manifest
