"""`fmops finetune` and `fmops runs` as a user runs them; job files and flags; one-line errors, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("trl")

from fmops.cli import app
from fmops.customization import load_job

runner = CliRunner()


def test_finetune_then_runs_list_show_compare_and_generate(tiny_base: str, qa_data: Path) -> None:
    args = [
        "finetune",
        tiny_base,
        "--data",
        str(qa_data),
        "--output",
        "cli",
        "--max-steps",
        "2",
        "--lora-r",
        "4",
        "--learning-rate",
        "0.01",
        "--save-steps",
        "2",
        "--no-eval",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "model: finetuned/cli" in first.output and "adapter: " in first.output
    second = runner.invoke(app, [*args[:-1], "--lora-r", "8", "--overwrite", "--no-eval"])
    assert second.exit_code == 0, second.output

    listed = runner.invoke(app, ["runs", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.output)
    assert [r["method"] for r in runs] == ["lora", "lora"] and {r["status"] for r in runs} == {"completed"}
    assert {"id", "base", "method", "status", "final_metrics"} <= set(runs[0])
    assert runs[0]["base"] == tiny_base and "train_loss" in runs[0]["final_metrics"]

    table = runner.invoke(app, ["runs", "list"])
    assert runs[0]["id"] in table.output and "completed" in table.output
    shown = runner.invoke(app, ["runs", "show", runs[0]["id"][:8]])
    assert shown.exit_code == 0 and "lora_r=8" in shown.output and "sha256" in shown.output
    assert "loss curve:" in shown.output
    as_json = json.loads(runner.invoke(app, ["runs", "show", runs[1]["id"], "--format", "json"]).output)
    assert as_json["params"]["lora_r"] == 4 and len(as_json["metrics"]["loss"]) == 2
    compared = runner.invoke(app, ["runs", "compare", runs[1]["id"], runs[0]["id"]])
    assert compared.exit_code == 0 and "lora_r" in compared.output and "lora_alpha" in compared.output

    generated = runner.invoke(
        app, ["models", "generate", "finetuned/cli", "Code of item 1:", "--max-tokens", "3"]
    )
    assert generated.exit_code == 0, generated.output


def test_a_registry_reference_is_a_base(tiny_base: str, qa_data: Path) -> None:
    from fmops.customization import read_finetuned
    from fmops.registry import model_registry, register_model

    version = register_model("tiny", tiny_base)
    model_registry().promote("tiny", version.version, "production")
    result = runner.invoke(
        app,
        [
            "finetune",
            "registry:tiny@production",
            "--data",
            str(qa_data),
            "--output",
            "from-registry",
            "--max-steps",
            "2",
            "--lora-r",
            "4",
            "--save-steps",
            "2",
            "--no-eval",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "lora on registry:tiny@production -> finetuned/from-registry" in result.output
    meta = read_finetuned("from-registry")
    assert meta.base == "registry:tiny@production"
    assert Path(meta.base_folder) == Path(tiny_base.removeprefix("hf/")).resolve()
    runs = json.loads(runner.invoke(app, ["runs", "list", "--format", "json"]).output)
    assert [r["base"] for r in runs] == ["registry:tiny@production"]
    generated = runner.invoke(
        app, ["models", "generate", "finetuned/from-registry", "Code of item 1:", "--max-tokens", "2"]
    )
    assert generated.exit_code == 0, generated.output


def test_a_job_file_with_flags_over_it(tmp_path: Path, qa_data: Path) -> None:
    (tmp_path / "job.yaml").write_text(
        "base: zoo/base-nodomain\ndata: train.jsonl\noutput: from-file\nmethod: full\n"
        "hyperparameters:\n  epochs: 2\n  lora_r: 8\n  target_modules: c_attn, c_proj\n"
    )
    (tmp_path / "train.jsonl").write_text(qa_data.read_text())
    job = load_job(tmp_path / "job.yaml", lora_r=4, output=None)
    assert job.data == tmp_path / "train.jsonl" and job.method == "full" and job.output == "from-file"
    assert job.hyperparameters.lora_r == 4 and job.hyperparameters.epochs == 2
    assert job.hyperparameters.target_modules == ["c_attn", "c_proj"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--lora-r", "0"],
            "command line: hyperparameters.lora_r: Input should be greater than or equal to 1",
        ),
        (
            ["--method", "dpo"],
            "command line: method: Input should be 'lora', 'qlora', 'full' or 'continued-pretraining'",
        ),
        (["--param", "warmup_ratio=2"], "hyperparameters.warmup_ratio: Input should be less than 1"),
        (["--param", "dropout=0.1"], "--param dropout: not a hyperparameter; known: epochs, max_steps"),
    ],
)
def test_bad_hyperparameters_are_one_line_errors(qa_data: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(
        app, ["finetune", "zoo/base-nodomain", "--data", str(qa_data), "--output", "x", *extra]
    )
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_bad_job_file_names_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_text("base: zoo/tiny\ndata: d.jsonl\noutput: bad name!\n")
    result = runner.invoke(app, ["finetune", "--config", str(tmp_path / "job.yaml")])
    assert result.exit_code == 2 and "job.yaml: output: Value error, letters, digits" in result.output
    missing = runner.invoke(app, ["finetune", "zoo/tiny"])
    assert missing.exit_code == 2 and "missing --data, --output" in missing.output
