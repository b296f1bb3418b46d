"""The registry of evaluation algorithms, by fmeval's `eval_name`.

One `Registry` (fmops.core.registry) like every extension point: the built-in algorithms are registered
here, plug-ins through the `fmops.algorithms` entry-point group ("name = package.module:AlgorithmClass").
The manifest records the name and the full config, which is what rebuilds an algorithm.
"""

from __future__ import annotations

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry
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

ALGORITHMS: Registry[type[Algorithm]] = Registry("algorithm", "fmops.algorithms")
for _cls in (
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
):
    ALGORITHMS.register(_cls.eval_name, _cls)


def get_algorithm(eval_name: str, options: dict[str, object] | None = None) -> Algorithm:
    """The algorithm called `eval_name`, configured from fmeval config field names."""
    if eval_name not in ALGORITHMS:
        raise BadInputError(f"unknown algorithm '{eval_name}'; available: {', '.join(ALGORITHMS.names())}")
    return ALGORITHMS.get(eval_name).from_options(dict(options or {}))


__all__ = ["ALGORITHMS", "Algorithm", "AlgorithmConfig", "ModelCall", "ScoredRecord", "get_algorithm"]
