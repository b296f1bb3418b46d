"""`factual_knowledge`: is the target (or every/any `<OR>`/`<AND>` part) contained in the output."""

from __future__ import annotations

import logging
from typing import ClassVar, Literal

from pydantic import field_validator, model_validator

from fmops.evaluation.algorithms._base import Algorithm, AlgorithmConfig, Record
from fmops.metrics.factual import FACTUAL_SCORE_NAMES, factual_knowledge_scores

_log = logging.getLogger(__name__)


class FactualKnowledgeConfig(AlgorithmConfig):
    target_output_delimiter: str = "<OR>"
    logical_operator: Literal["OR", "AND"] = "OR"

    @field_validator("target_output_delimiter")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if value == "":
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _warn_on_mismatch(self) -> FactualKnowledgeConfig:
        # fmeval only warns: "<OR>" with AND is legal, if surprising.
        named = {"<OR>": "OR", "<AND>": "AND"}.get(self.target_output_delimiter)
        if named and named != self.logical_operator:
            _log.warning(
                "target_output_delimiter %s does not match logical_operator %s",
                self.target_output_delimiter,
                self.logical_operator,
            )
        return self


class FactualKnowledge(Algorithm):
    eval_name = "factual_knowledge"
    config_class = FactualKnowledgeConfig
    required_columns = ("target_output", "model_output")
    model_required_columns = ("model_input", "target_output")
    score_names = FACTUAL_SCORE_NAMES
    default_num_records: ClassVar[int] = 300
    config: FactualKnowledgeConfig

    def score_record(self, record: Record) -> dict[str, float]:
        return factual_knowledge_scores(
            record["model_output"],
            record["target_output"],
            self.config.target_output_delimiter,
            self.config.logical_operator,
        )
