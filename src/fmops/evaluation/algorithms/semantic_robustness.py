"""fmeval's four semantic-robustness algorithms: perturb the input, call the model again, compare.

Accuracy robustness (QA, summarization, classification) reports the accuracy scores on the original input
and `delta_<score>` = mean |original − perturbed| over the perturbations. General semantic robustness needs
no target: word error rate and BERTScore dissimilarity between the outputs for the original and perturbed
inputs, less a baseline of the model's own variability when it proves non-deterministic.

Perturbations come from one seeded `Perturber` per dataset run, fed records in sample order, so the same
seed gives fmeval's perturbed texts. Each record's perturbed inputs and outputs are kept in the run folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field

from fmops.evaluation.algorithms._base import Algorithm, AlgorithmConfig, ModelCall, Record, ScoredRecord
from fmops.evaluation.algorithms._bertscore import BertScoreOptions, bertscore_info
from fmops.evaluation.algorithms.classification_accuracy import (
    ACCURACY,
    ClassificationAccuracy,
    ClassificationAccuracyConfig,
)
from fmops.evaluation.algorithms.qa_accuracy import QAAccuracy, QAAccuracyConfig
from fmops.evaluation.algorithms.summarization_accuracy import (
    SummarizationAccuracy,
    SummarizationAccuracyConfig,
)
from fmops.metrics.robustness import (
    baseline_pairs,
    baseline_word_error_rate,
    mean_delta,
    subtract_baseline,
    word_error_rate,
)
from fmops.perturbations import Perturber, perturbation_param_names

if TYPE_CHECKING:
    from fmops.evaluation.prompts import PromptTemplate

PERTURBED_INPUTS = "perturbed_model_inputs"
PERTURBED_OUTPUTS = "perturbed_model_outputs"
BASELINE_OUTPUTS = "baseline_model_outputs"
PROBE = "determinism_probe_output"
#: fmeval probes determinism on the first five records of each dataset.
PROBE_RECORDS = 5


class PerturbationOptions(BaseModel):
    """fmeval's SemanticRobustnessConfig fields."""

    perturbation_type: Literal["butter_finger", "random_upper_case", "whitespace_add_remove"] = (
        "butter_finger"
    )
    num_perturbations: int = Field(default=5, ge=1)
    butter_finger_perturbation_prob: float = Field(default=0.1, ge=0, le=1)
    random_uppercase_corrupt_proportion: float = Field(default=0.1, ge=0, le=1)
    whitespace_add_prob: float = Field(default=0.05, ge=0, le=1)
    whitespace_remove_prob: float = Field(default=0.1, ge=0, le=1)

    def make_perturber(self) -> Perturber:
        names = perturbation_param_names(self.perturbation_type)
        return Perturber(self.perturbation_type, **{n: getattr(self, n) for n in names})


class _Perturbing(Algorithm):
    """Plans 1 + P generations per record: the original prompt and one per perturbed input."""

    record_fields: ClassVar[tuple[str, ...]] = (PERTURBED_INPUTS, PERTURBED_OUTPUTS)
    config: Any

    def __init__(self, config: AlgorithmConfig | None = None) -> None:
        super().__init__(config)
        self._perturber: Perturber | None = None

    def model_calls(self, record: Record, template: PromptTemplate) -> list[ModelCall]:
        if self._perturber is None:  # one RNG per dataset run, consumed in record order
            self._perturber = self.config.make_perturber()
        perturbed = self._perturber.perturb(record["model_input"], self.config.num_perturbations)
        record[PERTURBED_INPUTS] = perturbed
        record[PERTURBED_OUTPUTS] = [None] * len(perturbed)
        calls = [ModelCall("model_output", "generate", template.render(record), prompt_key="prompt")]
        # Sample i + 1: when sampling, a perturbation that left the input unchanged still gets a sample of
        # its own, as in fmeval (1 + P generations a record); greedy decoding asks identical prompts once.
        calls += [
            ModelCall(
                PERTURBED_OUTPUTS,
                "generate",
                template.render(record, model_input=text),
                index=i,
                sample_index=i + 1,
            )
            for i, text in enumerate(perturbed)
        ]
        return calls


