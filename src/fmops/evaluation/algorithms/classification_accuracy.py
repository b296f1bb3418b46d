"""`classification_accuracy`: first-word label extraction, accuracy per record, sklearn scores per dataset."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from pydantic import field_validator

from fmops.core.results import CategoryScore, EvalScore
from fmops.evaluation.algorithms._base import (
    Algorithm,
    AlgorithmConfig,
    Record,
    ScoredRecord,
    group_by_category,
    mean_scores,
)
from fmops.metrics.classification import classification_scores, convert_model_output_to_label

_log = logging.getLogger(__name__)

ACCURACY = "classification_accuracy_score"
DATASET_LEVEL = ("balanced_accuracy_score", "precision_score", "recall_score")


class ClassificationAccuracyConfig(AlgorithmConfig):
    valid_labels: list[str] | None = None
    multiclass_average_strategy: Literal["micro", "macro", "samples", "weighted", "binary"] | None = "micro"

    @field_validator("valid_labels", mode="before")
    @classmethod
    def _labels_as_strings(cls, value: object) -> object:
        # fmeval casts non-string labels to str (with a warning); so do we.
        if isinstance(value, list) and any(not isinstance(v, str) for v in value):
            _log.warning("valid_labels contains non-string labels; casting them to str")
            return [str(v) for v in value]
        return value


class ClassificationAccuracy(Algorithm):
    eval_name = "classification_accuracy"
    config_class = ClassificationAccuracyConfig
    required_columns = ("target_output", "model_output")
    model_required_columns = ("model_input", "target_output")
    score_names = (ACCURACY, *DATASET_LEVEL)
    config: ClassificationAccuracyConfig

    def __init__(self, config: ClassificationAccuracyConfig | None = None) -> None:
        super().__init__(config)
        self._labels: list[str] | None = self.config.valid_labels

    def prepare(self, records: Sequence[Record]) -> None:
        if self.config.valid_labels is not None:
            return
        # As fmeval: without valid_labels, the labels are the distinct targets of the dataset.
        labels = list(dict.fromkeys(str(r["target_output"]) for r in records))
        _log.debug("labels taken from the %d records' targets: %s", len(records), labels)
        self._labels = labels

    def classify(self, records: Sequence[Record], outputs: Sequence[str]) -> list[tuple[str, float]]:
        """(label found in the output, 1.0 if it is the target else 0.0) per record."""
        if self._labels is None:
            self.prepare(records)
        labels = self._labels or []
        found = [convert_model_output_to_label(o, labels) for o in outputs]
        return [(f, float(f == str(r["target_output"]))) for f, r in zip(found, records, strict=True)]

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        classified = self.classify(records, [r["model_output"] for r in records])
        return [
            ScoredRecord(scores={ACCURACY: correct}, extras={"classified_model_output": label})
            for label, correct in classified
        ]

    def aggregate(
        self, records: Sequence[Record], scored: Sequence[ScoredRecord]
    ) -> tuple[list[EvalScore], list[CategoryScore] | None]:
        dataset = self._scores(records, scored)
        groups = group_by_category(records)
        if groups is None:
            return dataset, None
        categories = [
            CategoryScore(name=name, scores=self._scores([records[i] for i in idx], [scored[i] for i in idx]))
            for name, idx in groups.items()
        ]
        return dataset, categories

    def _scores(self, records: Sequence[Record], scored: Sequence[ScoredRecord]) -> list[EvalScore]:
        # Records whose model call failed have no label: they count as errors, not as wrong answers.
        pairs = [
            (str(r["target_output"]), s.extras["classified_model_output"])
            for r, s in zip(records, scored, strict=True)
            if "classified_model_output" in s.extras
        ]
        accuracy = mean_scores(scored, (ACCURACY,))
        if not pairs:
            return accuracy + [EvalScore(name=n, error=accuracy[0].error) for n in DATASET_LEVEL]
        y_true, y_pred = zip(*pairs, strict=True)
        overall = classification_scores(list(y_true), list(y_pred), self.config.multiclass_average_strategy)
        return accuracy + [EvalScore(name=n, value=overall[n]) for n in DATASET_LEVEL]
