"""Agreement between raters: Cohen's kappa for two raters, Krippendorff's alpha for any number with gaps.

Pure functions over plain values, so a judge can be calibrated against people before it is trusted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from itertools import permutations
from typing import Literal


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items (None with no items; 1.0 when both are
    constant and equal, where chance agreement is total)."""
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[k] * count_b.get(k, 0) for k in count_a) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(
    units: Mapping[Hashable, Sequence[float | Hashable]],
    level: Literal["nominal", "interval"] = "interval",
) -> float | None:
    """Krippendorff's alpha over units (items) each rated by any number of raters (missing ratings simply
    absent). Units with fewer than two ratings carry no information and are dropped. None when fewer than
    two pairable values remain; 1.0 when every value is the same (no disagreement to explain)."""
    rated = [list(values) for values in units.values() if len(values) >= 2]
    n = sum(len(values) for values in rated)
    if n < 2:
        return None

    def distance(x: float | Hashable, y: float | Hashable) -> float:
        if level == "nominal":
            return 0.0 if x == y else 1.0
        return (float(x) - float(y)) ** 2  # type: ignore[arg-type]

    observed = 0.0
    for values in rated:
        m = len(values)
        observed += sum(distance(x, y) for x, y in permutations(values, 2)) / (m - 1)
    observed /= n
    pooled = [v for values in rated for v in values]
    expected = sum(distance(x, y) for x, y in permutations(pooled, 2)) / (n * (n - 1))
    if expected == 0.0:
        return 1.0
    return 1.0 - observed / expected
