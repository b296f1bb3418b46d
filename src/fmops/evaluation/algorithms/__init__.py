"""The registry of evaluation algorithms, by fmeval's `eval_name`."""

from __future__ import annotations

from fmops.core.errors import BadInputError
from fmops.evaluation.algorithms._base import Algorithm, AlgorithmConfig, ModelCall, ScoredRecord
from fmops.evaluation.algorithms.classification_accuracy import ClassificationAccuracy
from fmops.evaluation.algorithms.factual_knowledge import FactualKnowledge
from fmops.evaluation.algorithms.judge import Judge
from fmops.evaluation.algorithms.prompt_stereotyping import PromptStereotyping
from fmops.evaluation.algorithms.qa_accuracy import QAAccuracy
from fmops.evaluation.algorithms.semantic_robustness import (
    ClassificationAccuracySemanticRobustness,
    GeneralSemanticRobustness,
    QAAccuracySemanticRobustness,
    SummarizationAccuracySemanticRobustness,
)
from fmops.evaluation.algorithms.summarization_accuracy import SummarizationAccuracy
from fmops.evaluation.algorithms.toxicity import QAToxicity, SummarizationToxicity, Toxicity

ALGORITHMS: dict[str, type[Algorithm]] = {
    cls.eval_name: cls
    for cls in (
        FactualKnowledge,
        QAAccuracy,
        SummarizationAccuracy,
        ClassificationAccuracy,
        PromptStereotyping,
        Toxicity,
        QAToxicity,
        SummarizationToxicity,
        GeneralSemanticRobustness,
        QAAccuracySemanticRobustness,
        SummarizationAccuracySemanticRobustness,
        ClassificationAccuracySemanticRobustness,
        Judge,
    )
}


def get_algorithm(eval_name: str, options: dict[str, object] | None = None) -> Algorithm:
    """The algorithm called `eval_name`, configured from fmeval config field names."""
    try:
        cls = ALGORITHMS[eval_name]
    except KeyError:
        raise BadInputError(
            f"unknown algorithm '{eval_name}'; available: {', '.join(sorted(ALGORITHMS))}"
        ) from None
    return cls.from_options(dict(options or {}))


__all__ = ["ALGORITHMS", "Algorithm", "AlgorithmConfig", "ModelCall", "ScoredRecord", "get_algorithm"]