class _AccuracyRobustness(_Perturbing):
    """Scores of a base accuracy algorithm on the original output, plus their mean absolute deltas."""

    base_class: ClassVar[type[Algorithm]]

    def __init__(self, config: AlgorithmConfig | None = None) -> None:
        super().__init__(config)
        base_fields = self.base_class.config_class.model_fields
        self.base = self.base_class(
            self.base_class.config_class(
                **{k: v for k, v in self.config.model_dump().items() if k in base_fields}
            )
        )

    @property
    def base_score_names(self) -> tuple[str, ...]:
        return tuple(self.base.score_names)

    @property
    def score_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*self.base_score_names, *(f"delta_{n}" for n in self.base_score_names))

    def prepare(self, records: Sequence[Record]) -> None:
        self.base.prepare(records)

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        count = self.config.num_perturbations
        original = self._score(records, [r["model_output"] for r in records])
        # All perturbed outputs in one batch (helper models score batches), then regrouped per record.
        flat_records = [r for r in records for _ in range(count)]
        flat_outputs = [o for r in records for o in _perturbed_outputs(r, count)]
        perturbed = self._score(flat_records, flat_outputs)
        scored = []
        for i, scores in enumerate(original):
            mine = perturbed[i * count : (i + 1) * count]
            deltas = {
                f"delta_{n}": mean_delta(scores[n], [p[n] for p in mine]) for n in self.base_score_names
            }
            scored.append(ScoredRecord(scores={**scores, **deltas}))
        return scored

    def _score(self, records: Sequence[Record], outputs: Sequence[str]) -> list[dict[str, float]]:
        return self.base.score_outputs(records, outputs)  # type: ignore[attr-defined]

    def manifest_info(self) -> dict[str, Any]:
        return self.base.manifest_info()


def _perturbed_outputs(record: Record, count: int) -> list[str]:
    outputs = record.get(PERTURBED_OUTPUTS)
    if not isinstance(outputs, list) or len(outputs) != count or any(o is None for o in outputs):
        raise ValueError(f"record {record.get('row')} lacks its {count} perturbed outputs")
    return outputs


class QAAccuracySemanticRobustnessConfig(QAAccuracyConfig, PerturbationOptions):
    pass


class QAAccuracySemanticRobustness(_AccuracyRobustness):
    eval_name = "qa_accuracy_semantic_robustness"
    config_class = QAAccuracySemanticRobustnessConfig
    base_class = QAAccuracy
    required_columns = ("model_input", "target_output", "model_output", PERTURBED_OUTPUTS)
    model_required_columns = ("model_input", "target_output")


class SummarizationAccuracySemanticRobustnessConfig(SummarizationAccuracyConfig, PerturbationOptions):
    pass


class SummarizationAccuracySemanticRobustness(_AccuracyRobustness):
    eval_name = "summarization_accuracy_semantic_robustness"
    config_class = SummarizationAccuracySemanticRobustnessConfig
    base_class = SummarizationAccuracy
    required_columns = ("model_input", "target_output", "model_output", PERTURBED_OUTPUTS)
    model_required_columns = ("model_input", "target_output")


class ClassificationAccuracySemanticRobustnessConfig(ClassificationAccuracyConfig, PerturbationOptions):
    pass


class _ClassificationScores:
    """Adapts ClassificationAccuracy to the score_outputs shape the delta computation uses."""

    def __init__(self, algo: ClassificationAccuracy) -> None:
        self.algo = algo

    def __call__(self, records: Sequence[Record], outputs: Sequence[str]) -> list[dict[str, float]]:
        return [{ACCURACY: correct} for _, correct in self.algo.classify(records, outputs)]


class ClassificationAccuracySemanticRobustness(_AccuracyRobustness):
    eval_name = "classification_accuracy_semantic_robustness"
    config_class = ClassificationAccuracySemanticRobustnessConfig
    base_class = ClassificationAccuracy
    required_columns = ("model_input", "target_output", "model_output", PERTURBED_OUTPUTS)
    model_required_columns = ("model_input", "target_output")

    @property
    def base_score_names(self) -> tuple[str, ...]:
        return (ACCURACY,)

    def _score(self, records: Sequence[Record], outputs: Sequence[str]) -> list[dict[str, float]]:
        assert isinstance(self.base, ClassificationAccuracy)
        return _ClassificationScores(self.base)(records, outputs)

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        scored = super().score_records(records)
        assert isinstance(self.base, ClassificationAccuracy)
        labels = self.base.classify(records, [r["model_output"] for r in records])
        for s, (label, _) in zip(scored, labels, strict=True):
            s.extras["classified_model_output"] = label
        return scored


WER = "word_error_rate"
DISSIMILARITY = "bertscore_dissimilarity"


class GeneralSemanticRobustnessConfig(AlgorithmConfig, PerturbationOptions):
    num_baseline_samples: int = Field(default=4, ge=2)
    model_type_for_bertscore: str | None = BertScoreOptions.model_fields["model_type_for_bertscore"].default


