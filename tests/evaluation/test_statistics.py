"""Bootstrap intervals and paired tests: properties over random scores, and known cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.evaluation.statistics import bootstrap_ci, paired_test

scores = st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=2, max_size=60)


@given(scores)
@settings(max_examples=60, deadline=None)
def test_the_interval_holds_the_mean_within_the_data_range(values: list[float]) -> None:
    low, high = bootstrap_ci(values) or (None, None)
    assert low is not None and high is not None
    mean = float(np.mean(values))
    assert min(values) - 1e-12 <= low <= mean + 1e-12 <= high + 2e-12 <= max(values) + 3e-12
    assert bootstrap_ci(values) == (low, high)  # seeded: the same records, the same interval


def test_intervals_need_two_values_and_shrink_with_more_records() -> None:
    assert bootstrap_ci([]) is None and bootstrap_ci([0.5]) is None
    assert bootstrap_ci([0.7, 0.7, 0.7]) == (pytest.approx(0.7), pytest.approx(0.7))
    few = bootstrap_ci([0, 1] * 10)
    many = bootstrap_ci([0, 1] * 500)
    assert few is not None and many is not None
    assert many[1] - many[0] < (few[1] - few[0]) / 4


@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 1.0])), min_size=1, max_size=50))
@settings(max_examples=60, deadline=None)
def test_swapping_the_models_flips_the_difference_not_the_p_value(pairs: list[tuple[float, float]]) -> None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    ab, ba = paired_test(a, b), paired_test(b, a)
    assert ab.difference == pytest.approx(-ba.difference)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert 0 < ab.p_value <= 1 and ab.n == len(pairs)


def test_identical_scores_are_never_a_difference() -> None:
    test = paired_test([1, 0, 1, 1], [1, 0, 1, 1])
    assert (test.difference, test.p_value, test.significant()) == (0.0, 1.0, False)


def test_a_consistent_gap_is_significant_and_a_single_record_is_noise() -> None:
    gap = paired_test([1.0] * 30, [0.0] * 30)
    assert gap.significant() and gap.p_value < 0.001 and gap.difference == 1.0
    assert gap.ci_low == gap.ci_high == 1.0
    one = paired_test([1.0] + [0.0] * 39, [0.0] * 40)
    assert not one.significant() and one.p_value > 0.5


def test_the_p_value_matches_an_exact_sign_flip_test_on_a_small_case() -> None:
    """Eight records: all 256 sign assignments enumerated by hand against the sampled estimate."""
    diffs = np.array([0.9, 0.7, 0.8, 0.6, -0.1, 0.5, 0.4, 0.3])
    signs = np.array([[1 if (k >> i) & 1 else -1 for i in range(8)] for k in range(256)])
    exact = float(np.mean(np.abs((signs * diffs).mean(axis=1)) >= abs(diffs.mean()) - 1e-12))
    test = paired_test(list(diffs), [0.0] * 8)
    assert test.p_value == pytest.approx(exact, abs=0.01)
    assert exact < 0.05 and test.significant()
