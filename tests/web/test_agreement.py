"""Agreement statistics against published values and an independent implementation."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import cohen_kappa_score

from fmops.web import cohen_kappa, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units, gaps.
_OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _units() -> dict[int, list[float]]:
    return {u: [o[u] for o in _OBSERVERS if o[u] is not None] for u in range(12)}


def test_krippendorff_alpha_matches_the_published_example() -> None:
    assert krippendorff_alpha(_units(), "nominal") == pytest.approx(0.743, abs=1e-3)
    assert krippendorff_alpha(_units(), "interval") == pytest.approx(0.849, abs=1e-3)


def test_krippendorff_alpha_edges() -> None:
    assert krippendorff_alpha({1: [3, 3], 2: [2, 2]}) == 1.0  # perfect agreement
    assert krippendorff_alpha({1: [3], 2: [2]}) is None  # no unit rated twice
    assert krippendorff_alpha({1: [1, 1], 2: [1, 1]}) == 1.0  # no variation at all
    assert krippendorff_alpha({1: [1, 5], 2: [5, 1]}) < 0  # systematic disagreement


def test_cohen_kappa_agrees_with_scikit_learn() -> None:
    a = ["A", "B", "tie", "A", "A", "B", "B", "A", "tie", "B"]
    b = ["A", "B", "A", "A", "B", "B", "B", "A", "tie", "tie"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    ratings_a, ratings_b = [1, 2, 3, 4, 5, 5, 4], [1, 2, 3, 3, 5, 4, 4]
    assert cohen_kappa(ratings_a, ratings_b) == pytest.approx(cohen_kappa_score(ratings_a, ratings_b))
    assert cohen_kappa([], []) is None
    assert cohen_kappa([1, 1], [1, 1]) == 1.0
    assert math.isclose(cohen_kappa([1, 2], [2, 1]) or 0, -1.0)
    with pytest.raises(ValueError):
        cohen_kappa([1], [1, 2])