class GeneralSemanticRobustness(_Perturbing):
    eval_name = "general_semantic_robustness"
    config_class = GeneralSemanticRobustnessConfig
    required_columns = ("model_input", "model_output", PERTURBED_OUTPUTS)
    model_required_columns = ("model_input",)
    record_fields = (PERTURBED_INPUTS, PERTURBED_OUTPUTS, PROBE, BASELINE_OUTPUTS)
    score_names = (DISSIMILARITY, WER)
    config: GeneralSemanticRobustnessConfig

    def __init__(self, config: AlgorithmConfig | None = None) -> None:
        super().__init__(config)
        self._planned = 0
        self.deterministic: bool | None = None

    def model_calls(self, record: Record, template: PromptTemplate) -> list[ModelCall]:
        calls = super().model_calls(record, template)
        if self._planned < PROBE_RECORDS:  # the probe: the same prompt once more, as a second sample
            sample = self.config.num_perturbations + 1  # after the perturbations' samples; baseline 0's
            calls.append(ModelCall(PROBE, "generate", calls[0].text, sample_index=sample, fresh_sample=True))
        self._planned += 1
        return calls

    def followup_calls(self, records: Sequence[Record]) -> list[list[ModelCall]]:
        probed = [r for r in records if PROBE in r]
        self.deterministic = all(r[PROBE] == r.get("model_output") for r in probed)
        if self.deterministic:
            return [[] for _ in records]
        extra = self.config.num_baseline_samples - 1
        plans = []
        for record in records:
            record[BASELINE_OUTPUTS] = [None] * extra
            if record.get(PROBE) is not None:  # the probe already is this prompt's sample 1
                record[BASELINE_OUTPUTS][0] = record[PROBE]
            plans.append(
                [
                    ModelCall(
                        BASELINE_OUTPUTS,
                        "generate",
                        record["prompt"],
                        index=i,
                        sample_index=self.config.num_perturbations + i + 1,
                        fresh_sample=True,
                    )
                    for i in range(extra)
                    if record[BASELINE_OUTPUTS][i] is None
                ]
            )
        return plans

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        from fmops.metrics.bertscore import get_bert_scorer

        scorer = get_bert_scorer(self.config.model_type_for_bertscore)
        count = self.config.num_perturbations
        valid, scored = [], [ScoredRecord() for _ in records]
        for i, record in enumerate(records):
            try:
                valid.append((i, _perturbed_outputs(record, count)))
            except ValueError as exc:
                scored[i].errors = dict.fromkeys(self.score_names, f"ValueError: {exc}")
        # One batched BERTScore pass for all (original, perturbed) and baseline pairs.
        refs, cands, owners = [], [], []
        for i, perturbed in valid:
            original = records[i]["model_output"]
            refs += [original] * count
            cands += perturbed
            owners += [(i, "p")] * count
            baseline = self._baseline(records[i])
            for a, b in baseline_pairs(baseline) if baseline else []:
                refs.append(a)
                cands.append(b)
                owners.append((i, "b"))
        bert = scorer.score(refs, cands) if refs else []
        by_owner: dict[tuple[int, str], list[float]] = {}
        for owner, value in zip(owners, bert, strict=True):
            by_owner.setdefault(owner, []).append(value)
        for i, perturbed in valid:
            record = records[i]
            try:
                wer = word_error_rate([record["model_output"]] * count, perturbed)
            except ValueError as exc:
                scored[i].errors = {WER: f"ValueError: {exc}"}
                wer = None
            dissimilarity = 1.0 - float(np.mean(by_owner[(i, "p")]))
            baseline = self._baseline(record)
            if baseline:
                dissimilarity = subtract_baseline(dissimilarity, 1.0 - float(np.mean(by_owner[(i, "b")])))
                if wer is not None:
                    wer = subtract_baseline(wer, baseline_word_error_rate(baseline))
            scored[i].scores[DISSIMILARITY] = dissimilarity
            if wer is not None:
                scored[i].scores[WER] = wer
        return scored

    @staticmethod
    def _baseline(record: Record) -> list[str] | None:
        extra = record.get(BASELINE_OUTPUTS)
        if not extra or any(o is None for o in extra):
            return None
        # fmeval's order: the extra samples first, the original output last.
        return [*extra, record["model_output"]]

    def manifest_info(self) -> dict[str, Any]:
        return {
            "bertscore_model": bertscore_info(self.config.model_type_for_bertscore),
            "deterministic": self.deterministic,
        }
