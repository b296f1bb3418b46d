"""An evaluation that reads its dataset from S3 and writes its run folder to S3 (moto on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmops.evaluation import evaluate
from tests.conftest import EXAMPLES
from tests.support.s3 import MotoS3Server, use_s3_server


def test_dataset_from_s3_and_run_folder_to_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    with MotoS3Server() as server:
        use_s3_server(monkeypatch, server)
        bucket = server.create_bucket()
        server.put(bucket, "data/qa.jsonl", (EXAMPLES / "qa_outputs.jsonl").read_bytes())
        run = evaluate(
            "qa_accuracy",
            dataset=f"s3://{bucket}/data/qa.jsonl",
            locations={"model_input": "question", "target_output": "answer"},
            num_records="all",
            config={"bertscore": False},
            output=f"s3://{bucket}/runs/first",
        )
        keys = server.keys(bucket, "runs/first/")
        assert set(keys) == {
            "runs/first/results.json",
            "runs/first/manifest.json",
            "runs/first/records/qa_accuracy_qa.jsonl",
        }
        results = json.loads(server.get(bucket, "runs/first/results.json"))
        assert results[0]["output_path"] == f"s3://{bucket}/runs/first/records/qa_accuracy_qa.jsonl"
        assert results[0]["dataset_scores"][1]["value"] == pytest.approx(
            run.output.score("exact_match_score")
        )
        manifest = json.loads(server.get(bucket, "runs/first/manifest.json"))
        assert manifest["datasets"][0]["uri"] == f"s3://{bucket}/data/qa.jsonl"
        # The local copy stays under FMOPS_HOME.
        assert run.output_dir is not None and Path(run.output_dir, "results.json").exists()
