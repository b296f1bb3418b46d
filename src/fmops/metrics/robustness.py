"""Robustness metrics with fmeval 1.2.3 parity (reference §1.11).

* `word_error_rate`: corpus WER exactly as HF evaluate's "wer" computes it over jiwer, which is what
  fmeval's general semantic robustness reports.
* `mean_delta`: fmeval's `MeanDeltaScores` (mean absolute change of a score under perturbation).
* `baseline_pairs`, `baseline_word_error_rate`, `subtract_baseline`: the non-deterministic-model
  baseline of general semantic robustness (`UpdateRobustnessScores`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jiwer
import numpy as np


def word_error_rate(references: Sequence[str], predictions: Sequence[str]) -> float:
    """Corpus-level WER: Σ(S+D+I) / Σ(S+D+H) over the (reference, prediction) pairs.

    jiwer's default WER transform is used (runs of 2+ whitespace collapse to one space, strip, split
    on " "), so the score is case- and punctuation-sensitive, a lone tab or newline does not split
    words, and the value can exceed 1 (insertions).

    Raises ValueError (for the caller to record as a per-record error) when the lists are empty or
    of different lengths, or when a reference is empty or whitespace-only: fmeval pins jiwer 3, which
    raises ValueError there (jiwer 4 would silently score it), so no fmeval score exists to match.
    """
    if len(references) != len(predictions):
        raise ValueError(
            f"word_error_rate needs as many references as predictions, got {len(references)} and "
            f"{len(predictions)}"
        )
    if not references:
        raise ValueError("word_error_rate needs at least one (reference, prediction) pair")
    errors = 0
    reference_words = 0
    for reference, prediction in zip(references, predictions, strict=True):
        if not isinstance(reference, str) or not isinstance(prediction, str):
            raise ValueError("word_error_rate compares strings; got a missing (None) or non-text output")
        if not reference.strip():
            raise ValueError("word error rate is undefined for an empty reference (original model output)")
        out = jiwer.process_words(reference, prediction)
        errors += out.substitutions + out.deletions + out.insertions
        reference_words += out.substitutions + out.deletions + out.hits
    return errors / reference_words


def mean_delta(original: float, perturbed: Sequence[float]) -> float:
    """mean_i |original - perturbed_i| (numpy mean, as fmeval's MeanDeltaScores)."""
    if len(perturbed) == 0:
        raise ValueError("mean_delta needs at least one perturbed score")
    return float(np.mean([abs(original - p) for p in perturbed]))


def baseline_pairs(outputs: Sequence[str]) -> list[tuple[str, str]]:
    """All C(B,2) pairs of B outputs for the same prompt, in itertools.combinations order.

    For parity order `outputs` as fmeval does: the B-1 extra baseline generations first, then the
    original model output last. The first element of a pair is the BERTScore target (reference).
    Beware: fmeval's baseline WER uses the pair the other way round (first = prediction, second =
    reference); `baseline_word_error_rate` does that for you.
    """
    if len(outputs) < 2:
        raise ValueError(f"a baseline needs at least 2 outputs of the same prompt, got {len(outputs)}")
    return list(itertools.combinations(outputs, 2))


def baseline_word_error_rate(outputs: Sequence[str]) -> float:
    """fmeval's `word_error_rate_baseline`: corpus WER over `baseline_pairs(outputs)` with the first
    output of each pair as prediction and the second as reference (fmeval's orientation)."""
    pairs = baseline_pairs(outputs)
    return word_error_rate([second for _, second in pairs], [first for first, _ in pairs])


def subtract_baseline(score: float, baseline: float) -> float:
    """max(0, score - baseline): a non-deterministic model's own variation is not a robustness loss."""
    return float(max(0.0, score - baseline))
