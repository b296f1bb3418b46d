"""`summarization_accuracy`: ROUGE (ROUGE-2 by default, stemmed), METEOR and BERTScore against the summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fmops.evaluation.algorithms._base import AlgorithmConfig, Record
from fmops.evaluation.algorithms._bertscore import BERTSCORE, BertScoreOptions, OutputScoringAlgorithm
from fmops.metrics.meteor import meteor_scores
from fmops.metrics.rouge import rouge_scores

METEOR = "meteor"
ROUGE = "rouge"


class SummarizationAccuracyConfig(AlgorithmConfig, BertScoreOptions):
    rouge_type: Literal["rouge1", "rouge2", "rougeL"] = "rouge2"
    use_stemmer_for_rouge: bool = True


class SummarizationAccuracy(OutputScoringAlgorithm):
    eval_name = "summarization_accuracy"
    config_class = SummarizationAccuracyConfig
    # fmeval's quirk: the input column is required even when the outputs are brought by the user.
    required_columns = ("model_input", "target_output", "model_output")
    model_required_columns = ("model_input", "target_output")
    config: SummarizationAccuracyConfig

    @property
    def score_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (METEOR, ROUGE, BERTSCORE) if self.config.bertscore else (METEOR, ROUGE)

    def score_outputs(self, records: Sequence[Record], outputs: Sequence[str]) -> list[dict[str, float]]:
        targets = [r["target_output"] for r in records]
        meteor = meteor_scores(targets, outputs)
        rouge = rouge_scores(targets, outputs, self.config.rouge_type, self.config.use_stemmer_for_rouge)
        scores = [{METEOR: m, ROUGE: r} for m, r in zip(meteor, rouge, strict=True)]
        if self.config.bertscore:
            from fmops.metrics.bertscore import get_bert_scorer

            bert = get_bert_scorer(self.config.model_type_for_bertscore).score(targets, list(outputs))
            for s, b in zip(scores, bert, strict=True):
                s[BERTSCORE] = b
        return scores
