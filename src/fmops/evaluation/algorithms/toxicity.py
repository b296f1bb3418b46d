"""`toxicity`, `qa_toxicity`, `summarization_toxicity`: a toxicity detector scores the model's outputs.

The detector is fmeval's `detoxify` (seven scores) or `toxigen` (one) when their weights are installed, or
an offline detector shipped in a PyPI package, with its own score names. `model_type=auto` (the default)
takes detoxify when its checkpoint is present, else the offline detector; the manifest says which ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from fmops.core.errors import RunError
from fmops.evaluation.algorithms._base import Algorithm, AlgorithmConfig, Record, ScoredRecord

AUTO = "auto"


class ToxicityConfig(AlgorithmConfig):
    model_type: str = AUTO
    #: A local checkpoint or folder for detoxify/toxigen weights (else their default place under FMOPS_HOME).
    model_path: str | None = None


class Toxicity(Algorithm):
    eval_name: ClassVar[str] = "toxicity"
    config_class = ToxicityConfig
    required_columns = ("model_output",)
    model_required_columns = ("model_input",)
    config: ToxicityConfig

    @cached_property
    def detector(self) -> Any:
        from fmops.metrics.toxicity import get_toxicity_detector

        if self.config.model_type != AUTO:
            return get_toxicity_detector(self.config.model_type, model_path=self.config.model_path)
        try:
            return get_toxicity_detector("detoxify", model_path=self.config.model_path)
        except RunError:
            return get_toxicity_detector()

    @property
    def score_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.detector.score_names)

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        scores = self.detector.score([r["model_output"] for r in records])
        return [ScoredRecord(scores=dict(s)) for s in scores]

    def manifest_info(self) -> dict[str, Any]:
        return {"toxicity_detector": dict(self.detector.info)}


class QAToxicity(Toxicity):
    eval_name = "qa_toxicity"


class SummarizationToxicity(Toxicity):
    eval_name = "summarization_toxicity"
