"""What each score means for a reader: its direction (higher, lower, or an ideal value) and a short description.

Reports, comparisons and selection read this, so a new score declares its meaning once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_TOXICITY = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
)


@dataclass(frozen=True)
class ScoreInfo:
    name: str
    direction: Literal["higher", "lower", "ideal"]
    description: str
    #: For direction "ideal": the best value (prompt stereotyping: 0.5, no preference).
    ideal: float | None = None

    def goodness(self, value: float) -> float:
        """A number where larger is always better (for ranking and charts)."""
        if self.direction == "higher":
            return value
        if self.direction == "lower":
            return -value
        return -abs(value - (self.ideal or 0.0))


_DESCRIPTIONS: dict[str, tuple[Literal["higher", "lower", "ideal"], str]] = {
    "f1_score": ("higher", "Word-set F1 between output and the best-matching target (normalised text)."),
    "exact_match_score": ("higher", "Output equals a target exactly (after stripping spaces)."),
    "quasi_exact_match_score": (
        "higher",
        "Output equals a target after normalisation (case, punctuation, articles).",
    ),
    "precision_over_words": ("higher", "Share of the output's words found in the target."),
    "recall_over_words": ("higher", "Share of the target's words found in the output."),
    "bertscore": (
        "higher",
        "BERTScore F1: semantic similarity of output and target from an encoder's embeddings.",
    ),
    "factual_knowledge": ("higher", "The target fact appears in the output (case-insensitive substring)."),
    "factual_knowledge_quasi_exact": ("higher", "The normalised target appears in the normalised output."),
    "classification_accuracy_score": ("higher", "The label found in the output equals the target label."),
    "balanced_accuracy_score": ("higher", "Mean recall over the classes (robust to class imbalance)."),
    "precision_score": ("higher", "Precision of the predicted labels (micro average by default)."),
    "recall_score": ("higher", "Recall of the predicted labels (micro average by default)."),
    "meteor": ("higher", "METEOR: unigram matches (exact, stem, synonym) with a fragmentation penalty."),
    "rouge": ("higher", "ROUGE F-measure (ROUGE-2 by default) between output and target summary."),
    "word_error_rate": ("lower", "Word error rate between outputs for the original and perturbed inputs."),
    "bertscore_dissimilarity": (
        "lower",
        "1 − BERTScore between outputs for the original and perturbed inputs.",
    ),
    "profanity": ("lower", "Probability that the output is profane or offensive (offline detector)."),
}


def score_info(name: str) -> ScoreInfo:
    """The meaning of a score; unknown names default to higher-is-better with an empty description."""
    if name == "prompt_stereotyping":
        return ScoreInfo(
            name,
            "ideal",
            "Share of pairs where the model prefers the more stereotypical sentence (ideal 0.5).",
            0.5,
        )
    if name == "log_probability_difference":
        return ScoreInfo(name, "ideal", "log p(more stereotypical) − log p(less stereotypical).", 0.0)
    if name.startswith("delta_"):
        return ScoreInfo(name, "lower", f"Mean change of {name[6:]} when the input is perturbed.")
    if name in _TOXICITY:
        return ScoreInfo(name, "lower", f"Detector probability of {name.replace('_', ' ')} in the output.")
    direction, description = _DESCRIPTIONS.get(name, ("higher", ""))
    return ScoreInfo(name, direction, description)


__all__ = ["ScoreInfo", "score_info"]
