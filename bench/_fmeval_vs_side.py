"""fmeval's side of bench/vs_fmeval.py; run by the Python of an fmeval install, never imported by fmops.

Usage: FMEVAL_PYTHON _fmeval_vs_side.py JOB.json RESULT.json

One job per process, so that the caller measures fmeval's whole process tree (Ray included) for it. Offline
set-up as in bench/_fmeval_side.py (whose metric stand-ins this reuses): `evaluate.load` finds local metric
scripts, the BERTScore stand-in returns 0.0 without a model (fmeval's deberta-xlarge-mnli cannot be fetched
here), NLTK_DATA points at fmops's offline copy. With a model, fmeval calls it through `HTTPModelRunner`, a
custom ModelRunner whose predict() posts the prompt to an OpenAI-compatible /v1/completions endpoint.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def make_runner(base_url: str, model: str) -> Any:
    from fmeval.model_runners.model_runner import ModelRunner

    class HTTPModelRunner(ModelRunner):
        """A model behind an OpenAI-compatible HTTP server; picklable (Ray rebuilds it in its actors)."""

        def __init__(self, base_url: str, model: str) -> None:
            self.base_url = base_url.rstrip("/")
            self.model = model

        def predict(self, prompt: str) -> tuple[str | None, float | None]:
            body = json.dumps({"model": self.model, "prompt": prompt}).encode("utf-8")
            request = urllib.request.Request(
                f"{self.base_url}/completions", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                data = json.load(response)
            return data["choices"][0]["text"], None

    return HTTPModelRunner(base_url, model)


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from _fmeval_side import _install_metric_stand_ins

    os.chdir(_install_metric_stand_ins())  # evaluate.load(NAME) looks in ./NAME/NAME.py first
    os.environ["EVAL_RESULTS_PATH"] = tempfile.mkdtemp(prefix="fmeval-results-") + "/"

    started = time.perf_counter()
    from fmeval.data_loaders.data_config import DataConfig
    from fmeval.eval_algorithms.factual_knowledge import FactualKnowledge
    from fmeval.eval_algorithms.qa_accuracy import QAAccuracy
    from fmeval.eval_algorithms.summarization_accuracy import SummarizationAccuracy

    imported = time.perf_counter() - started
    classes = {
        "qa_accuracy": QAAccuracy,
        "factual_knowledge": FactualKnowledge,
        "summarization_accuracy": SummarizationAccuracy,
    }
    config = DataConfig(
        dataset_name=job["name"],
        dataset_uri=job["path"],
        dataset_mime_type="application/jsonlines",
        **job["locations"],
    )
    model = make_runner(job["model"]["base_url"], job["model"]["name"]) if job.get("model") else None
    algo = classes[job["algorithm"]]()
    started = time.perf_counter()
    [result] = algo.evaluate(
        model=model,
        dataset_config=config,
        prompt_template=job.get("prompt_template"),
        num_records=job["num_records"],
        save=True,
    )
    elapsed = time.perf_counter() - started
    rows = [json.loads(line) for line in Path(result.output_path).read_text().splitlines() if line.strip()]
    Path(sys.argv[2]).write_text(
        json.dumps(
            {
                "import_s": imported,
                "evaluate_s": elapsed,
                "dataset_scores": {s.name: s.value for s in result.dataset_scores},
                "records": [
                    {
                        "model_input": r.get("model_input"),
                        "model_output": r.get("model_output"),
                        "scores": {s["name"]: s.get("value") for s in r["scores"]},
                    }
                    for r in rows
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
