"""`qa_accuracy`: lexical QA scores against `<OR>`-separated targets, plus BERTScore, as fmeval's QAAccuracy."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import field_validator

from fmops.evaluation.algorithms._base import AlgorithmConfig, Record
from fmops.evaluation.algorithms._bertscore import (
    BERTSCORE,
    BertScoreOptions,
    OutputScoringAlgorithm,
    bertscore_max_over_targets,
)
from fmops.metrics.qa import QA_SCORE_NAMES, qa_scores


class QAAccuracyConfig(AlgorithmConfig, BertScoreOptions):
    # None reproduces fmeval's quirk: str.split(None) makes every target word an alternative.
    target_output_delimiter: str | None = "<OR>"

    @field_validator("target_output_delimiter")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value == "":
            raise ValueError("must not be empty (use null to split targets on whitespace)")
        return value


def split_targets(target_output: str, delimiter: str | None) -> list[str]:
    return target_output.split(delimiter)


class QAAccuracy(OutputScoringAlgorithm):
    eval_name = "qa_accuracy"
    config_class = QAAccuracyConfig
    required_columns = ("target_output", "model_output")
    model_required_columns = ("model_input", "target_output")
    config: QAAccuracyConfig

    @property
    def score_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*QA_SCORE_NAMES, BERTSCORE) if self.config.bertscore else QA_SCORE_NAMES

    def score_outputs(self, records: Sequence[Record], outputs: Sequence[str]) -> list[dict[str, float]]:
        """Every score of each output against its record's targets (also used on perturbed outputs)."""
        delimiter = self.config.target_output_delimiter
        scores = [qa_scores(o, r["target_output"], delimiter) for r, o in zip(records, outputs, strict=True)]
        if self.config.bertscore:
            targets = [split_targets(r["target_output"], delimiter) for r in records]
            bert = bertscore_max_over_targets(self.config.model_type_for_bertscore, targets, outputs)
            for s, b in zip(scores, bert, strict=True):
                s[BERTSCORE] = b
        return scores
