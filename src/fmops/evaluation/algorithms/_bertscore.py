"""The `bertscore` score shared by QA and summarization algorithms: configurable, switchable off, batched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from fmops.evaluation.algorithms._base import Algorithm, Record, ScoredRecord

BERTSCORE = "bertscore"


class BertScoreOptions(BaseModel):
    """Config fields every algorithm with a `bertscore` score has.

    `model_type_for_bertscore` is fmeval's field; None picks fmeval's default model when it is present
    locally, else the offline MiniLM encoder (the manifest records which). `bertscore=false` skips it: fmeval
    users' top complaint is that it makes QA evaluation several times slower.
    """

    bertscore: bool = True
    model_type_for_bertscore: str | None = None


def bertscore_max_over_targets(
    model_type: str | None, targets: Sequence[Sequence[str]], outputs: Sequence[str]
) -> list[float]:
    """For each record, the best BERTScore F1 of its output against any of its targets (one batched pass)."""
    from fmops.metrics.bertscore import get_bert_scorer

    pair_targets = [t for ts in targets for t in ts]
    pair_outputs = [o for ts, o in zip(targets, outputs, strict=True) for _ in ts]
    flat = get_bert_scorer(model_type).score(pair_targets, pair_outputs) if pair_targets else []
    best, start = [], 0
    for ts in targets:
        best.append(max(flat[start : start + len(ts)]) if ts else 0.0)
        start += len(ts)
    return best


def bertscore_info(model_type: str | None) -> dict[str, Any]:
    from fmops.metrics.bertscore import get_bert_scorer

    return dict(get_bert_scorer(model_type).info)


class OutputScoringAlgorithm(Algorithm):
    """An accuracy algorithm whose record scores are `score_outputs(records, outputs)` (which the
    robustness algorithms also call on perturbed outputs), with a BERTScore that can be switched off."""

    config: Any  # an AlgorithmConfig with BertScoreOptions

    def score_outputs(self, records: Sequence[Record], outputs: Sequence[str]) -> list[dict[str, float]]:
        raise NotImplementedError

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        outputs = [r["model_output"] for r in records]
        return [ScoredRecord(scores=s) for s in self.score_outputs(records, outputs)]

    def manifest_info(self) -> dict[str, Any]:
        if not self.config.bertscore:
            return {}
        return {"bertscore_model": bertscore_info(self.config.model_type_for_bertscore)}
