"""Uncertainty of scores: bootstrap intervals over records, and paired tests between models.

Seeded, vectorised numpy: the same records always give the same intervals and p-values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_RESAMPLES = 2000
_SEED = 20240611


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return None
    rng = np.random.default_rng(_SEED)
    means = data[rng.integers(0, data.size, size=(_RESAMPLES, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedTest:
    """Model a minus model b on the same records."""

    difference: float
    ci_low: float | None
    ci_high: float | None
    p_value: float
    n: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Mean paired difference, its bootstrap interval, and a two-sided sign-flip permutation p-value.

    The permutation test needs no distributional assumption, which matters for 0/1 scores such as exact
    match; with identical scores on every record the p-value is 1.
    """
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diffs.size == 0:
        return PairedTest(0.0, None, None, 1.0, 0)
    observed = float(diffs.mean())
    ci = bootstrap_ci(diffs)
    if not np.any(diffs):
        return PairedTest(observed, *(ci or (None, None)), 1.0, int(diffs.size))
    rng = np.random.default_rng(_SEED)
    exceed, total = 0, 0
    for _ in range(5):  # in chunks, so memory stays small on large datasets
        signs = rng.choice(np.array([-1.0, 1.0]), size=(_RESAMPLES, diffs.size))
        exceed += int(np.sum(np.abs((signs * diffs).mean(axis=1)) >= abs(observed) - 1e-12))
        total += _RESAMPLES
    # +1 smoothing: the observed assignment is one of the permutations.
    p_value = (exceed + 1) / (total + 1)
    low, high = ci if ci is not None else (None, None)
    return PairedTest(observed, low, high, min(1.0, p_value), int(diffs.size))
