"""Runs AWS fmeval on the bench's datasets; executed by the Python of an fmeval install, never imported by fmops.

Usage: FMEVAL_PYTHON _fmeval_side.py JOBS.json RESULT.json
fmeval's metrics go through HF `evaluate.load(NAME)`, which fetches metric scripts from the hub; offline we give
it local stand-ins (written here, thin wrappers over the same libraries: rouge_score, jiwer); METEOR uses nltk
directly and finds WordNet and punkt_tab through NLTK_DATA, which the caller points at fmops's offline copy. fmeval
computes BERTScore with microsoft/deberta-xlarge-mnli on every QA and summarization record; those weights cannot
be fetched here, so the BERTScore stand-in returns 0.0 without a model: fmeval's measured time is a lower bound.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

_ROUGE = """
import datasets
import evaluate
from rouge_score import rouge_scorer, scoring
class Rouge(evaluate.Metric):
    def _info(self):
        f = datasets.Features({"predictions": datasets.Value("string", id="sequence"),
                               "references": datasets.Value("string", id="sequence")})
        return evaluate.MetricInfo(description="rouge", citation="", inputs_description="", features=[f])
    def _compute(self, predictions, references, rouge_types=None, use_aggregator=True, use_stemmer=False):
        scorer = rouge_scorer.RougeScorer(rouge_types=rouge_types, use_stemmer=use_stemmer)
        agg = scoring.BootstrapAggregator()
        for ref, pred in zip(references, predictions):
            agg.add_scores(scorer.score(ref, pred))
        return {k: v.mid.fmeasure for k, v in agg.aggregate().items()}
"""
_WER = """
import datasets
import evaluate
import jiwer
class WER(evaluate.Metric):
    def _info(self):
        f = datasets.Features({"predictions": datasets.Value("string", id="sequence"),
                               "references": datasets.Value("string", id="sequence")})
        return evaluate.MetricInfo(description="wer", citation="", inputs_description="", features=f)
    def _compute(self, predictions=None, references=None, concatenate_texts=False):
        wrong = total = 0
        for prediction, reference in zip(predictions, references):
            m = jiwer.process_words(reference, prediction)
            wrong += m.substitutions + m.deletions + m.insertions
            total += m.substitutions + m.deletions + m.hits
        return {"wer": wrong / total}
"""
_BERTSCORE = """
import datasets
import evaluate
class BERTScore(evaluate.Metric):
    def _info(self):
        f = datasets.Features({"predictions": datasets.Value("string", id="sequence"),
                               "references": datasets.Value("string", id="sequence")})
        return evaluate.MetricInfo(description="bertscore", citation="", inputs_description="", features=[f])
    def _compute(self, predictions, references, **kwargs):
        return {"f1": [0.0] * len(predictions)}
"""


def _install_metric_stand_ins() -> Path:
    root = Path(tempfile.mkdtemp(prefix="fmeval-metrics-"))
    for name, source in {"rouge": _ROUGE, "wer": _WER, "bertscore": _BERTSCORE}.items():
        (root / name).mkdir()
        (root / name / f"{name}.py").write_text(source)
    return root


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.chdir(_install_metric_stand_ins())  # evaluate.load(NAME) looks in ./NAME/NAME.py first
    results_dir = tempfile.mkdtemp(prefix="fmeval-results-")
    os.environ["EVAL_RESULTS_PATH"] = results_dir + "/"

    import ray

    # Ray Data would start a cluster on the machine's address; benchmarks stay on loopback.
    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)

    from fmeval.data_loaders.data_config import DataConfig
    from fmeval.eval_algorithms.factual_knowledge import FactualKnowledge
    from fmeval.eval_algorithms.qa_accuracy import QAAccuracy
    from fmeval.eval_algorithms.summarization_accuracy import SummarizationAccuracy

    classes = {
        "qa_accuracy": QAAccuracy,
        "factual_knowledge": FactualKnowledge,
        "summarization_accuracy": SummarizationAccuracy,
    }
    out = []
    for job in jobs:
        config = DataConfig(
            dataset_name=job["name"],
            dataset_uri=job["path"],
            dataset_mime_type="application/jsonlines",
            **job["locations"],
        )
        algo = classes[job["algorithm"]]()
        started = time.perf_counter()
        [result] = algo.evaluate(dataset_config=config, num_records=job["num_records"], save=True)
        elapsed = time.perf_counter() - started
        records = [json.loads(line) for line in Path(result.output_path).read_text().splitlines()]
        out.append(
            {
                "algorithm": job["algorithm"],
                "seconds": elapsed,
                "dataset_scores": {s.name: s.value for s in result.dataset_scores},
                "records": [
                    {
                        "key": [r.get("model_input"), r.get("model_output")],
                        "scores": {s["name"]: s.get("value") for s in r["scores"]},
                    }
                    for r in records
                ],
            }
        )
    Path(sys.argv[2]).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
